// Prefill kernels: weight matrix x the activation rows of PROMPT tokens, in a summation order of
// their own.
//
// Why a second kernel family: vec_dot and gemm_tile give bit-identical results for a token wherever
// it sits in a batch (kernels.h), because decode tokens of several sequences share batches in any
// combination. A prompt token is always processed as a prompt token (the caller flags it: Batch's
// `prefill`), so its kernel may sum in another order without any result depending on the batch —
// and the order below is the one that matrix instructions want: each block's exact integer dot
// product, then one float FMA per block,
//   acc = 0;  for each block b in order:  acc = fma(fp32(dx_b) * fp32(dy_b), float(isum_b), acc)
// where isum_b is the exact sum of the block's 32 products of integer weight and activation quants
// (|isum_b| < 2^24, so float(isum_b) is exact). PrefillDotRef computes exactly this; the SIMD kernels
// equal it bit for bit (tests/engine/kernels/prefill_test.cc).
//
// Types: the float types (below), the symmetric legacy types with Q8_0 activations (Q4_0, Q5_0,
// Q8_0, IQ4_NL), Q4_1 / Q5_1 with Q8_1 activations (the same order, then per block one more
//   acc = fma(fp32(m), fp32(s), acc)
// with the weight block's min m and the activation block's stored sum s), and Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, IQ4_XS with
// Q8_K activations, whose order per 256-element super-block is
//   S = sum over sub-blocks k of sc_k * isum_k                  (int32, exact)
//   M = sum over the sub-blocks j of m_j * ysum_j   (Q4_K / Q5_K: 8 of 32, Q2_K: 16 of 16; int32, exact)
//   acc = fma(fp32(d) * dy, float(S), acc);  then for Q2_K / Q4_K / Q5_K:  acc = fma(-(fp32(dmin) * dy), float(M), acc)
// (sc_k / m_j the integer sub-block scales / mins, ysum_j the sum of sub-block j's activation quants,
// dy Q8_K's float scale; float(S) rounds to nearest even when |S| >= 2^24, the same in every kernel).
// The float types F32, F16 and BF16 (activations in the same type, as vec_dot takes them) sum in 16
// float lanes: F32 / F16: lane l adds the products of elements l, l + 16,
// l + 32, ... in order, one FMA each; BF16: per 32 elements, lane l adds the product of element
// 2l + 1, then of element 2l (VDPBF16PS's documented order; bf16 products are exact in float, so each
// add is one rounding; the instruction treats denormal bf16 inputs as zero and flushes denormal
// results, which the oracle does not model — no weight or activation of a real model is below
// 1.2e-38). Then the 16 lanes are summed as (l, l + 8), (l, l + 4), (l, l + 2), (l, l + 1). Elements
// past the row's end count as zeros.
// Levels: AVX-512 VNNI (prefill_avx512.cc, prefill_k_avx512.cc, prefill_float_avx512.cc; BF16 by
// VDPBF16PS at the BF16 level: prefill_float_avx512bf16.cc) and AVX2
// (prefill_avx2.cc, prefill_k_avx2.cc, prefill_float_avx2.cc; not for IQ4_XS). Where a level has no
// prefill_gemm for a type (the scalar level: none) prompt tokens take the gemm_tile / vec_dot path like every other
// token.
//
// Activation layout ("packed"): the Q8_0 activation rows in groups of kPrefillGroup tokens (the last
// group padded by repeating its last token); per group, one PrefillBlock per weight block, in block
// order. A PrefillBlock holds, for its 16 tokens, the block's 32 quants as 8 rows of 64 bytes — row j
// is the 4 quants 4j..4j+3 of token 0, then of token 1, ... (so one 64-byte row is the j-th 32-bit
// word of every token: the operand layout of VPDPBUSD with a broadcast weight word, and of AMX's
// int8 B tiles) — stored as unsigned quant + 128 (VPDPBUSD multiplies unsigned x signed), then the
// 16 tokens' fp32 scales. Q8_K rows pack the same way per 256-element super-block (PrefillBlockK: 64
// word rows), with the sums of the 8 sub-blocks of 32 quants and of the 16 sub-blocks of 16, two
// int16 per int32 lane. Float
// activations are not interleaved: per group, the 16 tokens' rows one after the other, F32 as floats,
// BF16 as bf16, F16 as floats (converted exactly) or, with f16_rows (TypeKernels::prefill_f16_rows), as F16.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "engine/kernels/kernels.h"
#include "engine/tensor/ggml_type.h"

