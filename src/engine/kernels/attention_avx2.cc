// AVX2 + F16C level of the attention kernels (8 lanes; scalar tail with the exact conversion).
#include <immintrin.h>

#include <algorithm>

#include "engine/kernels/attention_kernels.h"
#include "engine/kernels/simd_exp.h"
#include "engine/tensor/float16.h"

namespace isv {
namespace {

inline __m256 LoadHalf8(const uint16_t* p) {
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}

inline float DotF16(int64_t n, const float* q, const uint16_t* k) {
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(q + i), LoadHalf8(k + i), acc0);
    acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(q + i + 8), LoadHalf8(k + i + 8), acc1);
  }
  for (; i + 8 <= n; i += 8) acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(q + i), LoadHalf8(k + i), acc0);
  const __m256 acc = _mm256_add_ps(acc0, acc1);
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps(acc, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  float sum = _mm_cvtss_f32(s);
  for (; i < n; ++i) sum += q[i] * Fp16ToFp32(k[i]);
  return sum;
}

void AxpyF16(int64_t n, float a, const uint16_t* v, float* y) {
  const __m256 va = _mm256_set1_ps(a);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_fmadd_ps(va, LoadHalf8(v + i), _mm256_loadu_ps(y + i)));
  for (; i < n; ++i) y[i] += a * Fp16ToFp32(v[i]);
}

// kChunks * 8 columns of y = sum_j p[j] * v_j, accumulated in registers (the FMAs of AxpyF16).
template <int kChunks>
void WeightedSumColumns(int32_t count, const float* p, const uint16_t* v0, size_t v_stride, const int32_t* cells,
                        float* y) {
  __m256 acc[kChunks];
#pragma GCC unroll 8
  for (int c = 0; c < kChunks; ++c) acc[c] = _mm256_setzero_ps();
  for (int32_t j = 0; j < count; ++j) {
    const uint16_t* v = v0 + static_cast<size_t>(cells[j]) * v_stride;
    const __m256 a = _mm256_set1_ps(p[j]);
#pragma GCC unroll 8
    for (int c = 0; c < kChunks; ++c) acc[c] = _mm256_fmadd_ps(a, LoadHalf8(v + 8 * c), acc[c]);
  }
#pragma GCC unroll 8
  for (int c = 0; c < kChunks; ++c) _mm256_storeu_ps(y + 8 * c, acc[c]);
}

void WeightedSumF16Head(int64_t n, int32_t count, const float* p, const uint16_t* v0, size_t v_stride,
                        const int32_t* cells, float* y) {
  if (n % 8 != 0) {  // not a head size in practice: the axpy sequence itself
    std::fill(y, y + n, 0.0f);
    for (int32_t j = 0; j < count; ++j) AxpyF16(n, p[j], v0 + static_cast<size_t>(cells[j]) * v_stride, y);
    return;
  }
  int64_t i = 0;
  for (; i + 64 <= n; i += 64) WeightedSumColumns<8>(count, p, v0 + i, v_stride, cells, y + i);
  switch ((n - i) / 8) {
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

// The heads one after another: with 16 registers, several heads' accumulators do not fit beside
// a converted value row.
void WeightedSumF16(int64_t n, int32_t count, const float* p, const uint16_t* v0, size_t v_stride,
                    const int32_t* cells, float* y, int32_t n_q, size_t p_stride, size_t y_stride) {
  for (int32_t g = 0; g < n_q; ++g)
    WeightedSumF16Head(n, count, p + g * p_stride, v0, v_stride, cells, y + g * y_stride);
}

void ScoresF16(int64_t n, int32_t count, const float* q, const uint16_t* k0, size_t k_stride, const int32_t* cells,
               float scale, float* scores, int32_t n_q, size_t q_stride, size_t scores_stride) {
  for (int32_t g = 0; g < n_q; ++g) {
    for (int32_t j = 0; j < count; ++j) {
      const uint16_t* k = k0 + static_cast<size_t>(cells[j]) * k_stride;
      scores[g * scores_stride + j] = DotF16(n, q + g * q_stride, k) * scale;
    }
  }
}

double ExpSum(int32_t count, float max, float* scores) {
  const __m256 m = _mm256_set1_ps(max);
  __m256 acc = _mm256_setzero_ps();
  int32_t j = 0;
  for (; j + 8 <= count; j += 8) {
    const __m256 e = simd::Exp8(_mm256_sub_ps(_mm256_loadu_ps(scores + j), m));
    _mm256_storeu_ps(scores + j, e);
    acc = _mm256_add_ps(acc, e);
  }
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, acc);
  double sum = 0.0;
  for (float v : lanes) sum += v;
  if (j < count) {
    alignas(32) float tail[8] = {};
    for (int32_t i = j; i < count; ++i) tail[i - j] = scores[i] - max;
    _mm256_store_ps(tail, simd::Exp8(_mm256_load_ps(tail)));
    for (int32_t i = j; i < count; ++i) {
      scores[i] = tail[i - j];
      sum += tail[i - j];
    }
  }
  return sum;
}

}  // namespace

AttentionKernels AttentionKernelsAvx2() {
  return AttentionKernels{DotF16, AxpyF16, WeightedSumF16, ScoresF16, ExpSum};
}

}  // namespace isv
