// Prefill kernels (kernels/prefill.h). Independent expectations: the packing against the layout's
// definition, the oracle PrefillDotRef against a double-precision dot product of the dequantized
// rows, every SIMD prefill kernel against the oracle BIT FOR BIT (the order is specified exactly),
// and MatMul's split: plain rows keep vec_dot's bits, prompt rows get the prefill kernel's.
#include "engine/kernels/prefill.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "core/thread_pool.h"
#include "engine/kernels/blocks.h"
#include "engine/kernels/kernel_test_util.h"
#include "engine/kernels/kernels.h"
#include "engine/kernels/matmul.h"
#include "engine/tensor/float16.h"

namespace isv {
namespace {

constexpr GgmlType kTypes[] = {GgmlType::kQ4_0,   GgmlType::kQ4_1,   GgmlType::kQ5_0, GgmlType::kQ5_1, GgmlType::kQ8_0,
                               GgmlType::kIQ4_NL, GgmlType::kQ2_K,   GgmlType::kQ3_K, GgmlType::kQ4_K, GgmlType::kQ5_K,
                               GgmlType::kQ6_K,   GgmlType::kIQ4_XS, GgmlType::kF32,  GgmlType::kF16,  GgmlType::kBF16};

bool IsK(GgmlType type) { return TypeTraits(type).block_size == 256; }
bool IsFloat(GgmlType type) { return TypeTraits(type).block_size == 1; }

// Row lengths to test: whole blocks for the quantized types; for the float types any length (the
// kernels' masked tails).
std::vector<int64_t> Lengths(GgmlType type) {
  if (IsK(type)) return {256, 768, 2048};
  if (IsFloat(type)) return {7, 33, 96, 1001};
  return {32, 96, 896};
}

// Packed activations in 64-byte aligned storage.
std::vector<PrefillBlock> PackedBuffer(GgmlType act_type, int64_t n_tokens, int64_t n, bool f16_rows = false) {
  return std::vector<PrefillBlock>((PrefillPackedBytes(act_type, n_tokens, n, f16_rows) + sizeof(PrefillBlock) - 1) /
                                   sizeof(PrefillBlock));
}

// n_rows rows of `type` (scaled by `scale`) and n_tokens activation rows of its vec_dot_type, random.
struct Operands {
  std::vector<uint8_t> w, a;
  size_t w_row = 0, a_row = 0;
};

Operands MakeOperands(GgmlType type, int64_t n, int n_rows, int n_tokens, std::mt19937& rng, float scale = 0.05f) {
  std::normal_distribution<float> dist;
  Operands o;
  const GgmlType act_type = GetKernels(type, Isa::kScalar).vec_dot_type;
  o.w_row = RowSize(type, n);
  o.a_row = RowSize(act_type, n);
  o.w.resize(o.w_row * n_rows);
  o.a.resize(o.a_row * n_tokens);
  std::vector<float> f(n);
  for (int r = 0; r < n_rows; ++r) {
    for (float& v : f) v = scale * dist(rng);
    GetKernels(type, Isa::kScalar).from_float(f.data(), &o.w[r * o.w_row], n);
  }
  for (int t = 0; t < n_tokens; ++t) {
    for (float& v : f) v = dist(rng);
    GetKernels(act_type, Isa::kScalar).from_float(f.data(), &o.a[t * o.a_row], n);
  }
  return o;
}

TEST(PrefillTest, PackingFollowsTheLayout) {
  std::mt19937 rng(1);
  const int64_t n = 96, n_tokens = 21;  // two groups, the second padded with token 20
  const Operands o = MakeOperands(GgmlType::kQ8_0, n, 1, n_tokens, rng);
  std::vector<PrefillBlock> packed(PrefillPackedBytes(GgmlType::kQ8_0, n_tokens, n) / sizeof(PrefillBlock));
  ASSERT_EQ(packed.size(), 2u * 3u);
  PackPrefillActivations(GgmlType::kQ8_0, o.a.data(), o.a_row, n_tokens, n, 0, 2, packed.data());
  for (int g = 0; g < 2; ++g) {
    for (int b = 0; b < 3; ++b) {
      const PrefillBlock& p = packed[g * 3 + b];
      for (int t = 0; t < kPrefillGroup; ++t) {
        const int token = std::min(g * kPrefillGroup + t, static_cast<int>(n_tokens) - 1);
        const BlockQ8_0& blk = reinterpret_cast<const BlockQ8_0*>(&o.a[token * o.a_row])[b];
        ASSERT_EQ(p.dy[t], Fp16ToFp32(blk.d));
        for (int k = 0; k < kQK; ++k) {
          ASSERT_EQ(p.q[k / 4][4 * t + k % 4], static_cast<uint8_t>(blk.qs[k] + 128))
              << "group " << g << " block " << b << " token " << t << " quant " << k;
        }
      }
    }
  }
}

TEST(PrefillTest, OracleIsTheDotProduct) {
  std::mt19937 rng(2);
  for (GgmlType type : kTypes) {
    const int64_t n = IsK(type) ? 1024 : 896;
    const GgmlType act_type = GetKernels(type, Isa::kScalar).vec_dot_type;
    const Operands o = MakeOperands(type, n, 4, 3, rng);
    std::vector<float> wf(n), af(n);
    for (int r = 0; r < 4; ++r) {
      GetKernels(type, Isa::kScalar).to_float(&o.w[r * o.w_row], wf.data(), n);
      for (int t = 0; t < 3; ++t) {
        GetKernels(act_type, Isa::kScalar).to_float(&o.a[t * o.a_row], af.data(), n);
        double want = 0, mag = 0;
        for (int64_t i = 0; i < n; ++i) {
          want += static_cast<double>(wf[i]) * af[i];
          mag += std::fabs(static_cast<double>(wf[i]) * af[i]);
        }
        // Q4_1 / Q5_1: the min term uses Q8_1's stored block sum s, an fp16 (relative error <= 2^-11).
        double min_error = 0;
        if (act_type == GgmlType::kQ8_1) {
          const auto* blocks = reinterpret_cast<const BlockQ8_1*>(&o.a[t * o.a_row]);
          for (int64_t b = 0; b < n / kQK; ++b) {
            const uint16_t m = type == GgmlType::kQ4_1 ? reinterpret_cast<const BlockQ4_1*>(&o.w[r * o.w_row])[b].m
                                                       : reinterpret_cast<const BlockQ5_1*>(&o.w[r * o.w_row])[b].m;
            min_error += std::fabs(Fp16ToFp32(m) * Fp16ToFp32(blocks[b].s)) * std::ldexp(1.0, -11);
          }
        }
        const float got = PrefillDotRef(type, n, &o.w[r * o.w_row], &o.a[t * o.a_row]);
        EXPECT_NEAR(got, want, 1e-5 * mag + min_error) << TypeName(type) << " row " << r << " token " << t;
      }
    }
  }
}

// The types each level has a prefill kernel for (IQ4_XS: AVX-512 only).
std::vector<GgmlType> PrefillTypes(Isa isa) {
  if (isa == Isa::kScalar) return {};
  std::vector<GgmlType> types(std::begin(kTypes), std::end(kTypes));
  if (isa == Isa::kAvx2) {
    auto avx512_only = [](GgmlType t) { return t == GgmlType::kIQ4_XS; };
    types.erase(std::remove_if(types.begin(), types.end(), avx512_only), types.end());
  }
  return types;
}

TEST(PrefillTest, KernelsEqualTheOracleBitForBit) {
  if (BestIsa() < Isa::kAvx2) GTEST_SKIP() << "no prefill kernel at this CPU's level (" << IsaName(BestIsa()) << ")";
  std::mt19937 rng(3);
  for (Isa isa : SimdIsas()) {
    SCOPED_TRACE(std::string(IsaName(isa)));
    int checked = 0;
    for (GgmlType type : kTypes) {
      const TypeKernels& k = GetKernels(type, isa);
      const std::vector<GgmlType> want_types = PrefillTypes(isa);
      if (std::find(want_types.begin(), want_types.end(), type) == want_types.end()) {
        EXPECT_EQ(k.prefill_gemm, nullptr) << TypeName(type);
        continue;
      }
      ASSERT_NE(k.prefill_gemm, nullptr) << TypeName(type);
      const std::vector<int64_t> lengths = Lengths(type);
      for (int64_t n : lengths) {
        for (int n_tokens : {1, 5, 16, 17, 40}) {
          // Large weights too: quants at the ends of their range.
          const Operands o = MakeOperands(type, n, k.prefill_rows, n_tokens, rng, n == lengths[1] ? 50.0f : 0.05f);
          std::vector<PrefillBlock> packed = PackedBuffer(k.vec_dot_type, n_tokens, n, k.prefill_f16_rows);
          PackPrefillActivations(k.vec_dot_type, o.a.data(), o.a_row, n_tokens, n, 0, (n_tokens + 15) / 16,
                                 packed.data(), k.prefill_f16_rows);
          for (int n_rows = 1; n_rows <= k.prefill_rows; ++n_rows) {
            const size_t stride = static_cast<size_t>(n_rows) + 3;  // out rows wider than the tile
            std::vector<float> out(static_cast<size_t>(n_tokens) * stride, -1.0f);
            k.prefill_gemm(n, o.w.data(), o.w_row, n_rows, packed.data(), n_tokens, out.data(), stride);
            for (int t = 0; t < n_tokens; ++t) {
              for (int r = 0; r < n_rows; ++r) {
                const float want = PrefillDotRef(type, n, &o.w[r * o.w_row], &o.a[t * o.a_row]);
                ASSERT_TRUE(SameBits(out[t * stride + r], want))
                    << TypeName(type) << " n " << n << " tokens " << n_tokens << " rows " << n_rows << " (" << r << ", "
                    << t << "): " << out[t * stride + r] << " vs oracle " << want;
                ++checked;
              }
              for (size_t r = n_rows; r < stride; ++r) ASSERT_EQ(out[t * stride + r], -1.0f) << "wrote past the tile";
            }
          }
        }
      }
    }
    EXPECT_GT(checked, 4000);
  }
}

// Types whose plain tokens sum in the prefill order too (kernels.h: plain_in_prefill_order: Q4_0, Q5_0
// and IQ4_NL at both SIMD levels): vec_dot and gemv equal the
// oracle bit for bit, for 1..kGemvMaxTokens tokens and row counts around the kernels' 8-row pass
// (remainders, several passes, a range starting mid-matrix), and they offer no vec_dot-order kernel
// (vec_dot_4, gemm_tile) that a caller could mix in.
TEST(PrefillTest, PlainTokensInThePrefillOrderEqualTheOracle) {
  std::mt19937 rng(5);
  int checked = 0;
  for (Isa isa : AllIsas()) {
    for (GgmlType type : kTypes) {
      const TypeKernels& k = GetKernels(type, isa);
      if (!k.plain_in_prefill_order) continue;
      SCOPED_TRACE(std::string(IsaName(isa)) + " " + std::string(TypeName(type)));
      ASSERT_NE(k.prefill_gemm, nullptr) << "larger plain batches go through prefill_gemm";
      ASSERT_NE(k.gemv, nullptr);
      EXPECT_EQ(k.vec_dot_4, nullptr);
      EXPECT_EQ(k.gemm_tile, nullptr);
      const std::vector<int64_t> lengths = Lengths(type);
      for (int64_t n : lengths) {
        const int n_rows = 21;
        const Operands o = MakeOperands(type, n, n_rows, kGemvMaxTokens, rng, n == lengths[1] ? 50.0f : 0.05f);
        std::vector<float> want(static_cast<size_t>(kGemvMaxTokens) * n_rows);
        for (int t = 0; t < kGemvMaxTokens; ++t) {
          for (int r = 0; r < n_rows; ++r) {
            want[t * n_rows + r] = PrefillDotRef(type, n, &o.w[r * o.w_row], &o.a[t * o.a_row]);
            const float got = k.vec_dot(n, &o.w[r * o.w_row], &o.a[t * o.a_row]);
            ASSERT_TRUE(SameBits(got, want[t * n_rows + r]))
                << "vec_dot n " << n << " (" << r << ", " << t << "): " << got << " vs " << want[t * n_rows + r];
          }
        }
        for (int tokens = 1; tokens <= kGemvMaxTokens; ++tokens) {
          for (int first : {0, 3}) {
            for (int rows : {1, 7, 8, 9, 16, 18}) {
              const size_t stride = n_rows + 2;
              std::vector<float> out(kGemvMaxTokens * stride, -1.0f);
              k.gemv(n, &o.w[first * o.w_row], o.w_row, rows, o.a.data(), o.a_row, tokens, out.data(), stride);
              for (int t = 0; t < kGemvMaxTokens; ++t) {
                for (int r = 0; r < static_cast<int>(stride); ++r) {
                  const float got = out[t * stride + r];
                  if (t >= tokens || r >= rows) {
                    ASSERT_EQ(got, -1.0f) << "gemv wrote outside its rows and tokens";
                    continue;
                  }
                  ASSERT_TRUE(SameBits(got, want[t * n_rows + first + r]))
                      << "gemv n " << n << " tokens " << tokens << " rows " << first << " + " << rows << " (" << r
                      << ", " << t << "): " << got << " vs oracle " << want[t * n_rows + first + r];
                  ++checked;
                }
              }
            }
          }
        }
      }
    }
  }
  if (BestIsa() >= Isa::kAvx512) {
    EXPECT_GT(checked, 0) << "Q4_0, Q5_0 and IQ4_NL decode in the prefill order at the AVX-512 level";
  }
}

// MatMul with the last n_prefill tokens flagged: the others keep vec_dot's bits, the flagged ones
// get the oracle's bits where the type has a prefill kernel (else vec_dot's as well). Q4_0 / Q5_0 /
// IQ4_NL at the AVX-512 level: its vec_dot is the oracle's order, and more than kGemvMaxTokens plain tokens take its
// prefill kernel.
TEST(PrefillTest, MatMulSplitsPlainAndPromptRows) {
  std::mt19937 rng(4);
  ThreadPool pool(2);
  MatMulScratch scratch;
  for (Isa isa : AllIsas()) {
    for (GgmlType type : {GgmlType::kQ4_0, GgmlType::kIQ4_NL, GgmlType::kQ5_0, GgmlType::kQ5_1, GgmlType::kQ8_0,
                          GgmlType::kQ4_K, GgmlType::kQ6_K, GgmlType::kQ3_K, GgmlType::kIQ4_XS, GgmlType::kQ2_K,
                          GgmlType::kF32, GgmlType::kF16, GgmlType::kBF16}) {
      const int64_t n = IsK(type) ? 1024 : 896;
      for (int64_t n_out : {37, 300}) {
        const int n_tokens = 35;
        std::normal_distribution<float> dist;
        std::vector<float> wf(static_cast<size_t>(n * n_out)), x(static_cast<size_t>(n * n_tokens));
        for (float& v : wf) v = 0.05f * dist(rng);
        for (float& v : x) v = dist(rng);
        const TypeKernels& k = GetKernels(type, isa);
        const size_t w_row = RowSize(type, n);
        std::vector<uint8_t> w(w_row * n_out);
        for (int64_t r = 0; r < n_out; ++r) k.from_float(&wf[r * n], &w[r * w_row], n);
        TensorView tv;
        tv.type = type;
        tv.n_dims = 2;
        tv.ne[0] = n;
        tv.ne[1] = n_out;
        tv.data = w.data();
        const TypeKernels& ak = GetKernels(k.vec_dot_type, isa);
        std::vector<uint8_t> act(RowSize(k.vec_dot_type, n));
        for (int n_prefill : {0, 1, 20, 35}) {
          std::vector<float> y(static_cast<size_t>(n_out * n_tokens));
          MatMul(tv, x.data(), n_tokens, y.data(), pool, scratch, isa, n_prefill);
          for (int t = 0; t < n_tokens; ++t) {
            ak.from_float(&x[t * n], act.data(), n);
            const bool prompt = t >= n_tokens - n_prefill && k.prefill_gemm != nullptr;
            for (int64_t r = 0; r < n_out; ++r) {
              const float want =
                  prompt ? PrefillDotRef(type, n, &w[r * w_row], act.data()) : k.vec_dot(n, &w[r * w_row], act.data());
              ASSERT_TRUE(SameBits(y[t * n_out + r], want))
                  << IsaName(isa) << " " << TypeName(type) << " n_out " << n_out << " n_prefill " << n_prefill
                  << " token " << t << " row " << r << ": " << y[t * n_out + r] << " vs " << want
                  << (prompt ? " (oracle)" : " (vec_dot)");
            }
          }
        }
      }
    }
  }
}

// A prompt longer than one of MatMul's prefill token blocks (2 MiB of packed activations: 224 tokens
// of 8192-element Q8_K rows), so that the rows are computed in two blocks: still the oracle's bits.
TEST(PrefillTest, PromptLongerThanOneTokenBlock) {
  if (GetKernels(GgmlType::kQ4_K).prefill_gemm == nullptr) GTEST_SKIP() << "no Q4_K prefill kernel here";
  std::mt19937 rng(5);
  ThreadPool pool(2);
  MatMulScratch scratch;
  const GgmlType type = GgmlType::kQ4_K;
  const int64_t n = 8192, n_out = 24;
  const int n_tokens = 240;
  const Operands o = MakeOperands(type, n, static_cast<int>(n_out), 0, rng);
  std::normal_distribution<float> dist;
  std::vector<float> x(static_cast<size_t>(n * n_tokens));
  for (float& v : x) v = dist(rng);
  TensorView tv;
  tv.type = type;
  tv.n_dims = 2;
  tv.ne[0] = n;
  tv.ne[1] = n_out;
  tv.data = o.w.data();
  std::vector<float> y(static_cast<size_t>(n_out * n_tokens));
  MatMul(tv, x.data(), n_tokens, y.data(), pool, scratch, n_tokens);
  const TypeKernels& ak = GetKernels(GgmlType::kQ8_K);
  std::vector<uint8_t> act(RowSize(GgmlType::kQ8_K, n));
  for (int t = 0; t < n_tokens; ++t) {
    ak.from_float(&x[t * n], act.data(), n);
    for (int64_t r = 0; r < n_out; ++r) {
      const float want = PrefillDotRef(type, n, &o.w[r * o.w_row], act.data());
      ASSERT_TRUE(SameBits(y[t * n_out + r], want)) << "token " << t << " row " << r;
    }
  }
}

}  // namespace
}  // namespace isv
