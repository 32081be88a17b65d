// The SIMD activation kernels against the scalar oracle (std::exp) at every level this CPU runs.
#include "engine/kernels/activation_kernels.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "engine/kernels/kernel_test_util.h"

namespace isv {
namespace {

TEST(ActivationKernelsTest, SwiGluMatchesScalarWithinFewUlp) {
  std::mt19937 rng(17);
  std::normal_distribution<float> wide(0.0f, 6.0f);
  const ActivationKernels& scalar = GetActivationKernels(Isa::kScalar);
  for (Isa isa : SimdIsas()) {
    const ActivationKernels& k = GetActivationKernels(isa);
    ASSERT_NE(k.swiglu, nullptr) << IsaName(isa);
    for (int64_t n : {1, 7, 8, 15, 16, 17, 100, 4864}) {
      std::vector<float> g(n), u(n), want(n), got(n);
      for (int64_t i = 0; i < n; ++i) {
        g[i] = wide(rng);
        u[i] = wide(rng);
      }
      // Edge values: zero, both signs far out (sigmoid saturates, exp(-|g|) underflows).
      g[0] = 0.0f;
      if (n > 3) {
        g[1] = 95.0f;
        g[2] = -95.0f;
        g[3] = -20.0f;
      }
      scalar.swiglu(n, g.data(), u.data(), want.data());
      k.swiglu(n, g.data(), u.data(), got.data());
      for (int64_t i = 0; i < n; ++i) {
        ASSERT_NEAR(got[i], want[i], 6e-7 * std::fabs(want[i]) + 1e-37f)
            << IsaName(isa) << " n=" << n << " g=" << g[i] << " u=" << u[i];
      }
      // In place (the feed-forward block writes over the gate).
      std::vector<float> inplace = g;
      k.swiglu(n, inplace.data(), u.data(), inplace.data());
      for (int64_t i = 0; i < n; ++i) ASSERT_EQ(inplace[i], got[i]) << IsaName(isa) << " i=" << i;
    }
  }
}

}  // namespace
}  // namespace isv

namespace isv {
namespace {

// rms_norm against an oracle written here from the kernel's specified order (sixteen double partial
// sums by index mod 16, combined 8, 4, 2, 1 apart; then (x * scale) * w in float): bit for bit at
// every level, for lengths with and without a tail, with y in place of x.
TEST(ActivationKernelsTest, RmsNormFollowsTheSpecifiedOrderAtEveryLevel) {
  std::mt19937 rng(31);
  std::normal_distribution<float> dist(0.0f, 3.0f);
  for (Isa isa : AllIsas()) {
    const ActivationKernels& k = GetActivationKernels(isa);
    ASSERT_NE(k.rms_norm, nullptr) << IsaName(isa);
    for (int64_t n : {1, 7, 15, 16, 17, 40, 100, 896, 2048, 3077}) {
      std::vector<float> x(n), w(n);
      for (float& v : x) v = dist(rng);
      for (float& v : w) v = dist(rng);
      double part[16] = {};
      for (int64_t i = 0; i < n; ++i) part[i % 16] += static_cast<double>(x[i]) * static_cast<double>(x[i]);
      double l1[8], l2[4], l3[2];
      for (int j = 0; j < 8; ++j) l1[j] = part[j] + part[j + 8];
      for (int j = 0; j < 4; ++j) l2[j] = l1[j] + l1[j + 4];
      for (int j = 0; j < 2; ++j) l3[j] = l2[j] + l2[j + 2];
      const double sum = l3[0] + l3[1];
      const float scale = 1.0f / std::sqrt(static_cast<float>(sum / static_cast<double>(n)) + 1e-5f);
      std::vector<float> y(n, NAN), in_place = x;
      k.rms_norm(n, x.data(), w.data(), 1e-5f, y.data());
      k.rms_norm(n, in_place.data(), w.data(), 1e-5f, in_place.data());
      for (int64_t i = 0; i < n; ++i) {
        const float want = (x[i] * scale) * w[i];
        ASSERT_EQ(y[i], want) << IsaName(isa) << " n=" << n << " i=" << i;
        ASSERT_EQ(in_place[i], want) << IsaName(isa) << " in place, n=" << n << " i=" << i;
      }
    }
  }
}

}  // namespace
}  // namespace isv
