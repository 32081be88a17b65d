// AVX-512 level kernels of the K-quant types and IQ4_XS (F/BW/VL/VNNI):
//   - Q2_K..Q6_K dot products with 512-bit vectors (below): 64 quants per vector, vpdpwssd to apply
//     the sub-block scales and accumulate; Q4_K / Q5_K also have a decode kernel (gemv) that prepares
//     the activations once per call and prefetches the rows;
//   - IQ4_XS dot product with 512-bit vectors (table lookup with vpshufb, masked negation for the
//     signed products);
//   - Q8_K quantization: the k_quant_simd.inc body (256-bit vectors).
// Integer parts are exact; only the float accumulation order differs from the scalar oracle.
// The small fixed loops are unrolled explicitly (#pragma GCC unroll): at -O2 GCC 12 kept them as
// loops over stack arrays, which made the four-token Q4_K kernel barely faster than vec_dot.

// GCC 12 reports its own "undefined vector" idiom inside several AVX-512 intrinsics (e.g.
// _mm512_broadcast_i64x4, _mm512_cvtepi32_ps) as uninitialized use (GCC bug 105593, fixed in 13).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>

#include <cstddef>
#include <cstring>
#include <vector>

#include "engine/kernels/blocks_k.h"
#include "engine/kernels/k_quant_scales.h"
#include "engine/kernels/kernels.h"
#include "engine/tensor/float16.h"

namespace isv {
namespace {
#include "engine/kernels/k_quant_simd.inc"

// fp16 -> fp32 with F16C: one instruction, equal to Fp16ToFp32 (float16.h, the portable bit
// manipulation, ~15 integer instructions on the decode path) for every non-NaN input.
inline float Half(uint16_t h) { return _cvtsh_ss(h); }

// ---------------------------------------------------------------------------------------------
// 512-bit versions of the K-quant dot products. Each block is four vectors of 64 unsigned quants: in
// element order for Q2_K / Q3_K / Q6_K (a vector built from one 32-byte group of packed quants
// broadcast to both halves and shifted by a different amount per half, vpsrlvw), in "split" order
// for Q4_K / Q5_K (below).

// int16 vector: lanes 0-15 = lo, lanes 16-31 = hi.
inline __m512i Halves16(int lo, int hi) {
  return _mm512_inserti64x4(_mm512_zextsi256_si512(_mm256_set1_epi16(static_cast<int16_t>(lo))),
                            _mm256_set1_epi16(static_cast<int16_t>(hi)), 1);
}

inline __m512i Broadcast32(const uint8_t* p) {
  return _mm512_broadcast_i64x4(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
}

// The sub-block scales of one block spread to the int16 lanes of the products of each of the four
// 64-quant vectors. sc8: the 16 sub-block scales as int8.
inline void ScaleVectors512(__m128i sc8, __m512i* sv) {
  const __m512i s16 = _mm512_zextsi256_si512(_mm256_cvtepi8_epi16(sc8));
  // int16 lane L of the products of vector v belongs to sub-block 4v + L / 8.
  const __m512i lane_group = _mm512_set_epi16(3, 3, 3, 3, 3, 3, 3, 3, 2, 2, 2, 2, 2, 2, 2, 2, 1, 1,
                                              1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0);
#pragma GCC unroll 8
  for (int v = 0; v < 4; ++v) {
    const __m512i idx = _mm512_add_epi16(lane_group, _mm512_set1_epi16(static_cast<int16_t>(4 * v)));
    sv[v] = _mm512_permutexvar_epi16(idx, s16);
  }
}

// Sum over the block of scale(sub-block of 16) * q * y, in 16 int32 lanes (sv from ScaleVectors512).
inline __m512i DotScaledVectors512(const __m512i* q, const int8_t* y, const __m512i* sv) {
  __m512i acc = _mm512_setzero_si512();
#pragma GCC unroll 8
  for (int v = 0; v < 4; ++v) {
    const __m512i yv = _mm512_loadu_si512(y + 64 * v);
    acc = _mm512_dpwssd_epi32(acc, _mm512_maddubs_epi16(q[v], yv), sv[v]);
  }
  return acc;
}

inline __m512i DotScaled512(const __m512i* q, const int8_t* y, __m128i sc8) {
  __m512i sv[4];
  ScaleVectors512(sc8, sv);
  return DotScaledVectors512(q, y, sv);
}

// Q4_K / Q5_K in "split" order. qs holds four 32-byte chunks; chunk c has elements 64c..64c+31 in its
// low nibbles and 64c+32..64c+63 in its high ones. One 64-byte load of chunks 2k and 2k+1 gives two
// vectors with one AND and one shift + AND each (instead of a broadcast, a variable shift and an AND
// per vector, as before):
//   q[2k]     = low nibbles:  bytes 0-31 elements 128k+0..31  (sub-block 4k),  32-63 128k+64..95  (4k+2)
//   q[2k + 1] = high nibbles: bytes 0-31 elements 128k+32..63 (sub-block 4k+1), 32-63 128k+96..127 (4k+3)
// and the activations are read in the same order (kSplitY). Per block and token:
//   isum (16 int32 lanes) = sum_v vpdpwssd(vpmaddubsw(q[v], y[v]), scale of the lane's sub-block)
//   msum (8 int32 lanes)  = lane j: min_j * (sum of the activation quants of sub-block j)
//   acc += fp32(d) * dy * float(isum);  acc_m += fp32(dmin) * dy * float(msum)
// result = sum(acc) - sum(acc_m). The lanes are exact integers, so the two activation sources below
// (Q8_K as stored, and the same values prepared once per gemv call) give the same bits.
constexpr int kSplitY[4][2] = {{0, 64}, {32, 96}, {128, 192}, {160, 224}};  // y offsets of the halves of q[v]

// Activations as Q8_K stores them (vec_dot, gemm_tile): the halves of y[v] come from two loads.
struct K4RawActivations {
  const BlockQ8K* row;
  __m512i Y(int64_t i, int v) const {
    const int8_t* q = row[i].qs;
    return _mm512_inserti64x4(
        _mm512_castsi256_si512(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(q + kSplitY[v][0]))),
        _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q + kSplitY[v][1])), 1);
  }
  // int32 lane j: sum of the 32 activation quants of sub-block j.
  __m256i SubBlockSums(int64_t i) const {
    return _mm256_madd_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(row[i].bsums)),
                             _mm256_set1_epi16(1));
  }
  float D(int64_t i) const { return row[i].d; }
};

