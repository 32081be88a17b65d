// The SIMD attention kernels (fp16 KV cache) against the scalar oracle at every level this CPU runs.
#include "engine/kernels/attention_kernels.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "engine/tensor/float16.h"

namespace isv {
namespace {

TEST(AttentionKernelsTest, SimdLevelsMatchScalar) {
  std::mt19937 rng(5);
  std::normal_distribution<float> dist;
  const AttentionKernels& scalar = GetAttentionKernels(Isa::kScalar);
  for (Isa isa : {Isa::kAvx2, Isa::kAvx512}) {
    if (isa > BestIsa()) continue;
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

}  // namespace
}  // namespace isv
