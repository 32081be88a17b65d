// AVX-512 VNNI prefill kernels of Q2_K, Q3_K, Q4_K, Q5_K, Q6_K and IQ4_XS (prefill.h): the layout of prefill_avx512.cc
// (one zmm = one (row, sub-block) for 16 tokens, broadcast weight words x packed activations) with
// the K-quant order: each sub-block's sum is scaled by its integer scale in int32 (VPMULLD) and added
// to the row's base (prefill_k_unpack.inc: what removes the +128 of the activations), which makes the
// super-block's exact integer sum; the mins (Q2_K / Q4_K / Q5_K) come from the packed activation sums
// with VPDPWSSD (two sub-blocks per instruction); then two FMAs per super-block and row.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <type_traits>
#include <vector>

#include "engine/kernels/blocks_k.h"
#include "engine/kernels/k_quant_scales.h"
#include "engine/kernels/kernels.h"
#include "engine/kernels/prefill.h"

namespace isv {
namespace {

constexpr int kTileRows = 8;

#include "engine/kernels/prefill_k_unpack.inc"

// Faster unpackers of every type here (prefill_k_unpack.inc's contract) with AVX-512: a whole block in
// a few zmm, the base as one VPDPBUSD per 64 quants against their sub-blocks' scales (VPSHUFB of the
// scale bytes) instead of per-sub-block sums. Unpacking runs once per 8 rows and token block, so for
// short prompts it weighs: measured on the development EPYC, one thread, 8-row calls on a 2048 x 4096
// matrix, GMAC/s for 32 / 64 / 512 tokens, generic -> these: Q4_K 92 / 120 / 161 -> 140 / 144 / 167,
// Q2_K 88 / 116 / 144 -> 119 / 139 / 148, Q3_K 86 / 115 / 148 -> 111 / 134 / 164 (scales decoded one
// by one) -> 145 / 157 / 168, IQ4_XS 116 / 142 / 175 -> 120 / 147 / 173 (one by one) -> 158 / 172 / 173.

// Bytes of a zmm covering sub-blocks of 32 quants: lanes 0-1 take scale byte `first`, lanes 2-3 byte
// first + 1, of the 8 scale bytes in each 64-bit lane of `scales`.
inline __m512i ScalesOfPair(__m512i scales, int first) {
  const __m512i index =
      _mm512_inserti64x4(_mm512_set1_epi8(static_cast<char>(first)), _mm256_set1_epi8(static_cast<char>(first + 1)), 1);
  return _mm512_shuffle_epi8(scales, index);
}

template <bool kFive>
void UnpackQ45KFast(const uint8_t* block, int8_t* q, int32_t* sc, int32_t* mins, int32_t* base, float* d, float* dmin) {
  using Block = std::conditional_t<kFive, BlockQ5K, BlockQ4K>;
  const Block& b = *reinterpret_cast<const Block*>(block);
  const __m128i mins_scales = K4MinsScales(b.scales);  // mins in bytes 0-7, scales in 8-15
  const __m128i scales8 = _mm_unpackhi_epi64(mins_scales, mins_scales);
  const __m512i scales = _mm512_broadcastq_epi64(scales8);
  const __m512i low4 = _mm512_set1_epi8(0x0F);
  __m512i acc = _mm512_setzero_si512();
  for (int h = 0; h < 2; ++h) {  // chunks 2h, 2h + 1 of 32 bytes: sub-blocks 4h .. 4h + 3
    const __m512i v = _mm512_loadu_si512(b.qs + 64 * h);
    __m512i lo = _mm512_and_si512(v, low4);                        // sub-blocks 4h | 4h + 2
    __m512i hi = _mm512_and_si512(_mm512_srli_epi16(v, 4), low4);  // 4h + 1 | 4h + 3
    if constexpr (kFive) {
      // Bit 2c of qh byte i: +16 on quant i of sub-block 2c (chunk c's low nibbles); bit 2c + 1: 2c + 1.
      const __m512i qh = _mm512_broadcast_i64x4(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.qh)));
      const int c = 2 * h;
      const __m512i lo_bits = _mm512_inserti64x4(_mm512_set1_epi8(static_cast<char>(1 << (2 * c))),
                                                 _mm256_set1_epi8(static_cast<char>(1 << (2 * c + 2))), 1);
      const __m512i hi_bits = _mm512_add_epi8(lo_bits, lo_bits);
      const __m512i sixteen = _mm512_set1_epi8(16);
      lo = _mm512_mask_add_epi8(lo, _mm512_test_epi8_mask(qh, lo_bits), lo, sixteen);
      hi = _mm512_mask_add_epi8(hi, _mm512_test_epi8_mask(qh, hi_bits), hi, sixteen);
    }
    const __m512i first = _mm512_shuffle_i64x2(lo, hi, _MM_SHUFFLE(1, 0, 1, 0));   // sub-blocks 4h, 4h + 1
    const __m512i second = _mm512_shuffle_i64x2(lo, hi, _MM_SHUFFLE(3, 2, 3, 2));  // 4h + 2, 4h + 3
    _mm512_storeu_si512(q + 128 * h, first);
    _mm512_storeu_si512(q + 128 * h + 64, second);
    acc = _mm512_dpbusd_epi32(acc, first, ScalesOfPair(scales, 4 * h));
    acc = _mm512_dpbusd_epi32(acc, second, ScalesOfPair(scales, 4 * h + 2));
  }
  *base = -128 * _mm512_reduce_add_epi32(acc);
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(sc), _mm256_cvtepu8_epi32(scales8));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(mins), _mm_cvtepu8_epi16(mins_scales));
  *d = _cvtsh_ss(b.d);
  *dmin = _cvtsh_ss(b.dmin);
}

