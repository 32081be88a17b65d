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
// Types: the symmetric legacy types with Q8_0 activations (Q4_0, Q5_0, Q8_0, IQ4_NL). Levels: AVX-512
// VNNI (prefill_avx512.cc). Elsewhere TypeKernels::prefill_gemm is null and prompt tokens take the
// gemm_tile path like every other token.
//
// Activation layout ("packed"): the Q8_0 activation rows in groups of kPrefillGroup tokens (the last
// group padded by repeating its last token); per group, one PrefillBlock per weight block, in block
// order. A PrefillBlock holds, for its 16 tokens, the block's 32 quants as 8 rows of 64 bytes — row j
// is the 4 quants 4j..4j+3 of token 0, then of token 1, ... (so one 64-byte row is the j-th 32-bit
// word of every token: the operand layout of VPDPBUSD with a broadcast weight word, and of AMX's
// int8 B tiles) — stored as unsigned quant + 128 (VPDPBUSD multiplies unsigned x signed), then the
// 16 tokens' fp32 scales.
#pragma once

#include <cstddef>
#include <cstdint>

#include "engine/tensor/ggml_type.h"

namespace isv {

inline constexpr int kPrefillGroup = 16;

struct alignas(64) PrefillBlock {
  uint8_t q[8][64];  // q[j][4 t + i] = quant 4 j + i of token t, + 128
  float dy[kPrefillGroup];
};
static_assert(sizeof(PrefillBlock) == 576, "PrefillBlock is 9 cache lines");

// Bytes of packed activations for n_tokens rows of n elements (REQUIRES: n % 32 == 0).
inline size_t PrefillPackedBytes(int64_t n_tokens, int64_t n) {
  const int64_t groups = (n_tokens + kPrefillGroup - 1) / kPrefillGroup;
  return static_cast<size_t>(groups * (n / 32)) * sizeof(PrefillBlock);
}

// Packs n_tokens Q8_0 rows of n elements (row t at act + t * act_stride) into the layout above.
// `packed` must hold PrefillPackedBytes(n_tokens, n) bytes, 64-byte aligned. Groups are independent:
// `first_group` / `n_groups` select a range (parallel packing).
void PackPrefillActivations(const void* act, size_t act_stride, int64_t n_tokens, int64_t n, int64_t first_group,
                            int64_t n_groups, void* packed);

// The oracle: the prefill-order dot product of one weight row of `type` (REQUIRES: one of the
// types above) with one Q8_0 activation row, n elements.
float PrefillDotRef(GgmlType type, int64_t n, const void* x, const void* y);

// True for the weight types that have a prefill order (the types above).
bool HasPrefillOrder(GgmlType type);

}  // namespace isv
