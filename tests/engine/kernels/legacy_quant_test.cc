// Legacy quantization kernels: SIMD levels against the scalar oracle (random blocks), and the
// scalar kernels against spec values (hand-built blocks) and a float reference.
//
// Tolerance of SIMD vs scalar vec_dot. Both compute, per block, an exact integer dot product
// scaled by the float dx*dy (plus m*s for Q4_1/Q5_1); they differ only in how the float terms
// t are rounded and summed. With u = 2^-24 and nb blocks, the SIMD kernels round each term
// once (FMA), add at most nb/2 terms sequentially per lane of two 8-lane accumulators, then
// reduce them (4 levels) and add the m*s sum; the scalar one rounds each term once and sums in
// double, so
//   |simd - scalar| <= (nb + 8) * u * B,   B = sum_j (|x_j - m| + |m|) * |y_j|  >= sum |t|
// (x_j, y_j the dequantized operands). For 256 elements this is ~1e-6 * B, for 4096 ~8e-6 * B.
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "engine/kernels/blocks.h"
#include "engine/kernels/kernel_test_util.h"
#include "engine/kernels/kernels.h"
#include "engine/kernels/legacy_quant_ref.h"
#include "engine/tensor/float16.h"

namespace isv {
namespace {

constexpr GgmlType kWeightTypes[] = {GgmlType::kQ4_0, GgmlType::kQ4_1, GgmlType::kQ5_0,
                                     GgmlType::kQ5_1, GgmlType::kQ8_0, GgmlType::kIQ4_NL};
constexpr int64_t kRowLengths[] = {32, 96, 256, 1024, 4128};  // odd block counts too

std::vector<float> RandomFloats(int64_t n, std::mt19937& rng, float sigma = 1.0f) {
  std::normal_distribution<float> dist(0.0f, sigma);
  std::vector<float> v(n);
  for (float& f : v) f = dist(rng);
  return v;
}

// Random blocks of `type`: random quant bytes (Q8_0 weights include -128), random positive fp16
// scales, random minima.
std::vector<uint8_t> RandomBlocks(GgmlType type, int64_t n, std::mt19937& rng) {
  const size_t bytes = RowSize(type, n);
  std::vector<uint8_t> data(bytes);
  std::uniform_int_distribution<int> byte(0, 255);
  for (uint8_t& b : data) b = static_cast<uint8_t>(byte(rng));
  std::uniform_real_distribution<float> scale(0.001f, 0.1f), minimum(-0.2f, 0.2f);
  const size_t bsize = TypeTraits(type).type_size;
  for (size_t off = 0; off < bytes; off += bsize) {
    const uint16_t d = Fp32ToFp16(scale(rng));
    std::memcpy(&data[off], &d, 2);
    if (type == GgmlType::kQ4_1 || type == GgmlType::kQ5_1) {
      const uint16_t m = Fp32ToFp16(minimum(rng));
      std::memcpy(&data[off + 2], &m, 2);
    }
  }
  return data;
}

// The per-block minimum m of affine types (0 for the others), one per element.
std::vector<float> Minima(GgmlType type, const uint8_t* x, int64_t n) {
  std::vector<float> m(n, 0.0f);
  if (type != GgmlType::kQ4_1 && type != GgmlType::kQ5_1) return m;
  const size_t bsize = TypeTraits(type).type_size;
  for (int64_t i = 0; i < n; ++i) {
    uint16_t h;
    std::memcpy(&h, x + (i / kQK) * bsize + 2, 2);
    m[i] = Fp16ToFp32(h);
  }
  return m;
}

// Dequantized operands of a vec_dot (scalar to_float of both sides).
struct Operands {
  std::vector<float> x, y, m;
};
Operands Dequantize(GgmlType type, const std::vector<uint8_t>& x, const std::vector<uint8_t>& y, int64_t n) {
  const TypeKernels& k = GetKernels(type, Isa::kScalar);
  Operands o{std::vector<float>(n), std::vector<float>(n), Minima(type, x.data(), n)};
  k.to_float(x.data(), o.x.data(), n);
  GetKernels(k.vec_dot_type, Isa::kScalar).to_float(y.data(), o.y.data(), n);
  return o;
}

double TermBound(const Operands& o) {
  double b = 0;
  for (size_t j = 0; j < o.x.size(); ++j) {
    b += (std::fabs(static_cast<double>(o.x[j]) - o.m[j]) + std::fabs(o.m[j])) * std::fabs(o.y[j]);
  }
  return b;
}

// Activations of length n quantized (scalar) to the vec_dot_type of `type`.
std::vector<uint8_t> QuantizedActivations(GgmlType type, int64_t n, std::mt19937& rng) {
  const GgmlType vt = GetKernels(type, Isa::kScalar).vec_dot_type;
  std::vector<float> a = RandomFloats(n, rng);
  std::vector<uint8_t> q(RowSize(vt, n));
  GetKernels(vt, Isa::kScalar).from_float(a.data(), q.data(), n);
  return q;
}

TEST(LegacyQuantTest, TableEntriesAreRegistered) {
  for (GgmlType t : kWeightTypes) {
    const TypeKernels& k = GetKernels(t, Isa::kScalar);
    EXPECT_TRUE(k.to_float && k.from_float && k.vec_dot) << TypeName(t);
    const GgmlType want = (t == GgmlType::kQ4_1 || t == GgmlType::kQ5_1) ? GgmlType::kQ8_1 : GgmlType::kQ8_0;
    EXPECT_EQ(k.vec_dot_type, want) << TypeName(t);
    for (Isa isa : SimdIsas()) EXPECT_EQ(GetKernels(t, isa).vec_dot_type, want);
  }
  EXPECT_TRUE(GetKernels(GgmlType::kQ8_1, Isa::kScalar).from_float);
  EXPECT_TRUE(GetKernels(GgmlType::kQ8_1, Isa::kScalar).to_float);
}

TEST(LegacyQuantTest, SimdVecDotMatchesScalar) {
  std::mt19937 rng(7);
  for (GgmlType t : kWeightTypes) {
    for (int64_t n : kRowLengths) {
      for (int trial = 0; trial < 20; ++trial) {
        const std::vector<uint8_t> x = RandomBlocks(t, n, rng);
        const std::vector<uint8_t> y = QuantizedActivations(t, n, rng);
        const float want = GetKernels(t, Isa::kScalar).vec_dot(n, x.data(), y.data());
        const double bound = (static_cast<double>(n / kQK) + 8) * std::ldexp(1.0, -24) *
                             TermBound(Dequantize(t, x, y, n));
        for (Isa isa : SimdIsas()) {
          const float got = GetKernels(t, isa).vec_dot(n, x.data(), y.data());
          ASSERT_NEAR(got, want, bound) << TypeName(t) << " n=" << n << " isa=" << IsaName(isa);
        }
      }
    }
  }
}

// Extreme quants: all weights at the ends of their range and activations at +-127, so every
// int16 / int32 intermediate is as large as it gets.
TEST(LegacyQuantTest, SimdVecDotExactOnExtremeQuants) {
  for (GgmlType t : kWeightTypes) {
    const int64_t n = 96;
    std::vector<uint8_t> x(RowSize(t, n), 0xFF);  // max nibbles / fifth bits (Q8_0: set below)
    const size_t bsize = TypeTraits(t).type_size;
    for (size_t off = 0; off < x.size(); off += bsize) {
      const uint16_t one = Fp32ToFp16(1.0f);
      std::memcpy(&x[off], &one, 2);
      if (t == GgmlType::kQ4_1 || t == GgmlType::kQ5_1) std::memset(&x[off + 2], 0, 2);
      if (t == GgmlType::kQ8_0) std::memset(&x[off + 2], 0x80, kQK);  // -128
    }
    std::vector<float> a(n, 127.0f);
    for (int64_t j = 0; j < n; j += 3) a[j] = -127.0f;
    const GgmlType vt = GetKernels(t, Isa::kScalar).vec_dot_type;
    std::vector<uint8_t> y(RowSize(vt, n));
    GetKernels(vt, Isa::kScalar).from_float(a.data(), y.data(), n);
    const float want = GetKernels(t, Isa::kScalar).vec_dot(n, x.data(), y.data());
    // Every term is an integer below 2^24 and so is the sum: all levels must agree exactly.
    for (Isa isa : SimdIsas()) {
      EXPECT_EQ(GetKernels(t, isa).vec_dot(n, x.data(), y.data()), want) << TypeName(t) << " " << IsaName(isa);
    }
  }
}

// Q8_0 / Q8_1 activation quantizers: every level bit-identical to scalar, including zero blocks,
// exact .5 ties and huge / tiny magnitudes.
TEST(LegacyQuantTest, SimdActivationQuantizersAreBitIdentical) {
  std::mt19937 rng(11);
  for (GgmlType t : {GgmlType::kQ8_0, GgmlType::kQ8_1}) {
    for (int64_t n : kRowLengths) {
      for (int trial = 0; trial < 20; ++trial) {
        std::vector<float> a = RandomFloats(n, rng, trial % 2 ? 1e-3f : 30.0f);
        if (trial == 1) std::fill(a.begin(), a.begin() + kQK, 0.0f);
        if (trial == 2) {  // amax 127 -> multiplier 1: the other values are exact ties
          a[0] = 127.0f;
          for (int j = 1; j < kQK; ++j) a[j] = static_cast<float>(j - 16) + 0.5f;
        }
        if (trial == 3) {  // denormal block: 127 / amax overflows to inf (every quant -128 on x86)
          for (int j = 0; j < kQK; ++j) a[j] = BitsToFloat(0x00000100u + 977u * j) * (j % 2 ? 1 : -1);
        }
        if (trial == 4) a[n - 5] = 3e38f;  // huge value next to ordinary ones
        std::vector<uint8_t> want(RowSize(t, n)), got(RowSize(t, n));
        GetKernels(t, Isa::kScalar).from_float(a.data(), want.data(), n);
        for (Isa isa : SimdIsas()) {
          std::fill(got.begin(), got.end(), 0xCD);
          GetKernels(t, isa).from_float(a.data(), got.data(), n);
          ASSERT_EQ(got, want) << TypeName(t) << " n=" << n << " isa=" << IsaName(isa) << " trial " << trial;
        }
      }
    }
  }
}

// Scalar vec_dot equals the double-precision dot of the dequantized operands, up to the float
// rounding of each block term and, for Q8_1, the fp16 rounding of s = d * sum(q) (|error| <=
// 2^-10 |s| per block: d before fp16 rounding vs after, then s itself rounded to fp16).
TEST(LegacyQuantTest, ScalarVecDotMatchesDequantizedDot) {
  std::mt19937 rng(3);
  for (GgmlType t : kWeightTypes) {
    for (int64_t n : {32, 256, 4128}) {
      const std::vector<uint8_t> x = RandomBlocks(t, n, rng);
      const std::vector<uint8_t> y = QuantizedActivations(t, n, rng);
      const Operands o = Dequantize(t, x, y, n);
      double dot = 0;
      for (int64_t j = 0; j < n; ++j) dot += static_cast<double>(o.x[j]) * o.y[j];
      double tol = 2 * std::ldexp(1.0, -24) * TermBound(o);
      if (GetKernels(t, Isa::kScalar).vec_dot_type == GgmlType::kQ8_1) {
        const BlockQ8_1* yb = reinterpret_cast<const BlockQ8_1*>(y.data());
        for (int64_t i = 0; i < n / kQK; ++i) tol += std::fabs(o.m[i * kQK] * Fp16ToFp32(yb[i].s)) / 1024;
      }
      EXPECT_NEAR(GetKernels(t, Isa::kScalar).vec_dot(n, x.data(), y.data()), dot, tol) << TypeName(t) << " n=" << n;
    }
  }
}

}  // namespace
}  // namespace isv
