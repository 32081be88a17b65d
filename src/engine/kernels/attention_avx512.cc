// AVX-512 level of the attention kernels (16 lanes, masked tail).
#include <immintrin.h>

#include <algorithm>
#include <cmath>

// GCC 12's AVX-512 intrinsic headers build vectors from deliberately undefined values, which
// -Wuninitialized reports at call sites; the warnings are false.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include "engine/kernels/attention_kernels.h"
#include "engine/kernels/attention_rows.h"
#include "engine/kernels/kernels.h"
#include "engine/kernels/simd_exp.h"
#include "engine/kernels/simd_helpers.h"

namespace isv {
namespace {

inline __m512 LoadHalf16(const uint16_t* p, __mmask16 m) {
  return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, p));
}

inline __m512 LoadHalf16(const uint16_t* p) {
  return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
}

inline float DotF16(int64_t n, const float* q, const uint16_t* k) {
  __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(q + i),
                           _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(k + i))), acc0);
    acc1 = _mm512_fmadd_ps(_mm512_loadu_ps(q + i + 16),
                           _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(k + i + 16))), acc1);
  }
  for (; i < n; i += 16) {
    const __mmask16 m = TailMask16(n - i);
    acc0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, q + i), LoadHalf16(k + i, m), acc0);
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
}

void AxpyF16(int64_t n, float a, const uint16_t* v, float* y) {
  const __m512 va = _mm512_set1_ps(a);
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = TailMask16(n - i);
    _mm512_mask_storeu_ps(y + i, m, _mm512_fmadd_ps(va, LoadHalf16(v + i, m), _mm512_maskz_loadu_ps(m, y + i)));
  }
}

// kChunks * 16 columns of y_g = sum_j p_g[j] * v_j for j < count and kHeads heads (p_g = p + g * p_stride,
// y_g = y + g * y_stride), accumulated in registers from zero (first) or from y: the FMAs of AxpyF16, per
// head in the same order. value(j, c): chunk c of value row j as 16 floats, taken once for all heads.
template <int kChunks, int kHeads, typename Value>
void WeightedColumns(int32_t count, const float* p, size_t p_stride, bool first, float* y, size_t y_stride,
                     Value value) {
  __m512 acc[kHeads][kChunks];
#pragma GCC unroll 8
  for (int g = 0; g < kHeads; ++g) {
#pragma GCC unroll 8
    for (int c = 0; c < kChunks; ++c) {
      acc[g][c] = first ? _mm512_setzero_ps() : _mm512_loadu_ps(y + g * y_stride + 16 * c);
    }
  }
  for (int32_t j = 0; j < count; ++j) {
    __m512 vf[kChunks];
#pragma GCC unroll 8
    for (int c = 0; c < kChunks; ++c) vf[c] = value(j, c);
#pragma GCC unroll 8
    for (int g = 0; g < kHeads; ++g) {
      const __m512 a = _mm512_set1_ps(p[g * p_stride + j]);
#pragma GCC unroll 8
      for (int c = 0; c < kChunks; ++c) acc[g][c] = _mm512_fmadd_ps(a, vf[c], acc[g][c]);
    }
  }
#pragma GCC unroll 8
  for (int g = 0; g < kHeads; ++g) {
#pragma GCC unroll 8
    for (int c = 0; c < kChunks; ++c) _mm512_storeu_ps(y + g * y_stride + 16 * c, acc[g][c]);
  }
}

// Heads of one call to WeightedColumns: as many as keep heads x chunks accumulators plus the
// converted row within the 32 registers (4 heads of a 64-wide head, 2 of a 128-wide one).
constexpr int HeadsPerPass(int chunks) { return chunks <= 4 ? 4 : 2; }

// The passes of WeightedColumns over n (a multiple of 16) columns and n_q heads: pass(c, h, i, g) with
// c, h std::integral_constants of the chunks (up to 8) and heads of the pass, i its first column, g its
// first head.
template <typename Pass>
void ForEachColumnPass(int64_t n, int32_t n_q, Pass pass) {
  for (int64_t i = 0; i < n; i += 128) {
    const int chunks = static_cast<int>(std::min<int64_t>(8, (n - i) / 16));
    const int per_pass = HeadsPerPass(chunks);
    for (int32_t g = 0; g < n_q; g += per_pass) {
      WithUpTo8(chunks, [&](auto c) {
        WithUpTo8(std::min<int32_t>(per_pass, n_q - g), [&](auto h) {
          pass(c, std::integral_constant<int, std::min(decltype(h)::value, HeadsPerPass(decltype(c)::value))>(), i, g);
        });
      });
    }
  }
}

