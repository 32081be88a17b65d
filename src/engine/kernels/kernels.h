// Per-type compute kernels: dequantization, activation quantization and dot products, chosen at
// run time for the CPU's instruction set.
//
// Data flow (as in ggml): a weight row of type T is multiplied with an activation row that was
// first converted to T's `vec_dot_type` (Q8_0 for Q4_0/Q5_0/Q8_0/IQ4_NL, Q8_1 for Q4_1/Q5_1,
// Q8_K for the K-quants and IQ4_XS, F16 for F16, BF16 for BF16, F32 for F32). Activations are
// quantized once per matmul and reused for every weight row.
//
// Every function here has a scalar implementation (the oracle of the SIMD tests); AVX2 / AVX-512
// versions replace entries where they exist. The tables are built once and never change.
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "engine/kernels/cpu_features.h"
#include "engine/tensor/ggml_type.h"

namespace isv {

// Most tokens one TypeKernels::gemv call takes (batched decode of up to this many sequences).
inline constexpr int kGemvMaxTokens = 8;

struct TypeKernels {
  // The type the other operand of vec_dot must be in.
  GgmlType vec_dot_type = GgmlType::kF32;
  // Dequantizes n elements (REQUIRES: n % block_size == 0) from x into y.
  void (*to_float)(const void* x, float* y, int64_t n) = nullptr;
  // Converts / quantizes n floats into blocks of this type (ggml's reference rounding).
  void (*from_float)(const float* x, void* y, int64_t n) = nullptr;
  // Returns sum_i x[i] * y[i] over n elements; x is a row of this type, y of vec_dot_type.
  float (*vec_dot)(int64_t n, const void* x, const void* y) = nullptr;
  // Optional (nullptr: MatMul uses vec_dot): out[j] = vec_dot(n, x, y + j * y_stride) for j < 4, in
  // one pass over x, so that each weight block is loaded and unpacked once for four activation
  // rows (prompt processing).
  void (*vec_dot_4)(int64_t n, const void* x, const void* y, size_t y_stride, float* out) = nullptr;
  // Optional register tile (nullptr: MatMul uses vec_dot_4 / vec_dot):
  //   out[t * out_stride + r] = vec_dot(n, x + r * x_stride, y + t * y_stride)
  // for r < n_rows, t < n_cols. REQUIRES: 1 <= n_rows <= tile_rows, 1 <= n_cols <= tile_cols.
  // Each weight block is unpacked once for all n_cols activation rows and each activation block
  // loaded once for all n_rows weight rows (batches too large for gemv). One-token decode does not
  // use it: one row per vec_dot (or gemv) keeps the matrix one sequential stream (matmul.cc); a few
  // tokens without a gemv go through 1-row tiles for the same reason. Tiles at the AVX-512 level: legacy types
  // 4 rows x 8 tokens (two tokens per zmm), Q4_K / Q5_K / Q6_K 1 row x 8 tokens.
  void (*gemm_tile)(int64_t n, const void* x, size_t x_stride, int n_rows, const void* y, size_t y_stride,
                    int n_cols, float* out, size_t out_stride) = nullptr;
  int tile_rows = 0;
  int tile_cols = 0;
  // Optional decode kernel for 1 to kGemvMaxTokens tokens (nullptr: MatMul uses the ones above):
  //   out[t * out_stride + r] = vec_dot(n, x + r * x_stride, y + t * y_stride)
  // for r < n_rows, t < n_tokens, bit for bit. One call covers a whole range of consecutive rows, so
  // the kernel prepares what depends only on y once (per-block corrections and scales), unpacks each
  // weight block once for all tokens and prefetches ahead along the rows, which it reads as one
  // sequential stream. Legacy types (legacy_quant_tile.inc) and, at the AVX-512 level, Q4_K / Q5_K
  // (k_quant_avx512.cc).
  void (*gemv)(int64_t n, const void* x, size_t x_stride, int64_t n_rows, const void* y, size_t y_stride,
               int n_tokens, float* out, size_t out_stride) = nullptr;
  // Optional decode kernel for a matrix in the WeightLayout::kRows8 layout (rows8_layout.h): gemv's
  // contract (the rows as if in the file's order), with x at the start of a group and n_rows a
  // multiple of 8; gemv's bits for Q4_0, Q5_0 and IQ4_NL (legacy_rows8_avx512.cc at the AVX-512 level,
  // legacy_rows8_avx2.cc for Q4_0, Q5_0 and IQ4_NL at the AVX2 level), its own summation order for the
  // K-quants (Q2_K .. Q6_K) and IQ4_XS (k_quant_rows8_avx512.cc, AVX-512; Q4_K, Q5_K and Q6_K also
  // k_quant_rows8_avx2.cc, AVX2, in another order of their own), the prefill order for Q8_0, Q4_1 and Q5_1
  // (legacy_rows8_avx512.cc, legacy_rows8_avx2.cc; their gemv sums in the vec_dot order): MatMul
  // sends every plain token of a kRows8 matrix through it, kGemvMaxTokens at a time, so a token's result never depends
  // on its batch. nullptr: MatMul restores each group's file order in a buffer and uses the kernels here. Model repacks
  // a matrix only where the best level has it.
  void (*gemv_rows8)(int64_t n, const void* x, size_t x_stride, int64_t n_rows, const void* y, size_t y_stride,
                     int n_tokens, float* out, size_t out_stride) = nullptr;
  // Optional: UnpackRows8 (rows8_layout.h: a kRows8 group back into 8 rows in the file's order) with this
  // level's vector instructions, the same bytes. Set for the K-quants and IQ4_XS at the AVX-512 level
  // (k_quant_rows8_avx512.cc), Q4_K, Q5_K and Q6_K at AVX2 (k_quant_rows8_avx2.cc), whose prompt tokens run
  // the prefill kernel on restored groups.
  void (*unpack_rows8)(int64_t n, const void* group, void* rows) = nullptr;
  // Optional prefill kernel (prefill.h; nullptr: prompt tokens use gemm_tile like the others):
  //   out[t * out_stride + r] = PrefillDotRef(type, n, x + r * x_stride, activation row t)
  // bit for bit, for r < n_rows (REQUIRES: 1 <= n_rows <= prefill_rows) and all n_tokens tokens of
  // `packed` (PackPrefillActivations layout of vec_dot_type: Q8_0, Q8_1, Q8_K, F32, F16 (see prefill_f16_rows) or
  // BF16). Only for prompt
  // tokens: its summation order is not vec_dot's.
  void (*prefill_gemm)(int64_t n, const void* x, size_t x_stride, int n_rows, const void* packed, int n_tokens,
                       float* out, size_t out_stride) = nullptr;
  int prefill_rows = 0;
  // F16 weights: true where prefill_gemm reads the F16 activation rows as they are (PackPrefillActivations'
  // f16_rows; the AVX2 kernel, which then streams half the bytes), false where it reads them converted to
  // floats (the AVX-512 kernel, for which the conversion of zmm activations in its loop cost ~25%).
  bool prefill_f16_rows = false;
  // Optional prefill kernel for a kRows8 matrix: prefill_gemm's contract and bits for the 8 rows of the
  // group at x (n_rows == 8; x_stride is the row size). Set for Q4_0, Q4_1, Q5_0, Q5_1, Q8_0 and IQ4_NL at
  // both SIMD levels (prefill_avx512.cc, prefill_avx2.cc). nullptr (the
  // K-quants, IQ4_XS): MatMul restores each group's rows in
  // a buffer per token block (unpack_rows8) and runs prefill_gemm on them (the same bits; llama-3.2-1b
  // Q4_K_M pp256 ~2% slower than on the file's order).
  void (*prefill_gemm_rows8)(int64_t n, const void* x, size_t x_stride, int n_rows, const void* packed, int n_tokens,
                             float* out, size_t out_stride) = nullptr;
  // True where vec_dot and gemv compute the prefill order too, because this type's decode is faster
  // in it (legacy_rows8_avx512.cc: Q4_0, Q5_0 and IQ4_NL at the AVX-512 level; legacy_rows8_avx2.cc:
  // Q4_0, Q5_0 and IQ4_NL at the AVX2 level). Such a type has no vec_dot_4 / gemm_tile, and MatMul sends
  // batches of more than kGemvMaxTokens plain tokens through prefill_gemm like prompt tokens: every
  // path then gives every token the same bits.
  bool plain_in_prefill_order = false;
};
// Batch invariance (the serving layer promises that a sequence's outputs do not depend on what
// else is in the batch): gemv, vec_dot_4 and gemm_tile return results BIT-IDENTICAL to vec_dot of the
// same instruction-set level for every row and column (same integer lanes, same float operations
// in the same order per (row, column) pair); tests/engine/kernels/batch_invariance_test.cc checks it.

// Not in this table: the AMX prefill kernel for Q8_0 (kernels/amx_q8_0.h), which works on whole
// row ranges with its own activation packing. It computes the prefill order (prefill.h) like
// prefill_gemm, and MatMul prefers it for Q8_0 prompt rows where AmxEnabled().

// One TypeKernels per GgmlType value (indexed by the raw ggml type number).
struct KernelTable {
  static constexpr int kMaxTypes = 40;
  TypeKernels types[kMaxTypes];
  TypeKernels& operator[](GgmlType t) { return types[static_cast<int>(t)]; }
  const TypeKernels& operator[](GgmlType t) const { return types[static_cast<int>(t)]; }
};

// The kernels of `type` at instruction-set level `isa` (each entry falls back to the best lower
// level that has one). REQUIRES: isa is supported by this CPU.
const TypeKernels& GetKernels(GgmlType type, Isa isa);
// The kernels at BestIsa().
const TypeKernels& GetKernels(GgmlType type);

// Registration hooks, one per kernel family and instruction set, each defined in its own file
// (kernels/<family>_<isa>.cc). A hook fills or overrides the entries of its family's types.
void RegisterFloatKernelsScalar(KernelTable& table);   // F32, F16, BF16
void RegisterLegacyQuantKernelsScalar(KernelTable& table);  // Q4_0 Q4_1 Q5_0 Q5_1 Q8_0 Q8_1 IQ4_NL
void RegisterKQuantKernelsScalar(KernelTable& table);  // Q2_K Q3_K Q4_K Q5_K Q6_K Q8_K IQ4_XS
void RegisterFloatKernelsAvx2(KernelTable& table);
void RegisterLegacyQuantKernelsAvx2(KernelTable& table);
void RegisterRows8KernelsAvx2(
    KernelTable& table);  // Q4_0 Q5_0 IQ4_NL vec_dot / gemv in the prefill order; gemv_rows8 (+ Q4_1 Q5_1 Q8_0)
void RegisterKQuantKernelsAvx2(KernelTable& table);
void RegisterKRows8KernelsAvx2(KernelTable& table);  // Q4_K Q5_K Q6_K gemv_rows8, unpack_rows8
void RegisterFloatKernelsAvx512(KernelTable& table);
void RegisterLegacyQuantKernelsAvx512(KernelTable& table);
void RegisterRows8KernelsAvx512(KernelTable& table);  // Q4_0 Q5_0 IQ4_NL vec_dot / gemv in the prefill order
void RegisterKQuantKernelsAvx512(KernelTable& table);
void RegisterKRows8KernelsAvx512(KernelTable& table);   // Q4_K Q5_K Q6_K gemv_rows8, unpack_rows8
void RegisterPrefillKernelsAvx2(KernelTable& table);    // Q4_0 Q4_1 Q5_0 Q5_1 Q8_0 IQ4_NL prefill_gemm (+ _rows8)
void RegisterKPrefillKernelsAvx2(KernelTable& table);   // Q2_K Q3_K Q4_K Q5_K Q6_K prefill_gemm
void RegisterFloatPrefillKernelsAvx2(KernelTable& table);  // F32 F16 BF16 prefill_gemm
void RegisterPrefillKernelsAvx512(KernelTable& table);  // Q4_0 Q4_1 Q5_0 Q5_1 Q8_0 IQ4_NL prefill_gemm
void RegisterKPrefillKernelsAvx512(KernelTable& table);      // Q2_K Q3_K Q4_K Q5_K Q6_K IQ4_XS prefill_gemm
void RegisterFloatPrefillKernelsAvx512(KernelTable& table);  // F32 F16 BF16 prefill_gemm
// The AVX-512 BF16 level (Isa::kAvx512Bf16): BF16 vec_dot and prefill_gemm by VDPBF16PS (the AVX-512
// level's BF16 kernels do the same order by FMAs).
void RegisterFloatKernelsAvx512Bf16(KernelTable& table);
void RegisterFloatPrefillKernelsAvx512Bf16(KernelTable& table);

// Calls fn(std::integral_constant<int, N>()) with N = n clamped to [1, 8]: kernels whose row or token
// counts are compile-time sizes (gemv tokens, tile columns, prefill row tiles) dispatch through it.
template <typename Fn>
inline void WithUpTo8(int n, Fn&& fn) {
  switch (n) {
    case 1: return fn(std::integral_constant<int, 1>());
    case 2: return fn(std::integral_constant<int, 2>());
    case 3: return fn(std::integral_constant<int, 3>());
    case 4: return fn(std::integral_constant<int, 4>());
    case 5: return fn(std::integral_constant<int, 5>());
    case 6: return fn(std::integral_constant<int, 6>());
    case 7: return fn(std::integral_constant<int, 7>());
    default: return fn(std::integral_constant<int, 8>());
  }
}

}  // namespace isv
