// AVX2 level of the activation kernels (8 lanes, scalar tail).
#include <immintrin.h>

#include <cmath>

#include "engine/kernels/activation_kernels.h"
#include "engine/kernels/simd_exp.h"

namespace isv {
namespace {

// silu(g) * u with sigmoid(g) from e = exp(-|g|) (never overflows): 1 / (1 + e) for g >= 0,
// e / (1 + e) for g < 0.
inline __m256 SiluMul8(__m256 g, __m256 u) {
  const __m256 sign = _mm256_set1_ps(-0.0f);
  const __m256 e = simd::Exp8(_mm256_or_ps(g, sign));  // exp(-|g|)
  const __m256 negative = _mm256_cmp_ps(g, _mm256_setzero_ps(), _CMP_LT_OQ);
  const __m256 num = _mm256_blendv_ps(_mm256_set1_ps(1.0f), e, negative);
  const __m256 sig = _mm256_div_ps(num, _mm256_add_ps(_mm256_set1_ps(1.0f), e));
  return _mm256_mul_ps(_mm256_mul_ps(g, sig), u);
}

void SwiGlu(int64_t n, const float* gate, const float* up, float* out) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(out + i, SiluMul8(_mm256_loadu_ps(gate + i), _mm256_loadu_ps(up + i)));
  for (; i < n; ++i) out[i] = gate[i] / (1.0f + std::exp(-gate[i])) * up[i];
}

void RmsNorm(int64_t n, const float* x, const float* w, float eps, float* y) {
  __m256d acc[4] = {_mm256_setzero_pd(), _mm256_setzero_pd(), _mm256_setzero_pd(), _mm256_setzero_pd()};
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {  // acc[j] holds the partial sums k = 4j .. 4j+3
    for (int j = 0; j < 4; ++j) {
      const __m256d d = _mm256_cvtps_pd(_mm_loadu_ps(x + i + 4 * j));
      acc[j] = _mm256_fmadd_pd(d, d, acc[j]);  // the square is exact in double: one rounding
    }
  }
  alignas(32) double s[16];
  for (int j = 0; j < 4; ++j) _mm256_store_pd(s + 4 * j, acc[j]);
  for (int64_t t = i; t < n; ++t) s[t % 16] += static_cast<double>(x[t]) * x[t];
  const float scale_f = RmsScale(n, CombineSixteen(s), eps);
  const __m256 scale = _mm256_set1_ps(scale_f);
  int64_t k = 0;
  for (; k + 8 <= n; k += 8) {
    _mm256_storeu_ps(y + k, _mm256_mul_ps(_mm256_mul_ps(_mm256_loadu_ps(x + k), scale), _mm256_loadu_ps(w + k)));
  }
  for (; k < n; ++k) y[k] = (x[k] * scale_f) * w[k];
}

}  // namespace

ActivationKernels ActivationKernelsAvx2() { return ActivationKernels{.swiglu = SwiGlu, .rms_norm = RmsNorm}; }

}  // namespace isv