// The same values laid out once per gemv call: quants already in split order, sub-block sums done.
struct alignas(64) K4PreparedBlock {
  int8_t qs[kQK_K];
  int32_t sub_block_sums[8];
  float d;
};
struct K4PreparedActivations {
  const K4PreparedBlock* row;
  __m512i Y(int64_t i, int v) const { return _mm512_load_si512(row[i].qs + 64 * v); }
  __m256i SubBlockSums(int64_t i) const {
    return _mm256_load_si256(reinterpret_cast<const __m256i*>(row[i].sub_block_sums));
  }
  float D(int64_t i) const { return row[i].d; }
};

void PrepareK4Activations(const BlockQ8K* y, int64_t nb, K4PreparedBlock* out) {
  const K4RawActivations raw{y};
  for (int64_t i = 0; i < nb; ++i) {
#pragma GCC unroll 8
    for (int v = 0; v < 4; ++v) _mm512_store_si512(out[i].qs + 64 * v, raw.Y(i, v));
    _mm256_store_si256(reinterpret_cast<__m256i*>(out[i].sub_block_sums), raw.SubBlockSums(i));
    out[i].d = raw.D(i);
  }
}

// Bytes ahead of the current block that the gemv prefetches: each line of a block (144 / 176 bytes,
// up to three lines) is requested 4 KiB early. From memory, one core, Q4_K: no prefetch 18-19 GB/s,
// one prefetch per block (the other lines left to the hardware prefetcher) 21-22, all three 23-24
// (cf. kGemvPrefetchBytes in legacy_quant_tile.inc).
constexpr int kK4PrefetchBytes = 4096;

