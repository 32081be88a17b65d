// RgbImage and image decoding: PNG and JPEG bytes -> 8-bit RGB pixels, for the vision encoder.
//
// The decoders are the system's libpng and libjpeg-turbo (Debian packages; image codecs are not
// ours to write). Whatever the file holds is converted to RGB8 as llama.cpp's loader (stb_image
// asked for 3 channels) and PIL's convert("RGB") do: grayscale is replicated, palettes expanded,
// 16-bit samples truncated to their high byte, alpha dropped (not composited). Corrupt, truncated
// or oversized input is a Status error, never a crash: both libraries report errors through
// setjmp/longjmp handlers that never jump over a C++ destructor.
//
//   ISV_ASSIGN_OR_RETURN(RgbImage img, DecodeImage(bytes));
//
// Stateless functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace isv {

// Decoded images larger than this many pixels are refused (64 Mpixel: 192 MiB of RGB8).
inline constexpr int64_t kMaxImagePixels = int64_t{64} << 20;

// An image of width x height pixels, rows top to bottom, each pixel R, G, B (one byte each).
struct RgbImage {
  int width = 0;
  int height = 0;
  std::vector<uint8_t> pixels;  // width * height * 3 bytes

  // REQUIRES: 0 <= x < width, 0 <= y < height, c < 3.
  uint8_t at(int x, int y, int c) const { return pixels[(static_cast<size_t>(y) * width + x) * 3 + c]; }
  uint8_t& at(int x, int y, int c) { return pixels[(static_cast<size_t>(y) * width + x) * 3 + c]; }
};

enum class ImageFormat { kUnknown, kPng, kJpeg };

// The format the bytes' signature announces (PNG: 89 50 4E 47 0D 0A 1A 0A; JPEG: FF D8 FF).
ImageFormat SniffImageFormat(std::string_view bytes);

// Decodes PNG or JPEG bytes (chosen by signature). InvalidArgument for an unknown format or a
// corrupt / truncated file (the decoder's message included); ResourceExhausted above
// max_pixels pixels.
StatusOr<RgbImage> DecodeImage(std::string_view bytes, int64_t max_pixels = kMaxImagePixels);
StatusOr<RgbImage> DecodePng(std::string_view bytes, int64_t max_pixels = kMaxImagePixels);
StatusOr<RgbImage> DecodeJpeg(std::string_view bytes, int64_t max_pixels = kMaxImagePixels);

}  // namespace isv
