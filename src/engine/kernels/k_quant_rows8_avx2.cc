// Q4_K, Q5_K and Q6_K decode on the kRows8 layout (rows8_layout.h) at the AVX2 level: TypeKernels::gemv_rows8, as
// k_quant_rows8_avx512.cc does at the AVX-512 level (see there for why), with AVX2's instructions. A ymm of
// quants holds eight bytes of each of four rows (rows 0-3 or 4-7: row r's in 64-bit lane r % 4), all of
// one sub-block per row, so the activations it meets are one 64-bit broadcast:
//   - VPMADDUBSW of the unsigned quants with the signed activations gives int16 pair sums per row (lanes
//     4 (r % 4) .. + 3); the vectors of one sub-block are added in int16 (Q4_K: four, at most 4 * 2 * 15 *
//     127 = 15240; Q6_K: two, at most 2 * 2 * 63 * 127 = 32004), then VPMADDWD with the sub-block's scale
//     of each row (int16, spread to the row's lanes) gives int32 lanes 2 (r % 4), 2 (r % 4) + 1;
//   - per block, the two int32 lanes of each row are added (VPHADDD + VPERMQ: row r in lane r), and the
//     mins (Q4_K) or the -32 of the quants (Q6_K) as sum_j factor_j x (activation sum of sub-block j)
//     by VPMADDWD with the rows' factors side by side (int16 lane 2 r + e: sub-block 2 k + e of row r);
//   - acc = fma(float(isum), d * dy, acc) (- float(msum) * dmin * dy) for the eight rows at once.
// Not vec_dot's summation order (as the AVX-512 kernels): a repacked matrix gives results equal to the
// file's order within float rounding (isum can exceed 2^24 and round in its conversion), the same for a
// token in any batch (MatMul sends every plain token of a kRows8 matrix here, kernels.h).
// One thread from L3 (MatMul, one token, 2 x 2048 x 2048), against the file-order gemv of this level: Q4_K
// 17.5 -> 34.7 GB/s, Q5_K 16.9 -> 21.0 (three more instructions per vector of quants for the fifth bits),
// Q6_K 21.3 -> 25.7 (its quant assembly, 17 instructions per four vectors, is half the work).
// Prompt rows of these matrices are restored to the file's order per call (unpack_rows8 below: 42-45 GB/s
// from L3, the scalar UnpackRows8 10-14), then run the prefill kernel of the file's order: llama-3.2-1b
// Q4_K_M under ISV_ISA=avx2 pp64 138 / 138 -> 129 / 132 t/s (with the scalar restore 127 / 125), pp512
// within 1%. (A prefill unpacker reading the groups directly would spare the restore.)
#include <immintrin.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "engine/kernels/blocks_k.h"
#include "engine/kernels/kernels.h"
#include "engine/kernels/rows8_layout.h"

namespace isv {
namespace {

#include "engine/kernels/legacy_rows8_frame.inc"

inline __m256i Broadcast8(const int8_t* p) {
  int64_t v;
  std::memcpy(&v, p, 8);
  return _mm256_set1_epi64x(v);
}

inline __m256i Load32(const uint8_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }

// The 8 rows' fp16 factors at p as floats, row r in lane r.
inline __m256 RowFactors(const uint8_t* p) {
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}

// The int16 factors of the 8 rows for a sub-block, from the 4 bytes (rows 4 h .. 4 h + 3) at p: row
// 4 h + q's byte (zero- or sign-extended) in int16 lanes 4 q .. 4 q + 3, where VPMADDUBSW leaves that
// row's pair sums.
template <bool kSigned>
inline __m256i SpreadFactors(const uint8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  const __m256i bytes = _mm256_set1_epi32(v);
  if constexpr (kSigned) {  // byte q of the dword into both bytes of each int16 lane, then >> 8 (arithmetic)
    const __m256i index = _mm256_setr_epi64x(0, 0x0101010101010101, 0x0202020202020202, 0x0303030303030303);
    return _mm256_srai_epi16(_mm256_shuffle_epi8(bytes, index), 8);
  } else {  // byte q into the low byte of each int16 lane, zero above (index bit 7)
    const __m256i index =
        _mm256_setr_epi64x(static_cast<int64_t>(0x8000800080008000ull), static_cast<int64_t>(0x8001800180018001ull),
                           static_cast<int64_t>(0x8002800280028002ull), static_cast<int64_t>(0x8003800380038003ull));
    return _mm256_shuffle_epi8(bytes, index);
  }
}

// msum, row r in lane r: sum over the sub-blocks of 32 of factor x the activations' sum, where
// pairs[k] holds the rows' factors of sub-blocks 2 k and 2 k + 1 (int16 lane 2 r + e: sub-block 2 k + e
// of row r) and s16 the activations' sums of 32 as int16, [s0 s1 s2 s3 s0 .. | s4 s5 s6 s7 s4 ..].
inline __m256i PairsTimesSums(const __m256i (&pairs)[4], __m256i s16) {
  __m256i msum = _mm256_setzero_si256();
#pragma GCC unroll 4
  for (int k = 0; k < 4; ++k) {
    const __m256i sums = _mm256_permutevar8x32_epi32(s16, _mm256_set1_epi32(k < 2 ? k : k + 2));
    msum = _mm256_add_epi32(msum, _mm256_madd_epi16(pairs[k], sums));
  }
  return msum;
}

// The activations' sums of the 8 sub-blocks of 32 of a Q8_K block as PairsTimesSums takes them (|sum| <=
// 4064).
inline __m256i Sums32(const BlockQ8K& yb) {
  const __m256i s32 =
      _mm256_madd_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(yb.bsums)), _mm256_set1_epi16(1));
  return _mm256_packs_epi32(s32, s32);
}

