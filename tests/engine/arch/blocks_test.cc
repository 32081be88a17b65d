// The shared building blocks against their formulas: RMSNorm, RoPE (normal / NeoX pairing,
// frequency factors, linear scaling, attention factor, partial rotation), SwiGLU.
#include "engine/arch/blocks.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace isv {
namespace {

TEST(BlocksTest, RmsNormMatchesFormula) {
  const std::vector<float> x = {1.0f, -2.0f, 3.0f, 0.5f, 4.0f, 0.0f, -1.0f, 2.0f};
  const std::vector<float> w = {1.0f, 2.0f, 0.5f, 1.5f};
  TensorView wt;
  wt.ne[0] = 4;
  wt.data = w.data();
  std::vector<float> y(8);
  RmsNorm(x.data(), wt, 2, 4, 1e-5f, y.data());
  for (int t = 0; t < 2; ++t) {
    double ss = 0;
    for (int i = 0; i < 4; ++i) ss += x[t * 4 + i] * x[t * 4 + i];
    const double scale = 1.0 / std::sqrt(ss / 4 + 1e-5);
    for (int i = 0; i < 4; ++i) EXPECT_NEAR(y[t * 4 + i], x[t * 4 + i] * scale * w[i], 1e-6);
  }
}

// One head of 6 dims, n_rot 4 (the last two dims pass through), at position 3.
struct RopeCase {
  RopeStyle style;
  float freq_scale;
  float attn_factor;
  bool factors;
};

class RopeTest : public ::testing::TestWithParam<RopeCase> {};

TEST_P(RopeTest, RotatesPairsByTheExpectedAngles) {
  const RopeCase c = GetParam();
  ModelParams hp;
  hp.n_head = 1;
  hp.n_head_kv = 1;
  hp.head_dim = 6;
  hp.n_rot = 4;
  hp.rope_freq_base = 100.0f;
  hp.rope_freq_scale = c.freq_scale;
  hp.rope_attn_factor = c.attn_factor;
  hp.rope_style = c.style;
  const std::vector<float> ff = {1.0f, 4.0f};
  ForwardState s;
  s.n_tokens = 1;
  s.positions = {3};
  s.rope_cs.resize(4);
  ComputeRope(hp, c.factors ? ff.data() : nullptr, s);
  std::vector<float> x = {0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f};
  const std::vector<float> x0 = x;
  ApplyRope(hp, x.data(), 1, 6, s);

  for (int i = 0; i < 2; ++i) {
    const double theta = 3.0 * c.freq_scale * std::pow(100.0, -2.0 * i / 4) / (c.factors ? ff[i] : 1.0);
    const int a = c.style == RopeStyle::kNormal ? 2 * i : i;
    const int b = c.style == RopeStyle::kNormal ? 2 * i + 1 : i + 2;
    const double m = c.attn_factor;
    EXPECT_NEAR(x[a], m * (x0[a] * std::cos(theta) - x0[b] * std::sin(theta)), 1e-6) << "pair " << i;
    EXPECT_NEAR(x[b], m * (x0[a] * std::sin(theta) + x0[b] * std::cos(theta)), 1e-6) << "pair " << i;
  }
  EXPECT_EQ(x[4], x0[4]);
  EXPECT_EQ(x[5], x0[5]);
}

INSTANTIATE_TEST_SUITE_P(Variants, RopeTest,
                         ::testing::Values(RopeCase{RopeStyle::kNormal, 1.0f, 1.0f, false},
                                           RopeCase{RopeStyle::kNeox, 1.0f, 1.0f, false},
                                           RopeCase{RopeStyle::kNormal, 0.25f, 1.0f, true},
                                           RopeCase{RopeStyle::kNeox, 1.0f, 1.19f, true}));

TEST(BlocksTest, SwiGluReadsStridedHalves) {
  // One row of a fused [gate | up] projection, as phi3's ffn_up produces it.
  const std::vector<float> fused = {1.0f, -2.0f, 3.0f, 0.5f, 2.0f, -1.0f};
  std::vector<float> out(3);
  SwiGlu(fused.data(), 6, fused.data() + 3, 6, 1, 3, out.data());
  for (int i = 0; i < 3; ++i) {
    const double g = fused[i], u = fused[3 + i];
    EXPECT_NEAR(out[i], g / (1 + std::exp(-g)) * u, 1e-6);
  }
}

}  // namespace
}  // namespace isv
