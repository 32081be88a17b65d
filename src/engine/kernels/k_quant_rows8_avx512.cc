// The K-quants (Q2_K .. Q6_K) and IQ4_XS decode on the kRows8 layout (rows8_layout.h) at the AVX-512
// level: TypeKernels::gemv_rows8. Q4_K first; Q5_K is Q4_K with a fifth bit per quant (GroupQ4K<kQ5>: per
// zmm of quants two VPTESTMB against the qh zmm and two masked byte adds of 16); Q6_K, Q3_K and Q2_K
// (GroupSixteens below: sub-blocks of 16; llama-3.2-1b tg 1 thread against the file-order gemv: Q3_K_L
// 25 -> 30-34 t/s, Q2_K 29 -> 42) and IQ4_XS (GroupIq4Xs: 23 -> 40) the same way.
//
// Why: the file-order Q4_K gemv (k_quant_avx512.cc) spends, per 144-byte block of ONE row, about as
// many instructions on the block's scales and mins (unpacking the 12 packed bytes, spreading them to
// the lanes, two conversions and FMAs) as on its 256 quants: ~25 GB/s per core from L2 on the
// development EPYC, below what two cores of memory deliver when the bus is quiet. With eight rows
// interleaved, one byte-wise vector operation unpacks a scale of all eight rows, and a zmm of quants
// holds eight bytes of each of the eight rows, so that the activations it meets are one 64-bit
// broadcast:
//   - zmm (c, m) of a group block: 32-bit lane 2r + h = row r's quant bytes 32c + 8m + 4h..; its low
//     nibbles belong to sub-block 2c, its high nibbles to 2c + 1; VPDPBUSD with the broadcast
//     activations gives exact partial sums per (row, h) lane;
//   - per sub-block the four partial sums times the sub-block's scale (VPMULLD with the 8 rows'
//     scales spread to the lanes), summed over the block: isum (exact, < 2^24);
//   - the mins: per lane L, min j of row L / 2 times the activations' sub-block sum j, for the two j
//     of the lane's pair (VPMADDWD), over four pairs in two vectors: msum (exact);
//   - acc = fma(float(isum), d * dy, acc) - float(msum) * dmin * dy for the 16 lanes (two per row),
//     the two lanes of each row added at the end.
// Micro-benchmark (2048 x 2048 matrices; one core / two cores), file order -> kRows8: from L3 Q4_K 25 ->
// 49 / 50 -> 92 GB/s, Q6_K 28-30 -> 44 / 51-59 -> 65-76; from memory Q4_K 21-24 -> 29-32 / 31-37 -> 32-39,
// Q6_K 22-23 -> 29 / 30-34 -> 29-33 (two cores at the memory's pace either way).
// Summation order: not vec_dot's (its float accumulation runs over 16 lanes per row with another
// grouping of the integer products), so a repacked matrix gives results equal to the file's order
// within float rounding, not bit for bit. Batch invariance holds within the layout: MatMul
// sends every plain token of a kRows8 matrix through this kernel (kernels.h).
//
// GCC 12 reports the undefined upper part inside its own 256 -> 512-bit cast intrinsics as "used
// uninitialized" (as in legacy_quant_avx512.cc): a false positive.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "engine/kernels/blocks_k.h"
#include "engine/kernels/kernels.h"
#include "engine/kernels/rows8_avx512.h"
#include "engine/kernels/rows8_layout.h"

namespace isv {
namespace {

#include "engine/kernels/legacy_rows8_frame.inc"

// The 8 rows' fp16 factors at p as floats, lane L: row L / 2.
inline __m512 RowFactors(const uint8_t* p) {
  const __m256 f = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  return _mm512_permutexvar_ps(_mm512_set_epi32(7, 7, 6, 6, 5, 5, 4, 4, 3, 3, 2, 2, 1, 1, 0, 0),
                               _mm512_castps256_ps512(f));
}

// int16 lane 2L + e of the result: lane 8 (2 (L % 2) + e) + L / 2 of v, i.e. sub-block 2 (L % 2) + e (of
// four) of row L / 2 when v holds sub-block j of row r at lane 8j + r.
inline __m512i PairsOfRows(__m512i v) {
  const __m512i index = _mm512_set_epi16(31, 23, 15, 7, 30, 22, 14, 6, 29, 21, 13, 5, 28, 20, 12, 4, 27, 19, 11, 3, 26,
                                         18, 10, 2, 25, 17, 9, 1, 24, 16, 8, 0);
  return _mm512_permutexvar_epi16(index, v);
}

// int16 lane k of the result: lane 8 j4 + k / 4 of v, i.e. sub-block j4 (of four) of row k / 4 — the row
// of int32 lane k / 2, which the int16 pair k / 2 adds into — when v is as above; zero in the lanes
// `keep` leaves out.
inline __m512i SpreadToRows(__m512i v, int j4, __mmask32 keep = 0xFFFFFFFFu) {
  const __m512i lane_row =
      _mm512_srli_epi16(_mm512_set_epi16(31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17, 16, 15, 14, 13, 12,
                                         11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
                        2);
  return _mm512_maskz_permutexvar_epi16(keep,
                                        _mm512_add_epi16(lane_row, _mm512_set1_epi16(static_cast<int16_t>(8 * j4))), v);
}

// The scales and mins of the eight rows of one group block, spread to the lanes that use them.
struct GroupScales {
  __m512i sv[8];    // int32 lane L: scale of sub-block j of row L / 2
  __m512i mins[2];  // int16 lane 2L + e: min of sub-block 4k + 2 (L % 2) + e of row L / 2 (k = 0, 1)
  __m512 d, dmin;   // lane L: d, dmin of row L / 2
};

inline GroupScales UnpackScales(const uint8_t* gb) {
  auto load = [&](size_t o) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(gb + o)); };
  // Lane 8p + r of a, b, c: byte p, 4 + p, 8 + p of row r's 12 packed scale bytes (rows8_layout.h).
  const __m256i a = load(kRows8KScalesOffset), b = load(kRows8KScalesOffset + 32), c = load(kRows8KScalesOffset + 64);
  const __m256i six = _mm256_set1_epi8(0x3F), low4 = _mm256_set1_epi8(0x0F), top2 = _mm256_set1_epi8(0x30);
  // Lane 8j + r (j < 4: sub-block j; the _hi vectors: sub-block 4 + j). (byte >> 6) << 4 = (byte >> 2) &
  // 0x30: the 16-bit shift only moves bits out of the mask.
  const __m256i sc_lo = _mm256_and_si256(a, six);
  const __m256i mn_lo = _mm256_and_si256(b, six);
  const __m256i sc_hi = _mm256_or_si256(_mm256_and_si256(c, low4), _mm256_and_si256(_mm256_srli_epi16(a, 2), top2));
  const __m256i mn_hi =
      _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(c, 4), low4), _mm256_and_si256(_mm256_srli_epi16(b, 2), top2));
  GroupScales s;
  const __m512i sc16[2] = {_mm512_cvtepu8_epi16(sc_lo), _mm512_cvtepu8_epi16(sc_hi)};
