// Float kernels (F32, F16, BF16): SIMD levels against the scalar oracle, conversions against
// spec values.
//
// vec_dot tolerance: the scalar kernel sums exact products in double; the SIMD kernels add the
// (exact) products of float-converted operands in float lanes: at most n/16 sequential roundings
// per lane (VDPBF16PS rounds twice per instruction, covering 32 elements over 16 lanes), then a
// reduction tree and up to 31 scalar tail additions (AVX2). So
//   |simd - scalar| <= (n / 8 + 40) * 2^-24 * sum_i |x_i y_i|.
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "engine/kernels/kernel_test_util.h"
#include "engine/kernels/kernels.h"
#include "engine/tensor/float16.h"

namespace isv {
namespace {

constexpr GgmlType kFloatTypes[] = {GgmlType::kF32, GgmlType::kF16, GgmlType::kBF16};

TEST(FloatKernelsTest, SimdVecDotMatchesScalar) {
  std::mt19937 rng(21);
  std::normal_distribution<float> dist;
  for (GgmlType t : kFloatTypes) {
    const TypeKernels& scalar = GetKernels(t, Isa::kScalar);
    for (int64_t n : {1, 7, 16, 31, 33, 64, 100, 256, 1000, 4096, 4099}) {
      std::vector<float> a(n), b(n), af(n), bf(n);
      for (int64_t i = 0; i < n; ++i) a[i] = dist(rng), b[i] = dist(rng);
      std::vector<uint8_t> qa(RowSize(t, n)), qb(RowSize(t, n));
      scalar.from_float(a.data(), qa.data(), n);
      scalar.from_float(b.data(), qb.data(), n);
      scalar.to_float(qa.data(), af.data(), n);
      scalar.to_float(qb.data(), bf.data(), n);
      double abs_sum = 0;
      for (int64_t i = 0; i < n; ++i) abs_sum += std::fabs(static_cast<double>(af[i]) * bf[i]);
      const float want = scalar.vec_dot(n, qa.data(), qb.data());
      const double tol = (static_cast<double>(n) / 8 + 40) * std::ldexp(1.0, -24) * abs_sum;
      for (Isa isa : SimdIsas()) {
        EXPECT_NEAR(GetKernels(t, isa).vec_dot(n, qa.data(), qb.data()), want, tol)
            << TypeName(t) << " n=" << n << " " << IsaName(isa);
      }
    }
  }
}

// Integer-valued operands: every partial sum is an exactly representable integer, so every
// level must give the exact answer.
TEST(FloatKernelsTest, SimdVecDotExactOnSmallIntegers) {
  for (GgmlType t : kFloatTypes) {
    const int64_t n = 1001;
    std::vector<float> a(n), b(n);
    double want = 0;
    for (int64_t i = 0; i < n; ++i) {
      a[i] = static_cast<float>(i % 7) - 3;
      b[i] = static_cast<float>(i % 5) - 2;
      want += a[i] * b[i];
    }
    std::vector<uint8_t> qa(RowSize(t, n)), qb(RowSize(t, n));
    GetKernels(t, Isa::kScalar).from_float(a.data(), qa.data(), n);
    GetKernels(t, Isa::kScalar).from_float(b.data(), qb.data(), n);
    EXPECT_EQ(GetKernels(t, Isa::kScalar).vec_dot(n, qa.data(), qb.data()), want);
    for (Isa isa : SimdIsas()) {
      EXPECT_EQ(GetKernels(t, isa).vec_dot(n, qa.data(), qb.data()), want) << TypeName(t) << IsaName(isa);
    }
  }
}

// from_float at every level is bit-identical to scalar on every class of float: random bit
// patterns (NaN, inf, denormals, huge, tiny), values near the F16 overflow and rounding ties.
TEST(FloatKernelsTest, SimdConversionsAreBitIdentical) {
  std::mt19937 rng(22);
  std::uniform_int_distribution<uint32_t> bits;
  const int64_t n = 4099;
  std::vector<float> x(n);
  for (int64_t i = 0; i < n; ++i) x[i] = BitsToFloat(bits(rng));
  const float special[] = {0.0f, -0.0f, 65504.0f, 65519.99f, 65520.0f, -65520.0f, 6.1e-5f, 5.96e-8f, 2.98e-8f,
                           BitsToFloat(0x3F808000u), BitsToFloat(0x3F818000u), INFINITY, -INFINITY, NAN,
                           BitsToFloat(0x00000001u), BitsToFloat(0x807FFFFFu), BitsToFloat(0x7F7FFFFFu)};
  for (size_t k = 0; k < sizeof(special) / sizeof(special[0]); ++k) x[17 + k] = special[k];
  std::normal_distribution<float> dist;
  for (int64_t i = 2048; i < n; ++i) x[i] = dist(rng);  // ordinary values too
  for (GgmlType t : {GgmlType::kF16, GgmlType::kBF16}) {
    for (int64_t len : {n, int64_t{13}, int64_t{40}}) {
      std::vector<uint16_t> want(len), got(len);
      GetKernels(t, Isa::kScalar).from_float(x.data(), want.data(), len);
      for (Isa isa : SimdIsas()) {
        std::fill(got.begin(), got.end(), 0xABCD);
        GetKernels(t, isa).from_float(x.data(), got.data(), len);
        for (int64_t i = 0; i < len; ++i) {
          ASSERT_EQ(got[i], want[i]) << TypeName(t) << " " << IsaName(isa) << " input bits 0x" << std::hex
                                     << FloatToBits(x[i]);
        }
      }
    }
  }
}

TEST(FloatKernelsTest, ConversionSpecValues) {
  const float x[] = {1.0f, -2.0f, 65504.0f, 1e6f, BitsToFloat(0x3F808000u), BitsToFloat(0x3F818000u)};
  // F16: 1, -2, max finite, overflow -> inf; BF16 ties to even: 0x3F808000 -> 0x3F80, 0x3F818000 -> 0x3F82.
  const uint16_t want_f16[] = {0x3C00, 0xC000, 0x7BFF, 0x7C00};
  const uint16_t want_bf16[] = {0x3F80, 0xC000, 0, 0, 0x3F80, 0x3F82};  // [2], [3] unchecked
  for (Isa isa : AllIsas()) {
    uint16_t f16[6], bf16[6];
    GetKernels(GgmlType::kF16, isa).from_float(x, f16, 6);
    GetKernels(GgmlType::kBF16, isa).from_float(x, bf16, 6);
    for (int i = 0; i < 4; ++i) EXPECT_EQ(f16[i], want_f16[i]) << i;
    for (int i : {0, 1, 4, 5}) EXPECT_EQ(bf16[i], want_bf16[i]) << i;
  }
}

}  // namespace
}  // namespace isv
