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
  // y[i] = sum_j p[j] * v_j[i] for i < n, j < count, where v_j = v0 + cells[j] * v_stride (fp16
  // bits): the p . V product of attention with y kept in registers across all rows. Bit-identical to
  // zeroing y and calling axpy_f16(n, p[j], v_j, y) for j = 0, 1, ... in order (same operations).
  void (*weighted_sum_f16)(int64_t n, int32_t count, const float* p, const uint16_t* v0, size_t v_stride,
                           const int32_t* cells, float* y) = nullptr;
  // scores[j] = dot_f16(n, q, k_j) * scale for j < count, where k_j = k0 + cells[j] * k_stride,
  // up to float reassociation (the AVX-512 level sums sixteen cells at once; the others are
  // bit-identical to the dot_f16 calls). Either way scores[j] depends only on q, k_j and scale —
  // not on count or on j — so a token's attention does not depend on the batch.
  void (*scores_f16)(int64_t n, int32_t count, const float* q, const uint16_t* k0, size_t k_stride,
                     const int32_t* cells, float scale, float* scores) = nullptr;
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
