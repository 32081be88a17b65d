// `synth clip-tiny` / `siglip-tiny` and `vision-embed`: the CLI writes a loadable mmproj, embeds a
// PNG (also given as a base64 data: URL) with the same values as the library, and reports bad
// input with exit code 1.
#include <gtest/gtest.h>
#include <zlib.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "core/thread_pool.h"
#include "engine/vision/clip_encoder.h"
#include "engine/vision/image.h"
#include "tools/tools_testutil.h"

namespace isv {
namespace {

using ::isv::testing::ReadAll;
using ::isv::testing::RunBinary;
using ::isv::testing::TempDir;

void PutU32Be(std::string& s, uint32_t v) {
  for (int i = 3; i >= 0; --i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

void Chunk(std::string& png, const char* type, const std::string& data) {
  PutU32Be(png, static_cast<uint32_t>(data.size()));
  const std::string body = std::string(type, 4) + data;
  png += body;
  PutU32Be(png, static_cast<uint32_t>(crc32(0, reinterpret_cast<const Bytef*>(body.data()), body.size())));
}

// An RGB8 PNG of w x h pixels with a fixed pattern.
std::string PatternPng(int w, int h) {
  std::string raw;
  for (int y = 0; y < h; ++y) {
    raw.push_back('\0');
    for (int x = 0; x < w; ++x)
      for (int c = 0; c < 3; ++c) raw.push_back(static_cast<char>((x * 29 + y * 13 + c * 71) % 256));
  }
  uLongf n = compressBound(raw.size());
  std::string z(n, '\0');
  compress(reinterpret_cast<Bytef*>(z.data()), &n, reinterpret_cast<const Bytef*>(raw.data()), raw.size());
  z.resize(n);
  std::string png = "\x89PNG\r\n\x1a\n", ihdr;
  PutU32Be(ihdr, w);
  PutU32Be(ihdr, h);
  ihdr += {8, 2, 0, 0, 0};
  Chunk(png, "IHDR", ihdr);
  Chunk(png, "IDAT", z);
  Chunk(png, "IEND", "");
  return png;
}

std::string Base64(const std::string& in) {
  static const char* k = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (size_t i = 0; i < in.size(); i += 3) {
    uint32_t v = static_cast<uint8_t>(in[i]) << 16;
    if (i + 1 < in.size()) v |= static_cast<uint8_t>(in[i + 1]) << 8;
    if (i + 2 < in.size()) v |= static_cast<uint8_t>(in[i + 2]);
    out += k[v >> 18];
    out += k[(v >> 12) & 63];
    out += i + 1 < in.size() ? k[(v >> 6) & 63] : '=';
    out += i + 2 < in.size() ? k[v & 63] : '=';
  }
  return out;
}

void WriteFile(const std::string& path, const std::string& data) {
  FILE* f = std::fopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  std::fwrite(data.data(), 1, data.size(), f);
  std::fclose(f);
}

std::string Line(const std::string& out, const std::string& prefix) {
  const size_t at = out.find(prefix);
  if (at == std::string::npos) return "";
  return out.substr(at, out.find('\n', at) - at);
}

TEST(VisionEmbedCliTest, EmbedsAPngLikeTheLibrary) {
  TempDir dir;
  std::string out;
  ASSERT_EQ(RunBinary("synth clip-tiny " + dir.File("clip.gguf") + " --type f32", &out), 0) << out;
  const std::string png = PatternPng(50, 37);
  WriteFile(dir.File("img.png"), png);
  ASSERT_EQ(RunBinary("vision-embed " + dir.File("clip.gguf") + " " + dir.File("img.png") + " --dump " +
                          dir.File("emb.f32") + " -t 2",
                      &out),
            0)
      << out;
  EXPECT_NE(out.find("embedding: 16 x 256"), std::string::npos) << out;
  EXPECT_NE(out.find("image: " + dir.File("img.png") + ": 50x37"), std::string::npos) << out;
  EXPECT_NE(out.find("3 blocks (2 run), quick_gelu, class token yes"), std::string::npos) << out;

  StatusOr<std::unique_ptr<ClipVisionModel>> model = ClipVisionModel::Open(dir.File("clip.gguf"));
  ASSERT_TRUE(model.ok()) << model.status().message();
  ThreadPool pool(1);
  StatusOr<ImageEmbedding> emb = EmbedImage(**model, DecodeImage(png).value(), pool);
  ASSERT_TRUE(emb.ok());
  const std::string dumped = ReadAll(dir.File("emb.f32"));
  ASSERT_EQ(dumped.size(), emb->data.size() * sizeof(float));
  EXPECT_EQ(std::memcmp(dumped.data(), emb->data.data(), dumped.size()), 0);

  // The same image as a data: URL.
  WriteFile(dir.File("img.b64"), "data:image/png;base64," + Base64(png) + "\n");
  std::string out64;
  ASSERT_EQ(RunBinary("vision-embed " + dir.File("clip.gguf") + " " + dir.File("img.b64") + " --base64", &out64), 0)
      << out64;
  EXPECT_EQ(Line(out64, "checksum:"), Line(out, "checksum:"));
  EXPECT_FALSE(Line(out, "checksum:").empty());
}

TEST(VisionEmbedCliTest, SiglipShapeWidthAndType) {
  TempDir dir;
  std::string out;
  ASSERT_EQ(RunBinary("synth siglip-tiny " + dir.File("s.gguf") + " --type q8_0 --text-embd 96", &out), 0) << out;
  WriteFile(dir.File("img.png"), PatternPng(32, 32));
  ASSERT_EQ(RunBinary("vision-embed " + dir.File("s.gguf") + " " + dir.File("img.png"), &out), 0) << out;
  EXPECT_NE(out.find("embedding: 16 x 96"), std::string::npos) << out;
  EXPECT_NE(out.find("3 blocks (3 run), gelu, class token no"), std::string::npos) << out;
}

TEST(VisionEmbedCliTest, BadInputIsExitCode1) {
  TempDir dir;
  std::string out;
  ASSERT_EQ(RunBinary("synth clip-tiny " + dir.File("clip.gguf"), &out), 0) << out;
  WriteFile(dir.File("bad.png"), PatternPng(8, 8).substr(0, 40));
  EXPECT_EQ(RunBinary("vision-embed " + dir.File("clip.gguf") + " " + dir.File("bad.png"), &out), 1);
  EXPECT_NE(out.find("error:"), std::string::npos) << out;
  EXPECT_NE(out.find("PNG"), std::string::npos) << out;
  WriteFile(dir.File("text.txt"), "hello");
  EXPECT_EQ(RunBinary("vision-embed " + dir.File("clip.gguf") + " " + dir.File("text.txt"), &out), 1);
  EXPECT_NE(out.find("unknown image format"), std::string::npos) << out;
  EXPECT_EQ(RunBinary("vision-embed " + dir.File("clip.gguf") + " " + dir.File("text.txt") + " --base64", &out), 1);
  // A language model is not an mmproj.
  WriteFile(dir.File("img.png"), PatternPng(8, 8));
  ASSERT_EQ(RunBinary("synth tiny-llama " + dir.File("lm.gguf") + " --layers 1", &out), 0) << out;
  EXPECT_EQ(RunBinary("vision-embed " + dir.File("lm.gguf") + " " + dir.File("img.png"), &out), 1);
  EXPECT_NE(out.find("projector_type"), std::string::npos) << out;
  EXPECT_EQ(RunBinary("synth clip-tiny " + dir.File("x.gguf") + " --type q4_k", &out), 1);
  EXPECT_NE(out.find("f32, f16 or q8_0"), std::string::npos) << out;
}

}  // namespace
}  // namespace isv