void WeightedSumF16(int64_t n, int32_t count, const float* p, const uint16_t* v0, size_t v_stride, const int32_t* cells,
                    float* y, int32_t n_q, size_t p_stride, size_t y_stride) {
  if (n % 16 != 0) {  // not a head size in practice: the axpy sequence itself
    for (int32_t g = 0; g < n_q; ++g) {
      float* yg = y + g * y_stride;
      std::fill(yg, yg + n, 0.0f);
      for (int32_t j = 0; j < count; ++j) {
        AxpyF16(n, p[g * p_stride + j], v0 + static_cast<size_t>(cells[j]) * v_stride, yg);
      }
    }
    return;
  }
  ForEachColumnPass(n, n_q, [&](auto c, auto h, int64_t i, int32_t g) {
    WeightedColumns<decltype(c)::value, decltype(h)::value>(
        count, p + g * p_stride, p_stride, true, y + g * y_stride + i, y_stride,
        [&](int32_t j, int k) { return LoadHalf16(v0 + static_cast<size_t>(cells[j]) * v_stride + i + 16 * k); });
  });
}

void WeightedSumRowsF16(int64_t n, const int32_t* counts, const float* p, int32_t n_tok, size_t p_stride,
                        int32_t n_head, const uint16_t* v0, size_t v_stride, const int32_t* cells, float* y,
                        size_t y_tok_stride) {
  if (n % 16 != 0) {  // not a head size in practice
    return WeightedSumRowsByToken(WeightedSumF16, n, counts, p, n_tok, p_stride, n_head, v0, v_stride, cells, y,
                                  y_tok_stride);
  }
  ForEachValueBlock(
      n, counts, n_tok, v0, v_stride, cells,
      [&](const uint16_t* v, float* out) {
        for (int64_t i = 0; i < n; i += 16) _mm512_storeu_ps(out + i, LoadHalf16(v + i));
      },
      [&](int32_t t, int32_t j0, int m, const float* vf) {
        const float* pt = p + static_cast<size_t>(t) * n_head * p_stride + j0;
        float* yt = y + t * y_tok_stride;
        ForEachColumnPass(n, n_head, [&](auto c, auto h, int64_t i, int32_t g) {
          WeightedColumns<decltype(c)::value, decltype(h)::value>(
              m, pt + g * p_stride, p_stride, j0 == 0, yt + g * n + i, static_cast<size_t>(n),
              [&](int32_t j, int k) { return _mm512_loadu_ps(vf + j * n + i + 16 * k); });
        });
      });
}

// Lane c of the result = the sum of the 16 lanes of v[c], for c < 16. Each output adds only lanes of
// its own vector, in a fixed order: the result for v[c] does not depend on the other vectors.
inline __m512 SumEach16(const __m512* v) {
  // 16 vectors -> 8: halves of each vector added; w[i] = [v[2i] (8 partial lanes) | v[2i+1] (8)].
  __m512 w[8];
#pragma GCC unroll 8
  for (int i = 0; i < 8; ++i) {
    w[i] = _mm512_add_ps(_mm512_shuffle_f32x4(v[2 * i], v[2 * i + 1], 0x44),
                         _mm512_shuffle_f32x4(v[2 * i], v[2 * i + 1], 0xEE));
  }
  // 8 -> 4: x[i] = 128-bit lane k holds 4 partial sums of v[4i + k].
  __m512 x[4];
#pragma GCC unroll 4
  for (int i = 0; i < 4; ++i) {
    x[i] = _mm512_add_ps(_mm512_shuffle_f32x4(w[2 * i], w[2 * i + 1], 0x88),
                         _mm512_shuffle_f32x4(w[2 * i], w[2 * i + 1], 0xDD));
  }
  // Within each 128-bit lane k: 4 partials of v[k], v[4 + k], v[8 + k], v[12 + k] -> their sums.
  const __m512 s01 = _mm512_add_ps(_mm512_unpacklo_ps(x[0], x[1]), _mm512_unpackhi_ps(x[0], x[1]));
  const __m512 s23 = _mm512_add_ps(_mm512_unpacklo_ps(x[2], x[3]), _mm512_unpackhi_ps(x[2], x[3]));
  const __m512 t = _mm512_add_ps(
      _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(s01), _mm512_castps_pd(s23))),
      _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(s01), _mm512_castps_pd(s23))));
  // t[4k + j] = sum of v[4j + k]: reorder to lane c = sum of v[c].
  const __m512i order = _mm512_set_epi32(15, 11, 7, 3, 14, 10, 6, 2, 13, 9, 5, 1, 12, 8, 4, 0);
  return _mm512_permutexvar_ps(order, t);
}

