// JPEG decoding through libjpeg-turbo with an error manager that longjmps instead of exit().
//
// As in png_decode.cc, all state the library touches is on the heap (JpegState), so nothing
// automatic is modified between setjmp and longjmp and no C++ destructor is jumped over.
// libjpeg treats a truncated file or damaged entropy-coded data as warnings (it pads the image
// with gray); here those warnings are errors, since a half-gray picture would be silently wrong.
#include <cstdio>  // jpeglib.h needs FILE and size_t first

#include <jerror.h>
#include <jpeglib.h>

#include <csetjmp>
#include <memory>

#include "engine/vision/image.h"

namespace isv {
namespace {

struct JpegState;
// libjpeg's error manager with a way back to the state (pub first: cinfo->err points at it).
struct ErrorManager {
  jpeg_error_mgr pub;
  JpegState* owner;
};

struct JpegState {
  jpeg_decompress_struct cinfo;
  ErrorManager err;
  std::jmp_buf jump;
  char error[JMSG_LENGTH_MAX + 1] = {0};
  bool created = false;
  RgbImage image;
  ~JpegState() {
    if (created) jpeg_destroy_decompress(&cinfo);
  }
};

JpegState* StateOf(j_common_ptr cinfo) { return reinterpret_cast<ErrorManager*>(cinfo->err)->owner; }

[[noreturn]] void ErrorExit(j_common_ptr cinfo) {
  JpegState* s = StateOf(cinfo);
  (*cinfo->err->format_message)(cinfo, s->error);
  std::longjmp(s->jump, 1);
}

// msg_level -1 is a warning; the ones that mean missing or damaged image data become errors.
// Even a file that lacks only its final EOI marker is refused: libjpeg reports the end of the
// data while the last rows are still being decoded, so it cannot be told from a truncated one.
void EmitMessage(j_common_ptr cinfo, int msg_level) {
  if (msg_level != -1) return;
  const int code = cinfo->err->msg_code;
  if (code == JWRN_JPEG_EOF || code == JWRN_HIT_MARKER || code == JWRN_HUFF_BAD_CODE || code == JWRN_MUST_RESYNC)
    ErrorExit(cinfo);
}

}  // namespace

StatusOr<RgbImage> DecodeJpeg(std::string_view bytes, int64_t max_pixels) {
  if (bytes.size() < 3 || static_cast<uint8_t>(bytes[0]) != 0xFF || static_cast<uint8_t>(bytes[1]) != 0xD8)
    return InvalidArgumentError("JPEG: bad signature (not a JPEG file)");
  auto s = std::make_unique<JpegState>();
  JpegState* st = s.get();  // not modified after setjmp
  st->cinfo.err = jpeg_std_error(&st->err.pub);
  st->err.owner = st;
  st->err.pub.error_exit = ErrorExit;
  st->err.pub.emit_message = EmitMessage;
  if (setjmp(st->jump)) return InvalidArgumentError(std::string("JPEG: corrupt image: ") + st->error);
  jpeg_create_decompress(&st->cinfo);
  st->created = true;
  jpeg_mem_src(&st->cinfo, reinterpret_cast<const unsigned char*>(bytes.data()),
               static_cast<unsigned long>(bytes.size()));
  jpeg_read_header(&st->cinfo, TRUE);
  const int64_t width = st->cinfo.image_width, height = st->cinfo.image_height;
  if (width <= 0 || height <= 0) return InvalidArgumentError("JPEG: empty image");
  if (width * height > max_pixels)
    return ResourceExhaustedError("JPEG: image of " + std::to_string(width) + "x" + std::to_string(height) +
                                  " pixels is larger than the limit of " + std::to_string(max_pixels) + " pixels");
  if (st->cinfo.jpeg_color_space == JCS_CMYK || st->cinfo.jpeg_color_space == JCS_YCCK)
    return UnimplementedError("JPEG: CMYK images are not supported");
  st->cinfo.out_color_space = JCS_RGB;
  jpeg_start_decompress(&st->cinfo);
  if (st->cinfo.output_components != 3) return InternalError("JPEG: the decoder did not convert to RGB");
  st->image.width = static_cast<int>(st->cinfo.output_width);
  st->image.height = static_cast<int>(st->cinfo.output_height);
  st->image.pixels.resize(static_cast<size_t>(st->image.width) * st->image.height * 3);
  while (st->cinfo.output_scanline < st->cinfo.output_height) {
    JSAMPROW row = st->image.pixels.data() + static_cast<size_t>(st->cinfo.output_scanline) * st->image.width * 3;
    jpeg_read_scanlines(&st->cinfo, &row, 1);
  }
  jpeg_finish_decompress(&st->cinfo);
  return std::move(st->image);
}

}  // namespace isv
