// AVX-512 level of the activation kernels (16 lanes, masked tail).
#include <immintrin.h>

// GCC 12's AVX-512 intrinsic headers build vectors from deliberately undefined values, which
// -Wuninitialized reports at call sites; the warnings are false.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include "engine/kernels/activation_kernels.h"
#include "engine/kernels/simd_exp.h"

namespace isv {
namespace {

// silu(g) * u as SiluMul8 of activation_avx2.cc: sigmoid from e = exp(-|g|).
inline __m512 SiluMul16(__m512 g, __m512 u) {
  const __m512 e = simd::Exp16(_mm512_or_ps(g, _mm512_set1_ps(-0.0f)));  // exp(-|g|)
  const __mmask16 negative = _mm512_cmp_ps_mask(g, _mm512_setzero_ps(), _CMP_LT_OQ);
  const __m512 num = _mm512_mask_blend_ps(negative, _mm512_set1_ps(1.0f), e);
  const __m512 sig = _mm512_div_ps(num, _mm512_add_ps(_mm512_set1_ps(1.0f), e));
  return _mm512_mul_ps(_mm512_mul_ps(g, sig), u);
}

void SwiGlu(int64_t n, const float* gate, const float* up, float* out) {
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = n - i >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << (n - i)) - 1);
    _mm512_mask_storeu_ps(out + i, m, SiluMul16(_mm512_maskz_loadu_ps(m, gate + i), _mm512_maskz_loadu_ps(m, up + i)));
  }
}

void RmsNorm(int64_t n, const float* x, const float* w, float eps, float* y) {
  __m512d lo = _mm512_setzero_pd(), hi = _mm512_setzero_pd();  // partial sums k = 0..7, 8..15
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = n - i >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << (n - i)) - 1);
    const __m512 v = _mm512_maskz_loadu_ps(m, x + i);  // masked lanes add +0: the same sums
    const __m512d a = _mm512_cvtps_pd(_mm512_castps512_ps256(v));
    const __m512d b = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
    lo = _mm512_fmadd_pd(a, a, lo);  // the square is exact in double: one rounding, as a separate add
    hi = _mm512_fmadd_pd(b, b, hi);
  }
  alignas(64) double s[16];
  _mm512_store_pd(s, lo);
  _mm512_store_pd(s + 8, hi);
  const __m512 scale = _mm512_set1_ps(RmsScale(n, CombineSixteen(s), eps));
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = n - i >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << (n - i)) - 1);
    _mm512_mask_storeu_ps(
        y + i, m,
        _mm512_mul_ps(_mm512_mul_ps(_mm512_maskz_loadu_ps(m, x + i), scale), _mm512_maskz_loadu_ps(m, w + i)));
  }
}

}  // namespace

ActivationKernels ActivationKernelsAvx512() { return ActivationKernels{.swiglu = SwiGlu, .rms_norm = RmsNorm}; }

}  // namespace isv
