// AVX2 + F16C level of the attention kernels (8 lanes; scalar tail with the exact conversion).
#include <immintrin.h>

#include <algorithm>
#include <cmath>

#include "engine/kernels/attention_kernels.h"
#include "engine/kernels/attention_rows.h"
#include "engine/kernels/kernels.h"
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

// kChunks * 8 columns of y = sum_j p[j] * v_j for j < count, accumulated in registers from zero (first) or
// from y (the FMAs of AxpyF16). value(j, c): chunk c of value row j as 8 floats.
template <int kChunks, typename Value>
void WeightedColumns(int32_t count, const float* p, bool first, float* y, Value value) {
  __m256 acc[kChunks];
#pragma GCC unroll 8
  for (int c = 0; c < kChunks; ++c) acc[c] = first ? _mm256_setzero_ps() : _mm256_loadu_ps(y + 8 * c);
  for (int32_t j = 0; j < count; ++j) {
    const __m256 a = _mm256_set1_ps(p[j]);
#pragma GCC unroll 8
    for (int c = 0; c < kChunks; ++c) acc[c] = _mm256_fmadd_ps(a, value(j, c), acc[c]);
  }
#pragma GCC unroll 8
  for (int c = 0; c < kChunks; ++c) _mm256_storeu_ps(y + 8 * c, acc[c]);
}

// The passes of WeightedColumns over n (a multiple of 8) columns of one head: pass(c, i), c a
// std::integral_constant of the pass's chunks (up to 8), i its first column.
template <typename Pass>
void ForEachColumnPass(int64_t n, Pass pass) {
  for (int64_t i = 0; i < n; i += 64) {
    WithUpTo8(static_cast<int>(std::min<int64_t>(8, (n - i) / 8)), [&](auto c) { pass(c, i); });
  }
}

void WeightedSumF16Head(int64_t n, int32_t count, const float* p, const uint16_t* v0, size_t v_stride,
                        const int32_t* cells, float* y) {
  if (n % 8 != 0) {  // not a head size in practice: the axpy sequence itself
    std::fill(y, y + n, 0.0f);
    for (int32_t j = 0; j < count; ++j) AxpyF16(n, p[j], v0 + static_cast<size_t>(cells[j]) * v_stride, y);
    return;
  }
  ForEachColumnPass(n, [&](auto c, int64_t i) {
    WeightedColumns<decltype(c)::value>(count, p, true, y + i, [&](int32_t j, int k) {
      return LoadHalf8(v0 + static_cast<size_t>(cells[j]) * v_stride + i + 8 * k);
    });
  });
}

// The heads one after another: with 16 registers, several heads' accumulators do not fit beside
// a converted value row.
void WeightedSumF16(int64_t n, int32_t count, const float* p, const uint16_t* v0, size_t v_stride,
                    const int32_t* cells, float* y, int32_t n_q, size_t p_stride, size_t y_stride) {
  for (int32_t g = 0; g < n_q; ++g)
    WeightedSumF16Head(n, count, p + g * p_stride, v0, v_stride, cells, y + g * y_stride);
}

