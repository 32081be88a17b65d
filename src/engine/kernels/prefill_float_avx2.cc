// AVX2 prefill kernels of the float weight types F32, F16 and BF16 (prefill.h): the AVX-512 kernels'
// order and bits (prefill_float_avx512.cc) on machines without AVX-512.
//
// Each (row, token) keeps the order's 16 float lanes in two ymm (lanes 0-7 and 8-15). F32: 4 rows x 3
// tokens, one half of the lanes at a time (below). F16: per step of 16 elements, 3 rows x 2 tokens, both
// halves (12 accumulators + 3 weight vectors + 1 activation vector of the 16 registers), the activations
// as F16 (TypeKernels::prefill_f16_rows). BF16 has no dot-product instruction here: each bf16 pair is
// split into its element 2l + 1 (the high half of the 32-bit lane, masked) and its element 2l (shifted
// up), both exact floats, and added with two FMAs in VDPBF16PS's order (odd element first); its products
// are exact, so each FMA rounds exactly as the instruction does. 2 rows x 2 tokens.
// Row tails go through zero-padded copies (AVX2 has no masked 16-bit loads).
#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "engine/kernels/kernels.h"
#include "engine/kernels/prefill.h"
#include "engine/kernels/simd_helpers.h"

namespace isv {
namespace {

// The 16 lanes (lo: 0-7, hi: 8-15) summed as prefill.h specifies: (l, l + 8), (l, l + 4), (l, l + 2),
// (l, l + 1).
inline float SumLanes(__m256 lo, __m256 hi) { return HorizontalSum(_mm256_add_ps(lo, hi)); }

// F32: 4 rows x 3 tokens, one ymm per (row, token) holding lanes 0-7 or 8-15 of the order: the rows'
// elements are walked in chunks, each chunk twice (first for lanes 0-7: the first 8 of every 16
// elements, then for lanes 8-15, while the chunk is in L1), with the accumulators of the other half
// parked in memory. Per 8 elements: 4 weight and 3 activation loads for 12 FMAs. (F16's 3 x 2 tile of
// both halves measured 30% slower here: 3 float rows of 2048 and 2 activation rows outgrow L1.)
struct F32Weights {
  using W = float;
  using Act = float;
  static constexpr bool kTwoPass = true;
  static constexpr int kStep = 16;
  static constexpr int kRows = 4;
  static constexpr int kCols = 3;
  // acc[r][c] += elements [k, k + 8) of row r x token c.
  template <int kR, int kC>
  static void HalfStep(const W* const* w, const Act* const* a, int64_t k, __m256 (&acc)[kR][kC]) {
    __m256 y[kC];
#pragma GCC unroll 4
    for (int c = 0; c < kC; ++c) y[c] = _mm256_loadu_ps(a[c] + k);
#pragma GCC unroll 4
    for (int r = 0; r < kR; ++r) {
      const __m256 wf = _mm256_loadu_ps(w[r] + k);
#pragma GCC unroll 4
      for (int c = 0; c < kC; ++c) acc[r][c] = _mm256_fmadd_ps(wf, y[c], acc[r][c]);
    }
  }
};

// F16: 3 rows x 2 tokens, both halves of the lanes at once, the activations as F16 too (converted
// exactly, as the weights). Per 16 elements 10 conversions (loads) for 12 FMAs; a tile's 3 weight rows
// of 2048 and its 2 activation rows (20 KiB) stay in L1. One Zen 4 core, MatMul of 256 prompt tokens:
// 2048 x 8192 ~99 GFLOP/s, 8192 x 2048 ~96, 896 x 4864 ~94, where F32's scheme above with float
// activations reached 65-79 / 71-72 / 77-79.
struct F16Weights {
  using W = uint16_t;
  using Act = uint16_t;
  static constexpr bool kTwoPass = false;
  static constexpr int kStep = 16;
  static constexpr int kRows = 3;
  static constexpr int kCols = 2;
  static __m256 Load8(const uint16_t* p) {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  }
  template <int kR, int kC>
  static void Step(const W* const* w, const Act* const* a, int64_t k, __m256 (&acc)[kR][kC][2]) {
#pragma GCC unroll 2
    for (int h = 0; h < 2; ++h) {
      __m256 wf[kR];
#pragma GCC unroll 4
      for (int r = 0; r < kR; ++r) wf[r] = Load8(w[r] + k + 8 * h);
#pragma GCC unroll 4
      for (int c = 0; c < kC; ++c) {
        const __m256 y = Load8(a[c] + k + 8 * h);
#pragma GCC unroll 4
        for (int r = 0; r < kR; ++r) acc[r][c][h] = _mm256_fmadd_ps(wf[r], y, acc[r][c][h]);
      }
    }
  }
};

struct Bf16Weights {
  using W = uint16_t;
  using Act = uint16_t;
  static constexpr bool kTwoPass = false;
  static constexpr int kStep = 32;
  static constexpr int kRows = 2;
  static constexpr int kCols = 2;
  // 8 bf16 pairs -> their odd elements (2l + 1) and even elements (2l) as floats.
  static void Split(const uint16_t* p, __m256& odd, __m256& even) {
    const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
    odd = _mm256_castsi256_ps(_mm256_and_si256(v, _mm256_set1_epi32(static_cast<int>(0xFFFF0000u))));
    even = _mm256_castsi256_ps(_mm256_slli_epi32(v, 16));
  }
  template <int kR, int kC>
  static void Step(const W* const* w, const Act* const* a, int64_t k, __m256 (&acc)[kR][kC][2]) {
#pragma GCC unroll 2
    for (int h = 0; h < 2; ++h) {
      __m256 w_odd[kR], w_even[kR];
#pragma GCC unroll 4
      for (int r = 0; r < kR; ++r) Split(w[r] + k + 16 * h, w_odd[r], w_even[r]);
#pragma GCC unroll 4
      for (int c = 0; c < kC; ++c) {
        __m256 y_odd, y_even;
        Split(a[c] + k + 16 * h, y_odd, y_even);
#pragma GCC unroll 4
        for (int r = 0; r < kR; ++r) {
          acc[r][c][h] = _mm256_fmadd_ps(w_odd[r], y_odd, acc[r][c][h]);
          acc[r][c][h] = _mm256_fmadd_ps(w_even[r], y_even, acc[r][c][h]);
        }
      }
    }
  }
};

// Elements per chunk of the two-pass tiles: 4 weight rows and 3 activation rows stay in L1 for the
// second pass (F16 weights, which took them until session 18: 256 / 512 / 1024 / 4096 measured 79 / 77 /
// 77 / 67 GFLOP/s on one Zen 4 core).
constexpr int64_t kChunk = 256;

// Copies the last n - k elements of each of the kR rows and kC tokens into zero-padded steps (the
// tail: zeros add nothing, as the order says).
template <typename T, int kR, int kC>
struct Tail {
  typename T::W w[kR][T::kStep] = {};
  typename T::Act a[kC][T::kStep] = {};
  const typename T::W* wp[kR];
  const typename T::Act* ap[kC];
  Tail(int64_t n, int64_t k, const typename T::W* const* w_rows, const typename T::Act* const* a_rows) {
    for (int r = 0; r < kR; ++r) std::memcpy(w[r], w_rows[r] + k, (n - k) * sizeof(typename T::W)), wp[r] = w[r];
    for (int c = 0; c < kC; ++c) std::memcpy(a[c], a_rows[c] + k, (n - k) * sizeof(typename T::Act)), ap[c] = a[c];
  }
};

// out[c * out_stride + r] for kR rows x kC tokens, F32.
template <typename T, int kR, int kC>
void TwoPassTile(int64_t n, const typename T::W* const* w, const typename T::Act* const* a, float* out,
                 size_t out_stride) {
  __m256 acc[2][kR][kC];  // lanes 0-7, lanes 8-15
  for (int h = 0; h < 2; ++h) {
    for (int r = 0; r < kR; ++r) {
      for (int c = 0; c < kC; ++c) acc[h][r][c] = _mm256_setzero_ps();
    }
  }
  const int64_t full = n / T::kStep * T::kStep;
  for (int64_t k0 = 0; k0 < full; k0 += kChunk) {
    const int64_t k1 = std::min(full, k0 + kChunk);
    for (int h = 0; h < 2; ++h) {
      __m256 part[kR][kC];
      std::memcpy(part, acc[h], sizeof(part));
      for (int64_t k = k0 + 8 * h; k < k1; k += T::kStep) T::template HalfStep<kR, kC>(w, a, k, part);
      std::memcpy(acc[h], part, sizeof(part));
    }
  }
  if (full < n) {
    const Tail<T, kR, kC> tail(n, full, w, a);
    for (int h = 0; h < 2; ++h) T::template HalfStep<kR, kC>(tail.wp, tail.ap, 8 * h, acc[h]);
  }
  for (int c = 0; c < kC; ++c) {
    for (int r = 0; r < kR; ++r) out[c * out_stride + r] = SumLanes(acc[0][r][c], acc[1][r][c]);
  }
}

// out[c * out_stride + r] for kR rows x kC tokens, F16 / BF16.
template <typename T, int kR, int kC>
void Tile(int64_t n, const typename T::W* const* w, const typename T::Act* const* a, float* out, size_t out_stride) {
  __m256 acc[kR][kC][2];
  for (int r = 0; r < kR; ++r) {
    for (int c = 0; c < kC; ++c) acc[r][c][0] = acc[r][c][1] = _mm256_setzero_ps();
  }
  int64_t k = 0;
  for (; k + T::kStep <= n; k += T::kStep) T::template Step<kR, kC>(w, a, k, acc);
  if (k < n) {
    const Tail<T, kR, kC> tail(n, k, w, a);
    T::template Step<kR, kC>(tail.wp, tail.ap, 0, acc);
  }
  for (int c = 0; c < kC; ++c) {
    for (int r = 0; r < kR; ++r) out[c * out_stride + r] = SumLanes(acc[r][c][0], acc[r][c][1]);
  }
}

template <typename T, int kR, int kC>
void FloatTile(int64_t n, const typename T::W* const* w, const typename T::Act* const* a, float* out,
               size_t out_stride) {
  if constexpr (T::kTwoPass) {
    TwoPassTile<T, kR, kC>(n, w, a, out, out_stride);
  } else {
    Tile<T, kR, kC>(n, w, a, out, out_stride);
  }
}

#include "engine/kernels/prefill_float_frame.inc"

}  // namespace

void RegisterFloatPrefillKernelsAvx2(KernelTable& table) {
  Register<F32Weights>(table[GgmlType::kF32]);
  Register<F16Weights>(table[GgmlType::kF16]);
  table[GgmlType::kF16].prefill_f16_rows = true;
  Register<Bf16Weights>(table[GgmlType::kBF16]);
}

}  // namespace isv