// out[t * out_stride] = dot(row, activation row t) for t < kNy: each block unpacked once for all
// kNy activation rows.
template <bool kFiveBit, int kNy, bool kPrefetch, typename Activations>
void Avx512K4Row(int64_t nb, const uint8_t* row, const Activations* acts, float* out, size_t out_stride) {
  constexpr size_t kBlockBytes = kFiveBit ? sizeof(BlockQ5K) : sizeof(BlockQ4K);
  constexpr size_t kQsOffset = kFiveBit ? offsetof(BlockQ5K, qs) : offsetof(BlockQ4K, qs);
  const __m512i low4 = _mm512_set1_epi8(0x0F);
  const __m512i one = _mm512_set1_epi8(1);
  // Lanes of each q[v]: its two sub-blocks' scales (int16 lanes 8-15 of the unpacked bytes).
  const __m512i scale_index[4] = {Halves16(8 + 0, 8 + 2), Halves16(8 + 1, 8 + 3), Halves16(8 + 4, 8 + 6),
                                  Halves16(8 + 5, 8 + 7)};
  __m512 acc[kNy];
  __m256 acc_m[kNy];
#pragma GCC unroll 8
  for (int t = 0; t < kNy; ++t) {
    acc[t] = _mm512_setzero_ps();
    acc_m[t] = _mm256_setzero_ps();
  }
  for (int64_t i = 0; i < nb; ++i) {
    const uint8_t* b = row + i * kBlockBytes;
    if constexpr (kPrefetch) {
#pragma GCC unroll 4
      for (int line = 0; line < 3; ++line) {
        _mm_prefetch(reinterpret_cast<const char*>(b) + kK4PrefetchBytes + 64 * line, _MM_HINT_T0);
      }
    }
    const __m128i mins_scales = K4MinsScales(b + offsetof(BlockQ4K, scales));  // same offset in BlockQ5K
    const __m512i ms16 = _mm512_zextsi256_si512(_mm256_cvtepu8_epi16(mins_scales));
    const __m256i mins32 = _mm256_cvtepu8_epi32(mins_scales);  // each min in the low half of an int32
    __m512i q[4];
#pragma GCC unroll 4
    for (int k = 0; k < 2; ++k) {
      const __m512i bits = _mm512_loadu_si512(b + kQsOffset + 64 * k);
      q[2 * k] = _mm512_and_si512(bits, low4);
      q[2 * k + 1] = _mm512_and_si512(_mm512_srli_epi16(bits, 4), low4);
    }
    if constexpr (kFiveBit) {
      // qh[l] bit 2c: fifth bit of element 64c + l; bit 2c + 1: of element 64c + 32 + l.
      const __m512i qh = Broadcast32(b + offsetof(BlockQ5K, qh));
#pragma GCC unroll 4
      for (int v = 0; v < 4; ++v) {
        const int c0 = kSplitY[v][0] / 32, c1 = kSplitY[v][1] / 32;  // 32-element groups = qh bits
        const __m512i h = _mm512_and_si512(_mm512_srlv_epi16(qh, Halves16(c0, c1)), one);
        q[v] = _mm512_or_si512(q[v], _mm512_slli_epi16(h, 4));
      }
    }
    __m512i sv[4];
#pragma GCC unroll 4
    for (int v = 0; v < 4; ++v) sv[v] = _mm512_permutexvar_epi16(scale_index[v], ms16);
    uint32_t d_dmin;  // two fp16 at the block's start (d, then dmin)
    std::memcpy(&d_dmin, b + offsetof(BlockQ4K, d), 4);
    const __m128 dx = _mm_cvtph_ps(_mm_cvtsi32_si128(static_cast<int>(d_dmin)));  // [d, dmin, 0, 0]
#pragma GCC unroll 8
    for (int t = 0; t < kNy; ++t) {
      __m512i isum = _mm512_setzero_si512();
#pragma GCC unroll 4
      for (int v = 0; v < 4; ++v) {
        isum = _mm512_dpwssd_epi32(isum, _mm512_maddubs_epi16(q[v], acts[t].Y(i, v)), sv[v]);
      }
      // A sub-block sum fits in int16 (|sum| <= 32 * 128), so vpmaddwd of the zero-extended min
      // with the sum's low int16 (its high one meets the min's zero half) is the exact product.
      const __m256i msum = _mm256_madd_epi16(mins32, acts[t].SubBlockSums(i));
      const __m128 f = _mm_mul_ps(dx, _mm_set1_ps(acts[t].D(i)));  // [d * dy, dmin * dy]
      acc[t] = _mm512_fmadd_ps(_mm512_broadcastss_ps(f), _mm512_cvtepi32_ps(isum), acc[t]);
      acc_m[t] = _mm256_fmadd_ps(_mm256_broadcastss_ps(_mm_movehdup_ps(f)), _mm256_cvtepi32_ps(msum), acc_m[t]);
    }
  }
#pragma GCC unroll 8
  for (int t = 0; t < kNy; ++t) out[t * out_stride] = _mm512_reduce_add_ps(acc[t]) - HsumFloat8(acc_m[t]);
}

