// AVX2 level of the legacy quantization kernels: the vec_dot kernels of Q4_0 Q4_1 Q5_0 Q5_1 Q8_0
// IQ4_NL from legacy_quant_simd256.h (VPMADDUBSW + VPMADDWD here), and the activation quantizers
// of Q8_0 / Q8_1, bit-identical to the scalar ones (the AVX-512 level inherits them).
#include <immintrin.h>

#include <cstring>

#include "engine/kernels/blocks.h"
#include "engine/kernels/kernels.h"
#include "engine/kernels/legacy_quant_simd256.h"

namespace isv {
namespace {

// One block of activations, as the scalar QuantizeActivationBlock (bit-identical for input
// without NaN): returns d, writes 32 quants, *sum = the wrapping sum of the unsaturated values.
inline float QuantizeBlock(const float* x, int8_t* q, int* sum) {
  __m256 v[4];
  __m256 amax = _mm256_setzero_ps();
  const __m256 sign = _mm256_set1_ps(-0.0f);
  for (int k = 0; k < 4; ++k) {
    v[k] = _mm256_loadu_ps(x + 8 * k);
    amax = _mm256_max_ps(amax, _mm256_andnot_ps(sign, v[k]));
  }
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(amax), _mm256_extractf128_ps(amax, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  m = _mm_max_ss(m, _mm_movehdup_ps(m));
  const float max_abs = _mm_cvtss_f32(m);
  const float d = max_abs / 127.0f;
  const __m256 id = _mm256_set1_ps(max_abs != 0.0f ? 127.0f / max_abs : 0.0f);
  __m256i iv[4];
  for (int k = 0; k < 4; ++k) {
    const __m256 r = _mm256_round_ps(_mm256_mul_ps(v[k], id), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    iv[k] = _mm256_cvtps_epi32(r);
  }
  const __m256i s32 = _mm256_add_epi32(_mm256_add_epi32(iv[0], iv[1]), _mm256_add_epi32(iv[2], iv[3]));
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(s32), _mm256_extracti128_si256(s32, 1));
  s = _mm_add_epi32(s, _mm_unpackhi_epi64(s, s));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 1));
  *sum = _mm_cvtsi128_si32(s);
  // Saturating packs interleave 128-bit halves; the permute restores element order.
  const __m256i p16a = _mm256_packs_epi32(iv[0], iv[1]);
  const __m256i p16b = _mm256_packs_epi32(iv[2], iv[3]);
  const __m256i p8 = _mm256_packs_epi16(p16a, p16b);
  const __m256i ordered = _mm256_permutevar8x32_epi32(p8, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(q), ordered);
  return d;
}

}  // namespace

void RegisterLegacyQuantKernelsAvx2(KernelTable& table) {
  RegisterSimd256LegacyKernels(table);
  table[GgmlType::kQ8_0].from_float = Q8_0FromFloatWith<QuantizeBlock>;
  table[GgmlType::kQ8_1].from_float = Q8_1FromFloatWith<QuantizeBlock>;
}

}  // namespace isv
