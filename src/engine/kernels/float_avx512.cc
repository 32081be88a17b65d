// AVX-512 (F/BW/VL) kernels of the float types: vec_dot of F32 / BF16 and from_float of F16 / BF16
// (BF16's vec_dot by VDPBF16PS at the BF16 level is in float_avx512bf16.cc). F16's vec_dot is the AVX2 level's
// (float_avx2.cc): its ymm conversions streamed 52 GB/s of weights per Zen 4 core from L3 where a zmm form (2 x 16
// lanes, VCVTPH2PS zmm) did 35; from memory on 2 threads both reach the bus.
//
// Tails are handled with masked loads (masked-off lanes read as zero and add nothing). F32 products
// accumulate with FMA in 2 x 16 float lanes. The conversions are bit-identical to the scalar ones in
// float16.h: F16 via VCVTPS2PH round-to-nearest-even with NaN lanes rewritten to the scalar's quiet
// NaN, BF16 by integer rounding (VCVTNEPS2BF16 is not used because it flushes denormals).
#include <immintrin.h>

// GCC 12's AVX-512 intrinsic headers build vectors from deliberately undefined values, which
// -Wuninitialized reports at call sites; the warnings are false.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include "engine/kernels/kernels.h"
#include "engine/kernels/simd_helpers.h"
#include "engine/tensor/float16.h"

namespace isv {
namespace {

float F32VecDot(int64_t n, const void* vx, const void* vy) {
  const float* a = static_cast<const float*>(vx);
  const float* b = static_cast<const float*>(vy);
  __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), acc0);
    acc1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), acc1);
  }
  for (; i < n; i += 16) {
    const __mmask16 m = TailMask16(n - i);
    acc0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i), acc0);
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
}

// BF16 without AVX512_BF16 (the level Isa::kAvx512): each 32 elements' 64 bytes split into their odd
// elements (2l + 1, the high half of each 32-bit word) and even ones (2l, shifted up), exact floats;
// lane l adds the odd product, then the even one (VDPBF16PS's order, by FMAs). Two ALU operations per
// 16 products and operand, where the AVX2 form's widening conversion takes four (one core from L2 24
// -> 36 GB/s on a Sapphire Rapids VM without AVX512_BF16).
inline void SplitBf16(__m512i v, __m512& odd, __m512& even) {
  odd = _mm512_castsi512_ps(_mm512_and_si512(v, _mm512_set1_epi32(static_cast<int>(0xFFFF0000u))));
  even = _mm512_castsi512_ps(_mm512_slli_epi32(v, 16));
}

inline __m512 Bf16Fma2(__m512i a, __m512i b, __m512 acc) {
  __m512 a_odd, a_even, b_odd, b_even;
  SplitBf16(a, a_odd, a_even);
  SplitBf16(b, b_odd, b_even);
  return _mm512_fmadd_ps(a_even, b_even, _mm512_fmadd_ps(a_odd, b_odd, acc));
}

float Bf16VecDot(int64_t n, const void* vx, const void* vy) {
  const uint16_t* a = static_cast<const uint16_t*>(vx);
  const uint16_t* b = static_cast<const uint16_t*>(vy);
  __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i + 64 <= n; i += 64) {
    acc0 = Bf16Fma2(_mm512_loadu_si512(a + i), _mm512_loadu_si512(b + i), acc0);
    acc1 = Bf16Fma2(_mm512_loadu_si512(a + i + 32), _mm512_loadu_si512(b + i + 32), acc1);
  }
  for (; i < n; i += 32) {
    const __mmask32 m = TailMask32(n - i);
    acc0 = Bf16Fma2(_mm512_maskz_loadu_epi16(m, a + i), _mm512_maskz_loadu_epi16(m, b + i), acc0);
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
}

// 16 floats (lanes in m) -> 16 halves, NaN -> sign | 0x7E00 as Fp32ToFp16.
inline void F16Convert16(__mmask16 m, const float* x, uint16_t* y) {
  const __m512 v = _mm512_maskz_loadu_ps(m, x);
  const __m256i h = _mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT);
  const __mmask16 nan = _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
  const __m512i sign = _mm512_and_si512(_mm512_srli_epi32(_mm512_castps_si512(v), 16), _mm512_set1_epi32(0x8000));
  const __m256i quiet = _mm512_cvtepi32_epi16(_mm512_or_si512(sign, _mm512_set1_epi32(0x7E00)));
  _mm256_mask_storeu_epi16(y, m, _mm256_mask_blend_epi16(nan, h, quiet));
}

// 16 floats (lanes in m) -> 16 bfloat16, rounding as Fp32ToBf16.
inline void Bf16Convert16(__mmask16 m, const float* x, uint16_t* y) {
  const __m512i u = _mm512_castps_si512(_mm512_maskz_loadu_ps(m, x));
  const __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1));
  const __m512i rounded = _mm512_srli_epi32(_mm512_add_epi32(u, _mm512_add_epi32(lsb, _mm512_set1_epi32(0x7FFF))), 16);
  const __m512i quiet = _mm512_or_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(64));
  const __mmask16 nan =
      _mm512_cmpgt_epu32_mask(_mm512_and_si512(u, _mm512_set1_epi32(0x7FFFFFFF)), _mm512_set1_epi32(0x7F800000));
  _mm256_mask_storeu_epi16(y, m, _mm512_cvtepi32_epi16(_mm512_mask_blend_epi32(nan, rounded, quiet)));
}

template <void (*Convert16)(__mmask16, const float*, uint16_t*)>
void FromFloat(const float* x, void* vy, int64_t n) {
  uint16_t* y = static_cast<uint16_t*>(vy);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) Convert16(0xFFFF, x + i, y + i);
  if (i < n) Convert16(TailMask16(n - i), x + i, y + i);
}

}  // namespace

void RegisterFloatKernelsAvx512(KernelTable& table) {
  table[GgmlType::kF32].vec_dot = F32VecDot;
  table[GgmlType::kBF16].vec_dot = Bf16VecDot;  // the BF16 level replaces it (float_avx512bf16.cc)
  table[GgmlType::kF16].from_float = FromFloat<F16Convert16>;
  table[GgmlType::kBF16].from_float = FromFloat<Bf16Convert16>;
}

}  // namespace isv
