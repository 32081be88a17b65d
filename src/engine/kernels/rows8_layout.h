// The kRows8 weight layout (tensor.h: WeightLayout::kRows8) of Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, IQ4_NL, Q2_K,
// Q3_K, Q4_K, Q5_K, Q6_K and IQ4_XS matrices: groups of 8 consecutive rows, interleaved block by block,
// in the order the 8-row decode kernels (legacy_rows8_avx512.cc, legacy_rows8_avx2.cc,
// k_quant_rows8_avx512.cc, k_quant_rows8_avx2.cc) consume them. Model repacks these matrices into it at load, in place
// in its private copy of the weights (no extra memory), where the CPU level has a kRows8 decode kernel. Each type's
// pieces and where they go are one table in rows8_layout.cc.
//
// Why: the 8-row kernel reading the file's row order gathers each block's scales (and Q5_0's fifth
// bits) from 8 rows with scalar loads and transposes the nibbles in registers; that runtime work took
// more than half of its time (2 threads, 896-element rows from L2: Q5_0 33.2 GB/s, Q4_0 44.3; the same
// arithmetic on this layout: 74.2, 74.6). Gathers (VPGATHERDD / QQ) were slower still on Zen 4.
//
// Group g (rows 8g .. 8g + 7) occupies the bytes of those 8 rows (8 * RowSize(type, n)); within it,
// block i of the 8 rows (8 * block bytes) is, in order:
//   d[8]      the 8 rows' fp16 scales (row r at d[r]);
//   m[8]      Q4_1 / Q5_1 only: the 8 rows' fp16 mins (row r at m[r]);
//   qh[4][8]  Q5_0 / Q5_1 only: byte p of row r's fifth-bit word at 8 p + r, so that the 8 bytes of
//             byte p are the byte mask (bit b of byte r: weight 8 p + b of row r) of the weight vector
//             that holds weights 8 p .. 8 p + 7 of each row (below): one mask load per vector;
//   qs[2][8][8] the nibbles: the first 64 bytes hold row r's nibble bytes 0-7 at 8 r, the last 64 its
//             bytes 8-15 (32-bit word j of the 32 is nibble word 2 (j / 16) + j % 2 of row (j % 16) / 2).
//             So 32-bit lane 2 r + h of either 64 bytes is row r's nibble word h (or 2 + h), whose
//             low nibbles meet activation word h (2 + h) and high nibbles word 4 + h (6 + h): one
//             64-bit broadcast of the activations per vector, as Q4_K's below.
// Sizes: 144 bytes per group block for Q4_0 / IQ4_NL, 160 for Q4_1, 176 for Q5_0, 192 for Q5_1 (the same
// bytes as 8 blocks).
//
// Q8_0 (legacy_rows8_avx512.cc, legacy_rows8_avx2.cc), 272 bytes per group block (8 blocks' bytes):
//   d[8]            the 8 rows' fp16 scales, at 0;
//   qs[4][8][8]     at 16: for p = 0..3, 64 bytes holding row r's quant bytes 8p .. 8p + 7 at 8 r (32-bit
//                   lane 2r + h: row r's word 2p + h, which meets activation word 2p + h).
//
// Q4_K (k_quant_rows8_avx512.cc, k_quant_rows8_avx2.cc), 1152 bytes per group block of 256-element blocks:
//   d[8], dmin[8]   the 8 rows' fp16 super-block scales (row r at [r]), at 0 and 16;
//   scales[12][8]   byte p of row r's 12 packed scale / min bytes at 32 + 8 p + r, so that one
//                   byte-wise vector operation unpacks a scale or min of all 8 rows;
//   qs[4][4][8][8]  at 128: for 32-byte chunk c of the rows' quants (low nibbles: sub-block 2c, high:
//                   2c + 1) and m = 0..3, 64 bytes holding row r's chunk bytes 8m .. 8m + 7 at 8 r:
//                   32-bit lane 2r + h of such a zmm is row r's bytes 8m + 4h .. 8m + 4h + 3, which
//                   meet the activations 64c + 8m + 4h.. (low) and 64c + 32 + 8m + 4h.. (high): one
//                   64-bit broadcast of the activations each.
//
// Q5_K (k_quant_rows8_avx512.cc, k_quant_rows8_avx2.cc), 1408 bytes per group block: Q4_K's d, dmin and scales, then
//   qh[4][8][8]     at 128: for m = 0..3, 64 bytes holding row r's fifth-bit bytes 8m .. 8m + 7 at 8 r
//                   (byte l of a row holds bit j of its element l of sub-block j: the bits of the quants
//                   of Q4_K's zmm (c, m) are in the qh zmm m, bits 2c and 2c + 1);
//   qs              at 384: as Q4_K's qs.
//
// Q6_K (k_quant_rows8_avx512.cc, k_quant_rows8_avx2.cc), 1680 bytes per group block:
//   d[8]            the 8 rows' fp16 scales, at 0;
//   scales[16][8]   sub-block j's int8 scale of row r at 16 + 8 j + r;
//   quants[2][4]    at 144, 192 bytes for each half h and m = 0..3, in the order the kernel reads them:
//                   64 bytes holding row r's ql bytes 64h + 8m .. + 7 at 8 r, 64 holding its ql bytes
//                   64h + 32 + 8m .. + 7, 64 holding its qh bytes 32h + 8m .. + 7. Together they give the
//                   quants of elements 128h + 32k + 8m .. + 7, k = 0..3, of the 8 rows (8 bytes of each
//                   row per zmm, as Q4_K's).
//
// Q2_K (k_quant_rows8_avx512.cc), 672 bytes per group block:
//   d[8], dmin[8]   the 8 rows' fp16 super-block scales (row r at [r]), at 0 and 16;
//   scales[16][8]   at 32: row r's scale / min byte of sub-block j at 32 + 8 j + r;
//   qs[2][4][8][8]  at 160: as Q3_K's qs (bits 2 s: elements 128 h + 32 s + 8 m ..).
//
// Q3_K (k_quant_rows8_avx512.cc), 880 bytes per group block:
//   d[8]            the 8 rows' fp16 scales, at 0;
//   scales[12][8]   at 16: byte p of row r's 12 packed scale bytes at 16 + 8 p + r (as Q4_K's);
//   hmask[4][8][8]  at 112: for m = 0..3, 64 bytes holding row r's hmask bytes 8 m .. + 7 at 8 r;
//   qs[2][4][8][8]  at 368: for h = 0, 1 and m = 0..3, 64 bytes holding row r's qs bytes 32 h + 8 m .. + 7
//                   at 8 r. Bits 2 s of such a zmm and bit 4 h + s of the hmask zmm m are the quants of
//                   elements 128 h + 32 s + 8 m .. + 7 of the 8 rows (8 bytes of each row per zmm, as Q6_K's).
//
// IQ4_XS (k_quant_rows8_avx512.cc), 1088 bytes per group block:
//   d[8]            the 8 rows' fp16 scales, at 0;
//   scales_l[4][8]  at 16: byte q of row r's scales_l at 16 + 8 q + r;
//   scales_h[2][8]  at 48: byte p of row r's scales_h (little-endian) at 48 + 8 p + r;
//   qs[8][2][8][8]  at 64: for sub-block b and m = 0, 1, 64 bytes holding row r's quant bytes 16 b + 8 m ..
//                   + 7 at 8 r (32-bit lane 2r + h: bytes 16 b + 8 m + 4 h.., whose low nibbles meet the
//                   activations 32 b + 8 m + 4 h.. and high nibbles 32 b + 16 + 8 m + 4 h..).
#pragma once