void WeightedSumRowsF16(int64_t n, const int32_t* counts, const float* p, int32_t n_tok, size_t p_stride,
                        int32_t n_head, const uint16_t* v0, size_t v_stride, const int32_t* cells, float* y,
                        size_t y_tok_stride) {
  if (n % 8 != 0) {  // not a head size in practice
    return WeightedSumRowsByToken(WeightedSumF16, n, counts, p, n_tok, p_stride, n_head, v0, v_stride, cells, y,
                                  y_tok_stride);
  }
  ForEachValueBlock(
      n, counts, n_tok, v0, v_stride, cells,
      [&](const uint16_t* v, float* out) {
        for (int64_t i = 0; i < n; i += 8) _mm256_storeu_ps(out + i, LoadHalf8(v + i));
      },
      [&](int32_t t, int32_t j0, int m, const float* vf) {
        for (int32_t h = 0; h < n_head; ++h) {
          const float* ph = p + (static_cast<size_t>(t) * n_head + h) * p_stride + j0;
          float* yh = y + t * y_tok_stride + h * n;
          ForEachColumnPass(n, [&](auto c, int64_t i) {
            WeightedColumns<decltype(c)::value>(
                m, ph, j0 == 0, yh + i, [&](int32_t j, int k) { return _mm256_loadu_ps(vf + j * n + i + 8 * k); });
          });
        }
      });
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

// In place: r[i] lane c becomes r[c] lane i (an 8 x 8 float transpose).
inline void Transpose8(__m256* r) {
  __m256 t[8], u[8];
  for (int i = 0; i < 4; ++i) {  // rows 2i, 2i+1 interleaved by pairs of lanes
    t[2 * i] = _mm256_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm256_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
  for (int i = 0; i < 2; ++i) {  // u[4i + k] lane group L: rows 4i .. 4i+3 of column 4L + k
    const __m256d a = _mm256_castps_pd(t[4 * i]), b = _mm256_castps_pd(t[4 * i + 2]);
    const __m256d c = _mm256_castps_pd(t[4 * i + 1]), d = _mm256_castps_pd(t[4 * i + 3]);
    u[4 * i] = _mm256_castpd_ps(_mm256_unpacklo_pd(a, b));
    u[4 * i + 1] = _mm256_castpd_ps(_mm256_unpackhi_pd(a, b));
    u[4 * i + 2] = _mm256_castpd_ps(_mm256_unpacklo_pd(c, d));
    u[4 * i + 3] = _mm256_castpd_ps(_mm256_unpackhi_pd(c, d));
  }
  for (int k = 0; k < 4; ++k) {
    r[k] = _mm256_permute2f128_ps(u[k], u[4 + k], 0x20);      // column k: rows 0-3 | rows 4-7
    r[k + 4] = _mm256_permute2f128_ps(u[k], u[4 + k], 0x31);  // column 4 + k
  }
}

// The keys of cells[0 .. m) (m <= 8) as columns: kt[i * 8 + c] = element i of key c for i < n, zero
// in lanes c >= m.
void TransposeKeys(int64_t n, int m, const uint16_t* k0, size_t k_stride, const int32_t* cells, float* kt) {
  int64_t i0 = 0;
  for (; i0 + 8 <= n; i0 += 8) {
    __m256 r[8];
    for (int c = 0; c < 8; ++c) {
      r[c] = c < m ? LoadHalf8(k0 + static_cast<size_t>(cells[c]) * k_stride + i0) : _mm256_setzero_ps();
    }
    Transpose8(r);
    for (int i = 0; i < 8; ++i) _mm256_storeu_ps(kt + (i0 + i) * 8, r[i]);
  }
  for (; i0 < n; ++i0) {  // a head size that is not a multiple of 8
    for (int c = 0; c < 8; ++c)
      kt[i0 * 8 + c] = c < m ? Fp16ToFp32(k0[static_cast<size_t>(cells[c]) * k_stride + i0]) : 0.0f;
  }
}

// The scores of kRows query rows against the 8 transposed keys kt, in the order of scores_rows_f16.
template <int kRows>
inline void ScoreRows(int64_t n, const float* const* q, const float* kt, float scale, int m, float* const* out) {
  __m256 acc[kRows];
  __m256 k = _mm256_loadu_ps(kt);
#pragma GCC unroll 8
  for (int r = 0; r < kRows; ++r) acc[r] = _mm256_mul_ps(_mm256_broadcast_ss(q[r]), k);
  for (int64_t i = 1; i < n; ++i) {
    k = _mm256_loadu_ps(kt + i * 8);
#pragma GCC unroll 8
    for (int r = 0; r < kRows; ++r) acc[r] = _mm256_fmadd_ps(_mm256_broadcast_ss(q[r] + i), k, acc[r]);
  }
  const __m256 vs = _mm256_set1_ps(scale);
#pragma GCC unroll 8
  for (int r = 0; r < kRows; ++r) {
    const __m256 v = _mm256_mul_ps(acc[r], vs);
    if (m == 8) {
      _mm256_storeu_ps(out[r], v);
    } else {
      alignas(32) float lanes[8];
      _mm256_store_ps(lanes, v);
      std::copy(lanes, lanes + m, out[r]);
    }
  }
}

void ScoresRowsF16(int64_t n, int32_t count, const float* q, int32_t n_tok, size_t q_tok_stride, int32_t n_head,
                   const uint16_t* k0, size_t k_stride, const int32_t* cells, float scale, float* scores,
                   size_t scores_stride) {
  ForEachScoreBlock<8>(
      n, count, q, n_tok, q_tok_stride, n_head, cells, scores, scores_stride,
      [&](const int32_t* block, int m, float* kt) { TransposeKeys(n, m, k0, k_stride, block, kt); },
      [&](auto r, const float* const* q_rows, const float* kt, int m, float* const* out_rows) {
        ScoreRows<decltype(r)::value>(n, q_rows, kt, scale, m, out_rows);
      });
}

float MaxF32(int32_t count, const float* x) {
  __m256 acc = _mm256_set1_ps(-INFINITY);
  int32_t j = 0;
  for (; j + 8 <= count; j += 8) acc = _mm256_max_ps(_mm256_loadu_ps(x + j), acc);  // ignores a NaN x as std::max
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, acc);
  float m = -INFINITY;
  for (float v : lanes) m = std::max(m, v);
  for (; j < count; ++j) m = std::max(m, x[j]);
  return m;
}

void ScaleF32(int32_t count, float a, float* x) {
  const __m256 va = _mm256_set1_ps(a);
  int32_t j = 0;
  for (; j + 8 <= count; j += 8) _mm256_storeu_ps(x + j, _mm256_mul_ps(_mm256_loadu_ps(x + j), va));
  for (; j < count; ++j) x[j] *= a;
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
  return AttentionKernels{.dot_f16 = DotF16,
                          .axpy_f16 = AxpyF16,
                          .weighted_sum_f16 = WeightedSumF16,
                          .scores_f16 = ScoresF16,
                          .scores_rows_f16 = ScoresRowsF16,
                          .weighted_sum_rows_f16 = WeightedSumRowsF16,
                          .max_f32 = MaxF32,
                          .scale_f32 = ScaleF32,
                          .exp_sum = ExpSum};
}

}  // namespace isv
