// Tests of the K-quant / IQ4_XS kernels (kernels/k_quant_*.cc):
//   - every SIMD level the CPU runs against the scalar oracle (vec_dot within float-summation
//     tolerance, Q8_K quantization bit for bit);
//   - scalar vec_dot against a double-precision dot product of the dequantized operands;
//   - dequantization of llama-quantize outputs against their F32 parent (RMS error bounds);
//   - the reference quantizers against llama-quantize's bytes (bit-exact oracle).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "core/thread_pool.h"
#include "engine/gguf/gguf_file.h"
#include "engine/kernels/blocks_k.h"
#include "engine/kernels/kernel_test_util.h"
#include "engine/kernels/kernels.h"
#include "engine/kernels/matmul.h"
#include "engine/tensor/float16.h"

namespace isv {
namespace {

const GgmlType kWeightTypes[] = {GgmlType::kQ2_K, GgmlType::kQ3_K, GgmlType::kQ4_K,
                                 GgmlType::kQ5_K, GgmlType::kQ6_K, GgmlType::kIQ4_XS};

// Byte offsets of the fp16 super-block factors inside each block (d, then dmin or -1).
std::pair<int, int> Fp16Fields(GgmlType t) {
  switch (t) {
    case GgmlType::kQ2_K:
      return {offsetof(BlockQ2K, d), offsetof(BlockQ2K, dmin)};
    case GgmlType::kQ3_K:
      return {offsetof(BlockQ3K, d), -1};
    case GgmlType::kQ4_K:
      return {offsetof(BlockQ4K, d), offsetof(BlockQ4K, dmin)};
    case GgmlType::kQ5_K:
      return {offsetof(BlockQ5K, d), offsetof(BlockQ5K, dmin)};
    case GgmlType::kQ6_K:
      return {offsetof(BlockQ6K, d), -1};
    default:
      return {offsetof(BlockIq4Xs, d), -1};
  }
}

// Random weight blocks: random bytes, with finite fp16 factors of either sign.
std::vector<uint8_t> RandomWeights(GgmlType t, int64_t n, std::mt19937& rng) {
  std::vector<uint8_t> data(RowSize(t, n));
  std::uniform_int_distribution<int> byte(0, 255);
  for (uint8_t& b : data) b = static_cast<uint8_t>(byte(rng));
  std::uniform_real_distribution<float> factor(-0.02f, 0.02f);
  const size_t block_bytes = TypeTraits(t).type_size;
  const auto [d_off, dmin_off] = Fp16Fields(t);
  for (size_t off = 0; off < data.size(); off += block_bytes) {
    const uint16_t d = Fp32ToFp16(factor(rng));
    std::memcpy(&data[off + d_off], &d, 2);
    if (dmin_off >= 0) {
      const uint16_t dmin = Fp32ToFp16(factor(rng));
      std::memcpy(&data[off + dmin_off], &dmin, 2);
    }
  }
  return data;
}

std::vector<float> RandomFloats(int64_t n, std::mt19937& rng, float scale) {
  std::normal_distribution<float> dist(0.f, scale);
  std::vector<float> v(n);
  for (float& f : v) f = dist(rng);
  return v;
}

std::vector<uint8_t> QuantizeQ8K(const std::vector<float>& x, Isa isa) {
  std::vector<uint8_t> out(RowSize(GgmlType::kQ8_K, static_cast<int64_t>(x.size())));
  GetKernels(GgmlType::kQ8_K, isa).from_float(x.data(), out.data(), static_cast<int64_t>(x.size()));
  return out;
}

TEST(KQuantKernels, TablesAreFilled) {
  for (GgmlType t : kWeightTypes) {
    const TypeKernels& k = GetKernels(t, Isa::kScalar);
    EXPECT_EQ(k.vec_dot_type, GgmlType::kQ8_K) << TypeName(t);
    EXPECT_NE(k.to_float, nullptr) << TypeName(t);
    EXPECT_NE(k.vec_dot, nullptr) << TypeName(t);
    EXPECT_NE(k.from_float, nullptr) << TypeName(t);
  }
  EXPECT_NE(GetKernels(GgmlType::kQ8_K, Isa::kScalar).from_float, nullptr);
}

// SIMD and scalar compute the same exact integer sum per block; their float work (<= nb + 16
// roundings of relative 2^-24 on partial sums bounded by MagnitudeBound) differs only in order,
// so |simd - scalar| <= ~(nb + 16) * 1.2e-7 * bound < 1e-5 * bound for nb <= 32.
TEST(KQuantKernels, SimdVecDotMatchesScalar) {
  if (SimdIsas().empty()) GTEST_SKIP() << "CPU has no AVX2";
  std::mt19937 rng(1234);
  for (GgmlType t : kWeightTypes) {
    for (Isa isa : SimdIsas()) {
      for (int trial = 0; trial < 200; ++trial) {
        const int64_t n = kQK_K * (1 + trial % 32);
        const std::vector<uint8_t> w = RandomWeights(t, n, rng);
        const std::vector<float> act = RandomFloats(n, rng, trial % 3 == 0 ? 10.f : 0.5f);
        const std::vector<uint8_t> q8 = QuantizeQ8K(act, Isa::kScalar);
        const float ref = GetKernels(t, Isa::kScalar).vec_dot(n, w.data(), q8.data());
        const float got = GetKernels(t, isa).vec_dot(n, w.data(), q8.data());
        const double bound = MagnitudeBound(t, w, Dequantize(GgmlType::kQ8_K, q8.data(), n));
        ASSERT_NEAR(got, ref, 1e-5 * bound + 1e-30)
            << TypeName(t) << " " << IsaName(isa) << " n=" << n << " trial=" << trial;
      }
    }
  }
}

TEST(KQuantKernels, SimdQ8KQuantizationIsBitExact) {
  if (SimdIsas().empty()) GTEST_SKIP() << "CPU has no AVX2";
  std::mt19937 rng(99);
  for (Isa isa : SimdIsas()) {
    for (int trial = 0; trial < 300; ++trial) {
      const int64_t n = kQK_K * (1 + trial % 8);
      std::vector<float> x = RandomFloats(n, rng, trial % 2 ? 3.f : 1e-3f);
      if (trial % 5 == 1) std::fill(x.begin(), x.begin() + kQK_K, 0.f);  // all-zero block
      if (trial % 5 == 2) {  // equal magnitudes of both signs: the first one sets the sign
        x[17] = -50.f;
        x[200] = 50.f;
      }
      if (trial % 5 == 3) {  // values landing on exact .5 rounding ties
        for (int j = 0; j < kQK_K; ++j) x[j] = static_cast<float>((j % 255) - 127) * 0.5f;
      }
      const std::vector<uint8_t> ref = QuantizeQ8K(x, Isa::kScalar);
      const std::vector<uint8_t> got = QuantizeQ8K(x, isa);
      ASSERT_EQ(0, std::memcmp(ref.data(), got.data(), ref.size()))
          << IsaName(isa) << " trial " << trial;
    }
  }
}

TEST(KQuantKernels, Q8KQuantizationFollowsTheSpec) {
  // Hand-checked block: largest magnitude -2 (negative) so iscale = -127 / -2 = 63.5; x = 1 ->
  // 63.5 -> 64 (ties to even), x = -2 -> -127, x = 0.5 -> 31.75 -> 32.
  std::vector<float> x(kQK_K, 0.f);
  x[0] = 1.f;
  x[1] = -2.f;
  x[2] = 0.5f;
  const std::vector<uint8_t> q = QuantizeQ8K(x, Isa::kScalar);
  BlockQ8K b;
  std::memcpy(&b, q.data(), sizeof(b));
  EXPECT_EQ(b.qs[0], 64);
  EXPECT_EQ(b.qs[1], -127);
  EXPECT_EQ(b.qs[2], 32);
  EXPECT_EQ(b.qs[3], 0);
  EXPECT_EQ(b.bsums[0], 64 - 127 + 32);
  EXPECT_FLOAT_EQ(b.d, 1.f / (-127.f / -2.f));
}

// With one power-of-two factor per operand (d, dmin of every weight block = +-2^-e, Q8_K d = 2^-f)
// and activation quants in [-3, 3], every value is an integer multiple of 2^-(e+f) and every
// partial sum stays below 2^24 such units even in the worst case (Q6_K: 1024 * 128 * 32 * 3), so
// every float operation of every kernel is exact and scalar, SIMD and the double-precision dot
// product of the dequantized operands must agree exactly: this catches any integer slip (a wrong
// quant bit, scale or min), which the tolerance of the tests above could hide.
TEST(KQuantKernels, ExactWhenFloatArithmeticIsExact) {
  std::mt19937 rng(4242);
  std::uniform_int_distribution<int> small_q(-3, 3), exponent(4, 10), sign(0, 1);
  for (GgmlType t : kWeightTypes) {
    for (int trial = 0; trial < 300; ++trial) {
      const int64_t n = kQK_K * (1 + trial % 4);
      std::vector<uint8_t> w = RandomWeights(t, n, rng);
      const size_t bb = TypeTraits(t).type_size;
      const auto [d_off, dmin_off] = Fp16Fields(t);
      const int e = exponent(rng), f = exponent(rng);
      for (size_t off = 0; off < w.size(); off += bb) {
        for (int field : {d_off, dmin_off}) {
          if (field < 0) continue;
          const uint16_t h = Fp32ToFp16((sign(rng) ? -1.f : 1.f) * std::ldexp(1.f, -e));
          std::memcpy(&w[off + field], &h, 2);
        }
      }
      std::vector<BlockQ8K> q8(n / kQK_K);
      for (BlockQ8K& b : q8) {
        b.d = std::ldexp(1.f, -f);
        for (int j = 0; j < kQK_K; ++j) b.qs[j] = static_cast<int8_t>(small_q(rng));
        for (int j = 0; j < 16; ++j) {
          int sum = 0;
          for (int l = 0; l < 16; ++l) sum += b.qs[16 * j + l];
          b.bsums[j] = static_cast<int16_t>(sum);
        }
      }
      const std::vector<float> x = Dequantize(t, w.data(), n);
      const std::vector<float> a = Dequantize(GgmlType::kQ8_K, q8.data(), n);
      double ref = 0;
      for (int64_t i = 0; i < n; ++i) ref += double{x[i]} * a[i];
      const float scalar = GetKernels(t, Isa::kScalar).vec_dot(n, w.data(), q8.data());
      ASSERT_EQ(double{scalar}, ref) << TypeName(t) << " trial " << trial;
      for (Isa isa : SimdIsas()) {
        ASSERT_EQ(GetKernels(t, isa).vec_dot(n, w.data(), q8.data()), scalar)
            << TypeName(t) << " " << IsaName(isa) << " trial " << trial;
      }
    }
  }
}

// The scalar kernels against an independent double-precision dot product of the dequantized
// operands: equal up to float rounding (same bound as above).
TEST(KQuantKernels, ScalarVecDotMatchesDoubleReference) {
  std::mt19937 rng(777);
  for (GgmlType t : kWeightTypes) {
    for (int trial = 0; trial < 100; ++trial) {
      const int64_t n = kQK_K * (1 + trial % 16);
      const std::vector<uint8_t> w = RandomWeights(t, n, rng);
      const std::vector<uint8_t> q8 = QuantizeQ8K(RandomFloats(n, rng, 1.f), Isa::kScalar);
      const std::vector<float> x = Dequantize(t, w.data(), n);
      const std::vector<float> a = Dequantize(GgmlType::kQ8_K, q8.data(), n);
      double ref = 0;
      for (int64_t i = 0; i < n; ++i) ref += double{x[i]} * a[i];
      const float got = GetKernels(t, Isa::kScalar).vec_dot(n, w.data(), q8.data());
      ASSERT_NEAR(got, ref, 1e-5 * MagnitudeBound(t, w, a) + 1e-30)
          << TypeName(t) << " trial " << trial;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Against llama-quantize outputs of tiny-llama-F32.gguf.

std::string ModelPath(const std::string& name) {
  return std::string(ISV_SHARED_DIR) + "/testdata/models/" + name;
}

std::unique_ptr<GgufFile> OpenOrNull(const std::string& name) {
  auto f = GgufFile::Open(ModelPath(name));
  if (!f.ok()) return nullptr;
  return std::move(f).value();
}

bool IsKType(GgmlType t) {
  for (GgmlType k : kWeightTypes) {
    if (k == t) return true;
  }
  return false;
}

// Relative RMS error bound per type: the value measured on these files (every tensor of a type
// lands within 1% of it: the weights are i.i.d. Gaussian) plus ~10% headroom.
double RmsBound(GgmlType t) {
  switch (t) {
    case GgmlType::kQ2_K:
      return 0.33;  // measured 0.295 .. 0.298
    case GgmlType::kQ3_K:
      return 0.17;  // measured 0.150 .. 0.151
    case GgmlType::kQ4_K:
      return 0.08;  // measured 0.0708 .. 0.0716
    case GgmlType::kQ5_K:
      return 0.04;  // measured 0.0358 .. 0.0362
    case GgmlType::kQ6_K:
      return 0.02;  // measured 0.0176 .. 0.0178
    case GgmlType::kIQ4_XS:
      return 0.085;  // measured 0.0761 .. 0.0769
    default:
      return 0;
  }
}

class KQuantModelTest : public ::testing::TestWithParam<const char*> {};

TEST_P(KQuantModelTest, DequantizationTracksF32Parent) {
  auto parent = OpenOrNull("tiny-llama-F32.gguf");
  auto quant = OpenOrNull(GetParam());
  if (!parent || !quant) GTEST_SKIP() << "testdata absent";
  int checked = 0;
  for (const TensorView& q : quant->tensors()) {
    if (!IsKType(q.type)) continue;
    const TensorView* p = parent->FindTensor(q.name);
    ASSERT_NE(p, nullptr) << q.name;
    ASSERT_EQ(p->n_elements(), q.n_elements()) << q.name;
    const std::vector<float> x = Dequantize(q.type, q.data, q.n_elements());
    const float* ref = static_cast<const float*>(p->data);
    double err2 = 0, ref2 = 0;
    for (int64_t i = 0; i < q.n_elements(); ++i) {
      err2 += (double{x[i]} - ref[i]) * (double{x[i]} - ref[i]);
      ref2 += double{ref[i]} * ref[i];
    }
    const double rel = std::sqrt(err2 / ref2);
    std::printf("  %-26s %-7s rel rms err %.4f\n", q.name.c_str(),
                std::string(TypeName(q.type)).c_str(), rel);
    EXPECT_LT(rel, RmsBound(q.type)) << q.name << " " << TypeName(q.type);
    // And not suspiciously exact: a quantizer at these bit widths always loses something.
    EXPECT_GT(rel, 0.001) << q.name;
    ++checked;
  }
  EXPECT_GT(checked, 0);
}

// llama-quantize without an importance matrix runs ggml's *_ref quantizers: ours must reproduce
// the file's bytes exactly for every tensor of a type we have a reference quantizer for.
TEST_P(KQuantModelTest, ReferenceQuantizerReproducesFileBytes) {
  auto parent = OpenOrNull("tiny-llama-F32.gguf");
  auto quant = OpenOrNull(GetParam());
  if (!parent || !quant) GTEST_SKIP() << "testdata absent";
  int checked = 0;
  for (const TensorView& q : quant->tensors()) {
    if (!IsKType(q.type)) continue;
    const TypeKernels& k = GetKernels(q.type, Isa::kScalar);
    if (k.from_float == nullptr) continue;
    const TensorView* p = parent->FindTensor(q.name);
    ASSERT_NE(p, nullptr) << q.name;
    std::vector<uint8_t> out(q.n_bytes());
    const float* src = static_cast<const float*>(p->data);
    int64_t bad_rows = 0;
    for (int64_t r = 0; r < q.n_rows(); ++r) {
      k.from_float(src + r * q.ne[0], out.data() + r * q.row_bytes(), q.ne[0]);
      if (std::memcmp(out.data() + r * q.row_bytes(), q.row(r), q.row_bytes()) != 0) ++bad_rows;
    }
    EXPECT_EQ(bad_rows, 0) << q.name << " " << TypeName(q.type) << ": " << bad_rows << " of "
                           << q.n_rows() << " rows differ";
    ++checked;
  }
  EXPECT_GT(checked, 0);
}

// MatMul with every K-type matrix of the file at every instruction-set level: each output equals
// the double-precision dot product of the dequantized weight row and the dequantized Q8_K
// activations (1e-5 of the magnitude bound, as above).
TEST_P(KQuantModelTest, MatMulMatchesDequantizedReference) {
  auto quant = OpenOrNull(GetParam());
  if (!quant) GTEST_SKIP() << "testdata absent";
  ThreadPool pool(2);
  MatMulScratch scratch;
  std::mt19937 rng(5);
  int checked = 0;
  for (const TensorView& w : quant->tensors()) {
    if (!IsKType(w.type) || w.n_dims != 2 || w.name == "token_embd.weight") continue;
    const int64_t n_in = w.ne[0], n_out = w.ne[1], n_tokens = 3;
    const std::vector<float> x = RandomFloats(n_in * n_tokens, rng, 1.f);
    std::vector<std::vector<float>> acts;
    for (int64_t t = 0; t < n_tokens; ++t) {
      const std::vector<float> row(x.begin() + t * n_in, x.begin() + (t + 1) * n_in);
      const std::vector<uint8_t> q8 = QuantizeQ8K(row, Isa::kScalar);
      acts.push_back(Dequantize(GgmlType::kQ8_K, q8.data(), n_in));
    }
    for (Isa isa : AllIsas()) {
      std::vector<float> y(n_out * n_tokens);
      MatMul(w, x.data(), n_tokens, y.data(), pool, scratch, isa);
      for (int64_t r = 0; r < n_out; ++r) {
        const std::vector<uint8_t> row(w.row(r), w.row(r) + w.row_bytes());
        const std::vector<float> wr = Dequantize(w.type, row.data(), n_in);
        for (int64_t t = 0; t < n_tokens; ++t) {
          double ref = 0;
          for (int64_t i = 0; i < n_in; ++i) ref += double{wr[i]} * acts[t][i];
          ASSERT_NEAR(y[t * n_out + r], ref, 1e-5 * MagnitudeBound(w.type, row, acts[t]) + 1e-30)
              << w.name << " " << IsaName(isa) << " row " << r << " token " << t;
        }
      }
    }
    ++checked;
  }
  EXPECT_GT(checked, 0);
}

INSTANTIATE_TEST_SUITE_P(Files, KQuantModelTest,
                         ::testing::Values("tiny-llama-Q2_K.gguf", "tiny-llama-Q3_K_M.gguf",
                                           "tiny-llama-Q4_K_M.gguf", "tiny-llama-Q5_K_M.gguf",
                                           "tiny-llama-Q6_K.gguf", "tiny-llama-IQ4_XS.gguf"));

}  // namespace
}  // namespace isv
