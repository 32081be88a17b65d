#include "engine/vision/image.h"

#include <algorithm>

namespace isv {

ImageFormat SniffImageFormat(std::string_view bytes) {
  static constexpr unsigned char kPng[8] = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};
  if (bytes.size() >= 8 && std::equal(kPng, kPng + 8, reinterpret_cast<const unsigned char*>(bytes.data())))
    return ImageFormat::kPng;
  if (bytes.size() >= 3 && static_cast<uint8_t>(bytes[0]) == 0xFF && static_cast<uint8_t>(bytes[1]) == 0xD8 &&
      static_cast<uint8_t>(bytes[2]) == 0xFF)
    return ImageFormat::kJpeg;
  return ImageFormat::kUnknown;
}

StatusOr<RgbImage> DecodeImage(std::string_view bytes, int64_t max_pixels) {
  switch (SniffImageFormat(bytes)) {
    case ImageFormat::kPng:
      return DecodePng(bytes, max_pixels);
    case ImageFormat::kJpeg:
      return DecodeJpeg(bytes, max_pixels);
    case ImageFormat::kUnknown:
      break;
  }
  return InvalidArgumentError("unknown image format (only PNG and JPEG are supported)");
}

}  // namespace isv