// vec_dot / gemm_tile form: kNy activation rows as stored.
template <bool kFiveBit, int kNy>
void Avx512K4Dot(int64_t n, const uint8_t* x, const BlockQ8K* const* ys, float* out) {
  K4RawActivations acts[kNy];
#pragma GCC unroll 8
  for (int t = 0; t < kNy; ++t) acts[t].row = ys[t];
  Avx512K4Row<kFiveBit, kNy, false>(n / kQK_K, x, acts, out, 1);
}

// TypeKernels::gemv of Q4_K / Q5_K (1 to kGemvMaxTokens tokens): the activations prepared once per
// call (K4PreparedActivations), then each row as Avx512K4Row with the prefetch.
template <bool kFiveBit, int kNy>
void K4GemvRows(int64_t nb, const uint8_t* x, size_t x_stride, int64_t n_rows, const K4PreparedActivations* acts,
                float* out, size_t out_stride) {
  for (int64_t r = 0; r < n_rows; ++r) {
    Avx512K4Row<kFiveBit, kNy, true>(nb, x + r * x_stride, acts, out + r, out_stride);
  }
}

template <bool kFiveBit>
void K4Gemv(int64_t n, const void* vx, size_t x_stride, int64_t n_rows, const void* vy, size_t y_stride,
            int n_tokens, float* out, size_t out_stride) {
  const int64_t nb = n / kQK_K;
  thread_local std::vector<K4PreparedBlock> prepared;  // one buffer per thread, grown when needed
  if (prepared.size() < static_cast<size_t>(n_tokens * nb)) prepared.resize(n_tokens * nb);
  K4PreparedActivations acts[kGemvMaxTokens];
  for (int t = 0; t < n_tokens; ++t) {
    const auto* y = reinterpret_cast<const BlockQ8K*>(static_cast<const uint8_t*>(vy) + t * y_stride);
    PrepareK4Activations(y, nb, &prepared[t * nb]);
    acts[t].row = &prepared[t * nb];
  }
  const uint8_t* x = static_cast<const uint8_t*>(vx);
  static_assert(kGemvMaxTokens == 8, "K4Gemv handles 1..8 tokens (WithUpTo8)");
  WithUpTo8(n_tokens, [&](auto tokens) {
    K4GemvRows<kFiveBit, decltype(tokens)::value>(nb, x, x_stride, n_rows, acts, out, out_stride);
  });
}