// pairs[k] (k < kPairs) for PairsTimesSums from factors stored by sub-block (byte 8 j + r: sub-block j of
// row r), unsigned or signed bytes.
template <bool kSigned = false, int kPairs = 4>
inline void FactorPairs(const uint8_t* by_sub_block, __m256i (&pairs)[kPairs]) {
  const __m128i interleave = _mm_setr_epi8(0, 8, 1, 9, 2, 10, 3, 11, 4, 12, 5, 13, 6, 14, 7, 15);
#pragma GCC unroll 8
  for (int k = 0; k < kPairs; ++k) {
    const __m128i two =
        _mm_shuffle_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(by_sub_block + 16 * k)), interleave);
    pairs[k] = kSigned ? _mm256_cvtepi8_epi16(two) : _mm256_cvtepu8_epi16(two);
  }
}

// The fifth bit of Q5_K's quants in chunk c (bit 2 c of the element's qh byte for the low nibbles, 2 c + 1
// for the high ones) moved to bit 4 of the byte, then masked: 16 where set. The 16-bit shifts only move
// bits of the other byte into places the mask clears.
// (bit: a constant once the chunk loop is unrolled.)
inline __m256i SixteenWhere(__m256i qh, int bit) {
  const __m256i sixteen = _mm256_set1_epi8(16);
  return _mm256_and_si256(bit <= 4 ? _mm256_slli_epi16(qh, 4 - bit) : _mm256_srli_epi16(qh, bit - 4), sixteen);
}

// Q4_K (kQ5: Q5_K, the quants + 16 where their fifth bit is set: at most 31, so four VPMADDUBSW still sum
// below 2^15 (31496)): out[t * out_stride + r] for the 8 rows of the group at x and kNy tokens.
template <int kNy, bool kQ5 = false>
void GroupQ4K(int64_t nb, const uint8_t* x, const BlockQ8K* const* ys, float* out, size_t out_stride) {
  using Block = std::conditional_t<kQ5, BlockQ5K, BlockQ4K>;
  constexpr size_t kQs = kQ5 ? kRows8K5QsOffset : kRows8KQsOffset;
  const __m256i low4 = _mm256_set1_epi8(0x0F);
  __m256 acc[kNy];
#pragma GCC unroll 8
  for (int t = 0; t < kNy; ++t) acc[t] = _mm256_setzero_ps();
  for (int64_t i = 0; i < nb; ++i) {
    const uint8_t* gb = x + i * kRows8Group * sizeof(Block);
    // Byte 8 j + r: scale / min of sub-block j of row r (rows8_layout.h: byte p of row r's 12 packed bytes
    // at 8 p + r; scales and mins 0-3 are the low 6 bits of bytes 0-3 / 4-7, 4-7 the nibbles of bytes 8-11
    // and the top 2 bits of bytes 0-3 / 4-7).
    alignas(32) uint8_t sc[64], mn[64];
    {
      const __m256i a = Load32(gb + kRows8KScalesOffset), b = Load32(gb + kRows8KScalesOffset + 32),
                    c = Load32(gb + kRows8KScalesOffset + 64);
      const __m256i six = _mm256_set1_epi8(0x3F), top2 = _mm256_set1_epi8(0x30);
      _mm256_store_si256(reinterpret_cast<__m256i*>(sc), _mm256_and_si256(a, six));
      _mm256_store_si256(reinterpret_cast<__m256i*>(mn), _mm256_and_si256(b, six));
      _mm256_store_si256(reinterpret_cast<__m256i*>(sc + 32),
                         _mm256_or_si256(_mm256_and_si256(c, low4), _mm256_and_si256(_mm256_srli_epi16(a, 2), top2)));
      _mm256_store_si256(reinterpret_cast<__m256i*>(mn + 32),
                         _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(c, 4), low4),
                                         _mm256_and_si256(_mm256_srli_epi16(b, 2), top2)));
    }
    __m256i min_pairs[4];
    FactorPairs(mn, min_pairs);
    __m256i isum[kNy][2];
