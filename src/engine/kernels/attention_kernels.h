// AttentionKernels: the inner loops of attention over the fp16 KV cache — the scores q . k (float
// query, fp16 key) over a list of cells, the softmax exponentials and the weighted sum
// y += p * v (fp16 value) — chosen at run time for the CPU's instruction set like the per-type
// tables of kernels.h.
//
// Every fp16 value converts exactly to float (F16C on the SIMD levels, float16.h on the scalar
// one), so the SIMD results differ from the scalar oracle only by the order of float additions
// (dot) and by FMA contraction (axpy); the SIMD exp is a polynomial within a few ulp of std::exp.
// The tables are built once and never change; safe to use from any thread.
#pragma once

#include <cstddef>
#include <cstdint>

#include "engine/kernels/cpu_features.h"

namespace isv {

struct AttentionKernels {
  // Returns sum_i q[i] * k[i] for i < n, k in fp16 bits.
  float (*dot_f16)(int64_t n, const float* q, const uint16_t* k) = nullptr;
  // y[i] += a * v[i] for i < n, v in fp16 bits.
  void (*axpy_f16)(int64_t n, float a, const uint16_t* v, float* y) = nullptr;
  // The two kernels below serve n_q query heads that share one KV head (grouped-query attention:
  // head g's operands at g times the given strides), so that each key and value row is loaded and
  // converted once for all of them. Head g's results are the same bits as a call with n_q = 1 on
  // head g alone: the grouping changes no operation of any head.
  //
  // y_g[i] = sum_j p_g[j] * v_j[i] for i < n, j < count, where v_j = v0 + cells[j] * v_stride (fp16
  // bits), p_g = p + g * p_stride, y_g = y + g * y_stride: the p . V product of attention with y kept
  // in registers across all rows. Bit-identical to zeroing y_g and calling axpy_f16(n, p_g[j], v_j,
  // y_g) for j = 0, 1, ... in order (same operations).
  void (*weighted_sum_f16)(int64_t n, int32_t count, const float* p, const uint16_t* v0, size_t v_stride,
                           const int32_t* cells, float* y, int32_t n_q, size_t p_stride, size_t y_stride) = nullptr;
  // scores_g[j] = dot_f16(n, q_g, k_j) * scale for j < count, where k_j = k0 + cells[j] * k_stride,
  // q_g = q + g * q_stride, scores_g = scores + g * scores_stride, up to float reassociation (the
  // AVX-512 level sums sixteen cells at once; the others are bit-identical to the dot_f16 calls).
  // Either way scores_g[j] depends only on q_g, k_j and scale — not on count, j or the other heads —
  // so a token's attention does not depend on the batch.
  void (*scores_f16)(int64_t n, int32_t count, const float* q, const uint16_t* k0, size_t k_stride,
                     const int32_t* cells, float scale, float* scores, int32_t n_q, size_t q_stride,
                     size_t scores_stride) = nullptr;
  // The scores of prompt tokens (Batch::prefill): n_tok x n_head query rows q_(t,h) = q + t *
  // q_tok_stride + h * n against the same cells, scores_(t,h)[j] = scores[(t * n_head + h) *
  // scores_stride + j] = dot(q_(t,h), k_j) * scale for j < count, k_j = k0 + cells[j] * k_stride.
  // The dot has one specified order — s = q[0] * k[0], then s = fma(q[i], k[i], s) for i = 1 .. n-1,
  // every step rounded to float — so every level gives the same bits (the kernels share each
  // converted key block among all rows instead of reducing a register per cell), and a score depends
  // only on its query, its key and scale: not on count, the other rows or where the cell sits in the
  // list. REQUIRES: n >= 1.
  void (*scores_rows_f16)(int64_t n, int32_t count, const float* q, int32_t n_tok, size_t q_tok_stride, int32_t n_head,
                          const uint16_t* k0, size_t k_stride, const int32_t* cells, float scale, float* scores,
                          size_t scores_stride) = nullptr;
  // The p . V of prompt tokens, after the softmax of scores_rows_f16's rows: for token t < n_tok and
  // head h < n_head, y_(t,h)[i] = sum_j p_(t,h)[j] * v_j[i] for i < n, j < counts[t] (>= 0), where
  // p_(t,h) = p + (t * n_head + h) * p_stride, y_(t,h) = y + t * y_tok_stride + h * n and v_j = v0 +
  // cells[j] * v_stride. Bit-identical, token by token, to weighted_sum_f16(n, counts[t], p_(t,0), v0,
  // v_stride, cells, y_(t,0), n_head, p_stride, n) at the same level; the SIMD levels convert each
  // value row once for all the tokens instead of once per token (and per pass over the heads).
  void (*weighted_sum_rows_f16)(int64_t n, const int32_t* counts, const float* p, int32_t n_tok, size_t p_stride,
                                int32_t n_head, const uint16_t* v0, size_t v_stride, const int32_t* cells, float* y,
                                size_t y_tok_stride) = nullptr;
  // The largest of x[0 .. count) (exact at every level); -infinity for count 0.
  float (*max_f32)(int32_t count, const float* x) = nullptr;
  // x[j] *= a for j < count (one rounded product each: the same bits at every level).
  void (*scale_f32)(int32_t count, float a, float* x) = nullptr;
  // scores[j] = exp(scores[j] - max) for j < count; returns the sum of the new values. Inputs are
  // finite with scores[j] <= max (a softmax); results below FLT_MIN may flush to 0.
  double (*exp_sum)(int32_t count, float max, float* scores) = nullptr;
};

// The kernels at instruction-set level `isa` (REQUIRES: supported by this CPU), and at BestIsa().
const AttentionKernels& GetAttentionKernels(Isa isa);
const AttentionKernels& GetAttentionKernels();

// Defined in attention_avx2.cc / attention_avx512.cc.
AttentionKernels AttentionKernelsAvx2();
AttentionKernels AttentionKernelsAvx512();

}  // namespace isv