#pragma GCC unroll 8
  for (int j = 0; j < 8; ++j) {  // the scale in the low int16 of each int32 lane, the high one zero
    s.sv[j] = SpreadToRows(sc16[j / 4], j % 4, 0x55555555u);
  }
  s.mins[0] = PairsOfRows(_mm512_cvtepu8_epi16(mn_lo));
  s.mins[1] = PairsOfRows(_mm512_cvtepu8_epi16(mn_hi));
  s.d = RowFactors(gb);
  s.dmin = RowFactors(gb + kRows8KDminOffset);
  return s;
}

// Lane L: sum over the sub-blocks of 32 j = 2 (L % 2) + e and 4 + 2 (L % 2) + e (e = 0, 1) of
// pairs[j / 4] (int16 lane 2L + e: its factor for row L / 2, as GroupScales::mins) times the activations'
// sum of sub-block j: summed over a row's two lanes, sum_j factor_j * bsum_j, exact.
inline __m512i PairsTimesSums32(const __m512i (&pairs)[2], const BlockQ8K& yb) {
  // The 8 sub-block sums of 32 as int16 (|sum| <= 4096): [s0 s1 s2 s3 s0 .. | s4 s5 s6 s7 s4 ..].
  const __m256i s32 =
      _mm256_madd_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(yb.bsums)), _mm256_set1_epi16(1));
  const __m256i s16 = _mm256_packs_epi32(s32, s32);
  return _mm512_add_epi32(_mm512_madd_epi16(pairs[0], _mm512_broadcastq_epi64(_mm256_castsi256_si128(s16))),
                          _mm512_madd_epi16(pairs[1], _mm512_broadcastq_epi64(_mm256_extracti128_si256(s16, 1))));
}

// out[t * out_stride + r] = the sum of lanes 2r and 2r + 1 of acc[t].
template <int kNy>
inline void StoreRows(const __m512 (&acc)[kNy], float* out, size_t out_stride) {
#pragma GCC unroll 8
  for (int t = 0; t < kNy; ++t) {
    const __m512 pairs = _mm512_add_ps(acc[t], _mm512_permute_ps(acc[t], 0xB1));  // lane 2r: row r
    _mm256_storeu_ps(out + t * out_stride, _mm512_castps512_ps256(_mm512_maskz_compress_ps(0x5555, pairs)));
  }
}

inline __m512i Broadcast8(const int8_t* p) {
  int64_t v;
  std::memcpy(&v, p, 8);
  return _mm512_set1_epi64(v);
}