#pragma GCC unroll 8
    for (int t = 0; t < kNy; ++t) isum[t][0] = isum[t][1] = _mm256_setzero_si256();
#pragma GCC unroll 4
    for (int c = 0; c < 4; ++c) {
#pragma GCC unroll 2
      for (int h = 0; h < 2; ++h) {  // rows 4 h .. 4 h + 3
        __m256i lo[4], hi[4];
#pragma GCC unroll 4
        for (int m = 0; m < 4; ++m) {
          const __m256i w = Load32(gb + kQs + 256 * c + 64 * m + 32 * h);
          lo[m] = _mm256_and_si256(w, low4);
          hi[m] = _mm256_and_si256(_mm256_srli_epi16(w, 4), low4);
          if constexpr (kQ5) {  // rows8_layout.h: the qh vector m holds the bits of quant vectors (c, m)
            const __m256i qh = Load32(gb + kRows8K5QhOffset + 64 * m + 32 * h);
            lo[m] = _mm256_or_si256(lo[m], SixteenWhere(qh, 2 * c));
            hi[m] = _mm256_or_si256(hi[m], SixteenWhere(qh, 2 * c + 1));
          }
        }
        const __m256i s_lo = SpreadFactors<false>(sc + 8 * (2 * c) + 4 * h);
        const __m256i s_hi = SpreadFactors<false>(sc + 8 * (2 * c + 1) + 4 * h);
#pragma GCC unroll 8
        for (int t = 0; t < kNy; ++t) {
          const int8_t* yq = ys[t][i].qs + 64 * c;
          __m256i pl = _mm256_maddubs_epi16(lo[0], Broadcast8(yq));
          __m256i ph = _mm256_maddubs_epi16(hi[0], Broadcast8(yq + 32));
#pragma GCC unroll 3
          for (int m = 1; m < 4; ++m) {
            pl = _mm256_add_epi16(pl, _mm256_maddubs_epi16(lo[m], Broadcast8(yq + 8 * m)));
            ph = _mm256_add_epi16(ph, _mm256_maddubs_epi16(hi[m], Broadcast8(yq + 32 + 8 * m)));
          }
          isum[t][h] =
              _mm256_add_epi32(isum[t][h], _mm256_add_epi32(_mm256_madd_epi16(pl, s_lo), _mm256_madd_epi16(ph, s_hi)));
        }
      }
    }
    const __m256 d = RowFactors(gb), dmin = RowFactors(gb + kRows8KDminOffset);
#pragma GCC unroll 8
    for (int t = 0; t < kNy; ++t) {
      const BlockQ8K& yb = ys[t][i];
      const __m256 dy = _mm256_set1_ps(yb.d);
      const __m256i msum = PairsTimesSums(min_pairs, Sums32(yb));
      acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(RowSums(isum[t][0], isum[t][1])), _mm256_mul_ps(d, dy), acc[t]);
      acc[t] = _mm256_fnmadd_ps(_mm256_cvtepi32_ps(msum), _mm256_mul_ps(dmin, dy), acc[t]);
    }
  }
#pragma GCC unroll 8
  for (int t = 0; t < kNy; ++t) _mm256_storeu_ps(out + t * out_stride, acc[t]);
}