// The head's query as `chunks` vectors of 16 floats.
inline void LoadQuery(int chunks, const float* q, __m512* qv) {
#pragma GCC unroll 16
  for (int i = 0; i < chunks; ++i) qv[i] = _mm512_loadu_ps(q + 16 * i);
}

// The 16 scores of one pass (m <= 16 cells) of one head (query qv), keys read through key(c, i) (chunk
// i of cell c as 16 floats): the same operations whether the keys come converted from the cache or
// from kf.
template <typename Key>
inline void SixteenScores(int chunks, const __m512* qv, int m, float scale, float* scores, Key key) {
  __m512 acc[16];
#pragma GCC unroll 16
  for (int c = 0; c < 16; ++c) {
    if (c >= m) {
      acc[c] = _mm512_setzero_ps();
      continue;
    }
    __m512 a = _mm512_mul_ps(qv[0], key(c, 0));
#pragma GCC unroll 16
    for (int i = 1; i < chunks; ++i) a = _mm512_fmadd_ps(qv[i], key(c, i), a);
    acc[c] = a;
  }
  _mm512_mask_storeu_ps(scores, TailMask16(m), _mm512_mul_ps(SumEach16(acc), _mm512_set1_ps(scale)));
}

// Head sizes of 16..256 in steps of 16 (all in practice): sixteen cells per pass, each cell's
// products accumulated in one register in element order, the sixteen register sums formed together
// (SumEach16) instead of one horizontal sum per cell. A cell's score depends only on q and its key
// (not on how many cells there are or where it sits in the list). Other sizes: dot_f16 per cell.
// ScoresF16 for head sizes of 16 * chunks (kChunks > 0: a compile-time count, so that the loops over
// the chunks unroll and the query and the sixteen sums stay in registers; 0: n / 16 at run time).
template <int kChunks>
void ScoresF16Chunks(int64_t n, int32_t count, const float* q, const uint16_t* k0, size_t k_stride,
                     const int32_t* cells, float scale, float* scores, int32_t n_q, size_t q_stride,
                     size_t scores_stride) {
  const int chunks = kChunks > 0 ? kChunks : static_cast<int>(n / 16);
  auto cache_key = [&](int32_t j0) {
    return [=](int c, int i) {
      const uint16_t* k = k0 + static_cast<size_t>(cells[j0 + c]) * k_stride + 16 * i;
      return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(k)));
    };
  };
  __m512 qv[16];
  if (n_q == 1) {
    LoadQuery(chunks, q, qv);
    for (int32_t j0 = 0; j0 < count; j0 += 16) {
      SixteenScores(chunks, qv, std::min<int32_t>(16, count - j0), scale, scores + j0, cache_key(j0));
    }
    return;
  }
  // Several heads: the pass's 16 keys converted once into kf, then each head's scores from there.
  alignas(64) float kf[16 * 256];  // cell c's key at kf + c * n
  for (int32_t j0 = 0; j0 < count; j0 += 16) {
    const int m = static_cast<int>(std::min<int32_t>(16, count - j0));
    const auto key = cache_key(j0);
    for (int c = 0; c < m; ++c) {
      for (int i = 0; i < chunks; ++i) _mm512_store_ps(kf + c * n + 16 * i, key(c, i));
    }
    for (int32_t g = 0; g < n_q; ++g) {
      LoadQuery(chunks, q + g * q_stride, qv);
      SixteenScores(chunks, qv, m, scale, scores + g * scores_stride + j0,
                    [&](int c, int i) { return _mm512_load_ps(kf + c * n + 16 * i); });
    }
  }
}