// out[t * out_stride + r] for the 8 rows of the group at x and kNy tokens; kQ5: Q5_K (quants up to 31:
// isum may then exceed 2^24 and round in its conversion, far inside the float tolerance of this order).
template <int kNy, bool kQ5 = false>
void GroupQ4K(int64_t nb, const uint8_t* x, const BlockQ8K* const* ys, float* out, size_t out_stride) {
  using Block = std::conditional_t<kQ5, BlockQ5K, BlockQ4K>;
  constexpr size_t kQs = kQ5 ? kRows8K5QsOffset : kRows8KQsOffset;
  const __m512i low4 = _mm512_set1_epi8(0x0F), sixteen = _mm512_set1_epi8(16);
  __m512 acc[kNy];
#pragma GCC unroll 8
  for (int t = 0; t < kNy; ++t) acc[t] = _mm512_setzero_ps();
  for (int64_t i = 0; i < nb; ++i) {
    const uint8_t* gb = x + i * kRows8Group * sizeof(Block);
    const GroupScales s = UnpackScales(gb);
    __m512i qh[4];
    if constexpr (kQ5) {
#pragma GCC unroll 4
      for (int m = 0; m < 4; ++m) qh[m] = _mm512_loadu_si512(gb + kRows8K5QhOffset + 64 * m);
    }
    __m512i isum[kNy];
#pragma GCC unroll 8
    for (int t = 0; t < kNy; ++t) isum[t] = _mm512_setzero_si512();
#pragma GCC unroll 4
    for (int c = 0; c < 4; ++c) {
      __m512i lo[4], hi[4];
#pragma GCC unroll 4
      for (int m = 0; m < 4; ++m) {
        const __m512i w = _mm512_loadu_si512(gb + kQs + 256 * c + 64 * m);
        lo[m] = _mm512_and_si512(w, low4);
        hi[m] = _mm512_and_si512(_mm512_srli_epi16(w, 4), low4);
        if constexpr (kQ5) {  // + 16 where bit 2c (low nibbles) / 2c + 1 (high) of the element's qh byte is set
          const __mmask64 l5 = _mm512_test_epi8_mask(qh[m], _mm512_set1_epi8(static_cast<char>(1 << (2 * c))));
          const __mmask64 h5 = _mm512_test_epi8_mask(qh[m], _mm512_set1_epi8(static_cast<char>(2 << (2 * c))));
          lo[m] = _mm512_mask_add_epi8(lo[m], l5, lo[m], sixteen);
          hi[m] = _mm512_mask_add_epi8(hi[m], h5, hi[m], sixteen);
        }
      }
#pragma GCC unroll 8
      for (int t = 0; t < kNy; ++t) {
        const int8_t* yq = ys[t][i].qs + 64 * c;
        __m512i al = _mm512_setzero_si512(), ah = _mm512_setzero_si512();
#pragma GCC unroll 4
        for (int m = 0; m < 4; ++m) {
          al = _mm512_dpbusd_epi32(al, lo[m], Broadcast8(yq + 8 * m));
          ah = _mm512_dpbusd_epi32(ah, hi[m], Broadcast8(yq + 32 + 8 * m));
        }
        isum[t] = _mm512_add_epi32(
            isum[t], _mm512_add_epi32(_mm512_mullo_epi32(al, s.sv[2 * c]), _mm512_mullo_epi32(ah, s.sv[2 * c + 1])));
      }
    }
#pragma GCC unroll 8
    for (int t = 0; t < kNy; ++t) {
      const BlockQ8K& yb = ys[t][i];
      const __m512i msum = PairsTimesSums32(s.mins, yb);
      const __m512 dy = _mm512_set1_ps(yb.d);
      acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum[t]), _mm512_mul_ps(s.d, dy), acc[t]);
      acc[t] = _mm512_fnmadd_ps(_mm512_cvtepi32_ps(msum), _mm512_mul_ps(s.dmin, dy), acc[t]);
    }
  }
  StoreRows(acc, out, out_stride);
}

// Q6_K, Q3_K and Q2_K (Source: Q6KSource, Q3KSource, Q2KSource below): per group block the 8 rows' quants
// as unsigned values (Q6_K: q + 32, 6 bits; Q3_K: q + 4, 3 bits; Q2_K: q, 2 bits) in 8 bytes of each row
// per zmm, each sub-block of 16 applied by VPMADDUBSW + VPDPWSSD with its scale (exact int32, two
// accumulators); the offset removed with the activations' sums of 16: offset * sum_j scale_j * bsum_j
// (VPMADDWD, four sub-blocks per instruction); Q2_K's mins the same way: msum = sum_j min_j * bsum_j,
// then acc = fma(float(isum), d * dy, acc) - float(msum) * dmin * dy, as Q4_K's.
template <typename Source, int kNy>
void GroupSixteens(int64_t nb, const uint8_t* x, const BlockQ8K* const* ys, float* out, size_t out_stride) {
  const Source source;
  __m512 acc[kNy];
#pragma GCC unroll 8
  for (int t = 0; t < kNy; ++t) acc[t] = _mm512_setzero_ps();
  for (int64_t i = 0; i < nb; ++i) {
    const uint8_t* gb = x + i * kRows8Group * sizeof(typename Source::Block);
    // Sub-block j's scale of row r at int16 lane 8 (j % 4) + r of sc16[j / 4].
    __m512i sc16[4], sv[16], pairs[4];
    source.Scales(gb, sc16);
    if constexpr (Source::kHasMins) {  // the pairs of the mins (sub-block j's of row r as the scales')
      __m512i mn16[4];
      source.Mins(gb, mn16);
#pragma GCC unroll 4
      for (int q = 0; q < 4; ++q) pairs[q] = PairsOfRows(mn16[q]);
    } else {
#pragma GCC unroll 4
      for (int q = 0; q < 4; ++q) pairs[q] = PairsOfRows(sc16[q]);
    }
#pragma GCC unroll 16
    for (int j = 0; j < 16; ++j) sv[j] = SpreadToRows(sc16[j / 4], j % 4);
    const __m512 d = RowFactors(gb);
    __m512i isum[kNy][2];
#pragma GCC unroll 8
    for (int t = 0; t < kNy; ++t) isum[t][0] = isum[t][1] = _mm512_setzero_si512();
#pragma GCC unroll 2
    for (int h = 0; h < 2; ++h) {
#pragma GCC unroll 4
      for (int m = 0; m < 4; ++m) {
        __m512i w[4];  // w[k]: elements 128h + 32k + 8m .. of the 8 rows
        source.Quants(gb, h, m, w);
#pragma GCC unroll 8
        for (int t = 0; t < kNy; ++t) {
          const int8_t* yq = ys[t][i].qs + 128 * h + 8 * m;
#pragma GCC unroll 4
          for (int k = 0; k < 4; ++k) {  // sub-block (128h + 32k + 8m) / 16
            const __m512i p = _mm512_maddubs_epi16(w[k], Broadcast8(yq + 32 * k));
            isum[t][k % 2] = _mm512_dpwssd_epi32(isum[t][k % 2], p, sv[8 * h + 2 * k + m / 2]);
          }
        }
      }
    }
#pragma GCC unroll 8
    for (int t = 0; t < kNy; ++t) {
      const BlockQ8K& yb = ys[t][i];
      __m512i corr = _mm512_setzero_si512();
#pragma GCC unroll 4
      for (int q = 0; q < 4; ++q) {
        int64_t b4;  // the activations' sums of sub-blocks 4q .. 4q + 3
        std::memcpy(&b4, yb.bsums + 4 * q, 8);
        corr = _mm512_add_epi32(corr, _mm512_madd_epi16(pairs[q], _mm512_set1_epi64(b4)));
      }
      const __m512 dy = _mm512_set1_ps(yb.d);
      if constexpr (Source::kHasMins) {
        const __m512i total = _mm512_add_epi32(isum[t][0], isum[t][1]);
        acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(total), _mm512_mul_ps(d, dy), acc[t]);
        acc[t] = _mm512_fnmadd_ps(_mm512_cvtepi32_ps(corr), _mm512_mul_ps(source.Dmin(gb), dy), acc[t]);
      } else {
        const __m512i total =
            _mm512_sub_epi32(_mm512_add_epi32(isum[t][0], isum[t][1]), _mm512_slli_epi32(corr, Source::kOffsetShift));
        acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(total), _mm512_mul_ps(d, dy), acc[t]);
      }
    }
  }
  StoreRows(acc, out, out_stride);
}