#include <cstddef>
#include <cstdint>

#include "engine/kernels/blocks_k.h"
#include "engine/tensor/ggml_type.h"

namespace isv {

inline constexpr int kRows8Group = 8;

// Byte offsets in a group block of the nibble types (above): the scales at 0, the mins (Q4_1, Q5_1) at
// kRows8MinOffset, the qh words (Q5_0, Q5_1) at Rows8QhOffset(the type has mins), the nibble words at
// Rows8WordsOffset(the type has qh words, the type has mins).
inline constexpr size_t kRows8MinOffset = 2 * kRows8Group;
constexpr size_t Rows8QhOffset(bool has_min) { return 2 * kRows8Group + (has_min ? 2 * kRows8Group : 0); }
constexpr size_t Rows8WordsOffset(bool has_qh, bool has_min = false) {
  return Rows8QhOffset(has_min) + (has_qh ? 4 * kRows8Group : 0);
}

// Row r's fifth-bit word (as the file stores it) from the qh bytes of a Q5_0 / Q5_1 group block (above).
inline uint32_t Rows8QhWord(const uint8_t* qh, int r) {
  return qh[r] | (uint32_t{qh[kRows8Group + r]} << 8) | (uint32_t{qh[2 * kRows8Group + r]} << 16) |
         (uint32_t{qh[3 * kRows8Group + r]} << 24);
}

// Byte offset of the quants in a Q8_0 group block (above).
inline constexpr size_t kRows8Q8QsOffset = 2 * kRows8Group;

// Byte offsets in a Q4_K group block (above).
inline constexpr size_t kRows8KDminOffset = 2 * kRows8Group;
inline constexpr size_t kRows8KScalesOffset = 4 * kRows8Group;
inline constexpr size_t kRows8KQsOffset = kRows8KScalesOffset + 12 * kRows8Group;

// Byte offsets in a Q5_K group block (above; d, dmin and the scales where Q4_K has them).
inline constexpr size_t kRows8K5QhOffset = kRows8KQsOffset;
inline constexpr size_t kRows8K5QsOffset = kRows8K5QhOffset + 32 * kRows8Group;

// Byte offsets in a Q2_K group block (above).
inline constexpr size_t kRows8Q2DminOffset = 2 * kRows8Group;
inline constexpr size_t kRows8Q2ScalesOffset = 4 * kRows8Group;
inline constexpr size_t kRows8Q2QsOffset = kRows8Q2ScalesOffset + 16 * kRows8Group;

// Byte offsets in a Q3_K group block (above).
inline constexpr size_t kRows8Q3ScalesOffset = 2 * kRows8Group;
inline constexpr size_t kRows8Q3HmaskOffset = kRows8Q3ScalesOffset + 12 * kRows8Group;
inline constexpr size_t kRows8Q3QsOffset = kRows8Q3HmaskOffset + 32 * kRows8Group;

// Byte offsets in an IQ4_XS group block (above).
inline constexpr size_t kRows8Iq4XsScalesLOffset = 2 * kRows8Group;
inline constexpr size_t kRows8Iq4XsScalesHOffset = kRows8Iq4XsScalesLOffset + 4 * kRows8Group;
inline constexpr size_t kRows8Iq4XsQsOffset = kRows8Iq4XsScalesHOffset + 2 * kRows8Group;

// Byte offsets in a Q6_K group block (above).
inline constexpr size_t kRows8Q6ScalesOffset = 2 * kRows8Group;
inline constexpr size_t kRows8Q6QuantsOffset = kRows8Q6ScalesOffset + 16 * kRows8Group;

// Whether `type` has a kRows8 form.
bool HasRows8Layout(GgmlType type);

// Rewrites rows [0, n_rows) of n elements at `data` from the file's row order into kRows8, in place.
// REQUIRES: HasRows8Layout(type), n_rows % kRows8Group == 0.
void RepackRows8(GgmlType type, int64_t n, int64_t n_rows, uint8_t* data);

// The 8 rows of one kRows8 group (at `group`) in the file's row order, into `rows` (8 * RowSize(type, n)
// bytes): the inverse of RepackRows8 for one group.
void UnpackRows8(GgmlType type, int64_t n, const uint8_t* group, uint8_t* rows);

// Row r (0 <= r < 8) of the kRows8 group at `group`, as the file stores it, into `row` (RowSize(type, n)
// bytes).
void UnpackRow8(GgmlType type, int64_t n, const uint8_t* group, int r, uint8_t* row);

// TypeKernels::unpack_rows8 of a super-block type from a level's restore of one interleaved block:
// kRestore(group block, first row's block, row stride) writes the block of each of the 8 rows.
template <typename Block, void (*kRestore)(const uint8_t*, uint8_t*, size_t)>
void UnpackGroupRows(int64_t n, const void* group, void* rows) {
  const int64_t nb = n / kQK_K;
  const size_t row_bytes = static_cast<size_t>(nb) * sizeof(Block);
  for (int64_t i = 0; i < nb; ++i) {
    kRestore(static_cast<const uint8_t*>(group) + i * kRows8Group * sizeof(Block),
             static_cast<uint8_t*>(rows) + i * sizeof(Block), row_bytes);
  }
}

}  // namespace isv