// Q6_K: out[t * out_stride + r] for the 8 rows of the group at x and kNy tokens. Per half h of a block
// and m, the group holds row r's ql bytes 64 h + 8 m .. (A), 64 h + 32 + 8 m .. (B) and qh bytes 32 h + 8 m ..
// (Q) (rows8_layout.h); the quants (+ 32) of elements 128 h + 32 k + 8 m .. are A's low nibbles | Q's bits 0-1
// (k = 0), B's low | bits 2-3, A's high | bits 4-5, B's high | bits 6-7, each pair above the nibble, all in
// sub-block 8 h + 2 k + m / 2 of 16. The + 32 comes off as 32 sum_j scale_j x (activation sum of
// sub-block j) (Q8_K's bsums), from the same integer isum.
template <int kNy>
void GroupQ6K(int64_t nb, const uint8_t* x, const BlockQ8K* const* ys, float* out, size_t out_stride) {
  const __m256i low4 = _mm256_set1_epi8(0x0F), pair = _mm256_set1_epi8(0x30);
  __m256 acc[kNy];
#pragma GCC unroll 8
  for (int t = 0; t < kNy; ++t) acc[t] = _mm256_setzero_ps();
  for (int64_t i = 0; i < nb; ++i) {
    const uint8_t* gb = x + i * kRows8Group * sizeof(BlockQ6K);
    const uint8_t* sc = gb + kRows8Q6ScalesOffset;  // byte 8 j + r: scale of sub-block j of row r
    __m256i scale_pairs[8];
    FactorPairs<true, 8>(sc, scale_pairs);
    __m256i isum[kNy][2];
#pragma GCC unroll 8
    for (int t = 0; t < kNy; ++t) isum[t][0] = isum[t][1] = _mm256_setzero_si256();
#pragma GCC unroll 2
    for (int h = 0; h < 2; ++h) {
#pragma GCC unroll 2
      for (int mp = 0; mp < 2; ++mp) {  // m = 2 mp, 2 mp + 1: one sub-block of 16 per k
#pragma GCC unroll 2
        for (int hr = 0; hr < 2; ++hr) {  // rows 4 hr .. 4 hr + 3
          __m256i q[2][4];
#pragma GCC unroll 2
          for (int e = 0; e < 2; ++e) {
            const uint8_t* p = gb + kRows8Q6QuantsOffset + 192 * (4 * h + 2 * mp + e) + 32 * hr;
            const __m256i a = Load32(p), b = Load32(p + 64), qh = Load32(p + 128);
            q[e][0] = _mm256_or_si256(_mm256_and_si256(a, low4), _mm256_and_si256(_mm256_slli_epi16(qh, 4), pair));
            q[e][1] = _mm256_or_si256(_mm256_and_si256(b, low4), _mm256_and_si256(_mm256_slli_epi16(qh, 2), pair));
            q[e][2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(a, 4), low4), _mm256_and_si256(qh, pair));
            q[e][3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(b, 4), low4),
                                      _mm256_and_si256(_mm256_srli_epi16(qh, 2), pair));
          }
          __m256i scale[4];
#pragma GCC unroll 4
          for (int k = 0; k < 4; ++k) scale[k] = SpreadFactors<true>(sc + 8 * (8 * h + 2 * k + mp) + 4 * hr);
#pragma GCC unroll 8
          for (int t = 0; t < kNy; ++t) {
            const int8_t* yq = ys[t][i].qs + 128 * h + 16 * mp;
#pragma GCC unroll 4
            for (int k = 0; k < 4; ++k) {
              const __m256i p = _mm256_add_epi16(_mm256_maddubs_epi16(q[0][k], Broadcast8(yq + 32 * k)),
                                                 _mm256_maddubs_epi16(q[1][k], Broadcast8(yq + 32 * k + 8)));
              isum[t][hr] = _mm256_add_epi32(isum[t][hr], _mm256_madd_epi16(p, scale[k]));
            }
          }
        }
      }
    }
    const __m256 d = RowFactors(gb);
#pragma GCC unroll 8
    for (int t = 0; t < kNy; ++t) {
      const BlockQ8K& yb = ys[t][i];
      // 32 sum_j scale_j bsum_j: dword k of the bsums is the pair (2 k, 2 k + 1).
      const __m256i bsums = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(yb.bsums));
      __m256i msum = _mm256_setzero_si256();
#pragma GCC unroll 8
      for (int k = 0; k < 8; ++k) {
        const __m256i sums = _mm256_permutevar8x32_epi32(bsums, _mm256_set1_epi32(k));
        msum = _mm256_add_epi32(msum, _mm256_madd_epi16(scale_pairs[k], sums));
      }
      const __m256i total = _mm256_sub_epi32(RowSums(isum[t][0], isum[t][1]), _mm256_slli_epi32(msum, 5));
      acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(total), _mm256_mul_ps(d, _mm256_set1_ps(yb.d)), acc[t]);
    }
  }