// Q6_K (rows8_layout.h): the int8 scales as stored; the quants (x & low4) | high bits, one VPTERNLOGD each
// (0xEA: (a & b) | c).
struct Q6KSource {
  using Block = BlockQ6K;
  static constexpr bool kHasMins = false;
  static constexpr int kOffsetShift = 5;  // + 32
  const __m512i low4 = _mm512_set1_epi8(0x0F), top2 = _mm512_set1_epi8(0x30);
  __attribute__((always_inline)) void Scales(const uint8_t* gb, __m512i (&sc16)[4]) const {
#pragma GCC unroll 4
    for (int q = 0; q < 4; ++q) {
      sc16[q] = _mm512_cvtepi8_epi16(
          _mm256_loadu_si256(reinterpret_cast<const __m256i*>(gb + kRows8Q6ScalesOffset + 32 * q)));
    }
  }
  __attribute__((always_inline)) void Quants(const uint8_t* gb, int h, int m, __m512i (&w)[4]) const {
    auto load = [&](size_t o) { return _mm512_loadu_si512(gb + o); };
    const size_t o = kRows8Q6QuantsOffset + 192 * (4 * h + m);
    const __m512i a = load(o), b = load(o + 64), qh = load(o + 128);
    w[0] = _mm512_ternarylogic_epi32(a, low4, _mm512_and_si512(_mm512_slli_epi16(qh, 4), top2), 0xEA);
    w[1] = _mm512_ternarylogic_epi32(b, low4, _mm512_and_si512(_mm512_slli_epi16(qh, 2), top2), 0xEA);
    w[2] = _mm512_ternarylogic_epi32(_mm512_srli_epi16(a, 4), low4, _mm512_and_si512(qh, top2), 0xEA);
    w[3] = _mm512_ternarylogic_epi32(_mm512_srli_epi16(b, 4), low4, _mm512_and_si512(_mm512_srli_epi16(qh, 2), top2),
                                     0xEA);
  }
};

