#include "engine/vision/preprocess.h"

#include <algorithm>
#include <cmath>

namespace isv {
namespace {

float Lerp(float s, float e, float t) { return s + (e - s) * t; }

RgbImage Blank(int width, int height) {
  RgbImage img;
  img.width = width;
  img.height = height;
  img.pixels.assign(static_cast<size_t>(width) * height * 3, 0);
  return img;
}

// Catmull-Rom-like cubic through p[-1..2] at fraction t, as llama.cpp writes it: differences from
// p0, coefficients computed in double and kept as float.
float Cubic(float pm1, float p0, float p1, float p2, float t) {
  const float d0 = pm1 - p0, d2 = p1 - p0, d3 = p2 - p0;
  const float a0 = p0;
  const float a1 = static_cast<float>(-1.0 / 3 * d0 + d2 - 1.0 / 6 * d3);
  const float a2 = static_cast<float>(1.0 / 2 * d0 + 1.0 / 2 * d2);
  const float a3 = static_cast<float>(-1.0 / 6 * d0 - 1.0 / 2 * d2 + 1.0 / 6 * d3);
  return a0 + a1 * t + a2 * t * t + a3 * t * t * t;
}

}  // namespace

RgbImage ResizeBilinear(const RgbImage& src, int width, int height) {
  RgbImage dst = Blank(width, height);
  const float x_ratio = width > 1 ? static_cast<float>(src.width - 1) / (width - 1) : 0.0f;
  const float y_ratio = height > 1 ? static_cast<float>(src.height - 1) / (height - 1) : 0.0f;
  for (int y = 0; y < height; ++y) {
    const float py = y * y_ratio;
    const int y0 = std::min(static_cast<int>(py), src.height - 1);
    const int y1 = std::min(y0 + 1, src.height - 1);
    const float yf = py - y0;
    for (int x = 0; x < width; ++x) {
      const float px = x * x_ratio;
      const int x0 = std::min(static_cast<int>(px), src.width - 1);
      const int x1 = std::min(x0 + 1, src.width - 1);
      const float xf = px - x0;
      for (int c = 0; c < 3; ++c) {
        const float top = Lerp(src.at(x0, y0, c), src.at(x1, y0, c), xf);
        const float bottom = Lerp(src.at(x0, y1, c), src.at(x1, y1, c), xf);
        dst.at(x, y, c) = static_cast<uint8_t>(Lerp(top, bottom, yf));
      }
    }
  }
  return dst;
}

RgbImage ResizeBicubic(const RgbImage& src, int width, int height) {
  RgbImage dst = Blank(width, height);
  const float tx = static_cast<float>(src.width) / static_cast<float>(width);
  const float ty = static_cast<float>(src.height) / static_cast<float>(height);
  auto px = [&](int x, int y, int c) -> float {
    return src.at(std::clamp(x, 0, src.width - 1), std::clamp(y, 0, src.height - 1), c);
  };
  for (int i = 0; i < height; ++i) {
    const int y = static_cast<int>(ty * i);
    const float dy = ty * i - y;
    for (int j = 0; j < width; ++j) {
      const int x = static_cast<int>(tx * j);
      const float dx = tx * j - x;
      for (int c = 0; c < 3; ++c) {
        float col[4];
        for (int r = 0; r < 4; ++r) {
          const int yy = y - 1 + r;
          col[r] = Cubic(px(x - 1, yy, c), px(x, yy, c), px(x + 1, yy, c), px(x + 2, yy, c), dx);
        }
        const float v = Cubic(col[0], col[1], col[2], col[3], dy);
        dst.at(j, i, c) = static_cast<uint8_t>(std::min(std::max(std::round(v), 0.0f), 255.0f));
      }
    }
  }
  return dst;
}

RgbImage ResizeWithPadding(const RgbImage& src, int width, int height, ResizeAlgo algo,
                           std::array<uint8_t, 3> pad_color) {
  if (src.width == width && src.height == height) return src;
  const float scale = std::min(static_cast<float>(width) / src.width, static_cast<float>(height) / src.height);
  const int new_width = std::min(static_cast<int>(std::ceil(src.width * scale)), width);
  const int new_height = std::min(static_cast<int>(std::ceil(src.height * scale)), height);
  const RgbImage resized = algo == ResizeAlgo::kBicubic ? ResizeBicubic(src, new_width, new_height)
                                                        : ResizeBilinear(src, new_width, new_height);
  RgbImage dst = Blank(width, height);
  for (size_t i = 0; i < dst.pixels.size(); i += 3)
    for (int c = 0; c < 3; ++c) dst.pixels[i + c] = pad_color[c];
  const int off_x = (width - new_width) / 2, off_y = (height - new_height) / 2;
  for (int y = 0; y < new_height; ++y)
    for (int x = 0; x < new_width; ++x)
      for (int c = 0; c < 3; ++c) dst.at(x + off_x, y + off_y, c) = resized.at(x, y, c);
  return dst;
}

std::vector<float> NormalizeToChw(const RgbImage& img, const std::array<float, 3>& mean,
                                  const std::array<float, 3>& std) {
  const size_t plane = static_cast<size_t>(img.width) * img.height;
  std::vector<float> out(plane * 3);
  for (size_t p = 0; p < plane; ++p)
    for (int c = 0; c < 3; ++c) {
      const float v = static_cast<float>(img.pixels[p * 3 + c]) / 255.0f;
      out[c * plane + p] = (v - mean[c]) / std[c];
    }
  return out;
}

}  // namespace isv