namespace isv {

inline constexpr int kPrefillGroup = 16;

struct alignas(64) PrefillBlock {
  uint8_t q[8][64];  // q[j][4 t + i] = quant 4 j + i of token t, + 128
  float dy[kPrefillGroup];
};
static_assert(sizeof(PrefillBlock) == 576, "PrefillBlock is 9 cache lines");

// The same for Q8_1 activations (Q4_1 / Q5_1 weights), with each token's block sum s (Q8_1's
// fp16 d * sum of quants, as fp32).
struct alignas(64) PrefillBlock1 {
  uint8_t q[8][64];
  float dy[kPrefillGroup];
  float s[kPrefillGroup];
};
static_assert(sizeof(PrefillBlock1) == 640, "PrefillBlock1 is 10 cache lines");

struct alignas(64) PrefillBlockK {
  uint8_t q[64][64];  // q[j][4 t + i] = quant 4 j + i of token t (of the super-block), + 128
  float dy[kPrefillGroup];
  uint32_t ysum[4][kPrefillGroup];    // ysum[p][t] = sum of sub-block 2p of 32 (low int16), 2p + 1 (high)
  uint32_t ysum16[8][kPrefillGroup];  // the same for the 16 sub-blocks of 16 (Q2_K's mins)
};
static_assert(sizeof(PrefillBlockK) % 64 == 0, "PrefillBlockK is whole cache lines");

// Bytes of packed activations of `act_type` (Q8_0, Q8_1, Q8_K, F32, F16 or BF16) for n_tokens rows of n
// elements; f16_rows: F16 rows kept as F16 (above).
size_t PrefillPackedBytes(GgmlType act_type, int64_t n_tokens, int64_t n, bool f16_rows = false);

// Packs n_tokens activation rows of `act_type` (as above), n elements each (row t at act + t *
// act_stride), into the layout above. `packed` must hold PrefillPackedBytes(...) bytes, 64-byte
// aligned. Groups are independent: `first_group` / `n_groups` select a range (parallel packing).
void PackPrefillActivations(GgmlType act_type, const void* act, size_t act_stride, int64_t n_tokens, int64_t n,
                            int64_t first_group, int64_t n_groups, void* packed, bool f16_rows = false);

// The frame of every SIMD prefill_gemm: calls group(rows, g, n_cols, out_g) for each packed group g
// of the n_tokens tokens (n_cols of them in it, out_g its first output row), with `rows` a
// std::integral_constant of n_rows clamped to [1, kMaxRows] — the kernel's register tile height.
template <int kMaxRows, typename GroupFn>
inline void ForEachPrefillGroup(int n_rows, int n_tokens, float* out, size_t out_stride, GroupFn&& group) {
  WithUpTo8(std::min(n_rows, kMaxRows), [&](auto rows) {
    using Rows = std::integral_constant<int, std::min(decltype(rows)::value, kMaxRows)>;
    for (int t = 0; t < n_tokens; t += kPrefillGroup) {
      group(Rows(), t / kPrefillGroup, std::min(kPrefillGroup, n_tokens - t), out + t * out_stride);
    }
  });
}

// The oracle: the prefill-order dot product of one weight row of `type` (REQUIRES: one of the types
// above) with one activation row of its vec_dot_type, n elements.
float PrefillDotRef(GgmlType type, int64_t n, const void* x, const void* y);

}  // namespace isv
