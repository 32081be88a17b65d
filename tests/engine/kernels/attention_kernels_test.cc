// The SIMD attention kernels (fp16 KV cache) against the scalar oracle at every level this CPU runs.
#include "engine/kernels/attention_kernels.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <tuple>
#include <vector>

#include "engine/kernels/kernel_test_util.h"
#include "engine/tensor/float16.h"

namespace isv {
namespace {

TEST(AttentionKernelsTest, SimdLevelsMatchScalar) {
  std::mt19937 rng(5);
  std::normal_distribution<float> dist;
  const AttentionKernels& scalar = GetAttentionKernels(Isa::kScalar);
  for (Isa isa : SimdIsas()) {
    const AttentionKernels& k = GetAttentionKernels(isa);
    for (int64_t n : {1, 7, 8, 15, 16, 31, 64, 80, 96, 128, 129}) {
      std::vector<float> q(n), y_want(n), y_got(n);
      std::vector<uint16_t> kv(n);
      double abs_sum = 0;
      for (int64_t i = 0; i < n; ++i) {
        q[i] = dist(rng);
        kv[i] = Fp32ToFp16(dist(rng));
        y_want[i] = y_got[i] = dist(rng);
        abs_sum += std::fabs(q[i] * Fp16ToFp32(kv[i]));
      }
      EXPECT_NEAR(k.dot_f16(n, q.data(), kv.data()), scalar.dot_f16(n, q.data(), kv.data()), 1e-6 * abs_sum + 1e-7)
          << IsaName(isa) << " n=" << n;
      const float a = dist(rng);
      scalar.axpy_f16(n, a, kv.data(), y_want.data());
      k.axpy_f16(n, a, kv.data(), y_got.data());
      for (int64_t i = 0; i < n; ++i) {
        // Fused or separate multiply-add: at most one rounding apart.
        ASSERT_NEAR(y_got[i], y_want[i], 1e-6 * (std::fabs(y_want[i]) + std::fabs(a * Fp16ToFp32(kv[i]))))
            << IsaName(isa) << " n=" << n << " i=" << i;
      }
    }
  }
}

// The fused p . V kernel equals, bit for bit, zeroing y and applying axpy_f16 row by row in order
// at the same level (batch invariance and the attention goldens rely on it); rows are picked
// through a cell list with gaps, as the KV cache hands them out.
TEST(AttentionKernelsTest, WeightedSumEqualsAxpySequenceBitForBit) {
  std::mt19937 rng(9);
  std::normal_distribution<float> dist;
  for (Isa isa : AllIsas()) {
    const AttentionKernels& k = GetAttentionKernels(isa);
    ASSERT_NE(k.weighted_sum_f16, nullptr) << IsaName(isa);
    for (int64_t n : {8, 16, 40, 64, 96, 128, 160, 256, 7, 129}) {
      const size_t stride = static_cast<size_t>(n) * 3;  // three heads per cell; use the middle one
      const int32_t n_cells = 37;
      std::vector<uint16_t> cache(stride * n_cells);
      for (uint16_t& h : cache) h = Fp32ToFp16(dist(rng));
      std::vector<int32_t> cells;
      for (int32_t c = 0; c < n_cells; c += 1 + c % 3) cells.push_back(c);
      std::vector<float> p(cells.size());
      for (float& v : p) v = std::fabs(dist(rng)) / static_cast<float>(cells.size());
      const uint16_t* v0 = cache.data() + n;
      std::vector<float> want(n, 0.0f), got(n, NAN);
      for (size_t j = 0; j < cells.size(); ++j) k.axpy_f16(n, p[j], v0 + cells[j] * stride, want.data());
      k.weighted_sum_f16(n, static_cast<int32_t>(cells.size()), p.data(), v0, stride, cells.data(), got.data(), 1, 0,
                         0);
      for (int64_t i = 0; i < n; ++i) {
        ASSERT_EQ(std::memcmp(&got[i], &want[i], sizeof(float)), 0)
            << IsaName(isa) << " n=" << n << " i=" << i << ": " << got[i] << " vs " << want[i];
      }
    }
  }
}

// scores_f16 over a cell list: within float reassociation of dot_f16 per cell times the scale
// (bit-identical below AVX-512), and a cell's score is the same bits whatever the list around it
// (its length, the cell's place in it) — batch invariance of attention.
TEST(AttentionKernelsTest, ScoresMatchDotPerCellAndDependOnlyOnTheCell) {
  std::mt19937 rng(11);
  std::normal_distribution<float> dist;
  for (Isa isa : AllIsas()) {
    const AttentionKernels& k = GetAttentionKernels(isa);
    ASSERT_NE(k.scores_f16, nullptr) << IsaName(isa);
    for (int64_t n : {64, 128, 80, 256, 7, 272}) {
      const size_t stride = static_cast<size_t>(n) * 2;
      const int32_t n_cells = 41;
      std::vector<uint16_t> cache(stride * n_cells);
      for (uint16_t& h : cache) h = Fp32ToFp16(dist(rng));
      std::vector<float> q(n);
      for (float& v : q) v = dist(rng);
      std::vector<int32_t> cells;
      for (int32_t c = n_cells - 1; c >= 0; c -= 1 + c % 4) cells.push_back(c);
      const uint16_t* k0 = cache.data() + n;  // the second head of each cell
      const float scale = 0.125f;
      const int32_t count = static_cast<int32_t>(cells.size());
      std::vector<float> got(cells.size(), NAN);
      k.scores_f16(n, count, q.data(), k0, stride, cells.data(), scale, got.data(), 1, 0, 0);
      for (int32_t j = 0; j < count; ++j) {
        const float want = k.dot_f16(n, q.data(), k0 + cells[j] * stride) * scale;
        double abs_sum = 0;
        for (int64_t i = 0; i < n; ++i) abs_sum += std::fabs(q[i] * Fp16ToFp32(k0[cells[j] * stride + i]));
        if (isa >= Isa::kAvx512) {
          ASSERT_NEAR(got[j], want, 1e-6 * abs_sum * scale + 1e-30) << IsaName(isa) << " n=" << n << " j=" << j;
        } else {
          ASSERT_EQ(std::memcmp(&got[j], &want, sizeof(float)), 0)
              << IsaName(isa) << " n=" << n << " j=" << j << ": " << got[j] << " vs " << want;
        }
      }
      // Every suffix of the list (other lengths, every cell at another place) gives the same bits.
      for (int32_t skip = 1; skip < count; skip += 3) {
        std::vector<float> sub(cells.size() - skip, NAN);
        k.scores_f16(n, count - skip, q.data(), k0, stride, cells.data() + skip, scale, sub.data(), 1, 0, 0);
        for (int32_t j = 0; j < count - skip; ++j) {
          ASSERT_EQ(std::memcmp(&sub[j], &got[j + skip], sizeof(float)), 0)
              << IsaName(isa) << " n=" << n << " skip=" << skip << " j=" << j;
        }
      }
    }
  }
}

// Grouped-query calls (n_q heads sharing the keys and values): each head's scores and weighted sum
// are the bits of a call on that head alone, for group sizes 1..8 (llama-3: 4, qwen2.5-0.5b: 7) and
// head sizes that take every pass shape (16..256, 2 or 4 heads per pass) and the fallbacks.
TEST(AttentionKernelsTest, HeadGroupsGiveEachHeadsOwnBits) {
  std::mt19937 rng(17);
  std::normal_distribution<float> dist;
  for (Isa isa : AllIsas()) {
    const AttentionKernels& k = GetAttentionKernels(isa);
    for (int64_t n : {64, 96, 128, 256, 40, 272}) {
      for (int32_t n_q : {1, 2, 4, 7, 8}) {
        const size_t kv_stride = static_cast<size_t>(n) * 2;
        const int32_t n_cells = 37;
        std::vector<uint16_t> cache(kv_stride * n_cells);
        for (uint16_t& h : cache) h = Fp32ToFp16(dist(rng));
        std::vector<int32_t> cells;
        for (int32_t c = 0; c < n_cells; c += 1 + c % 3) cells.push_back(c);
        const int32_t count = static_cast<int32_t>(cells.size());
        const size_t q_stride = static_cast<size_t>(n) + 5, s_stride = 50, y_stride = static_cast<size_t>(n) + 3;
        std::vector<float> q(q_stride * n_q), p(s_stride * n_q);
        for (float& v : q) v = dist(rng);
        for (float& v : p) v = std::fabs(dist(rng)) / static_cast<float>(count);
        const uint16_t* kv0 = cache.data() + n;
        std::vector<float> scores(s_stride * n_q, NAN), y(y_stride * n_q, NAN);
        k.scores_f16(n, count, q.data(), kv0, kv_stride, cells.data(), 0.125f, scores.data(), n_q, q_stride, s_stride);
        k.weighted_sum_f16(n, count, p.data(), kv0, kv_stride, cells.data(), y.data(), n_q, s_stride, y_stride);
        for (int32_t g = 0; g < n_q; ++g) {
          std::vector<float> one_scores(count, NAN), one_y(n, NAN);
          k.scores_f16(n, count, q.data() + g * q_stride, kv0, kv_stride, cells.data(), 0.125f, one_scores.data(), 1,
                       0, 0);
          k.weighted_sum_f16(n, count, p.data() + g * s_stride, kv0, kv_stride, cells.data(), one_y.data(), 1, 0, 0);
          ASSERT_EQ(std::memcmp(scores.data() + g * s_stride, one_scores.data(), count * sizeof(float)), 0)
              << IsaName(isa) << " n=" << n << " n_q=" << n_q << " head " << g;
          ASSERT_EQ(std::memcmp(y.data() + g * y_stride, one_y.data(), n * sizeof(float)), 0)
              << IsaName(isa) << " n=" << n << " n_q=" << n_q << " head " << g;
        }
      }
    }
  }
}

// The prompt-token scores against an oracle written here from the kernel's specified order (first
// product, then one fused multiply-add per element, times the scale): bit for bit at every level,
// for head sizes that take the transposes' full and partial blocks, 1..12 query rows in 1..4 tokens,
// cell lists with gaps of 7 to 64 cells (partial, whole and several key blocks, with tails in either
// half of the AVX-512 level's 32-cell blocks), and row strides that leave the rows apart.
TEST(AttentionKernelsTest, PromptScoresFollowTheSpecifiedOrderAtEveryLevel) {
  std::mt19937 rng(23);
  std::normal_distribution<float> dist;
  for (Isa isa : AllIsas()) {
    const AttentionKernels& k = GetAttentionKernels(isa);
    ASSERT_NE(k.scores_rows_f16, nullptr) << IsaName(isa);
    for (int64_t n : {64, 128, 96, 80, 40, 1, 7, 256, 300}) {
      // n_cells 19 / 46 / 67 / 94 / 109 / 154 / 190: 7 / 16 / 23 / 32 / 37 / 52 / 64 cells in the list.
      for (auto [n_tok, n_head, n_cells] :
           {std::tuple{1, 1, 46}, {1, 7, 19}, {3, 4, 67}, {2, 6, 109}, {4, 3, 154}, {1, 12, 190}, {2, 2, 94}}) {
        const size_t kv_stride = static_cast<size_t>(n) * 2 + 1;
        std::vector<uint16_t> cache(kv_stride * n_cells);
        for (uint16_t& h : cache) h = Fp32ToFp16(dist(rng));
        std::vector<int32_t> cells;
        for (int32_t c = n_cells - 1; c >= 0; c -= 1 + c % 3) cells.push_back(c);  // gaps, any order
        const int32_t count = static_cast<int32_t>(cells.size());
        const size_t q_tok_stride = static_cast<size_t>(n) * n_head + 9, s_stride = count + 3;
        std::vector<float> q(q_tok_stride * n_tok);
        for (float& v : q) v = dist(rng);
        const uint16_t* k0 = cache.data() + 1;
        const float scale = 0.125f;
        std::vector<float> got(s_stride * n_tok * n_head, NAN);
        k.scores_rows_f16(n, count, q.data(), n_tok, q_tok_stride, n_head, k0, kv_stride, cells.data(), scale,
                          got.data(), s_stride);
        for (int32_t t = 0; t < n_tok; ++t) {
          for (int32_t h = 0; h < n_head; ++h) {
            const float* qr = q.data() + t * q_tok_stride + h * n;
            const float* row = got.data() + (t * n_head + h) * s_stride;
            for (int32_t j = 0; j < count; ++j) {
              const uint16_t* key = k0 + static_cast<size_t>(cells[j]) * kv_stride;
              float want = qr[0] * Fp16ToFp32(key[0]);
              for (int64_t i = 1; i < n; ++i) want = std::fma(qr[i], Fp16ToFp32(key[i]), want);
              want *= scale;
              ASSERT_EQ(std::memcmp(&row[j], &want, sizeof(float)), 0)
                  << IsaName(isa) << " n=" << n << " t=" << t << " h=" << h << " j=" << j << ": " << row[j] << " vs "
                  << want;
            }
            for (size_t j = count; j < s_stride; ++j) ASSERT_TRUE(std::isnan(row[j])) << "wrote past count";
          }
        }
      }
    }
  }
}

// The prompt tokens' p . V in one call: each token's rows are the bits of the same level's
// weighted_sum_f16 over its own count, for counts that end before, at and after the value blocks'
// edges (64 cells of a 64-wide head, 16 of a 256-wide one; one of a head wider than the block), a
// token that sees nothing (zeros), 1..8 heads, head sizes that take the fallback, and row strides
// that leave gaps the kernel must not write.
TEST(AttentionKernelsTest, PromptWeightedSumsEqualPerTokenCallsBitForBit) {
  std::mt19937 rng(29);
  std::normal_distribution<float> dist;
  for (Isa isa : AllIsas()) {
    const AttentionKernels& k = GetAttentionKernels(isa);
    ASSERT_NE(k.weighted_sum_rows_f16, nullptr) << IsaName(isa);
    for (int64_t n : {64, 128, 96, 256, 80, 40, 7, 4112}) {
      const size_t kv_stride = static_cast<size_t>(n) * 2 + 3;
      const int32_t n_cells = n > 256 ? 5 : 160;
      std::vector<uint16_t> cache(kv_stride * n_cells);
      for (uint16_t& h : cache) h = Fp32ToFp16(dist(rng));
      std::vector<int32_t> cells;
      for (int32_t c = n_cells - 1; c >= 0; c -= 1 + c % 2) cells.push_back(c);  // gaps, any order
      const int32_t widest = static_cast<int32_t>(cells.size());
      const std::vector<int32_t> counts = {1, widest, 0, 63, 64, 65, widest - 1, 16, 17, 2};
      for (int32_t n_head : {1, 4, 7, 8}) {
        const int32_t n_tok = static_cast<int32_t>(counts.size());
        const size_t p_stride = static_cast<size_t>(widest) + 2, y_tok_stride = static_cast<size_t>(n) * n_head + 5;
        std::vector<int32_t> c(counts);
        for (int32_t& v : c) v = std::min(v, widest);
        std::vector<float> p(p_stride * n_tok * n_head);
        for (float& v : p) v = std::fabs(dist(rng)) / static_cast<float>(widest);
        const uint16_t* v0 = cache.data() + 2;
        std::vector<float> got(y_tok_stride * n_tok, NAN);
        k.weighted_sum_rows_f16(n, c.data(), p.data(), n_tok, p_stride, n_head, v0, kv_stride, cells.data(), got.data(),
                                y_tok_stride);
        for (int32_t t = 0; t < n_tok; ++t) {
          std::vector<float> want(static_cast<size_t>(n) * n_head, NAN);
          k.weighted_sum_f16(n, c[t], p.data() + t * n_head * p_stride, v0, kv_stride, cells.data(), want.data(),
                             n_head, p_stride, static_cast<size_t>(n));
          const float* row = got.data() + t * y_tok_stride;
          ASSERT_EQ(std::memcmp(row, want.data(), want.size() * sizeof(float)), 0)
              << IsaName(isa) << " n=" << n << " n_head=" << n_head << " t=" << t << " count=" << c[t];
          if (c[t] == 0) {
            ASSERT_EQ(row[0], 0.0f);
          }
          for (size_t i = want.size(); i < y_tok_stride; ++i) ASSERT_TRUE(std::isnan(row[i])) << "wrote past the rows";
        }
      }
    }
  }
}

// max_f32 and scale_f32: the exact maximum and the exact products at every level, every length.
TEST(AttentionKernelsTest, MaxAndScaleAreExact) {
  std::mt19937 rng(29);
  std::normal_distribution<float> dist;
  for (Isa isa : AllIsas()) {
    const AttentionKernels& k = GetAttentionKernels(isa);
    EXPECT_EQ(k.max_f32(0, nullptr), -INFINITY) << IsaName(isa);
    for (int32_t count : {1, 5, 8, 15, 16, 17, 31, 100, 513}) {
      for (int32_t where : {0, count / 2, count - 1}) {
        std::vector<float> x(count);
        for (float& v : x) v = dist(rng) - 10.0f;
        x[where] = 3.5f + static_cast<float>(where);
        EXPECT_EQ(k.max_f32(count, x.data()), x[where]) << IsaName(isa) << " count=" << count << " at " << where;
        std::vector<float> y = x;
        k.scale_f32(count, 0.3f, y.data());
        for (int32_t j = 0; j < count; ++j) ASSERT_EQ(y[j], x[j] * 0.3f) << IsaName(isa) << " j=" << j;
      }
    }
  }
}

// exp_sum: every value within 4 ulp of std::exp(x - max) (SIMD polynomial), values far below the
// maximum flush to 0 or stay below FLT_MIN, the sum is the sum of the values; every length (tails).
TEST(AttentionKernelsTest, ExpSumMatchesStdExp) {
  std::mt19937 rng(13);
  std::uniform_real_distribution<float> dist(-30.0f, 10.0f);
  for (Isa isa : AllIsas()) {
    const AttentionKernels& k = GetAttentionKernels(isa);
    ASSERT_NE(k.exp_sum, nullptr) << IsaName(isa);
    for (int32_t count : {1, 5, 8, 15, 16, 17, 100, 513}) {
      std::vector<float> x(count);
      for (float& v : x) v = dist(rng);
      x[0] = -200.0f;  // far below the maximum
      if (count > 2) x[1] = 10.0f;
      float max = -INFINITY;
      for (float v : x) max = std::max(max, v);
      std::vector<float> y = x;
      const double sum = k.exp_sum(count, max, y.data());
      double want_sum = 0;
      for (int32_t j = 0; j < count; ++j) {
        const float want = std::exp(x[j] - max);
        want_sum += want;
        if (want < 1.2e-38f) {
          EXPECT_LT(y[j], 1.2e-38f) << IsaName(isa) << " x=" << x[j] - max;
          continue;
        }
        ASSERT_NEAR(y[j], want, 4 * 1.2e-7 * want) << IsaName(isa) << " x=" << x[j] - max;
      }
      EXPECT_NEAR(sum, want_sum, 1e-6 * want_sum) << IsaName(isa) << " count=" << count;
    }
  }
}

}  // namespace
}  // namespace isv
