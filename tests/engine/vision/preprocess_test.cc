// Resize / pad / normalize against values computed by hand from the algorithms' definitions
// (llama.cpp's bilinear and bicubic, see preprocess.h).
#include <gtest/gtest.h>

#include "engine/vision/preprocess.h"

namespace isv {
namespace {

RgbImage Gray(int w, int h, std::vector<int> values) {
  RgbImage img;
  img.width = w;
  img.height = h;
  for (int v : values)
    for (int c = 0; c < 3; ++c) img.pixels.push_back(static_cast<uint8_t>(v + c));
  return img;
}

TEST(PreprocessTest, BicubicHandComputed) {
  // Row [0, 100] to width 4: samples at x = 0, 0.5, 1, 1.5 (src / dst = 0.5, no half-pixel
  // centres), edges clamped. At 0.5 between 0 and 100 with neighbours (0, 100): d0 = 0, d2 = 100,
  // d3 = 100 -> a1 = 83.33, a2 = 50, a3 = -33.33 -> 41.67 + 12.5 - 4.17 = 50. At 1.5 (p = 100 with
  // neighbours 0 | 100, 100): d0 = -100 -> a1 = 33.33, a2 = -50, a3 = 16.67 -> 100 + 16.67 - 12.5
  // + 2.08 = 106.25 -> 106 (the cubic overshoots).
  const RgbImage out = ResizeBicubic(Gray(2, 1, {0, 100}), 4, 1);
  ASSERT_EQ(out.width, 4);
  ASSERT_EQ(out.height, 1);
  const int want[4] = {0, 50, 100, 106};
  for (int x = 0; x < 4; ++x) {
    EXPECT_EQ(out.at(x, 0, 0), want[x]) << x;
    EXPECT_EQ(out.at(x, 0, 2), want[x] + 2) << x;  // channel 2 is the same row + 2
  }
  // Clamping: 0 / 255 steps overshoot outside [0, 255].
  const RgbImage c = ResizeBicubic(Gray(2, 1, {0, 253}), 4, 1);
  EXPECT_EQ(c.at(3, 0, 2), 255);  // 255 + 13.3 clamped
  // A constant image stays constant; identity size is the identity.
  const RgbImage k = ResizeBicubic(Gray(3, 2, {77, 77, 77, 77, 77, 77}), 5, 7);
  for (int y = 0; y < 7; ++y)
    for (int x = 0; x < 5; ++x)
      for (int ch = 0; ch < 3; ++ch) EXPECT_EQ(k.at(x, y, ch), 77 + ch);
  const RgbImage src = Gray(3, 2, {1, 50, 200, 9, 0, 255 - 2});
  EXPECT_EQ(ResizeBicubic(src, 3, 2).pixels, src.pixels);
}

TEST(PreprocessTest, BilinearHandComputed) {
  // 2x2 -> 3x3 with corner-aligned sampling (ratio (2-1)/(3-1) = 0.5), truncating.
  const RgbImage out = ResizeBilinear(Gray(2, 2, {0, 100, 50, 201}), 3, 3);
  const int want[9] = {0, 50, 100, 25, 87, 150, 50, 125, 201};  // centre: (50 + 125.5) / 2 = 87.75
  for (int i = 0; i < 9; ++i) EXPECT_EQ(out.at(i % 3, i / 3, 0), want[i]) << i;
}

TEST(PreprocessTest, PadToSquareKeepsAspectAndCentres) {
  // 4x2 into 4x4: scale 1, rows 1..2 hold the image, rows 0 and 3 the pad colour.
  const RgbImage src = Gray(4, 2, {10, 20, 30, 40, 50, 60, 70, 80});
  const RgbImage out = ResizeWithPadding(src, 4, 4, ResizeAlgo::kBicubic, {122, 116, 104});
  ASSERT_EQ(out.width, 4);
  ASSERT_EQ(out.height, 4);
  for (int x = 0; x < 4; ++x) {
    for (int y : {0, 3}) {
      EXPECT_EQ(out.at(x, y, 0), 122);
      EXPECT_EQ(out.at(x, y, 1), 116);
      EXPECT_EQ(out.at(x, y, 2), 104);
    }
    EXPECT_EQ(out.at(x, 1, 0), 10 + 10 * x);
    EXPECT_EQ(out.at(x, 2, 0), 50 + 10 * x);
  }
  // 2x5 into 4x4: scale min(2, 0.8) = 0.8 -> ceil(1.6) = 2 x 4, offset x = 1.
  const RgbImage tall = ResizeWithPadding(Gray(2, 5, {0, 0, 0, 0, 0, 0, 0, 0, 0, 0}), 4, 4, ResizeAlgo::kBilinear,
                                          {1, 2, 3});
  for (int y = 0; y < 4; ++y) {
    EXPECT_EQ(tall.at(0, y, 0), 1);
    EXPECT_EQ(tall.at(1, y, 0), 0);
    EXPECT_EQ(tall.at(2, y, 0), 0);
    EXPECT_EQ(tall.at(3, y, 2), 3);
  }
  // Already the target size: unchanged.
  EXPECT_EQ(ResizeWithPadding(src, 4, 2, ResizeAlgo::kBicubic, {0, 0, 0}).pixels, src.pixels);
}

TEST(PreprocessTest, NormalizeToChw) {
  RgbImage img;
  img.width = 2;
  img.height = 1;
  img.pixels = {0, 255, 51, 255, 0, 102};
  const std::vector<float> chw = NormalizeToChw(img, {0.5f, 0.25f, 0.0f}, {0.5f, 0.25f, 2.0f});
  ASSERT_EQ(chw.size(), 6u);
  // Channel-major: R of both pixels, then G, then B.
  EXPECT_FLOAT_EQ(chw[0], (0.0f - 0.5f) / 0.5f);
  EXPECT_FLOAT_EQ(chw[1], (1.0f - 0.5f) / 0.5f);
  EXPECT_FLOAT_EQ(chw[2], (1.0f - 0.25f) / 0.25f);
  EXPECT_FLOAT_EQ(chw[3], (0.0f - 0.25f) / 0.25f);
  EXPECT_FLOAT_EQ(chw[4], 0.2f / 2.0f);
  EXPECT_FLOAT_EQ(chw[5], 0.4f / 2.0f);
}

}  // namespace
}  // namespace isv