void ScoresF16(int64_t n, int32_t count, const float* q, const uint16_t* k0, size_t k_stride, const int32_t* cells,
               float scale, float* scores, int32_t n_q, size_t q_stride, size_t scores_stride) {
  if (n % 16 != 0 || n > 256) {
    for (int32_t g = 0; g < n_q; ++g) {
      for (int32_t j = 0; j < count; ++j) {
        scores[g * scores_stride + j] =
            DotF16(n, q + g * q_stride, k0 + static_cast<size_t>(cells[j]) * k_stride) * scale;
      }
    }
    return;
  }
  switch (n / 16) {
    case 4:
      return ScoresF16Chunks<4>(n, count, q, k0, k_stride, cells, scale, scores, n_q, q_stride, scores_stride);
    case 8:
      return ScoresF16Chunks<8>(n, count, q, k0, k_stride, cells, scale, scores, n_q, q_stride, scores_stride);
    default:
      return ScoresF16Chunks<0>(n, count, q, k0, k_stride, cells, scale, scores, n_q, q_stride, scores_stride);
  }
}

// In place: r[i] lane c becomes r[c] lane i (a 16 x 16 float transpose).
inline void Transpose16(__m512* r) {
  __m512 t[16], u[16];
#pragma GCC unroll 8
  for (int i = 0; i < 8; ++i) {  // t[2i], t[2i+1]: rows 2i, 2i+1 interleaved by pairs of lanes
    t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
#pragma GCC unroll 4
  for (int i = 0; i < 4; ++i) {  // u[4i + k]: rows 4i .. 4i+3, column k of each 128-bit lane
    const __m512d a = _mm512_castps_pd(t[4 * i]), b = _mm512_castps_pd(t[4 * i + 2]);
    const __m512d c = _mm512_castps_pd(t[4 * i + 1]), d = _mm512_castps_pd(t[4 * i + 3]);
    u[4 * i] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, b));
    u[4 * i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, b));
    u[4 * i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(c, d));
    u[4 * i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(c, d));
  }
  // u[4i + k] lane group L (L < 4) holds rows 4i .. 4i+3 of column 4L + k.
#pragma GCC unroll 4
  for (int k = 0; k < 4; ++k) {
    // 128-bit lanes of v0: rows 0-3 of column k, rows 0-3 of column k+8, rows 4-7 of k, rows 4-7 of
    // k+8; v1 the same for columns k+4 and k+12; v2, v3 the same for rows 8-15.
    const __m512 v0 = _mm512_shuffle_f32x4(u[k], u[4 + k], 0x88);
    const __m512 v1 = _mm512_shuffle_f32x4(u[k], u[4 + k], 0xDD);
    const __m512 v2 = _mm512_shuffle_f32x4(u[8 + k], u[12 + k], 0x88);
    const __m512 v3 = _mm512_shuffle_f32x4(u[8 + k], u[12 + k], 0xDD);
    r[k] = _mm512_shuffle_f32x4(v0, v2, 0x88);
    r[k + 8] = _mm512_shuffle_f32x4(v0, v2, 0xDD);
    r[k + 4] = _mm512_shuffle_f32x4(v1, v3, 0x88);
    r[k + 12] = _mm512_shuffle_f32x4(v1, v3, 0xDD);
  }
}

// The keys of cells[0 .. m) (m <= 16) as columns: kt[i * 16 + c] = element i of key c for i < n,
// zero in lanes c >= m.
void TransposeKeys(int64_t n, int m, const uint16_t* k0, size_t k_stride, const int32_t* cells, float* kt) {
  for (int64_t i0 = 0; i0 < n; i0 += 16) {
    const __mmask16 mask = TailMask16(n - i0);
    __m512 r[16];
#pragma GCC unroll 16
    for (int c = 0; c < 16; ++c) {
      r[c] = c < m ? LoadHalf16(k0 + static_cast<size_t>(cells[c]) * k_stride + i0, mask) : _mm512_setzero_ps();
    }
    Transpose16(r);
    const int rows = static_cast<int>(std::min<int64_t>(16, n - i0));
    for (int i = 0; i < rows; ++i) _mm512_storeu_ps(kt + (i0 + i) * 16, r[i]);
  }
}

