// AVX-512 prefill kernels of the float weight types F32, F16 and BF16 (prefill.h; BF16 by VDPBF16PS
// at the BF16 level is in prefill_float_avx512bf16.cc): a register tile of rows x prompt tokens, one
// zmm accumulator of 16 float lanes per (row, token).
//
// F32 / F16: 6 rows x 4 tokens. Per step of 16 elements each row's vector is loaded (F16: converted,
// VCVTPH2PS) once for all the tile's tokens and each token's vector (the packed activations are
// floats, prefill.h) once for all its rows: 24 FMAs per 6 + 4 loads. Zen 4 issues one zmm FMA per
// cycle; measured ~90% of that on one core (2048 x 8192 F16 x 256 tokens: 105 GFLOP/s).
// At the end each accumulator's 16 lanes are summed in the fixed tree of prefill.h. Blocking the
// rows' elements in chunks (so that a tile's rows stay in L1 while all tokens pass) measured 5-20%
// slower than these long sequential streams.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <algorithm>
#include <cstdint>

#include "engine/kernels/kernels.h"
#include "engine/kernels/prefill.h"
#include "engine/kernels/simd_helpers.h"

namespace isv {
namespace {

// F32 / F16: 6 rows x 4 tokens of FMAs.
template <typename WeightT>
struct FmaWeights {
  using W = WeightT;
  using Act = float;
  static constexpr int kStep = 16;
  static constexpr int kRows = 6;  // register tile: weight rows (prefill_rows) x tokens
  static constexpr int kCols = 4;
  // 16 weights as floats (kTail: the lanes in m, the others zero).
  template <bool kTail>
  static __m512 Load16(const float* p, __mmask16 m) {
    return kTail ? _mm512_maskz_loadu_ps(m, p) : _mm512_loadu_ps(p);
  }
  template <bool kTail>
  static __m512 Load16(const uint16_t* p, __mmask16 m) {
    return _mm512_cvtph_ps(kTail ? _mm256_maskz_loadu_epi16(m, p)
                                 : _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
  }
  // acc[r][c] += row r's elements [k, k + 16) x token c's (masked: lanes past n are zero).
  template <bool kTail, int kR, int kC>
  static void Step(const W* const* w, const float* const* a, int64_t k, __mmask16 m, __m512 (&acc)[kR][kC]) {
    __m512 wf[kR];
#pragma GCC unroll 8
    for (int r = 0; r < kR; ++r) wf[r] = Load16<kTail>(w[r] + k, m);
#pragma GCC unroll 8
    for (int c = 0; c < kC; ++c) {
      const __m512 y = Load16<kTail>(a[c] + k, m);
#pragma GCC unroll 8
      for (int r = 0; r < kR; ++r) acc[r][c] = _mm512_fmadd_ps(wf[r], y, acc[r][c]);
    }
  }
  static __mmask16 Mask(int64_t remaining) { return TailMask16(remaining); }
};
using F32Weights = FmaWeights<float>;
using F16Weights = FmaWeights<uint16_t>;

// BF16 without AVX512_BF16 (the level Isa::kAvx512; prefill_float_avx512bf16.cc has the VDPBF16PS
// kernel): VDPBF16PS's order by FMAs, as the AVX2 kernel does it in ymm halves. Per step of 32
// elements each row's and token's 64 bytes are split into their odd elements (2l + 1: the high half of
// each 32-bit word, masked) and even ones (2l: shifted up), exact floats, and each (row, token) adds
// the odd product, then the even one: 2 x 4 x 5 FMAs per 9 loads and 18 splits.
struct Bf16FmaWeights {
  using W = uint16_t;
  using Act = uint16_t;
  static constexpr int kStep = 32;
  static constexpr int kRows = 4;
  static constexpr int kCols = 5;
  template <bool kTail>
  static void Split(const uint16_t* p, __mmask32 m, __m512& odd, __m512& even) {
    const __m512i v = kTail ? _mm512_maskz_loadu_epi16(m, p) : _mm512_loadu_si512(p);
    odd = _mm512_castsi512_ps(_mm512_and_si512(v, _mm512_set1_epi32(static_cast<int>(0xFFFF0000u))));
    even = _mm512_castsi512_ps(_mm512_slli_epi32(v, 16));
  }
  template <bool kTail, int kR, int kC>
  static void Step(const uint16_t* const* w, const uint16_t* const* a, int64_t k, __mmask32 m, __m512 (&acc)[kR][kC]) {
    __m512 w_odd[kR], w_even[kR];
#pragma GCC unroll 8
    for (int r = 0; r < kR; ++r) Split<kTail>(w[r] + k, m, w_odd[r], w_even[r]);
#pragma GCC unroll 8
    for (int c = 0; c < kC; ++c) {
      __m512 y_odd, y_even;
      Split<kTail>(a[c] + k, m, y_odd, y_even);
#pragma GCC unroll 8
      for (int r = 0; r < kR; ++r) {
        acc[r][c] = _mm512_fmadd_ps(w_odd[r], y_odd, acc[r][c]);
        acc[r][c] = _mm512_fmadd_ps(w_even[r], y_even, acc[r][c]);
      }
    }
  }
  static __mmask32 Mask(int64_t remaining) { return TailMask32(remaining); }
};

#include "engine/kernels/prefill_float_zmm.inc"  // FloatTile, which the frame calls

#include "engine/kernels/prefill_float_frame.inc"

}  // namespace

void RegisterFloatPrefillKernelsAvx512(KernelTable& table) {
  Register<F32Weights>(table[GgmlType::kF32]);
  Register<F16Weights>(table[GgmlType::kF16]);
  Register<Bf16FmaWeights>(table[GgmlType::kBF16]);  // the BF16 level replaces it (prefill_float_avx512bf16.cc)
}

}  // namespace isv
