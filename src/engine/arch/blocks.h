// The building blocks the architectures share: RMSNorm, RoPE (normal and NeoX, with frequency
// factors and linear scaling), grouped-query attention over the KV cache, SwiGLU, bias and
// residual adds, and the final norm + output projection. Small free functions over row-major
// float buffers; each architecture file strings them together. Given a pool (the trailing
// `pool` arguments; nullptr = the calling thread), batches big enough to pay for it are split over
// its threads by token (or element), which never changes a result; RoPE, the K/V store and
// attention use s.pool.
//
// Numerics follow ggml where it matters for matching llama.cpp: sums of squares in double,
// RoPE angles advanced by repeated multiplication in float, K/V rounded to F16 in the cache,
// softmax in float with the maximum subtracted.
#pragma once

#include <cstdint>

#include "core/thread_pool.h"
#include "engine/arch/forward_state.h"
#include "engine/model/model.h"
#include "engine/model/model_params.h"
#include "engine/tensor/tensor.h"

namespace isv {

// y[t] = x[t] / sqrt(mean(x[t]^2) + eps) * w for each of n_tokens rows of n floats.
// w is an F32 tensor of n elements. x and y may alias.
void RmsNorm(const float* x, const TensorView& w, int64_t n_tokens, int64_t n, float eps, float* y,
             ThreadPool* pool = nullptr);

// x[i] += y[i] for i in [0, n).
void AddInPlace(float* x, const float* y, int64_t n, ThreadPool* pool = nullptr);

// s.proj = Wdown · (silu(gate) * up) for every token, gate / up rows of down.ne[0] floats gate_stride /
// up_stride floats apart (phi3 reads both halves of one fused row). Each token's SwiGLU row is made
// inside the matmul just before it is quantized (MatMul's ActivationRowFn), so it is never stored.
void SwiGluDown(const float* gate, int64_t gate_stride, const float* up, int64_t up_stride, const TensorView& down,
                ForwardState& s);

// Fills s.rope_cs with the cos/sin of every rotated pair of every token's position:
// theta_i = pos * freq_scale * base^(-2i/n_rot) / factors[i], cos and sin scaled by attn_factor.
// freq_factors may be nullptr (all 1).
void ComputeRope(const ModelParams& hp, const float* freq_factors, ForwardState& s);

// Rotates the first n_rot dims of each of n_heads heads (head_dim floats each, from x) of one token with
// its cos/sin pairs cs (the token's n_rot floats of s.rope_cs).
void RopeRow(const ModelParams& hp, const float* cs, float* x, int32_t n_heads);

// Per token, one pass over its rows of s.q / s.k / s.v: the biases added (those of l that are valid:
// qwen2, some llama files), RoPE on q and k (s.rope_cs), and k and v written to the token's KV cell of
// `layer` as F16 (the bits of Fp32ToFp16). The same operations per element as adding each bias over the
// batch, then RopeRow on every token, then the store.
void BiasRopeStore(const ModelParams& hp, int32_t layer, const LayerWeights& l, ForwardState& s);

// With s.k / s.v of every token in its KV cell of `layer` (SelfAttentionResidual stores them), computes
// s.attn = softmax(q k^T / sqrt(head_dim) + causal mask) v for every token and head, where head h
// reads KV head h / (n_head / n_head_kv) and a token sees the cells of its own sequence with
// position <= its own. Parallel over (token, KV head): the query heads of a KV head are computed
// together (each key and value row read once for them), each with the bits it has alone.
void Attention(int32_t layer, ForwardState& s);

// The rest of a self-attention sub-block once s.q / s.k / s.v hold this layer's projections:
// BiasRopeStore, Attention(layer), then x += l.wo · attn (the residual).
void SelfAttentionResidual(int32_t layer, const LayerWeights& l, ForwardState& s);

// The SwiGLU feed-forward sub-block with separate gate and up matrices (llama, qwen2):
// x += Wdown · (silu(Wgate · norm(x)) * Wup · norm(x)).
void SwiGluFfnResidual(const TensorView& ffn_norm, const TensorView& gate, const TensorView& up,
                       const TensorView& down, ForwardState& s);

// Final RMSNorm of the output rows (s.output_rows of s.x) and the output projection into s.logits.
void ComputeLogits(ForwardState& s);

}  // namespace isv
