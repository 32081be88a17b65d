// AVX-512 BF16 prefill kernel of BF16 weights (prefill.h), the level Isa::kAvx512Bf16 (VDPBF16PS
// needs AVX512_BF16, which some AVX-512 CPUs and VMs lack; their level, Isa::kAvx512, has the same
// order by FMAs: Bf16FmaWeights in prefill_float_avx512.cc).
// BF16: 5 rows x 5 tokens, per step of 32 elements one VDPBF16PS per (row, token) on the raw bf16
// rows (two products per lane and instruction); ~180 GFLOP/s on one core, ~77% of its peak: the
// loop is 10 loads per 25 VDPBF16PS, and 6 x 4 or 4 x 6 tiles measured 5% slower (8 x 3 and 7 x 4
// need more than the 32 registers).
// At the end each accumulator's 16 lanes are summed in the fixed tree of prefill.h.
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

struct Bf16Weights {
  using W = uint16_t;
  using Act = uint16_t;
  static constexpr int kStep = 32;
  static constexpr int kRows = 5;
  static constexpr int kCols = 5;
  template <bool kTail, int kR, int kC>
  static void Step(const uint16_t* const* w, const uint16_t* const* a, int64_t k, __mmask32 m, __m512 (&acc)[kR][kC]) {
    __m512bh wb[kR];
#pragma GCC unroll 8
    for (int r = 0; r < kR; ++r)
      wb[r] = (__m512bh)(kTail ? _mm512_maskz_loadu_epi16(m, w[r] + k) : _mm512_loadu_si512(w[r] + k));
#pragma GCC unroll 8
    for (int c = 0; c < kC; ++c) {
      const __m512bh y = (__m512bh)(kTail ? _mm512_maskz_loadu_epi16(m, a[c] + k) : _mm512_loadu_si512(a[c] + k));
#pragma GCC unroll 8
      for (int r = 0; r < kR; ++r) acc[r][c] = _mm512_dpbf16_ps(acc[r][c], wb[r], y);
    }
  }
  static __mmask32 Mask(int64_t remaining) { return TailMask32(remaining); }
};

#include "engine/kernels/prefill_float_zmm.inc"  // FloatTile, which the frame calls

#include "engine/kernels/prefill_float_frame.inc"

}  // namespace

void RegisterFloatPrefillKernelsAvx512Bf16(KernelTable& table) { Register<Bf16Weights>(table[GgmlType::kBF16]); }

}  // namespace isv
