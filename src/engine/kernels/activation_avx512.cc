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

}  // namespace

ActivationKernels ActivationKernelsAvx512() { return ActivationKernels{SwiGlu}; }

}  // namespace isv
