// PNG / JPEG decoding: exact pixels for PNGs of every colour type and bit depth (written here by a
// small independent encoder on zlib), JPEGs written with libjpeg within a tolerance, and errors,
// not crashes, for corrupt, truncated and oversized input.
#include <gtest/gtest.h>
#include <zlib.h>

#include <cstdio>  // before jpeglib.h
#include <jpeglib.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "engine/vision/image.h"

namespace isv {
namespace {

void PutU32Be(std::string& s, uint32_t v) {
  for (int i = 3; i >= 0; --i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

void Chunk(std::string& png, const char* type, const std::string& data) {
  PutU32Be(png, static_cast<uint32_t>(data.size()));
  std::string body = std::string(type, 4) + data;
  png += body;
  PutU32Be(png, static_cast<uint32_t>(crc32(0, reinterpret_cast<const Bytef*>(body.data()), body.size())));
}

// A PNG of the given colour type / bit depth whose unfiltered scanlines are `rows` (each row's
// packed samples, without the filter byte). plte / trns are written when non-empty.
std::string MakePng(int width, int height, int bit_depth, int color_type, const std::vector<std::string>& rows,
                    const std::string& plte = "", const std::string& trns = "") {
  std::string png = "\x89PNG\r\n\x1a\n";
  std::string ihdr;
  PutU32Be(ihdr, width);
  PutU32Be(ihdr, height);
  ihdr += {static_cast<char>(bit_depth), static_cast<char>(color_type), 0, 0, 0};
  Chunk(png, "IHDR", ihdr);
  if (!plte.empty()) Chunk(png, "PLTE", plte);
  if (!trns.empty()) Chunk(png, "tRNS", trns);
  std::string raw;
  for (const std::string& r : rows) raw += '\0' + r;
  uLongf n = compressBound(raw.size());
  std::string z(n, '\0');
  EXPECT_EQ(compress(reinterpret_cast<Bytef*>(z.data()), &n, reinterpret_cast<const Bytef*>(raw.data()), raw.size()),
            Z_OK);
  z.resize(n);
  Chunk(png, "IDAT", z);
  Chunk(png, "IEND", "");
  return png;
}

uint8_t Val(int x, int y, int c) { return static_cast<uint8_t>((x * 37 + y * 91 + c * 53 + 11) % 256); }

TEST(ImageDecodeTest, PngRgb8ExactPixels) {
  const int w = 7, h = 5;
  std::vector<std::string> rows;
  for (int y = 0; y < h; ++y) {
    std::string r;
    for (int x = 0; x < w; ++x)
      for (int c = 0; c < 3; ++c) r.push_back(static_cast<char>(Val(x, y, c)));
    rows.push_back(r);
  }
  const std::string png = MakePng(w, h, 8, 2, rows);
  EXPECT_EQ(SniffImageFormat(png), ImageFormat::kPng);
  StatusOr<RgbImage> img = DecodeImage(png);
  ASSERT_TRUE(img.ok()) << img.status().message();
  ASSERT_EQ(img->width, w);
  ASSERT_EQ(img->height, h);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int c = 0; c < 3; ++c) ASSERT_EQ(img->at(x, y, c), Val(x, y, c)) << x << "," << y << "," << c;
}

TEST(ImageDecodeTest, PngRgbaDropsAlphaWithoutCompositing) {
  std::string r;
  for (int x = 0; x < 3; ++x) r += {static_cast<char>(10 * x), static_cast<char>(100 + x), char(200), char(x * 60)};
  StatusOr<RgbImage> img = DecodePng(MakePng(3, 1, 8, 6, {r}));
  ASSERT_TRUE(img.ok()) << img.status().message();
  for (int x = 0; x < 3; ++x) {
    EXPECT_EQ(img->at(x, 0, 0), 10 * x);
    EXPECT_EQ(img->at(x, 0, 1), 100 + x);
    EXPECT_EQ(img->at(x, 0, 2), 200);
  }
}

TEST(ImageDecodeTest, PngGrayAndGrayAlphaReplicated) {
  StatusOr<RgbImage> g = DecodePng(MakePng(3, 1, 8, 0, {std::string("\x00\x80\xff", 3)}));
  ASSERT_TRUE(g.ok()) << g.status().message();
  const uint8_t want[3] = {0, 128, 255};
  for (int x = 0; x < 3; ++x)
    for (int c = 0; c < 3; ++c) EXPECT_EQ(g->at(x, 0, c), want[x]);
  StatusOr<RgbImage> ga = DecodePng(MakePng(2, 1, 8, 4, {std::string("\x40\x00\xc0\xff", 4)}));
  ASSERT_TRUE(ga.ok()) << ga.status().message();
  for (int c = 0; c < 3; ++c) {
    EXPECT_EQ(ga->at(0, 0, c), 0x40);
    EXPECT_EQ(ga->at(1, 0, c), 0xc0);
  }
}

TEST(ImageDecodeTest, PngOneBitGrayExpandedTo0And255) {
  // 10 pixels 1,0,1,1,0,0,0,1, 1,0 -> bytes 0b10110001, 0b10000000.
  StatusOr<RgbImage> img = DecodePng(MakePng(10, 1, 1, 0, {std::string("\xb1\x80", 2)}));
  ASSERT_TRUE(img.ok()) << img.status().message();
  const int bits[10] = {1, 0, 1, 1, 0, 0, 0, 1, 1, 0};
  for (int x = 0; x < 10; ++x) EXPECT_EQ(img->at(x, 0, 1), bits[x] ? 255 : 0) << x;
}

TEST(ImageDecodeTest, PngPaletteExpandedTransparencyIgnored) {
  const std::string plte("\x0a\x14\x1e\xff\x00\x80\x01\x02\x03", 9);
  // 4-bit indices 2,0,1 -> bytes 0x20, 0x10; tRNS makes entry 0 transparent (ignored: no alpha out).
  StatusOr<RgbImage> img = DecodePng(MakePng(3, 1, 4, 3, {std::string("\x20\x10", 2)}, plte, std::string("\x00", 1)));
  ASSERT_TRUE(img.ok()) << img.status().message();
  const int idx[3] = {2, 0, 1};
  for (int x = 0; x < 3; ++x)
    for (int c = 0; c < 3; ++c) EXPECT_EQ(img->at(x, 0, c), static_cast<uint8_t>(plte[idx[x] * 3 + c]));
}

TEST(ImageDecodeTest, Png16BitKeepsHighByte) {
  std::string r;
  const uint16_t v[6] = {0x1234, 0xABCD, 0x00FF, 0xFF00, 0x8001, 0x7FFF};
  for (uint16_t s : v) r += {static_cast<char>(s >> 8), static_cast<char>(s & 0xFF)};
  StatusOr<RgbImage> img = DecodePng(MakePng(2, 1, 16, 2, {r}));
  ASSERT_TRUE(img.ok()) << img.status().message();
  for (int i = 0; i < 6; ++i) EXPECT_EQ(img->pixels[i], v[i] >> 8) << i;
}

std::string SmallRgbPng() {
  std::vector<std::string> rows;
  for (int y = 0; y < 16; ++y) {
    std::string r;
    for (int x = 0; x < 16; ++x)
      for (int c = 0; c < 3; ++c) r.push_back(static_cast<char>(Val(x, y, c)));
    rows.push_back(r);
  }
  return MakePng(16, 16, 8, 2, rows);
}

TEST(ImageDecodeTest, PngCorruptOrTruncatedIsAnError) {
  const std::string png = SmallRgbPng();
  ASSERT_TRUE(DecodePng(png).ok());
  for (size_t cut : {size_t{8}, size_t{20}, size_t{40}, png.size() / 2, png.size() - 13, png.size() - 1}) {
    StatusOr<RgbImage> r = DecodePng(png.substr(0, cut));
    EXPECT_FALSE(r.ok()) << "cut at " << cut;
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << cut;
      EXPECT_NE(r.status().message().find("PNG"), std::string::npos) << r.status().message();
    }
  }
  std::string flipped = png;
  flipped[60] = static_cast<char>(flipped[60] ^ 0x5A);  // inside IDAT: CRC mismatch
  EXPECT_FALSE(DecodePng(flipped).ok());
  std::string bad_ihdr = png;
  bad_ihdr[24] = 3;  // bit depth 3 does not exist (and the CRC no longer matches)
  EXPECT_FALSE(DecodePng(bad_ihdr).ok());
  EXPECT_FALSE(DecodePng("\x89PNG\r\n\x1a\n" + std::string(100, 'x')).ok());
  EXPECT_FALSE(DecodePng("not a png").ok());
}

TEST(ImageDecodeTest, SizeLimitAndUnknownFormat) {
  const std::string png = SmallRgbPng();
  StatusOr<RgbImage> r = DecodeImage(png, 255);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kResourceExhausted);
  EXPECT_NE(r.status().message().find("16x16"), std::string::npos) << r.status().message();
  EXPECT_TRUE(DecodeImage(png, 256).ok());
  // A header that announces 100000 x 100000 pixels is refused before any allocation.
  std::string huge = "\x89PNG\r\n\x1a\n";
  std::string ihdr;
  PutU32Be(ihdr, 100000);
  PutU32Be(ihdr, 100000);
  ihdr += {8, 2, 0, 0, 0};
  Chunk(huge, "IHDR", ihdr);
  Chunk(huge, "IDAT", std::string("\x78\x9c\x03\x00\x00\x00\x00\x01", 8));
  Chunk(huge, "IEND", "");
  StatusOr<RgbImage> h = DecodeImage(huge);
  ASSERT_FALSE(h.ok());
  EXPECT_EQ(h.status().code(), StatusCode::kResourceExhausted);
  StatusOr<RgbImage> u = DecodeImage("GIF89a....");
  ASSERT_FALSE(u.ok());
  EXPECT_EQ(u.status().code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(DecodeImage("").ok());
}

// A JPEG of the image f(x, y, c) (components 3: RGB, 1: grayscale), written by libjpeg.
template <typename F>
std::string MakeJpeg(int w, int h, int components, int quality, F f) {
  jpeg_compress_struct cinfo;
  jpeg_error_mgr err;
  cinfo.err = jpeg_std_error(&err);
  jpeg_create_compress(&cinfo);
  unsigned char* out = nullptr;
  unsigned long size = 0;
  jpeg_mem_dest(&cinfo, &out, &size);
  cinfo.image_width = w;
  cinfo.image_height = h;
  cinfo.input_components = components;
  cinfo.in_color_space = components == 3 ? JCS_RGB : JCS_GRAYSCALE;
  jpeg_set_defaults(&cinfo);
  jpeg_set_quality(&cinfo, quality, TRUE);
  jpeg_start_compress(&cinfo, TRUE);
  std::vector<unsigned char> row(static_cast<size_t>(w) * components);
  while (cinfo.next_scanline < cinfo.image_height) {
    const int y = static_cast<int>(cinfo.next_scanline);
    for (int x = 0; x < w; ++x)
      for (int c = 0; c < components; ++c) row[x * components + c] = f(x, y, c);
    JSAMPROW p = row.data();
    jpeg_write_scanlines(&cinfo, &p, 1);
  }
  jpeg_finish_compress(&cinfo);
  std::string s(reinterpret_cast<char*>(out), size);
  jpeg_destroy_compress(&cinfo);
  free(out);
  return s;
}

// A smooth test picture (JPEG is lossy on sharp edges).
uint8_t Smooth(int x, int y, int c) {
  return static_cast<uint8_t>(128 + 100 * std::sin(0.15 * x + 0.5 * c) * std::cos(0.1 * y - 0.3 * c));
}

TEST(ImageDecodeTest, JpegRgbWithinTolerance) {
  const int w = 48, h = 40;
  const std::string jpg = MakeJpeg(w, h, 3, 95, Smooth);
  EXPECT_EQ(SniffImageFormat(jpg), ImageFormat::kJpeg);
  StatusOr<RgbImage> img = DecodeImage(jpg);
  ASSERT_TRUE(img.ok()) << img.status().message();
  ASSERT_EQ(img->width, w);
  ASSERT_EQ(img->height, h);
  double sum = 0;
  int worst = 0;
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int c = 0; c < 3; ++c) {
        const int d = std::abs(int{img->at(x, y, c)} - int{Smooth(x, y, c)});
        worst = std::max(worst, d);
        sum += d;
      }
  EXPECT_LE(worst, 24);                   // chroma subsampling on a smooth picture
  EXPECT_LT(sum / (w * h * 3), 3.0);      // mean absolute error in levels
}

TEST(ImageDecodeTest, JpegGrayscaleReplicated) {
  auto f = [](int x, int y, int) { return static_cast<uint8_t>(40 + 3 * x + 2 * y); };
  StatusOr<RgbImage> img = DecodeJpeg(MakeJpeg(24, 16, 1, 100, f));
  ASSERT_TRUE(img.ok()) << img.status().message();
  for (int y = 0; y < 16; ++y)
    for (int x = 0; x < 24; ++x) {
      EXPECT_NEAR(img->at(x, y, 0), f(x, y, 0), 3);
      EXPECT_EQ(img->at(x, y, 0), img->at(x, y, 1));
      EXPECT_EQ(img->at(x, y, 0), img->at(x, y, 2));
    }
}

TEST(ImageDecodeTest, JpegTruncatedOrCorruptIsAnError) {
  const std::string jpg = MakeJpeg(64, 64, 3, 90, Smooth);
  ASSERT_TRUE(DecodeJpeg(jpg).ok());
  for (size_t cut : {size_t{3}, size_t{30}, size_t{200}, jpg.size() / 2, jpg.size() - 40}) {
    StatusOr<RgbImage> r = DecodeJpeg(jpg.substr(0, cut));
    EXPECT_FALSE(r.ok()) << "cut at " << cut;
    if (!r.ok()) {
      EXPECT_NE(r.status().message().find("JPEG"), std::string::npos) << r.status().message();
    }
  }
  EXPECT_FALSE(DecodeJpeg(std::string("\xff\xd8\xff", 3) + std::string(500, '\x13')).ok());
  // Even a missing final EOI marker alone is refused (indistinguishable from truncation for libjpeg).
  EXPECT_FALSE(DecodeJpeg(jpg.substr(0, jpg.size() - 2)).ok());
  StatusOr<RgbImage> limited = DecodeJpeg(jpg, 64 * 64 - 1);
  ASSERT_FALSE(limited.ok());
  EXPECT_EQ(limited.status().code(), StatusCode::kResourceExhausted);
}

}  // namespace
}  // namespace isv