#pragma GCC unroll 8
  for (int t = 0; t < kNy; ++t) _mm256_storeu_ps(out + t * out_stride, acc[t]);
}

// gemv_rows8 of Q4_K, Q5_K and Q6_K: the groups of rows [0, n_rows) one after another, without software
// prefetch (one sequential stream, as at the AVX-512 level).
template <GgmlType kType>
void KGemvRows8(int64_t n, const void* vx, size_t x_stride, int64_t n_rows, const void* vy, size_t y_stride,
                int n_tokens, float* out, size_t out_stride) {
  const int64_t nb = n / kQK_K;
  const uint8_t* x = static_cast<const uint8_t*>(vx);
  const size_t group_bytes = kRows8Group * x_stride;
  PrefetchHead(x, (n_rows / kRows8Group) * group_bytes);
  const BlockQ8K* ys[kGemvMaxTokens];
  for (int t = 0; t < n_tokens; ++t) {
    ys[t] = reinterpret_cast<const BlockQ8K*>(static_cast<const uint8_t*>(vy) + t * y_stride);
  }
  WithUpTo8(n_tokens, [&](auto tokens) {
    constexpr int kNy = decltype(tokens)::value;
    for (int64_t g = 0; g < n_rows / kRows8Group; ++g) {
      if constexpr (kType == GgmlType::kQ6_K) {
        GroupQ6K<kNy>(nb, x + g * group_bytes, ys, out + g * kRows8Group, out_stride);
      } else {
        GroupQ4K<kNy, kType == GgmlType::kQ5_K>(nb, x + g * group_bytes, ys, out + g * kRows8Group, out_stride);
      }
    }
  });
}

// Restores (TypeKernels::unpack_rows8 at this level: UnpackRows8's bytes, with vector moves; prompt rows of a
// kRows8 matrix run the prefill kernel on them).

// 4 pieces of 8-byte row parts (piece m at src + m * piece_stride: 64 bytes, row r's 8 bytes at 8 r) ->
// row r's 32 bytes (the pieces' parts in order) at out + r * stride: per half of the rows a 4 x 4
// transpose of 64-bit words.
inline void StoreRowQuads(const uint8_t* src, size_t piece_stride, uint8_t* out, size_t stride) {
#pragma GCC unroll 2
  for (int h = 0; h < 2; ++h) {
    const __m256i p0 = Load32(src + 32 * h), p1 = Load32(src + piece_stride + 32 * h);
    const __m256i p2 = Load32(src + 2 * piece_stride + 32 * h), p3 = Load32(src + 3 * piece_stride + 32 * h);
    const __m256i t0 = _mm256_unpacklo_epi64(p0, p1), t1 = _mm256_unpackhi_epi64(p0, p1);
    const __m256i t2 = _mm256_unpacklo_epi64(p2, p3), t3 = _mm256_unpackhi_epi64(p2, p3);
    uint8_t* o = out + 4 * h * stride;
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(o), _mm256_permute2x128_si256(t0, t2, 0x20));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(o + stride), _mm256_permute2x128_si256(t1, t3, 0x20));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(o + 2 * stride), _mm256_permute2x128_si256(t0, t2, 0x31));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(o + 3 * stride), _mm256_permute2x128_si256(t1, t3, 0x31));
  }
}

// 8 bytes of the 8 rows side by side (byte p of row r at src + 8 p + r, p < 8) -> row r's 8 bytes in rows[r].
inline void TransposeBytes8x8(const uint8_t* src, uint64_t (&rows)[kRows8Group]) {
  auto pairs = [&](int k) {  // int16 lane r: bytes 2 k, 2 k + 1 of row r
    const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + 16 * k));
    return _mm_unpacklo_epi8(x, _mm_srli_si128(x, 8));
  };
  const __m128i a0 = pairs(0), a1 = pairs(1), a2 = pairs(2), a3 = pairs(3);
  const __m128i b0 = _mm_unpacklo_epi16(a0, a1), b1 = _mm_unpackhi_epi16(a0, a1);  // bytes 0-3, rows 0-3 / 4-7
  const __m128i b2 = _mm_unpacklo_epi16(a2, a3), b3 = _mm_unpackhi_epi16(a2, a3);  // bytes 4-7
  _mm_storeu_si128(reinterpret_cast<__m128i*>(rows), _mm_unpacklo_epi32(b0, b2));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(rows + 2), _mm_unpackhi_epi32(b0, b2));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(rows + 4), _mm_unpacklo_epi32(b1, b3));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(rows + 6), _mm_unpackhi_epi32(b1, b3));
}

