// The shared building blocks against their formulas: RMSNorm, RoPE (normal / NeoX pairing,
// frequency factors, linear scaling, attention factor, partial rotation), SwiGLU into the down matmul,
// the fused bias / RoPE / K-V store pass.
#include "engine/arch/blocks.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "core/thread_pool.h"
#include "engine/arch/forward_state.h"
#include "engine/kv/kv_cache.h"
#include "engine/tensor/float16.h"

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
  RopeRow(hp, s.rope_cs.data(), x.data(), 1);

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

// SwiGluDown against its formula: two tokens' fused [gate | up] rows, as phi3's ffn_up produces them,
// times an F32 down matrix, as plain tokens and as prompt tokens (the prefill path where the level has one).
TEST(BlocksTest, SwiGluDownReadsStridedHalves) {
  constexpr int kFf = 32, kOut = 3, kTokens = 2;
  std::vector<float> fused(kTokens * 2 * kFf), w(kOut * kFf);
  for (size_t i = 0; i < fused.size(); ++i) fused[i] = std::sin(0.7f * static_cast<float>(i)) * 3.0f;
  for (size_t i = 0; i < w.size(); ++i) w[i] = std::cos(0.3f * static_cast<float>(i));
  TensorView down;
  down.type = GgmlType::kF32;
  down.ne[0] = kFf;
  down.ne[1] = kOut;
  down.n_dims = 2;
  down.data = w.data();
  ThreadPool pool(2);
  for (int32_t n_prefill : {0, kTokens}) {
    ForwardState s;
    s.pool = &pool;
    s.n_tokens = kTokens;
    s.n_prefill = n_prefill;
    s.proj.assign(kTokens * kOut, NAN);
    SwiGluDown(fused.data(), 2 * kFf, fused.data() + kFf, 2 * kFf, down, s);
    for (int t = 0; t < kTokens; ++t) {
      for (int r = 0; r < kOut; ++r) {
        double want = 0;
        for (int i = 0; i < kFf; ++i) {
          const double g = fused[t * 2 * kFf + i], u = fused[t * 2 * kFf + kFf + i];
          want += w[r * kFf + i] * (g / (1 + std::exp(-g)) * u);
        }
        EXPECT_NEAR(s.proj[t * kOut + r], want, 1e-4) << "token " << t << " row " << r << " prefill " << n_prefill;
      }
    }
  }
}

// The fused per-token pass against the separate steps written out here: biases added over the batch,
// RopeRow on q and k, then each K/V head row converted with Fp32ToFp16 into the token's cell; bit for
// bit, with and without biases, NeoX and normal pairs, a partial rotation, scattered cells, two layers.
TEST(BlocksTest, BiasRopeStoreEqualsTheStepsOneAfterAnother) {
  for (bool biases : {true, false}) {
    for (RopeStyle style : {RopeStyle::kNeox, RopeStyle::kNormal}) {
      ModelParams hp;
      hp.n_head = 4;
      hp.n_head_kv = 2;
      hp.head_dim = 8;
      hp.n_rot = 6;
      hp.rope_freq_base = 10000.0f;
      hp.rope_style = style;
      const int32_t n_q = hp.n_embd_q(), n_kv = hp.n_embd_kv(), kTokens = 3, kLayer = 1;
      ForwardState s;
      s.n_tokens = kTokens;
      s.positions = {4, 0, 7};
      s.cells = {5, 0, 9};
      s.rope_cs.resize(kTokens * hp.n_rot);
      ComputeRope(hp, nullptr, s);
      KvCache kv(2, 16, n_kv, KvCache::kDefaultBlockSize, hp.n_head_kv);
      s.kv = &kv;
      auto fill = [](std::vector<float>& v, float f) {
        for (size_t i = 0; i < v.size(); ++i) v[i] = std::sin(f * static_cast<float>(i + 1)) * 2.0f;
      };
      std::vector<float> bq(n_q), bk(n_kv), bv(n_kv);
      fill(bq, 0.9f), fill(bk, 1.3f), fill(bv, 0.4f);
      LayerWeights l;
      if (biases) l.bq.data = bq.data(), l.bk.data = bk.data(), l.bv.data = bv.data();
      s.q.resize(kTokens * n_q), s.k.resize(kTokens * n_kv), s.v.resize(kTokens * n_kv);
      fill(s.q, 0.37f), fill(s.k, 0.53f), fill(s.v, 0.71f);
      std::vector<float> q = s.q, k = s.k, v = s.v;  // the steps one after another on copies
      if (biases) {
        for (int t = 0; t < kTokens; ++t) {
          for (int i = 0; i < n_q; ++i) q[t * n_q + i] += bq[i];
          for (int i = 0; i < n_kv; ++i) k[t * n_kv + i] += bk[i], v[t * n_kv + i] += bv[i];
        }
      }
      for (int t = 0; t < kTokens; ++t) {
        RopeRow(hp, s.rope_cs.data() + t * hp.n_rot, q.data() + t * n_q, hp.n_head);
        RopeRow(hp, s.rope_cs.data() + t * hp.n_rot, k.data() + t * n_kv, hp.n_head_kv);
      }

      BiasRopeStore(hp, kLayer, l, s);
      ASSERT_EQ(s.q, q) << "biases " << biases;
      ASSERT_EQ(s.k, k) << "biases " << biases;
      ASSERT_EQ(s.v, v) << "biases " << biases;
      for (int t = 0; t < kTokens; ++t) {
        for (int h = 0; h < hp.n_head_kv; ++h) {
          for (int i = 0; i < hp.head_dim; ++i) {
            const int e = t * n_kv + h * hp.head_dim + i;
            ASSERT_EQ(kv.k(kLayer, h, s.cells[t])[i], Fp32ToFp16(k[e])) << "t " << t << " h " << h << " i " << i;
            ASSERT_EQ(kv.v(kLayer, h, s.cells[t])[i], Fp32ToFp16(v[e])) << "t " << t << " h " << h << " i " << i;
          }
        }
      }
    }
  }
}

}  // namespace
}  // namespace isv
