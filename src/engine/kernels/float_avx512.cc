// AVX-512 (F/BW/VL + BF16) kernels of the float types: vec_dot of F32 / F16 / BF16 and
// from_float of F16 / BF16.
//
// Tails are handled with masked loads (masked-off lanes read as zero and add nothing). F32 and
// F16 products accumulate with FMA in 2 x 16 float lanes. BF16 uses VDPBF16PS: bf16 products are
// exact in float and each instruction adds two of them per lane (round to nearest even; the
// instruction treats denormal inputs as zero, which changes a sum only by less than the smallest
// normal float per product). The conversions are bit-identical to the scalar ones in float16.h:
// F16 via VCVTPS2PH round-to-nearest-even with NaN lanes rewritten to the scalar's quiet NaN, BF16
// by integer rounding (VCVTNEPS2BF16 is not used because it flushes denormals).
#include <immintrin.h>

#include <vector>

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

inline __m512 LoadF16(__mmask16 m, const uint16_t* p) { return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, p)); }
inline __m512 LoadF32(__mmask16 m, const float* p) { return _mm512_maskz_loadu_ps(m, p); }

// F16 weights a against b, either F16 (vec_dot) or its exact floats (gemv): the same sum.
template <typename U, __m512 (*LoadB)(__mmask16, const U*)>
float F16Dot(int64_t n, const uint16_t* a, const U* b) {
  __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    acc0 = _mm512_fmadd_ps(LoadF16(0xFFFF, a + i), LoadB(0xFFFF, b + i), acc0);
    acc1 = _mm512_fmadd_ps(LoadF16(0xFFFF, a + i + 16), LoadB(0xFFFF, b + i + 16), acc1);
  }
  for (; i < n; i += 16) {
    const __mmask16 m = TailMask16(n - i);
    acc0 = _mm512_fmadd_ps(LoadF16(m, a + i), LoadB(m, b + i), acc0);
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
}

float F16VecDot(int64_t n, const void* x, const void* y) {
  return F16Dot<uint16_t, LoadF16>(n, static_cast<const uint16_t*>(x), static_cast<const uint16_t*>(y));
}

// TypeKernels::gemv of F16: the n_tokens activation rows as floats (in a buffer of the thread), then
// every weight row against each of them (one conversion per 16 weights instead of two).
void F16Gemv(int64_t n, const void* x, size_t x_stride, int64_t n_rows, const void* y, size_t y_stride, int n_tokens,
             float* out, size_t out_stride) {
  thread_local std::vector<float> floats;  // grows to the longest rows seen, then no allocation
  if (floats.size() < static_cast<size_t>(n_tokens * n)) floats.resize(static_cast<size_t>(n_tokens * n));
  for (int t = 0; t < n_tokens; ++t) {
    const auto* src = reinterpret_cast<const uint16_t*>(static_cast<const uint8_t*>(y) + t * y_stride);
    for (int64_t i = 0; i < n; i += 16) {
      const __mmask16 m = TailMask16(n - i);
      _mm512_mask_storeu_ps(floats.data() + t * n + i, m, LoadF16(m, src + i));
    }
  }
  for (int64_t r = 0; r < n_rows; ++r) {
    const auto* row = reinterpret_cast<const uint16_t*>(static_cast<const uint8_t*>(x) + r * x_stride);
    for (int t = 0; t < n_tokens; ++t) out[t * out_stride + r] = F16Dot<float, LoadF32>(n, row, floats.data() + t * n);
  }
}

float Bf16VecDot(int64_t n, const void* vx, const void* vy) {
  const uint16_t* a = static_cast<const uint16_t*>(vx);
  const uint16_t* b = static_cast<const uint16_t*>(vy);
  __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i + 64 <= n; i += 64) {
    acc0 = _mm512_dpbf16_ps(acc0, (__m512bh)_mm512_loadu_si512(a + i), (__m512bh)_mm512_loadu_si512(b + i));
    acc1 = _mm512_dpbf16_ps(acc1, (__m512bh)_mm512_loadu_si512(a + i + 32),
                            (__m512bh)_mm512_loadu_si512(b + i + 32));
  }
  for (; i < n; i += 32) {
    const __mmask32 m = TailMask32(n - i);
    acc0 = _mm512_dpbf16_ps(acc0, (__m512bh)_mm512_maskz_loadu_epi16(m, a + i),
                            (__m512bh)_mm512_maskz_loadu_epi16(m, b + i));
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
  table[GgmlType::kF16].vec_dot = F16VecDot;
  table[GgmlType::kBF16].vec_dot = Bf16VecDot;
  table[GgmlType::kF16].gemv = F16Gemv;
  table[GgmlType::kBF16].gemv = nullptr;  // (not the AVX2 level's: its sum is not VDPBF16PS's)
  table[GgmlType::kF16].from_float = FromFloat<F16Convert16>;
  table[GgmlType::kBF16].from_float = FromFloat<Bf16Convert16>;
}

}  // namespace isv