// Q3_K (rows8_layout.h): the 16 6-bit scales minus 32 from the 12 packed bytes (byte p of the 8 rows at
// 8 p + r): sub-blocks 0-3 low nibbles of bytes 0-3 and bits 0-1 of bytes 8-11, 4-7 low nibbles of bytes
// 4-7 and bits 2-3, 8-11 high nibbles of bytes 0-3 and bits 4-5, 12-15 high nibbles of bytes 4-7 and bits
// 6-7; the quants (2 bits of qs) | 4 * (hmask bit), one VPTERNLOGD each.
struct Q3KSource {
  using Block = BlockQ3K;
  static constexpr bool kHasMins = false;
  static constexpr int kOffsetShift = 2;  // + 4
  __attribute__((always_inline)) void Scales(const uint8_t* gb, __m512i (&sc16)[4]) const {
    auto load = [&](int p) {
      return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(gb + kRows8Q3ScalesOffset + 8 * p));
    };
    const __m256i a = load(0), b = load(4), c = load(8);
    const __m256i low4 = _mm256_set1_epi8(0x0F), top2 = _mm256_set1_epi8(0x30), bias = _mm256_set1_epi8(32);
    // (low & low4) | (high & top2): VPTERNLOGD 0xEA with the high bits already masked.
    auto merge = [&](__m256i low, __m256i high) {
      const __m256i six = _mm256_ternarylogic_epi32(low, low4, _mm256_and_si256(high, top2), 0xEA);
      return _mm512_cvtepi8_epi16(_mm256_sub_epi8(six, bias));
    };
    sc16[0] = merge(a, _mm256_slli_epi16(c, 4));
    sc16[1] = merge(b, _mm256_slli_epi16(c, 2));
    sc16[2] = merge(_mm256_srli_epi16(a, 4), c);
    sc16[3] = merge(_mm256_srli_epi16(b, 4), _mm256_srli_epi16(c, 2));
  }
  __attribute__((always_inline)) void Quants(const uint8_t* gb, int h, int m, __m512i (&w)[4]) const {
    const __m512i three = _mm512_set1_epi8(3), four = _mm512_set1_epi8(4);
    const __m512i qs = _mm512_loadu_si512(gb + kRows8Q3QsOffset + 64 * (4 * h + m));
    const __m512i hm = _mm512_loadu_si512(gb + kRows8Q3HmaskOffset + 64 * m);
#pragma GCC unroll 4
    for (int s = 0; s < 4; ++s) {  // bits 2s of qs, bit 4h + s of hm -> bit 2
      const int k = 4 * h + s;
      const __m512i high = k >= 2 ? _mm512_srli_epi16(hm, k - 2) : _mm512_slli_epi16(hm, 2 - k);
      w[s] = _mm512_ternarylogic_epi32(_mm512_srli_epi16(qs, 2 * s), three, _mm512_and_si512(high, four), 0xEA);
    }
  }
};

// Q2_K (rows8_layout.h): scale and min of sub-block j in the low and high nibble of its byte; the quants
// bits 2 s of qs.
struct Q2KSource {
  using Block = BlockQ2K;
  static constexpr bool kHasMins = true;
  const __m512i three = _mm512_set1_epi8(3);
  // Sub-blocks 4q .. 4q + 3 of the 8 rows, row r's sub-block j at byte 8 (j % 4) + r, as int16.
  static __m512i ScaleBytes(const uint8_t* gb, int q) {
    return _mm512_cvtepu8_epi16(
        _mm256_loadu_si256(reinterpret_cast<const __m256i*>(gb + kRows8Q2ScalesOffset + 32 * q)));
  }
  __attribute__((always_inline)) void Scales(const uint8_t* gb, __m512i (&sc16)[4]) const {
#pragma GCC unroll 4
    for (int q = 0; q < 4; ++q) sc16[q] = _mm512_and_si512(ScaleBytes(gb, q), _mm512_set1_epi16(0x0F));
  }
  __attribute__((always_inline)) void Mins(const uint8_t* gb, __m512i (&mn16)[4]) const {
#pragma GCC unroll 4
    for (int q = 0; q < 4; ++q) mn16[q] = _mm512_srli_epi16(ScaleBytes(gb, q), 4);
  }
  static __m512 Dmin(const uint8_t* gb) { return RowFactors(gb + kRows8Q2DminOffset); }
  __attribute__((always_inline)) void Quants(const uint8_t* gb, int h, int m, __m512i (&w)[4]) const {
    const __m512i qs = _mm512_loadu_si512(gb + kRows8Q2QsOffset + 64 * (4 * h + m));
#pragma GCC unroll 4
    for (int s = 0; s < 4; ++s) w[s] = _mm512_and_si512(_mm512_srli_epi16(qs, 2 * s), three);
  }
};