// Q6_K: in half h, bytes ql[64h..64h+63] hold elements 128h+0..63 (low nibbles) and 128h+64..127
// (high nibbles); qh[32h + l] holds 2 high bits for elements l, l+32, l+64, l+96 of the half.
template <int kNy>
void Avx512Q6KDot(int64_t n, const void* vx, const BlockQ8K* const* ys, float* out) {
  const BlockQ6K* x = static_cast<const BlockQ6K*>(vx);
  const __m512i low4 = _mm512_set1_epi8(0x0F);
  const __m512i bits45 = _mm512_set1_epi8(0x30);
  // Moves the 2-bit fields at bits 0 / 2 (of the lower / upper 256 bits) up to bits 4-5, and those
  // at bits 4 / 6 to bits 4-5 (16-bit shifts: what crosses into the other byte is masked off).
  const __m512i shift_lo_up = Halves16(4, 2), shift_hi_down = Halves16(0, 2);
  __m512 acc[kNy];
#pragma GCC unroll 8
  for (int j = 0; j < kNy; ++j) acc[j] = _mm512_setzero_ps();
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    __m512i q[4];
#pragma GCC unroll 8
    for (int h = 0; h < 2; ++h) {
      const __m512i l = _mm512_loadu_si512(x[i].ql + 64 * h);
      const __m512i hb = Broadcast32(x[i].qh + 32 * h);
      const __m512i h_lo = _mm512_and_si512(_mm512_sllv_epi16(hb, shift_lo_up), bits45);
      const __m512i h_hi = _mm512_and_si512(_mm512_srlv_epi16(hb, shift_hi_down), bits45);
      // (a & b) | c in one vpternlogd (truth table 0xEA).
      q[2 * h] = _mm512_ternarylogic_epi32(l, low4, h_lo, 0xEA);
      q[2 * h + 1] = _mm512_ternarylogic_epi32(_mm512_srli_epi16(l, 4), low4, h_hi, 0xEA);
    }
    const __m128i sc8 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(x[i].scales));
    __m512i sv[4];
    ScaleVectors512(sc8, sv);
    const __m256i sc16 = _mm256_cvtepi8_epi16(sc8);
    const float dx = Half(x[i].d);
#pragma GCC unroll 8
    for (int j = 0; j < kNy; ++j) {
      const BlockQ8K& yb = ys[j][i];
      const __m512i isum = DotScaledVectors512(q, yb.qs, sv);
      const __m256i corr = BsumDot(yb.bsums, sc16);
      // Quants are stored +32: subtract 32 * sum_j scale_j * bsum_j (in the 8 low lanes).
      const __m512i total = _mm512_sub_epi32(isum, _mm512_zextsi256_si512(_mm256_slli_epi32(corr, 5)));
      acc[j] = _mm512_fmadd_ps(_mm512_set1_ps(dx * yb.d), _mm512_cvtepi32_ps(total), acc[j]);
    }
  }
#pragma GCC unroll 8
  for (int j = 0; j < kNy; ++j) out[j] = _mm512_reduce_add_ps(acc[j]);
}

// vec_dot and gemm_tile (KGemmTile, k_quant_simd.inc) of Q4_K / Q5_K / Q6_K: one weight row x up to
// 8 tokens per call, each block unpacked once for all of them.
struct Q4KRow {
  template <int kNy>
  static void Dot(int64_t n, const void* x, const BlockQ8K* const* ys, float* out) {
    Avx512K4Dot<false, kNy>(n, static_cast<const uint8_t*>(x), ys, out);
  }
};
struct Q5KRow {
  template <int kNy>
  static void Dot(int64_t n, const void* x, const BlockQ8K* const* ys, float* out) {
    Avx512K4Dot<true, kNy>(n, static_cast<const uint8_t*>(x), ys, out);
  }
};
struct Q6KRow {
  template <int kNy>
  static void Dot(int64_t n, const void* x, const BlockQ8K* const* ys, float* out) {
    Avx512Q6KDot<kNy>(n, x, ys, out);
  }
};

// Q3_K / Q2_K: in half h, qs[32h + l] holds 2 bits for elements 128h + 32s + l at bit 2s
// (s = 0..3); Q3_K's high bit of element 128h + 32s + l is bit 4h + s of hmask[l].
template <bool kThreeBit>
void Avx512LowBitQuants(const uint8_t* qs, const uint8_t* hmask, __m512i* q) {
  const __m512i m3 = _mm512_set1_epi8(3);
  const __m512i one = _mm512_set1_epi8(1);
  const __m512i hm = kThreeBit ? Broadcast32(hmask) : _mm512_setzero_si512();
#pragma GCC unroll 8
  for (int h = 0; h < 2; ++h) {
    const __m512i bits = Broadcast32(qs + 32 * h);
#pragma GCC unroll 8
    for (int p = 0; p < 2; ++p) {
      __m512i v = _mm512_and_si512(_mm512_srlv_epi16(bits, Halves16(4 * p, 4 * p + 2)), m3);
      if constexpr (kThreeBit) {
        const __m512i hb = _mm512_and_si512(
            _mm512_srlv_epi16(hm, Halves16(4 * h + 2 * p, 4 * h + 2 * p + 1)), one);
        v = _mm512_or_si512(v, _mm512_slli_epi16(hb, 2));
      }
      q[2 * h + p] = v;
    }
  }
}

