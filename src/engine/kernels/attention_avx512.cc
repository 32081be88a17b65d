// AVX-512 level of the attention kernels (16 lanes, masked tail).
#include <immintrin.h>

#include <algorithm>

// GCC 12's AVX-512 intrinsic headers build vectors from deliberately undefined values, which
// -Wuninitialized reports at call sites; the warnings are false.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include "engine/kernels/attention_kernels.h"
#include "engine/kernels/simd_exp.h"

namespace isv {
namespace {

inline __mmask16 TailMask(int64_t remaining) {
  return remaining >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << remaining) - 1);
}

inline __m512 LoadHalf16(const uint16_t* p, __mmask16 m) {
  return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, p));
}

inline float DotF16(int64_t n, const float* q, const uint16_t* k) {
  __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(q + i), _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(k + i))), acc0);
    acc1 = _mm512_fmadd_ps(_mm512_loadu_ps(q + i + 16),
                           _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(k + i + 16))), acc1);
  }
  for (; i < n; i += 16) {
    const __mmask16 m = TailMask(n - i);
    acc0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, q + i), LoadHalf16(k + i, m), acc0);
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
}

void AxpyF16(int64_t n, float a, const uint16_t* v, float* y) {
  const __m512 va = _mm512_set1_ps(a);
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = TailMask(n - i);
    _mm512_mask_storeu_ps(y + i, m, _mm512_fmadd_ps(va, LoadHalf16(v + i, m), _mm512_maskz_loadu_ps(m, y + i)));
  }
}

// kChunks * 16 columns of y = sum_j p[j] * v_j, accumulated in registers (the FMAs of AxpyF16).
template <int kChunks>
void WeightedSumColumns(int32_t count, const float* p, const uint16_t* v0, size_t v_stride, const int32_t* cells,
                        float* y) {
  __m512 acc[kChunks];
#pragma GCC unroll 8
  for (int c = 0; c < kChunks; ++c) acc[c] = _mm512_setzero_ps();
  for (int32_t j = 0; j < count; ++j) {
    const uint16_t* v = v0 + static_cast<size_t>(cells[j]) * v_stride;
    const __m512 a = _mm512_set1_ps(p[j]);
#pragma GCC unroll 8
    for (int c = 0; c < kChunks; ++c) {
      acc[c] = _mm512_fmadd_ps(a, _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(v + 16 * c))),
                               acc[c]);
    }
  }
#pragma GCC unroll 8
  for (int c = 0; c < kChunks; ++c) _mm512_storeu_ps(y + 16 * c, acc[c]);
}

void WeightedSumF16(int64_t n, int32_t count, const float* p, const uint16_t* v0, size_t v_stride,
                    const int32_t* cells, float* y) {
  if (n % 16 != 0) {  // not a head size in practice: the axpy sequence itself
    std::fill(y, y + n, 0.0f);
    for (int32_t j = 0; j < count; ++j) AxpyF16(n, p[j], v0 + static_cast<size_t>(cells[j]) * v_stride, y);
    return;
  }
  int64_t i = 0;
  for (; i + 128 <= n; i += 128) WeightedSumColumns<8>(count, p, v0 + i, v_stride, cells, y + i);
  switch ((n - i) / 16) {
    case 1: return WeightedSumColumns<1>(count, p, v0 + i, v_stride, cells, y + i);
    case 2: return WeightedSumColumns<2>(count, p, v0 + i, v_stride, cells, y + i);
    case 3: return WeightedSumColumns<3>(count, p, v0 + i, v_stride, cells, y + i);
    case 4: return WeightedSumColumns<4>(count, p, v0 + i, v_stride, cells, y + i);
    case 5: return WeightedSumColumns<5>(count, p, v0 + i, v_stride, cells, y + i);
    case 6: return WeightedSumColumns<6>(count, p, v0 + i, v_stride, cells, y + i);
    case 7: return WeightedSumColumns<7>(count, p, v0 + i, v_stride, cells, y + i);
    default: return;
  }
}

void ScoresF16(int64_t n, int32_t count, const float* q, const uint16_t* k0, size_t k_stride, const int32_t* cells,
               float scale, float* scores) {
  for (int32_t j = 0; j < count; ++j) scores[j] = DotF16(n, q, k0 + static_cast<size_t>(cells[j]) * k_stride) * scale;
}

double ExpSum(int32_t count, float max, float* scores) {
  const __m512 m = _mm512_set1_ps(max);
  __m512 acc = _mm512_setzero_ps();
  for (int32_t j = 0; j < count; j += 16) {
    const __mmask16 mask = TailMask(count - j);
    const __m512 e = _mm512_maskz_mov_ps(mask, simd::Exp16(_mm512_sub_ps(_mm512_maskz_loadu_ps(mask, scores + j), m)));
    _mm512_mask_storeu_ps(scores + j, mask, e);
    acc = _mm512_add_ps(acc, e);
  }
  alignas(64) float lanes[16];
  _mm512_store_ps(lanes, acc);
  double sum = 0.0;
  for (float v : lanes) sum += v;
  return sum;
}

}  // namespace

AttentionKernels AttentionKernelsAvx512() {
  return AttentionKernels{DotF16, AxpyF16, WeightedSumF16, ScoresF16, ExpSum};
}

}  // namespace isv
