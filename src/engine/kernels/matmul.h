// MatMul: weight matrix (any supported type) times a batch of float activation rows.
//
// The activations are converted once to the weight type's vec_dot_type (see kernels.h), then the
// weight rows are split across the thread pool; each weight row is reused for every token, which
// is what keeps prompt processing from re-reading the matrix per token.
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <vector>

#include "core/thread_pool.h"
#include "engine/kernels/amx_q8_0.h"
#include "engine/kernels/cpu_features.h"
#include "engine/kernels/prefill.h"
#include "engine/tensor/tensor.h"

namespace isv {

// Reusable scratch memory for MatMul (keeps the hot path free of allocations once warmed up).
struct MatMulScratch {
  std::vector<uint8_t> activations;
  std::vector<PrefillBlock> packed;  // prompt-token activations in the prefill layout (as raw storage)
};

// y[t * n_out + r] = dot(row r of w, x[t * w.ne[0] ...]) for t in [0, n_tokens), r in [0, n_out)
// where n_out = w.ne[1]. x holds n_tokens contiguous rows of w.ne[0] floats.
// The last n_prefill rows of x are prompt tokens (0 <= n_prefill <= n_tokens): where the weight type
// has a prefill kernel they go through it, in its summation order (prefill.h) — the AMX kernel for
// Q8_0 where AmxEnabled() (amx_q8_0.h, the same order), else TypeKernels::prefill_gemm; all other
// rows get exactly the bits of a one-token vec_dot (batch invariance, kernels.h).
// REQUIRES: w is a 2-D tensor of a supported type; y has room for n_tokens * w.ne[1] floats.
void MatMul(const TensorView& w, const float* x, int64_t n_tokens, float* y, ThreadPool& pool,
            MatMulScratch& scratch, int64_t n_prefill = 0);

// Same, with the kernels of an explicit instruction-set level (tests compare levels).
void MatMul(const TensorView& w, const float* x, int64_t n_tokens, float* y, ThreadPool& pool,
            MatMulScratch& scratch, Isa isa, int64_t n_prefill = 0);

// Same, with an explicit AMX kernel for the prompt rows of Q8_0 weights (nullptr: the level's
// prefill_gemm). The overloads above pass AmxQ8_0PrefillKernel(isa); tests pass the emulated kernel.
void MatMul(const TensorView& w, const float* x, int64_t n_tokens, float* y, ThreadPool& pool,
            MatMulScratch& scratch, Isa isa, int64_t n_prefill, AmxQ8_0RowsFn amx_kernel);

// Makes activation row t (n_in floats) into `row`. MatMul calls it once per row, on any pool thread, and
// quantizes the row right after, while it is in that core's cache: a row computed from other arrays
// (the FFN's SwiGLU of the gate and up projections) is never stored as floats.
using ActivationRowFn = std::function<void(int64_t t, float* row)>;

// MatMul of the rows make_row makes (the same results as MatMul of those rows stored in an array).
void MatMul(const TensorView& w, const ActivationRowFn& make_row, int64_t n_tokens, float* y, ThreadPool& pool,
            MatMulScratch& scratch, int64_t n_prefill = 0);

// One output of MatMulShared: y = w x (REQUIRES: w.ne[0] equal for all outputs of one call).
struct MatMulOutput {
  const TensorView* w;
  float* y;
};

// MatMul of every output's matrix with the same activations x, with exactly the results of separate
// MatMul calls. Where the matrices prepare their activations alike (one vec_dot_type, and for prompt rows
// the same prefill path: Q/K/V, gate/up of one file's type mix mostly do), x is quantized and packed once
// and all matrices' rows go out in ONE pool dispatch; otherwise it runs the separate calls.
void MatMulShared(std::initializer_list<MatMulOutput> outputs, const float* x, int64_t n_tokens, ThreadPool& pool,
                  MatMulScratch& scratch, int64_t n_prefill = 0);

// Copies row `row` of w, dequantized, into out (w.ne[0] floats). Used for embedding lookups (of a kRows8
// matrix too: a tied output that Model repacked).
void DequantizeRow(const TensorView& w, int64_t row, float* out);

}  // namespace isv