float Avx512Q3KVecDot(int64_t n, const void* vx, const void* vy) {
  const BlockQ3K* x = static_cast<const BlockQ3K*>(vx);
  const BlockQ8K* y = static_cast<const BlockQ8K*>(vy);
  __m512 acc = _mm512_setzero_ps();
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    __m512i q[4];
    Avx512LowBitQuants<true>(x[i].qs, x[i].hmask, q);  // q + 4 in [0, 7]
    const __m128i sc8 = Q3Scales(x[i].scales);
    const __m512i isum = DotScaled512(q, y[i].qs, sc8);
    const __m256i corr = BsumDot(y[i].bsums, _mm256_cvtepi8_epi16(sc8));
    const __m512i total =
        _mm512_sub_epi32(isum, _mm512_zextsi256_si512(_mm256_slli_epi32(corr, 2)));
    const float d = Half(x[i].d) * y[i].d;
    acc = _mm512_fmadd_ps(_mm512_set1_ps(d), _mm512_cvtepi32_ps(total), acc);
  }
  return _mm512_reduce_add_ps(acc);
}

float Avx512Q2KVecDot(int64_t n, const void* vx, const void* vy) {
  const BlockQ2K* x = static_cast<const BlockQ2K*>(vx);
  const BlockQ8K* y = static_cast<const BlockQ8K*>(vy);
  const __m128i low4 = _mm_set1_epi8(0x0F);
  __m512 acc = _mm512_setzero_ps();
  __m256 acc_m = _mm256_setzero_ps();
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    __m512i q[4];
    Avx512LowBitQuants<false>(x[i].qs, nullptr, q);
    const __m128i packed = _mm_loadu_si128(reinterpret_cast<const __m128i*>(x[i].scales));
    const __m128i sc8 = _mm_and_si128(packed, low4);
    const __m128i mn8 = _mm_and_si128(_mm_srli_epi16(packed, 4), low4);
    const __m512i isum = DotScaled512(q, y[i].qs, sc8);
    const __m256i msum = BsumDot(y[i].bsums, _mm256_cvtepu8_epi16(mn8));
    const float dall = y[i].d * Half(x[i].d);
    const float dmin = y[i].d * Half(x[i].dmin);
    acc = _mm512_fmadd_ps(_mm512_set1_ps(dall), _mm512_cvtepi32_ps(isum), acc);
    acc_m = _mm256_fmadd_ps(_mm256_set1_ps(dmin), _mm256_cvtepi32_ps(msum), acc_m);
  }
  return _mm512_reduce_add_ps(acc) - HsumFloat8(acc_m);
}