// The scores of kRows query rows against 32 transposed keys: kt for cells 0-15, kt + 16 n for cells
// 16-31 (each as TransposeKeys leaves them); element by element, two registers of 16 cells per row (one
// key load per 16 FMAs against the rows' broadcasts), in the order of scores_rows_f16. m <= 32 cells.
template <int kRows>
inline void ScoreRows(int64_t n, const float* const* q, const float* kt, float scale, int m, float* const* out) {
  const float* kt1 = kt + n * 16;
  __m512 acc0[kRows], acc1[kRows];
  __m512 k0 = _mm512_loadu_ps(kt), k1 = _mm512_loadu_ps(kt1);
#pragma GCC unroll 8
  for (int r = 0; r < kRows; ++r) {
    const __m512 qr = _mm512_set1_ps(q[r][0]);
    acc0[r] = _mm512_mul_ps(qr, k0);
    acc1[r] = _mm512_mul_ps(qr, k1);
  }
  for (int64_t i = 1; i < n; ++i) {
    k0 = _mm512_loadu_ps(kt + i * 16);
    k1 = _mm512_loadu_ps(kt1 + i * 16);
#pragma GCC unroll 8
    for (int r = 0; r < kRows; ++r) {
      const __m512 qr = _mm512_set1_ps(q[r][i]);
      acc0[r] = _mm512_fmadd_ps(qr, k0, acc0[r]);
      acc1[r] = _mm512_fmadd_ps(qr, k1, acc1[r]);
    }
  }
  const __m512 vs = _mm512_set1_ps(scale);
  const __mmask16 mask0 = TailMask16(std::min(m, 16)), mask1 = m > 16 ? TailMask16(m - 16) : 0;
#pragma GCC unroll 8
  for (int r = 0; r < kRows; ++r) {
    _mm512_mask_storeu_ps(out[r], mask0, _mm512_mul_ps(acc0[r], vs));
    _mm512_mask_storeu_ps(out[r] + 16, mask1, _mm512_mul_ps(acc1[r], vs));
  }
}

void ScoresRowsF16(int64_t n, int32_t count, const float* q, int32_t n_tok, size_t q_tok_stride, int32_t n_head,
                   const uint16_t* k0, size_t k_stride, const int32_t* cells, float scale, float* scores,
                   size_t scores_stride) {
  ForEachScoreBlock<32>(
      n, count, q, n_tok, q_tok_stride, n_head, cells, scores, scores_stride,
      [&](const int32_t* block, int m, float* kt) {
        TransposeKeys(n, std::min(m, 16), k0, k_stride, block, kt);
        TransposeKeys(n, std::max(m - 16, 0), k0, k_stride, block + 16, kt + n * 16);
      },
      [&](auto r, const float* const* q_rows, const float* kt, int m, float* const* out_rows) {
        ScoreRows<decltype(r)::value>(n, q_rows, kt, scale, m, out_rows);
      });
}

float MaxF32(int32_t count, const float* x) {
  __m512 acc = _mm512_set1_ps(-INFINITY);
  for (int32_t j = 0; j < count; j += 16) {
    const __mmask16 mask = TailMask16(count - j);
    acc = _mm512_mask_max_ps(acc, mask, _mm512_maskz_loadu_ps(mask, x + j), acc);
  }
  return _mm512_reduce_max_ps(acc);
}

void ScaleF32(int32_t count, float a, float* x) {
  const __m512 va = _mm512_set1_ps(a);
  for (int32_t j = 0; j < count; j += 16) {
    const __mmask16 mask = TailMask16(count - j);
    _mm512_mask_storeu_ps(x + j, mask, _mm512_mul_ps(_mm512_maskz_loadu_ps(mask, x + j), va));
  }
}

double ExpSum(int32_t count, float max, float* scores) {
  const __m512 m = _mm512_set1_ps(max);
  __m512 acc = _mm512_setzero_ps();
  for (int32_t j = 0; j < count; j += 16) {
    const __mmask16 mask = TailMask16(count - j);
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