// IQ4_XS: per sub-block of 32 the 8 rows' quants in two zmm (8 bytes of each row, rows8_layout.h), looked
// up in the IQ4_NL table + 128 (unsigned, VPSHUFB), four VPDPBUSD per token into one exact partial sum per
// (row, half) lane, times the sub-block's signed scale (VPMULLD); the + 128 removed with the activations'
// sums of 32: 128 * sum_j scale_j * bsum_j (VPMADDWD, as Q4_K's mins).
template <int kNy>
void GroupIq4Xs(int64_t nb, const uint8_t* x, const BlockQ8K* const* ys, float* out, size_t out_stride) {
  const __m512i low4 = _mm512_set1_epi8(0x0F);
  const __m512i table = _mm512_broadcast_i32x4(_mm_add_epi8(
      _mm_loadu_si128(reinterpret_cast<const __m128i*>(kIq4nlValues)), _mm_set1_epi8(static_cast<char>(0x80))));
  const __m256i low4y = _mm256_set1_epi8(0x0F), three = _mm256_set1_epi8(3), bias = _mm256_set1_epi8(32);
  const __m256i shifts = _mm256_set_epi64x(6, 4, 2, 0);
  __m512 acc[kNy];
#pragma GCC unroll 8
  for (int t = 0; t < kNy; ++t) acc[t] = _mm512_setzero_ps();
  for (int64_t i = 0; i < nb; ++i) {
    const uint8_t* gb = x + i * kRows8Group * sizeof(BlockIq4Xs);
    // The 6-bit scales minus 32 of sub-blocks 0-3 (sc[0]) and 4-7 (sc[1]), row r's sub-block j at byte
    // 8 (j % 4) + r: the low 4 bits from scales_l (lane 8 q + r: byte q = sub-blocks 2q, 2q + 1), the
    // high 2 from scales_h (lane 8 p + r: bits 2 (j % 4) of byte p = j / 4).
    const __m256i sl = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(gb + kRows8Iq4XsScalesLOffset));
    const __m256i lo = _mm256_and_si256(sl, low4y), hi = _mm256_and_si256(_mm256_srli_epi16(sl, 4), low4y);
    const __m256i a = _mm256_unpacklo_epi64(lo, hi), b = _mm256_unpackhi_epi64(lo, hi);  // sub-blocks 0 1 4 5, 2 3 6 7
    const __m128i sh = _mm_loadu_si128(reinterpret_cast<const __m128i*>(gb + kRows8Iq4XsScalesHOffset));
    __m512i sc16[2], pairs[2], sv[8];
#pragma GCC unroll 2
    for (int k = 0; k < 2; ++k) {
      const __m256i l4 = _mm256_permute2x128_si256(a, b, k == 0 ? 0x20 : 0x31);
      const __m256i h2 = _mm256_and_si256(
          _mm256_srlv_epi64(_mm256_broadcastq_epi64(k == 0 ? sh : _mm_unpackhi_epi64(sh, sh)), shifts), three);
      sc16[k] = _mm512_cvtepi8_epi16(_mm256_sub_epi8(_mm256_or_si256(l4, _mm256_slli_epi16(h2, 4)), bias));
      pairs[k] = PairsOfRows(sc16[k]);
    }
#pragma GCC unroll 8
    for (int j = 0; j < 8; ++j) sv[j] = _mm512_srai_epi32(SpreadToRows(sc16[j / 4], j % 4), 16);  // sign-extended
    const __m512 d = RowFactors(gb);
    __m512i isum[kNy];
#pragma GCC unroll 8
    for (int t = 0; t < kNy; ++t) isum[t] = _mm512_setzero_si512();
#pragma GCC unroll 8
    for (int j = 0; j < 8; ++j) {
      const __m512i w0 = _mm512_loadu_si512(gb + kRows8Iq4XsQsOffset + 128 * j);
      const __m512i w1 = _mm512_loadu_si512(gb + kRows8Iq4XsQsOffset + 128 * j + 64);
      const __m512i q[4] = {_mm512_shuffle_epi8(table, _mm512_and_si512(w0, low4)),
                            _mm512_shuffle_epi8(table, _mm512_and_si512(w1, low4)),
                            _mm512_shuffle_epi8(table, _mm512_and_si512(_mm512_srli_epi16(w0, 4), low4)),
                            _mm512_shuffle_epi8(table, _mm512_and_si512(_mm512_srli_epi16(w1, 4), low4))};
#pragma GCC unroll 8
      for (int t = 0; t < kNy; ++t) {
        const int8_t* yq = ys[t][i].qs + 32 * j;
        __m512i s = _mm512_setzero_si512();
#pragma GCC unroll 4
        for (int k = 0; k < 4; ++k) s = _mm512_dpbusd_epi32(s, q[k], Broadcast8(yq + 8 * k));
        isum[t] = _mm512_add_epi32(isum[t], _mm512_mullo_epi32(s, sv[j]));
      }
    }
#pragma GCC unroll 8
    for (int t = 0; t < kNy; ++t) {
      const BlockQ8K& yb = ys[t][i];
      const __m512i corr = PairsTimesSums32(pairs, yb);
      const __m512i total = _mm512_sub_epi32(isum[t], _mm512_slli_epi32(corr, 7));
      acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(total), _mm512_mul_ps(d, _mm512_set1_ps(yb.d)), acc[t]);
    }
  }
  StoreRows(acc, out, out_stride);
}