// Bytes of a zmm covering 4 sub-blocks of 16 quants (one per 128-bit lane): lane k takes scale byte
// first + k of the 16 scale bytes in each lane of `scales`.
inline __m512i ScalesOfQuad(__m512i scales, int first) {
  // Every byte of 128-bit lane k is k.
  const __m512i lane =
      _mm512_set_epi32(0x03030303, 0x03030303, 0x03030303, 0x03030303, 0x02020202, 0x02020202, 0x02020202, 0x02020202,
                       0x01010101, 0x01010101, 0x01010101, 0x01010101, 0, 0, 0, 0);
  return _mm512_shuffle_epi8(scales, _mm512_add_epi8(lane, _mm512_set1_epi8(static_cast<char>(first))));
}

void UnpackQ6KFast(const uint8_t* block, int8_t* q, int32_t* sc, int32_t*, int32_t* base, float* d, float* dmin) {
  const BlockQ6K& b = *reinterpret_cast<const BlockQ6K*>(block);
  const __m512i scales = _mm512_broadcast_i32x4(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b.scales)));
  const __m512i low4 = _mm512_set1_epi8(0x0F), low2 = _mm512_set1_epi8(0x03), off = _mm512_set1_epi8(32);
  __m512i acc = _mm512_setzero_si512();
  for (int h = 0; h < 2; ++h) {  // quants 128h .. 128h + 127
    const __m512i l = _mm512_loadu_si512(b.ql + 64 * h);
    const __m256i hb = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.qh + 32 * h));
    const __m512i hh = _mm512_inserti64x4(_mm512_castsi256_si512(hb), _mm256_srli_epi16(hb, 2), 1);
    // The 6-bit values (quant + 32): quants 128h + 0..63, then 64..127.
    const __m512i u[2] = {
        _mm512_or_si512(_mm512_and_si512(l, low4), _mm512_slli_epi16(_mm512_and_si512(hh, low2), 4)),
        _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(l, 4), low4),
                        _mm512_slli_epi16(_mm512_and_si512(_mm512_srli_epi16(hh, 4), low2), 4)),
    };
    for (int k = 0; k < 2; ++k) {
      _mm512_storeu_si512(q + 128 * h + 64 * k, _mm512_sub_epi8(u[k], off));
      acc = _mm512_dpbusd_epi32(acc, u[k], ScalesOfQuad(scales, 8 * h + 4 * k));
    }
  }
  const __m512i sc32 = _mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b.scales)));
  _mm512_storeu_si512(sc, sc32);
  // sum of scale * quant = sum of scale * (quant + 32) - 32 * 16 * (sum of the scales)
  *base = -128 * (_mm512_reduce_add_epi32(acc) - 512 * _mm512_reduce_add_epi32(sc32));
  *d = _cvtsh_ss(b.d);
  *dmin = 0;
}

