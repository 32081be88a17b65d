// PNG decoding through libpng's progressive-free "low-level" API with a setjmp error handler.
//
// Everything libpng touches between setjmp and a possible longjmp lives on the heap (PngState),
// so no automatic variable of DecodePng is modified after setjmp and no C++ destructor is jumped
// over: libpng's error callback records the message and longjmps back into DecodePng, which
// destroys the read structs and returns the message as a Status.
#include <png.h>

#include <csetjmp>
#include <cstring>
#include <memory>

#include "engine/vision/image.h"

namespace isv {
namespace {

struct PngState {
  const uint8_t* data = nullptr;
  size_t size = 0;
  size_t offset = 0;
  char error[256] = {0};
  png_structp png = nullptr;
  png_infop info = nullptr;
  RgbImage image;
  std::vector<png_bytep> rows;
  ~PngState() {
    if (png != nullptr) png_destroy_read_struct(&png, info != nullptr ? &info : nullptr, nullptr);
  }
};

void ReadCallback(png_structp png, png_bytep out, png_size_t n) {
  auto* s = static_cast<PngState*>(png_get_io_ptr(png));
  if (n > s->size - s->offset) png_error(png, "truncated file (read past the end of the data)");
  std::memcpy(out, s->data + s->offset, n);
  s->offset += n;
}

void ErrorCallback(png_structp png, png_const_charp message) {
  auto* s = static_cast<PngState*>(png_get_error_ptr(png));
  std::snprintf(s->error, sizeof(s->error), "%s", message);
  png_longjmp(png, 1);
}

void WarningCallback(png_structp, png_const_charp) {}

}  // namespace

StatusOr<RgbImage> DecodePng(std::string_view bytes, int64_t max_pixels) {
  if (bytes.size() < 8 || png_sig_cmp(reinterpret_cast<png_const_bytep>(bytes.data()), 0, 8) != 0)
    return InvalidArgumentError("PNG: bad signature (not a PNG file)");
  auto s = std::make_unique<PngState>();
  s->data = reinterpret_cast<const uint8_t*>(bytes.data());
  s->size = bytes.size();
  s->png = png_create_read_struct(PNG_LIBPNG_VER_STRING, s.get(), ErrorCallback, WarningCallback);
  if (s->png == nullptr) return ResourceExhaustedError("PNG: cannot create the decoder");
  s->info = png_create_info_struct(s->png);
  if (s->info == nullptr) return ResourceExhaustedError("PNG: cannot create the decoder");
  PngState* st = s.get();  // not modified after setjmp
  if (setjmp(png_jmpbuf(st->png))) return InvalidArgumentError(std::string("PNG: corrupt image: ") + st->error);

  png_set_read_fn(st->png, st, ReadCallback);
  png_read_info(st->png, st->info);
  const png_uint_32 width = png_get_image_width(st->png, st->info);
  const png_uint_32 height = png_get_image_height(st->png, st->info);
  if (width == 0 || height == 0) return InvalidArgumentError("PNG: empty image");
  if (static_cast<int64_t>(width) * height > max_pixels)
    return ResourceExhaustedError("PNG: image of " + std::to_string(width) + "x" + std::to_string(height) +
                                  " pixels is larger than the limit of " + std::to_string(max_pixels) + " pixels");
  const int color_type = png_get_color_type(st->png, st->info);
  // To 8-bit RGB: expand palettes and low-bit grayscale, truncate 16-bit samples, drop alpha
  // (transparency from a tRNS chunk included), replicate gray.
  if (color_type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(st->png);
  if (color_type == PNG_COLOR_TYPE_GRAY && png_get_bit_depth(st->png, st->info) < 8)
    png_set_expand_gray_1_2_4_to_8(st->png);
  png_set_strip_16(st->png);
  // png_set_palette_to_rgb also turns a tRNS chunk into alpha; strip that too.
  if ((color_type & PNG_COLOR_MASK_ALPHA) || png_get_valid(st->png, st->info, PNG_INFO_tRNS))
    png_set_strip_alpha(st->png);
  if (color_type == PNG_COLOR_TYPE_GRAY || color_type == PNG_COLOR_TYPE_GRAY_ALPHA) png_set_gray_to_rgb(st->png);
  png_set_interlace_handling(st->png);
  png_read_update_info(st->png, st->info);
  if (png_get_rowbytes(st->png, st->info) != static_cast<size_t>(width) * 3 ||
      png_get_channels(st->png, st->info) != 3 || png_get_bit_depth(st->png, st->info) != 8)
    return InternalError("PNG: the decoder did not convert to RGB8");

  st->image.width = static_cast<int>(width);
  st->image.height = static_cast<int>(height);
  st->image.pixels.resize(static_cast<size_t>(width) * height * 3);
  st->rows.resize(height);
  for (png_uint_32 y = 0; y < height; ++y) st->rows[y] = st->image.pixels.data() + static_cast<size_t>(y) * width * 3;
  png_read_image(st->png, st->rows.data());
  png_read_end(st->png, nullptr);
  return std::move(st->image);
}

}  // namespace isv
