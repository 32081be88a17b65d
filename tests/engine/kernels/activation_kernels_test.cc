// The SIMD activation kernels against the scalar oracle (std::exp) at every level this CPU runs.
#include "engine/kernels/activation_kernels.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

namespace isv {
namespace {

TEST(ActivationKernelsTest, SwiGluMatchesScalarWithinFewUlp) {
  std::mt19937 rng(17);
  std::normal_distribution<float> wide(0.0f, 6.0f);
  const ActivationKernels& scalar = GetActivationKernels(Isa::kScalar);
  for (Isa isa : {Isa::kAvx2, Isa::kAvx512}) {
    if (isa > BestIsa()) continue;
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