// Q2_K / Q3_K: the 2-bit fields of qs (half h of the block in 256-bit half h of `qs`) plus 4 where the
// Q3_K hmask bit is set (kQ3), as u = quant + offset in [0, 7]; stored minus `offset` (Q2_K 0, Q3_K 4)
// in the tile's order, with acc += u x the sub-blocks' scales (16 scale bytes in each lane of `scales`).
template <bool kQ3>
inline void TwoBitQuants(__m512i qs, __m512i hmask, __m512i scales, int offset, int8_t* q, __m512i& acc) {
  const __m512i low2 = _mm512_set1_epi8(3);
  __m512i u[4];  // u[j]: quants 32 j .. + 31 of half 0 | of half 1
#pragma GCC unroll 4
  for (int j = 0; j < 4; ++j) {
    u[j] = _mm512_and_si512(_mm512_srli_epi16(qs, 2 * j), low2);
    if constexpr (kQ3) {  // bit j (half 0) / 4 + j (half 1) of hmask byte i: quant 128 h + 32 j + i
      const __m512i bit = _mm512_inserti64x4(_mm512_set1_epi8(static_cast<char>(1 << j)),
                                             _mm256_set1_epi8(static_cast<char>(1 << (4 + j))), 1);
      u[j] = _mm512_mask_add_epi8(u[j], _mm512_test_epi8_mask(hmask, bit), u[j], _mm512_set1_epi8(4));
    }
  }
  // Quants 0..63, 64..127 of half 0, then of half 1: sub-blocks 0-3, 4-7, 8-11, 12-15.
  const __m512i runs[4] = {_mm512_shuffle_i64x2(u[0], u[1], _MM_SHUFFLE(1, 0, 1, 0)),
                           _mm512_shuffle_i64x2(u[2], u[3], _MM_SHUFFLE(1, 0, 1, 0)),
                           _mm512_shuffle_i64x2(u[0], u[1], _MM_SHUFFLE(3, 2, 3, 2)),
                           _mm512_shuffle_i64x2(u[2], u[3], _MM_SHUFFLE(3, 2, 3, 2))};
#pragma GCC unroll 4
  for (int k = 0; k < 4; ++k) {
    _mm512_storeu_si512(q + 64 * k, _mm512_sub_epi8(runs[k], _mm512_set1_epi8(static_cast<char>(offset))));
    acc = _mm512_dpbusd_epi32(acc, runs[k], ScalesOfQuad(scales, 4 * k));
  }
}

void UnpackQ2KFast(const uint8_t* block, int8_t* q, int32_t* sc, int32_t* mins, int32_t* base, float* d, float* dmin) {
  const BlockQ2K& b = *reinterpret_cast<const BlockQ2K*>(block);
  const __m128i packed = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b.scales));
  const __m128i scales = _mm_and_si128(packed, _mm_set1_epi8(0x0F));
  __m512i acc = _mm512_setzero_si512();
  TwoBitQuants<false>(_mm512_loadu_si512(b.qs), _mm512_setzero_si512(), _mm512_broadcast_i32x4(scales), 0, q, acc);
  *base = -128 * _mm512_reduce_add_epi32(acc);
  _mm512_storeu_si512(sc, _mm512_cvtepu8_epi32(scales));
  // The mins (high nibbles) as int16: pair p = sub-blocks 2p, 2p + 1.
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(mins),
                      _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(packed, 4), _mm_set1_epi8(0x0F))));
  *d = _cvtsh_ss(b.d);
  *dmin = _cvtsh_ss(b.dmin);
}

void UnpackQ3KFast(const uint8_t* block, int8_t* q, int32_t* sc, int32_t*, int32_t* base, float* d, float* dmin) {
  const BlockQ3K& b = *reinterpret_cast<const BlockQ3K*>(block);
  const __m128i scales = Q3Scales(b.scales);
  const __m512i hmask = _mm512_broadcast_i64x4(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.hmask)));
  __m512i acc = _mm512_setzero_si512();
  TwoBitQuants<true>(_mm512_loadu_si512(b.qs), hmask, _mm512_broadcast_i32x4(scales), 4, q, acc);
  const __m512i sc32 = _mm512_cvtepi8_epi32(scales);
  _mm512_storeu_si512(sc, sc32);
  // sum of scale * quant = sum of scale * (quant + 4) - 4 * 16 * (sum of the scales)
  *base = -128 * (_mm512_reduce_add_epi32(acc) - 64 * _mm512_reduce_add_epi32(sc32));
  *d = _cvtsh_ss(b.d);
  *dmin = 0;
}