// The rows' bytes [0, n) (n <= 16) stored side by side at src (byte p of row r at 8 p + r) -> at out + r *
// stride. Reads 128 bytes from src.
inline void StoreRowBytes(const uint8_t* src, size_t n, uint8_t* out, size_t stride) {
  uint64_t lo[kRows8Group], hi[kRows8Group];
  TransposeBytes8x8(src, lo);
  TransposeBytes8x8(src + 64, hi);
  for (int r = 0; r < kRows8Group; ++r) {
    std::memcpy(out + r * stride, &lo[r], 8);
    std::memcpy(out + r * stride + 8, &hi[r], n - 8);
  }
}

// The rows' fp16 factors at src (row r at 2 r) -> at out + r * stride.
inline void StoreRowHalves(const uint8_t* src, uint8_t* out, size_t stride) {
  for (int r = 0; r < kRows8Group; ++r) std::memcpy(out + r * stride, src + 2 * r, 2);
}

// Q4_K / Q5_K group block gb -> row r's block at out + r * stride.
template <typename Block>
void RestoreQ45KBlock(const uint8_t* gb, uint8_t* out, size_t stride) {
  constexpr bool kQ5 = std::is_same_v<Block, BlockQ5K>;
  StoreRowHalves(gb, out + offsetof(Block, d), stride);
  StoreRowHalves(gb + kRows8KDminOffset, out + offsetof(Block, dmin), stride);
  StoreRowBytes(gb + kRows8KScalesOffset, kKScaleBytes, out + offsetof(Block, scales), stride);
  if constexpr (kQ5) StoreRowQuads(gb + kRows8K5QhOffset, 64, out + offsetof(Block, qh), stride);
  constexpr size_t kQs = kQ5 ? kRows8K5QsOffset : kRows8KQsOffset;
#pragma GCC unroll 4
  for (int c = 0; c < 4; ++c) StoreRowQuads(gb + kQs + 256 * c, 64, out + offsetof(Block, qs) + 32 * c, stride);
}

// Q6_K group block gb -> row r's block at out + r * stride.
void RestoreQ6KBlock(const uint8_t* gb, uint8_t* out, size_t stride) {
  StoreRowHalves(gb, out + offsetof(BlockQ6K, d), stride);
  StoreRowBytes(gb + kRows8Q6ScalesOffset, sizeof(BlockQ6K::scales), out + offsetof(BlockQ6K, scales), stride);
#pragma GCC unroll 2
  for (int h = 0; h < 2; ++h) {
    const uint8_t* q =
        gb + kRows8Q6QuantsOffset + 768 * h;  // m = 0..3 at 192 m: ql 64 h .., ql 64 h + 32 .., qh 32 h ..
    StoreRowQuads(q, 192, out + offsetof(BlockQ6K, ql) + 64 * h, stride);
    StoreRowQuads(q + 64, 192, out + offsetof(BlockQ6K, ql) + 64 * h + 32, stride);
    StoreRowQuads(q + 128, 192, out + offsetof(BlockQ6K, qh) + 32 * h, stride);
  }
}

}  // namespace

void RegisterKRows8KernelsAvx2(KernelTable& table) {
  table[GgmlType::kQ4_K].gemv_rows8 = KGemvRows8<GgmlType::kQ4_K>;
  table[GgmlType::kQ5_K].gemv_rows8 = KGemvRows8<GgmlType::kQ5_K>;
  table[GgmlType::kQ6_K].gemv_rows8 = KGemvRows8<GgmlType::kQ6_K>;
  table[GgmlType::kQ4_K].unpack_rows8 = UnpackGroupRows<BlockQ4K, RestoreQ45KBlock<BlockQ4K>>;
  table[GgmlType::kQ5_K].unpack_rows8 = UnpackGroupRows<BlockQ5K, RestoreQ45KBlock<BlockQ5K>>;
  table[GgmlType::kQ6_K].unpack_rows8 = UnpackGroupRows<BlockQ6K, RestoreQ6KBlock>;
}

}  // namespace isv
