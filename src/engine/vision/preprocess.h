// Image preprocessing for CLIP/SigLIP encoders, as llama.cpp's mtmd prepares a llava-style
// (fixed-size) image: fit the image into the encoder's square keeping its aspect ratio, pad the
// rest with a fill colour, then scale to [0, 1], normalize per channel with the mean / std stored
// in the mmproj file, and lay the result out channel-major (CHW) for the patch embedding.
//
// The resize algorithms reproduce llama.cpp's (tools/mtmd/mtmd-image.cpp) arithmetic so that the
// same image gives the same pixels: "bilinear" with corner-aligned sampling and truncation, and
// "bicubic" (the default for llava 1.5 / `mlp` projectors) sampling at x * (src / dst) without
// half-pixel centres, rounding and clamping to 0..255.
//
// Stateless functions; thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "engine/vision/image.h"

namespace isv {

enum class ResizeAlgo { kBilinear, kBicubic };

// src resized to width x height. REQUIRES: src non-empty, width, height >= 1.
RgbImage ResizeBilinear(const RgbImage& src, int width, int height);
RgbImage ResizeBicubic(const RgbImage& src, int width, int height);

// src scaled by min(width / src.width, height / src.height) (new sizes rounded up, at most the
// target), centred (offset = spare / 2, rounded down) on a width x height canvas of pad_color.
// An image already of the target size is returned unchanged.
RgbImage ResizeWithPadding(const RgbImage& src, int width, int height, ResizeAlgo algo,
                           std::array<uint8_t, 3> pad_color);

// Planar float image: channel c, row y, column x at [(c * height + y) * width + x], with value
// (pixel / 255 - mean[c]) / std[c].
std::vector<float> NormalizeToChw(const RgbImage& img, const std::array<float, 3>& mean,
                                  const std::array<float, 3>& std);

}  // namespace isv