// IQ4_XS: per 64 bytes of qs (sub-blocks 4h .. 4h + 3, 16 bytes each: low nibbles then high nibbles
// are the sub-block's 32 indices), the table values + 128 as u8 against the scales (base), stored
// signed in the tile's order.
void UnpackIq4XsFast(const uint8_t* block, int8_t* q, int32_t* sc, int32_t*, int32_t* base, float* d, float* dmin) {
  const BlockIq4Xs& b = *reinterpret_cast<const BlockIq4Xs*>(block);
  // The 8 scales + 32 (Iq4XsScale): low nibbles of scales_l in the even bytes, high nibbles in the odd
  // ones, then bits 2 ib, 2 ib + 1 of scales_h (VPSRLVW by 2 ib per 16-bit lane) at bits 4-5 of byte ib.
  uint32_t low_bytes;
  std::memcpy(&low_bytes, b.scales_l, 4);
  const __m128i l = _mm_cvtsi32_si128(static_cast<int>(low_bytes)), low4_128 = _mm_set1_epi8(0x0F);
  const __m128i low = _mm_unpacklo_epi8(_mm_and_si128(l, low4_128), _mm_and_si128(_mm_srli_epi16(l, 4), low4_128));
  const __m128i high16 = _mm_and_si128(
      _mm_srlv_epi16(_mm_set1_epi16(static_cast<int16_t>(b.scales_h)), _mm_setr_epi16(0, 2, 4, 6, 8, 10, 12, 14)),
      _mm_set1_epi16(3));
  const __m128i biased = _mm_or_si128(low, _mm_slli_epi16(_mm_packus_epi16(high16, high16), 4));  // 8 bytes
  const __m128i scales8 = _mm_sub_epi8(biased, _mm_set1_epi8(32));
  const __m512i scales = _mm512_broadcastq_epi64(scales8);
  const __m512i values = _mm512_broadcast_i32x4(_mm_loadu_si128(reinterpret_cast<const __m128i*>(kIq4nlValues)));
  const __m512i low4 = _mm512_set1_epi8(0x0F), flip = _mm512_set1_epi8(static_cast<char>(0x80));
  // Qwords of [low nibbles | high nibbles] per sub-block: sub-blocks 4h, 4h + 1, then 4h + 2, 4h + 3.
  const __m512i first = _mm512_set_epi64(11, 10, 3, 2, 9, 8, 1, 0),
                second = _mm512_set_epi64(15, 14, 7, 6, 13, 12, 5, 4);
  __m512i acc = _mm512_setzero_si512();
  for (int h = 0; h < 2; ++h) {
    const __m512i v = _mm512_loadu_si512(b.qs + 64 * h);
    const __m512i lo = _mm512_and_si512(v, low4), hi = _mm512_and_si512(_mm512_srli_epi16(v, 4), low4);
    const __m512i idx[2] = {_mm512_permutex2var_epi64(lo, first, hi), _mm512_permutex2var_epi64(lo, second, hi)};
#pragma GCC unroll 2
    for (int k = 0; k < 2; ++k) {
      const __m512i quants = _mm512_shuffle_epi8(values, idx[k]);
      _mm512_storeu_si512(q + 128 * h + 64 * k, quants);
      acc = _mm512_dpbusd_epi32(acc, _mm512_xor_si512(quants, flip), ScalesOfPair(scales, 4 * h + 2 * k));
    }
  }
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(sc), _mm256_cvtepi8_epi32(scales8));
  // The biased scales are in [0, 63]: their byte sum (VPSADBW, the low 8 bytes) minus 8 * 32.
  const int32_t scale_sum = _mm_cvtsi128_si32(_mm_sad_epu8(biased, _mm_setzero_si128())) - 8 * 32;
  // sum of scale * quant = sum of scale * (quant + 128) - 128 * 32 * (sum of the scales)
  *base = -128 * (_mm512_reduce_add_epi32(acc) - 128 * 32 * scale_sum);
  *d = _cvtsh_ss(b.d);
  *dmin = 0;
}

struct Q2KFast : Q2KType {
  static constexpr auto Unpack = UnpackQ2KFast;
};
struct Q3KFast : Q3KType {
  static constexpr auto Unpack = UnpackQ3KFast;
};
struct Iq4XsFast : Iq4XsType {
  static constexpr auto Unpack = UnpackIq4XsFast;
};
struct Q4KFast : Q4KType {
  static constexpr auto Unpack = UnpackQ45KFast<false>;
};
struct Q5KFast : Q5KType {
  static constexpr auto Unpack = UnpackQ45KFast<true>;
};
struct Q6KFast : Q6KType {
  static constexpr auto Unpack = UnpackQ6KFast;
};

