// The frames of AttentionKernels::scores_rows_f16 and weighted_sum_rows_f16 shared by their SIMD levels
// (attention_avx2.cc, attention_avx512.cc). Internal to the kernels.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "engine/kernels/attention_kernels.h"
#include "engine/kernels/kernels.h"

namespace isv {

// scores_rows_f16: the cells in blocks of kCells, each block's keys converted and transposed once into a
// buffer of n x kCells floats, then scored for all query rows, up to 8 rows per call.
// Calls transpose(cells + j0, m, kt) for each block of m <= kCells cells starting at j0, then
// score(rows, q_rows, kt, m, out_rows) (rows: std::integral_constant<int, 1..8>) for the query rows
// in groups of up to 8: q_rows[r] is row r's query (row (t, h) = q + t * q_tok_stride + h * n) and
// out_rows[r] its scores of the block (scores + row * scores_stride + j0).
template <int kCells, typename Transpose, typename Score>
void ForEachScoreBlock(int64_t n, int32_t count, const float* q, int32_t n_tok, size_t q_tok_stride, int32_t n_head,
                       const int32_t* cells, float* scores, size_t scores_stride, Transpose transpose, Score score) {
  constexpr int64_t kStackDims = 256;  // head sizes up to 256 (all in practice) transpose on the stack
  alignas(64) float kt_stack[kStackDims * kCells];
  std::vector<float> kt_heap;
  float* kt = kt_stack;
  if (n > kStackDims) {
    kt_heap.resize(static_cast<size_t>(n) * kCells);
    kt = kt_heap.data();
  }
  const int32_t rows = n_tok * n_head;
  for (int32_t j0 = 0; j0 < count; j0 += kCells) {
    const int m = static_cast<int>(std::min<int32_t>(kCells, count - j0));
    transpose(cells + j0, m, kt);
    for (int32_t r0 = 0; r0 < rows; r0 += 8) {
      const int nr = static_cast<int>(std::min<int32_t>(8, rows - r0));
      const float* q_rows[8];
      float* out_rows[8];
      for (int r = 0; r < nr; ++r) {
        const int32_t t = (r0 + r) / n_head, h = (r0 + r) % n_head;
        q_rows[r] = q + t * q_tok_stride + static_cast<size_t>(h) * n;
        out_rows[r] = scores + static_cast<size_t>(r0 + r) * scores_stride + j0;
      }
      WithUpTo8(nr, [&](auto r) { score(r, q_rows, kt, m, out_rows); });
    }
  }
}

// weighted_sum_rows_f16 token by token through a level's weighted_sum_f16: the scalar level, and head sizes
// the SIMD levels' blocks do not cover.
inline void WeightedSumRowsByToken(decltype(AttentionKernels::weighted_sum_f16) weighted_sum, int64_t n,
                                   const int32_t* counts, const float* p, int32_t n_tok, size_t p_stride,
                                   int32_t n_head, const uint16_t* v0, size_t v_stride, const int32_t* cells, float* y,
                                   size_t y_tok_stride) {
  for (int32_t t = 0; t < n_tok; ++t) {
    weighted_sum(n, counts[t], p + static_cast<size_t>(t) * n_head * p_stride, v0, v_stride, cells,
                 y + t * y_tok_stride, n_head, p_stride, static_cast<size_t>(n));
  }
}

// The frame of AttentionKernels::weighted_sum_rows_f16 shared by its SIMD levels: the cells in blocks
// of up to kValueBlockFloats / n, each block's values converted once (convert(v, out): the n fp16
// values at v as floats at out; here into vf[j * n + i] = element i of cell j0 + j's value), then accumulate(t, j0,
// m_t, vf) for every token t that sees cells of the block (m_t = how many of the block's first cells it sees; at j0 ==
// 0 the token's y starts at zero, after that it continues from y). A token that sees no cell gets accumulate(t, 0, 0,
// vf), which zeroes its rows. Each y element thus takes the FMAs of the level's weighted_sum_f16 in the same order,
// stored and reloaded as float between blocks (exact).
template <typename Convert, typename Accumulate>
void ForEachValueBlock(int64_t n, const int32_t* counts, int32_t n_tok, const uint16_t* v0, size_t v_stride,
                       const int32_t* cells, Convert convert, Accumulate accumulate) {
  constexpr int64_t kValueBlockFloats = 4096;  // 16 KB: 64 cells of a 64-wide head, 32 of a 128-wide one
  alignas(64) float vf_stack[kValueBlockFloats];
  std::vector<float> vf_heap;
  float* vf = vf_stack;
  const int32_t per_block = static_cast<int32_t>(std::max<int64_t>(1, kValueBlockFloats / n));
  if (n > kValueBlockFloats) {
    vf_heap.resize(static_cast<size_t>(n));
    vf = vf_heap.data();
  }
  int32_t widest = 0;
  for (int32_t t = 0; t < n_tok; ++t) widest = std::max(widest, counts[t]);
  for (int32_t j0 = 0; j0 == 0 || j0 < widest; j0 += per_block) {
    const int m = static_cast<int>(std::min(per_block, widest - j0));
    for (int j = 0; j < m; ++j) convert(v0 + static_cast<size_t>(cells[j0 + j]) * v_stride, vf + j * n);
    for (int32_t t = 0; t < n_tok; ++t) {
      if (j0 == 0 || counts[t] > j0) accumulate(t, j0, static_cast<int>(std::min(m, counts[t] - j0)), vf);
    }
  }
}

}  // namespace isv