// gemv_rows8 of Q2_K, Q3_K, Q4_K, Q5_K, Q6_K and IQ4_XS: the groups of rows [0, n_rows) one after another.
template <GgmlType kType>
void KGemvRows8(int64_t n, const void* vx, size_t x_stride, int64_t n_rows, const void* vy, size_t y_stride,
                int n_tokens, float* out, size_t out_stride) {
  const int64_t nb = n / kQK_K;
  const uint8_t* x = static_cast<const uint8_t*>(vx);
  const size_t group_bytes = kRows8Group * x_stride;
  // No software prefetch along the groups: the rows are one sequential stream the hardware prefetcher
  // follows. From memory (micro-benchmark, 225 MiB of 2048 x 2048 matrices, six interleaved rounds):
  // none 29-32 GB/s on one core, 32-39 on two; one line per group block 8 KiB ahead into L1 28-31 /
  // 29-34; every line 32 KiB ahead into L2 (the legacy types' PrefetchAhead) 20-25 / 28-38; the
  // file-order gemv 21-24 / 31-37. Only the head of the rows is requested up front (PrefetchHead).
  PrefetchHead(x, (n_rows / kRows8Group) * group_bytes);
  const BlockQ8K* ys[kGemvMaxTokens];
  for (int t = 0; t < n_tokens; ++t) {
    ys[t] = reinterpret_cast<const BlockQ8K*>(static_cast<const uint8_t*>(vy) + t * y_stride);
  }
  WithUpTo8(n_tokens, [&](auto tokens) {
    for (int64_t g = 0; g < n_rows / kRows8Group; ++g) {
      constexpr int kNy = decltype(tokens)::value;
      if constexpr (kType == GgmlType::kQ6_K) {
        GroupSixteens<Q6KSource, kNy>(nb, x + g * group_bytes, ys, out + g * kRows8Group, out_stride);
      } else if constexpr (kType == GgmlType::kQ3_K) {
        GroupSixteens<Q3KSource, kNy>(nb, x + g * group_bytes, ys, out + g * kRows8Group, out_stride);
      } else if constexpr (kType == GgmlType::kQ2_K) {
        GroupSixteens<Q2KSource, kNy>(nb, x + g * group_bytes, ys, out + g * kRows8Group, out_stride);
      } else if constexpr (kType == GgmlType::kIQ4_XS) {
        GroupIq4Xs<kNy>(nb, x + g * group_bytes, ys, out + g * kRows8Group, out_stride);
      } else {
        GroupQ4K<kNy, kType == GgmlType::kQ5_K>(nb, x + g * group_bytes, ys, out + g * kRows8Group, out_stride);
      }
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Restoring groups to the file's row order (TypeKernels::unpack_rows8: the prefill kernel reads rows),
// with vector transposes instead of UnpackRows8's 8-byte and 1-byte copies (~4x fewer instructions).

// In every 128-bit lane holding byte j and byte j + 1 of the 8 rows ([j: r0..r7][j + 1: r0..r7]): the
// 16-bit word r = row r's bytes j, j + 1.
inline __m512i RowWords(__m512i v) {
  const __m512i index = _mm512_broadcast_i32x4(_mm_setr_epi8(0, 8, 1, 9, 2, 10, 3, 11, 4, 12, 5, 13, 6, 14, 7, 15));
  return _mm512_shuffle_epi8(v, index);
}

// int16 index vector: lane o = f(o).
template <typename F>
inline __m512i WordIndex(F f) {
  alignas(64) int16_t index[32];
  for (int o = 0; o < 32; ++o) index[o] = static_cast<int16_t>(f(o));
  return _mm512_load_si512(index);
}

// The 12 packed scale bytes of the 8 rows (byte p of row r at in + 8 p + r: Q4_K, Q5_K, Q3_K) -> row r's
// at out + r * stride.
inline void RestoreScales12(const uint8_t* in, uint8_t* out, size_t stride) {
  // Scale bytes p = 0..11: word (k = p / 2, r) at 8 k + r of a (k < 4) and of b (k >= 4, as the second
  // operand: 32 + 8 (k - 4) + r, the same number); row r's six words are output words 6 r .. 6 r + 5.
  const __m512i a = RowWords(_mm512_loadu_si512(in));
  const __m512i b = RowWords(_mm512_zextsi256_si512(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(in + 64))));
  static const __m512i index[2] = {WordIndex([](int o) { return o / 6 + 8 * (o % 6); }),
                                   WordIndex([](int o) { return (o + 32) / 6 + 8 * ((o + 32) % 6); })};
  alignas(64) uint8_t scales[128];
  _mm512_store_si512(scales, _mm512_permutex2var_epi16(a, index[0], b));
  _mm512_store_si512(scales + 64, _mm512_permutex2var_epi16(a, index[1], b));
  for (int r = 0; r < kRows8Group; ++r) std::memcpy(out + r * stride, scales + kKScaleBytes * r, kKScaleBytes);
}

// Q4_K / Q5_K (Block) group block gb -> row r's block at out + r * stride.
template <typename Block>
void RestoreQ4KBlock(const uint8_t* gb, uint8_t* out, size_t stride) {
  constexpr bool kQ5 = std::is_same_v<Block, BlockQ5K>;
  for (int r = 0; r < kRows8Group; ++r) {
    std::memcpy(out + r * stride + offsetof(Block, d), gb + 2 * r, 2);
    std::memcpy(out + r * stride + offsetof(Block, dmin), gb + kRows8KDminOffset + 2 * r, 2);
  }
  RestoreScales12(gb + kRows8KScalesOffset, out + offsetof(Block, scales), stride);
  if constexpr (kQ5) StoreRowPieces(gb + kRows8K5QhOffset, sizeof(BlockQ5K::qh), out + offsetof(BlockQ5K, qh), stride);
  StoreRowPieces(gb + (kQ5 ? kRows8K5QsOffset : kRows8KQsOffset), sizeof(Block::qs), out + offsetof(Block, qs), stride);
}

// Q6_K group block gb -> row r's block at out + r * stride.
void RestoreQ6KBlock(const uint8_t* gb, uint8_t* out, size_t stride) {
  for (int r = 0; r < kRows8Group; ++r) std::memcpy(out + r * stride + offsetof(BlockQ6K, d), gb + 2 * r, 2);
  // Scales j = 0..15: words (j / 2, r) at 8 (j / 2) + r of s0 (j < 8) / s1 (+ 32); row r's eight words
  // are output words 8 r .. 8 r + 7 (rows 0-3 in the first output, 4-7 in the second).
  const __m512i s0 = RowWords(_mm512_loadu_si512(gb + kRows8Q6ScalesOffset));
  const __m512i s1 = RowWords(_mm512_loadu_si512(gb + kRows8Q6ScalesOffset + 64));
  static const __m512i index[2] = {WordIndex([](int o) { return o / 8 + 8 * (o % 8); }),
                                   WordIndex([](int o) { return 4 + o / 8 + 8 * (o % 8); })};
  alignas(64) uint8_t scales[128];
  _mm512_store_si512(scales, _mm512_permutex2var_epi16(s0, index[0], s1));
  _mm512_store_si512(scales + 64, _mm512_permutex2var_epi16(s0, index[1], s1));
  for (int r = 0; r < kRows8Group; ++r) {
    std::memcpy(out + r * stride + offsetof(BlockQ6K, scales), scales + 16 * r, 16);
  }
#pragma GCC unroll 2
  for (int h = 0; h < 2; ++h) {
    // Parts: ql 64h + 8m.. (to ql + 64h), ql 64h + 32 + 8m.. (ql + 64h + 32), qh 32h + 8m.. (qh + 32h).
    const size_t dest[3] = {offsetof(BlockQ6K, ql) + 64 * h, offsetof(BlockQ6K, ql) + 64 * h + 32,
                            offsetof(BlockQ6K, qh) + 32 * h};
#pragma GCC unroll 3
    for (int part = 0; part < 3; ++part) {
      StoreRowQuads(gb + kRows8Q6QuantsOffset + 192 * 4 * h + 64 * part, 192, out + dest[part], stride);
    }
  }
}

// Q3_K group block gb -> row r's block at out + r * stride.
void RestoreQ3KBlock(const uint8_t* gb, uint8_t* out, size_t stride) {
  for (int r = 0; r < kRows8Group; ++r) std::memcpy(out + r * stride + offsetof(BlockQ3K, d), gb + 2 * r, 2);
  RestoreScales12(gb + kRows8Q3ScalesOffset, out + offsetof(BlockQ3K, scales), stride);
  StoreRowPieces(gb + kRows8Q3HmaskOffset, sizeof(BlockQ3K::hmask), out + offsetof(BlockQ3K, hmask), stride);
  StoreRowPieces(gb + kRows8Q3QsOffset, sizeof(BlockQ3K::qs), out + offsetof(BlockQ3K, qs), stride);
}

// Q2_K group block gb -> row r's block at out + r * stride.
void RestoreQ2KBlock(const uint8_t* gb, uint8_t* out, size_t stride) {
  for (int r = 0; r < kRows8Group; ++r) {
    uint8_t* row = out + r * stride;
    std::memcpy(row + offsetof(BlockQ2K, d), gb + 2 * r, 2);
    std::memcpy(row + offsetof(BlockQ2K, dmin), gb + kRows8Q2DminOffset + 2 * r, 2);
    for (size_t j = 0; j < sizeof(BlockQ2K::scales); ++j) {
      row[offsetof(BlockQ2K, scales) + j] = gb[kRows8Q2ScalesOffset + kRows8Group * j + r];
    }
  }
  StoreRowPieces(gb + kRows8Q2QsOffset, sizeof(BlockQ2K::qs), out + offsetof(BlockQ2K, qs), stride);
}

// IQ4_XS group block gb -> row r's block at out + r * stride.
void RestoreIq4XsBlock(const uint8_t* gb, uint8_t* out, size_t stride) {
  for (int r = 0; r < kRows8Group; ++r) {
    uint8_t* row = out + r * stride;
    std::memcpy(row + offsetof(BlockIq4Xs, d), gb + 2 * r, 2);
    for (size_t q = 0; q < sizeof(BlockIq4Xs::scales_l); ++q) {
      row[offsetof(BlockIq4Xs, scales_l) + q] = gb[kRows8Iq4XsScalesLOffset + kRows8Group * q + r];
    }
    for (size_t p = 0; p < sizeof(BlockIq4Xs::scales_h); ++p) {
      row[offsetof(BlockIq4Xs, scales_h) + p] = gb[kRows8Iq4XsScalesHOffset + kRows8Group * p + r];
    }
  }
  StoreRowPieces(gb + kRows8Iq4XsQsOffset, sizeof(BlockIq4Xs::qs), out + offsetof(BlockIq4Xs, qs), stride);
}

}  // namespace

void RegisterKRows8KernelsAvx512(KernelTable& table) {
  table[GgmlType::kQ4_K].gemv_rows8 = KGemvRows8<GgmlType::kQ4_K>;
  table[GgmlType::kQ5_K].gemv_rows8 = KGemvRows8<GgmlType::kQ5_K>;
  table[GgmlType::kQ6_K].gemv_rows8 = KGemvRows8<GgmlType::kQ6_K>;
  table[GgmlType::kQ4_K].unpack_rows8 = UnpackGroupRows<BlockQ4K, RestoreQ4KBlock<BlockQ4K>>;
  table[GgmlType::kQ5_K].unpack_rows8 = UnpackGroupRows<BlockQ5K, RestoreQ4KBlock<BlockQ5K>>;
  table[GgmlType::kQ6_K].unpack_rows8 = UnpackGroupRows<BlockQ6K, RestoreQ6KBlock>;
  table[GgmlType::kIQ4_XS].gemv_rows8 = KGemvRows8<GgmlType::kIQ4_XS>;
  table[GgmlType::kQ3_K].gemv_rows8 = KGemvRows8<GgmlType::kQ3_K>;
  table[GgmlType::kQ3_K].unpack_rows8 = UnpackGroupRows<BlockQ3K, RestoreQ3KBlock>;
  table[GgmlType::kQ2_K].gemv_rows8 = KGemvRows8<GgmlType::kQ2_K>;
  table[GgmlType::kQ2_K].unpack_rows8 = UnpackGroupRows<BlockQ2K, RestoreQ2KBlock>;
  table[GgmlType::kIQ4_XS].unpack_rows8 = UnpackGroupRows<BlockIq4Xs, RestoreIq4XsBlock>;
}

}  // namespace isv