// out[t * out_stride + r] for kR rows and the n_cols (<= 16) tokens of one packed group.
template <typename T, int kR>
void GroupTile(int64_t nb, const KRowTile& tile, const PrefillBlockK* pk, int n_cols, float* out, size_t out_stride) {
  constexpr int kWords = kQK_K / T::kSub / 4;  // 32-bit weight words per sub-block
  __m512 acc[kR];
#pragma GCC unroll 8
  for (int r = 0; r < kR; ++r) acc[r] = _mm512_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    const PrefillBlockK& a = pk[b];
    __m512i s[kR];
#pragma GCC unroll 8
    for (int r = 0; r < kR; ++r) s[r] = _mm512_set1_epi32(tile.base[r * nb + b]);
    for (int sub = 0; sub < T::kSub; ++sub) {
      __m512i isum[kR];
#pragma GCC unroll 8
      for (int r = 0; r < kR; ++r) isum[r] = _mm512_setzero_si512();
#pragma GCC unroll 8
      for (int w = 0; w < kWords; ++w) {
        const __m512i y = _mm512_load_si512(a.q[sub * kWords + w]);
#pragma GCC unroll 8
        for (int r = 0; r < kR; ++r) {
          int32_t word;
          std::memcpy(&word, tile.q.data() + (r * nb + b) * kQK_K + 4 * (sub * kWords + w), 4);
          isum[r] = _mm512_dpbusd_epi32(isum[r], y, _mm512_set1_epi32(word));
        }
      }
#pragma GCC unroll 8
      for (int r = 0; r < kR; ++r) {
        s[r] = _mm512_add_epi32(s[r], _mm512_mullo_epi32(isum[r], _mm512_set1_epi32(tile.sc[(r * nb + b) * T::kSub + sub])));
      }
    }
    const __m512 dy = _mm512_load_ps(a.dy);
#pragma GCC unroll 8
    for (int r = 0; r < kR; ++r) {
      const size_t k = static_cast<size_t>(r * nb + b);
      acc[r] = _mm512_fmadd_ps(_mm512_mul_ps(_mm512_set1_ps(tile.d[k]), dy), _mm512_cvtepi32_ps(s[r]), acc[r]);
      if constexpr (T::kMinPairs > 0) {
        const uint32_t(*ysum)[kPrefillGroup] = T::kMinPairs == 4 ? a.ysum : a.ysum16;
        __m512i m = _mm512_setzero_si512();
#pragma GCC unroll 8
        for (int p = 0; p < T::kMinPairs; ++p) {
          m = _mm512_dpwssd_epi32(m, _mm512_load_si512(ysum[p]), _mm512_set1_epi32(tile.mins[k * 8 + p]));
        }
        acc[r] = _mm512_fnmadd_ps(_mm512_mul_ps(_mm512_set1_ps(tile.dmin[k]), dy), _mm512_cvtepi32_ps(m), acc[r]);
      }
    }
  }
  alignas(64) float lanes[kR][kPrefillGroup];
#pragma GCC unroll 8
  for (int r = 0; r < kR; ++r) _mm512_store_ps(lanes[r], acc[r]);
  for (int t = 0; t < n_cols; ++t) {
    for (int r = 0; r < kR; ++r) out[t * out_stride + r] = lanes[r][t];
  }
}

template <typename T>
void PrefillGemm(int64_t n, const void* x, size_t x_stride, int n_rows, const void* packed, int n_tokens, float* out,
                 size_t out_stride) {
  thread_local KRowTile tile;
  const int64_t nb = n / kQK_K;
  UnpackRows<T>(nb, static_cast<const uint8_t*>(x), x_stride, n_rows, tile);
  const auto* pk = static_cast<const PrefillBlockK*>(packed);
  ForEachPrefillGroup<kTileRows>(n_rows, n_tokens, out, out_stride, [&](auto rows, int g, int n_cols, float* o) {
    GroupTile<T, decltype(rows)::value>(nb, tile, pk + g * nb, n_cols, o, out_stride);
  });
}

template <typename T>
void Register(TypeKernels& k) {
  k.prefill_gemm = PrefillGemm<T>;
  k.prefill_rows = kTileRows;
}

}  // namespace

void RegisterKPrefillKernelsAvx512(KernelTable& table) {
  Register<Q4KFast>(table[GgmlType::kQ4_K]);
  Register<Q5KFast>(table[GgmlType::kQ5_K]);
  Register<Q6KFast>(table[GgmlType::kQ6_K]);
  Register<Q2KFast>(table[GgmlType::kQ2_K]);
  Register<Q3KFast>(table[GgmlType::kQ3_K]);
  Register<Iq4XsFast>(table[GgmlType::kIQ4_XS]);
}

}  // namespace isv
