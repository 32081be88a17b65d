// The frame of AttentionKernels::scores_rows_f16 shared by its SIMD levels (attention_avx2.cc,
// attention_avx512.cc): the cells in blocks of kCells, each block's keys converted and transposed
// once into a buffer of n x kCells floats, then scored for all query rows, up to 8 rows per call.
// Internal to the kernels.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "engine/kernels/kernels.h"

namespace isv {

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

}  // namespace isv