// IQ4_XS: 64 bytes of quants = sub-blocks 4k..4k+3 (one per 128-bit lane); low nibbles are the
// first 16 elements of each sub-block, high nibbles the last 16. Levels are signed, so the products
// use |v| * (y with v's sign) as the AVX2 version does. REQUIRES: Q8_K quants in [-127, 127].
float Avx512Iq4XsVecDot(int64_t n, const void* vx, const void* vy) {
  const BlockIq4Xs* x = static_cast<const BlockIq4Xs*>(vx);
  const BlockQ8K* y = static_cast<const BlockQ8K*>(vy);
  const __m512i lut =
      _mm512_broadcast_i32x4(_mm_loadu_si128(reinterpret_cast<const __m128i*>(kIq4nlValues)));
  const __m512i low4 = _mm512_set1_epi8(0x0F);
  const __m512i lane_group = _mm512_set_epi16(3, 3, 3, 3, 3, 3, 3, 3, 2, 2, 2, 2, 2, 2, 2, 2, 1, 1,
                                              1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0);
  __m512 acc = _mm512_setzero_ps();
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    // The 8 six-bit scales: low nibbles from scales_l (two per byte), high 2 bits from scales_h.
    uint32_t low;
    std::memcpy(&low, x[i].scales_l, 4);
    const int h = x[i].scales_h;
    const __m128i s16 = _mm_sub_epi16(
        _mm_setr_epi16(static_cast<int16_t>((low & 0xF) | ((h << 4) & 0x30)),
                       static_cast<int16_t>(((low >> 4) & 0xF) | ((h << 2) & 0x30)),
                       static_cast<int16_t>(((low >> 8) & 0xF) | (h & 0x30)),
                       static_cast<int16_t>(((low >> 12) & 0xF) | ((h >> 2) & 0x30)),
                       static_cast<int16_t>(((low >> 16) & 0xF) | ((h >> 4) & 0x30)),
                       static_cast<int16_t>(((low >> 20) & 0xF) | ((h >> 6) & 0x30)),
                       static_cast<int16_t>(((low >> 24) & 0xF) | ((h >> 8) & 0x30)),
                       static_cast<int16_t>(((low >> 28) & 0xF) | ((h >> 10) & 0x30))),
        _mm_set1_epi16(32));
    const __m512i s16w = _mm512_zextsi128_si512(s16);
    __m512i isum = _mm512_setzero_si512();
#pragma GCC unroll 8
    for (int k = 0; k < 2; ++k) {
      const __m512i bits = _mm512_loadu_si512(x[i].qs + 64 * k);
      const __m512i v_lo = _mm512_shuffle_epi8(lut, _mm512_and_si512(bits, low4));
      const __m512i v_hi =
          _mm512_shuffle_epi8(lut, _mm512_and_si512(_mm512_srli_epi16(bits, 4), low4));
      const __m512i y0 = _mm512_loadu_si512(y[i].qs + 128 * k);
      const __m512i y1 = _mm512_loadu_si512(y[i].qs + 128 * k + 64);
      // 128-bit lanes (0, 2) of y0 then of y1: first halves of sub-blocks 4k..4k+3; (1, 3): second.
      const __m512i y_lo = _mm512_shuffle_i64x2(y0, y1, 0x88);
      const __m512i y_hi = _mm512_shuffle_i64x2(y0, y1, 0xDD);
      const __m512i zero = _mm512_setzero_si512();
      const __m512i p_lo = _mm512_maddubs_epi16(
          _mm512_abs_epi8(v_lo), _mm512_mask_sub_epi8(y_lo, _mm512_movepi8_mask(v_lo), zero, y_lo));
      const __m512i p_hi = _mm512_maddubs_epi16(
          _mm512_abs_epi8(v_hi), _mm512_mask_sub_epi8(y_hi, _mm512_movepi8_mask(v_hi), zero, y_hi));
      const __m512i scale = _mm512_permutexvar_epi16(
          _mm512_add_epi16(lane_group, _mm512_set1_epi16(static_cast<int16_t>(4 * k))), s16w);
      isum = _mm512_dpwssd_epi32(isum, p_lo, scale);
      isum = _mm512_dpwssd_epi32(isum, p_hi, scale);
    }
    const float d = Half(x[i].d) * y[i].d;
    acc = _mm512_fmadd_ps(_mm512_set1_ps(d), _mm512_cvtepi32_ps(isum), acc);
  }
  return _mm512_reduce_add_ps(acc);
}

}  // namespace

void RegisterKQuantKernelsAvx512(KernelTable& table) {
  table[GgmlType::kQ2_K].vec_dot = Avx512Q2KVecDot;
  table[GgmlType::kQ3_K].vec_dot = Avx512Q3KVecDot;
  RegisterKRow<Q4KRow>(table[GgmlType::kQ4_K]);
  RegisterKRow<Q5KRow>(table[GgmlType::kQ5_K]);
  RegisterKRow<Q6KRow>(table[GgmlType::kQ6_K]);
  table[GgmlType::kQ4_K].gemv = K4Gemv<false>;
  table[GgmlType::kQ5_K].gemv = K4Gemv<true>;
  table[GgmlType::kIQ4_XS].vec_dot = Avx512Iq4XsVecDot;
  table[GgmlType::kQ8_K].from_float = SimdQuantizeQ8K;
}

}  // namespace isv
