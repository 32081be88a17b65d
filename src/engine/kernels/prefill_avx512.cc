// AVX-512 VNNI prefill kernels (prefill.h): weight rows of the legacy types x packed Q8_0 activations
// of prompt tokens (Q8_1 for Q4_1 / Q5_1, whose min adds one FMA per block with the tokens' sums).
//
// Shape: one zmm holds ONE (row, block) pair for 16 tokens (one int32 lane per token). Per block,
// the eight 64-byte rows of the PrefillBlock (32-bit word j of all 16 tokens, quants + 128) are loaded
// once and shared by the tile's rows; for each row, eight VPDPBUSD multiply them with the row's
// weight word j broadcast to every lane, so the lanes end up holding the block's EXACT integer dot
// product per token — no horizontal sums. The +128 on the activations is removed by starting the
// accumulation at -128 * (sum of the row's block quants). Then one convert, one multiply (dx * dy)
// and one FMA per row and block serve 16 tokens. That is ~12 instructions per 512 multiply-adds,
// where the vec_dot-order tile (legacy_quant_avx512.cc) needs ~4 per 64, because there every block
// leaves 8 partial lanes per (row, token) that each need their own convert and FMA. Measured on the
// development EPYC (Zen 4), one thread, Q8_0 896 x 4864 x 512 tokens: 129 vs 55 GMAC/s.
//
// The weight rows of a tile are first unpacked to plain int8 blocks + fp32 scales + corrections in
// a per-thread buffer (the same inner loop then serves every type; for Q8_0 it is a copy), once per
// call: MatMul hands each call a whole token block, so this costs little per token.
// The K-quant kernels are in prefill_k_avx512.cc.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <type_traits>
#include <vector>

#include "engine/kernels/blocks.h"
#include "engine/kernels/kernels.h"
#include "engine/kernels/prefill.h"
#include "engine/kernels/rows8_avx512.h"
#include "engine/kernels/rows8_layout.h"

namespace isv {
namespace {

constexpr int kPrefillTileRows = 8;
static_assert(kPrefillTileRows == kRows8Group, "a kRows8 group unpacks into one tile");

inline float Half(uint16_t h) { return _cvtsh_ss(h); }

// 16 bytes of nibbles -> 32 bytes: low nibbles (elements 0..15), then high nibbles (16..31).
inline __m256i Nibbles(const uint8_t* qs) {
  const __m128i packed = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs));
  const __m256i both = _mm256_set_m128i(_mm_srli_epi16(packed, 4), packed);
  return _mm256_and_si256(both, _mm256_set1_epi8(0x0F));
}

// Each type: the 32 signed integer quants of a block, and its scale; the packed activation blocks it
// takes (Q8_0's, or Q8_1's with their sums for the types with a min).
// The nibble types with a kRows8 layout also give their quants from the 32 nibble values (Nibbles'
// order) and the block's qh (Q5_0; ignored by the others): FromNibbles.
struct Q4_0Ints {
  using Block = BlockQ4_0;
  using Packed = PrefillBlock;
  static __m256i FromNibbles(__m256i nib, uint32_t /*qh*/) { return _mm256_sub_epi8(nib, _mm256_set1_epi8(8)); }
  static __m256i Quants(const Block& b) { return FromNibbles(Nibbles(b.qs), 0); }
};
struct Q5_0Ints {
  using Block = BlockQ5_0;
  using Packed = PrefillBlock;
  static __m256i FromNibbles(__m256i nib, uint32_t qh) {
    return _mm256_sub_epi8(_mm256_mask_add_epi8(nib, _cvtu32_mask32(qh), nib, _mm256_set1_epi8(16)),
                           _mm256_set1_epi8(16));
  }
  static __m256i Quants(const Block& b) {
    uint32_t bits;
    std::memcpy(&bits, b.qh, 4);
    return FromNibbles(Nibbles(b.qs), bits);
  }
};
struct Q8_0Ints {
  using Block = BlockQ8_0;
  using Packed = PrefillBlock;
  static __m256i Quants(const Block& b) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.qs)); }
};
struct Iq4NlInts {
  using Block = BlockIq4Nl;
  using Packed = PrefillBlock;
  static __m256i FromNibbles(__m256i nib, uint32_t /*qh*/) {
    const __m128i t = _mm_loadu_si128(reinterpret_cast<const __m128i*>(kIq4nlValues));
    return _mm256_shuffle_epi8(_mm256_set_m128i(t, t), nib);
  }
  static __m256i Quants(const Block& b) { return FromNibbles(Nibbles(b.qs), 0); }
};

template <typename Ints>
constexpr bool kHasMin = std::is_same_v<typename Ints::Packed, PrefillBlock1>;

// Q4_1 / Q5_1: unsigned quants (0..15 / 0..31) and a min per block.
struct Q4_1Ints {
  using Block = BlockQ4_1;
  using Packed = PrefillBlock1;
  static __m256i FromNibbles(__m256i nib, uint32_t /*qh*/) { return nib; }
  static __m256i Quants(const Block& b) { return Nibbles(b.qs); }
};
struct Q5_1Ints {
  using Block = BlockQ5_1;
  using Packed = PrefillBlock1;
  static __m256i FromNibbles(__m256i nib, uint32_t qh) {
    return _mm256_mask_add_epi8(nib, _cvtu32_mask32(qh), nib, _mm256_set1_epi8(16));
  }
  static __m256i Quants(const Block& b) {
    uint32_t bits;
    std::memcpy(&bits, b.qh, 4);
    return FromNibbles(Nibbles(b.qs), bits);
  }
};

// -128 * (sum of the 32 signed bytes of q).
inline int32_t Correction(__m256i q) {
  const __m256i sad = _mm256_sad_epu8(_mm256_xor_si256(q, _mm256_set1_epi8(static_cast<char>(0x80))),
                                      _mm256_setzero_si256());  // four sums of (q + 128)
  const __m128i s = _mm_add_epi64(_mm256_castsi256_si128(sad), _mm256_extracti128_si256(sad, 1));
  const int64_t sum_plus = _mm_cvtsi128_si64(s) + _mm_extract_epi64(s, 1);
  return -128 * static_cast<int32_t>(sum_plus - 32 * 128);
}

// A tile's weight rows in the uniform form: the 32 quants of (row r, block b) at q + (r * nb + b) * 32;
// its scale, correction and min (the types with one) at index b * 8 + r of d, corr and m, so that a
// group unpacker stores the 8 rows' values of a block with one vector store each.
struct RowTile {
  std::vector<int8_t> q;
  std::vector<float> d, m;
  std::vector<int32_t> corr;

  void Resize(int64_t nb, bool has_min) {
    q.resize(static_cast<size_t>(kPrefillTileRows * nb) * kQK);
    d.resize(static_cast<size_t>(kPrefillTileRows * nb));
    corr.resize(static_cast<size_t>(kPrefillTileRows * nb));
    if (has_min) m.resize(static_cast<size_t>(kPrefillTileRows * nb));
  }
};

template <typename Ints>
void UnpackRows(int64_t nb, const uint8_t* x, size_t x_stride, int n_rows, RowTile& tile) {
  tile.Resize(nb, kHasMin<Ints>);
  for (int r = 0; r < n_rows; ++r) {
    const auto* blocks = reinterpret_cast<const typename Ints::Block*>(x + r * x_stride);
    for (int64_t b = 0; b < nb; ++b) {
      const __m256i q = Ints::Quants(blocks[b]);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(tile.q.data() + (r * nb + b) * kQK), q);
      const size_t k = static_cast<size_t>(b * kPrefillTileRows + r);
      tile.d[k] = Half(blocks[b].d);
      tile.corr[k] = Correction(q);
      if constexpr (kHasMin<Ints>) tile.m[k] = Half(blocks[b].m);
    }
  }
}

// Correction of each of 8 rows' blocks at out[0..7], from `sums`: 64-bit lane r holds the sum of
// (q + 128) over row r's 32 quants.
inline void StoreCorrections(__m512i sums, int32_t* out) {
  const __m512i corr = _mm512_mullo_epi64(_mm512_sub_epi64(sums, _mm512_set1_epi64(32 * 128)), _mm512_set1_epi64(-128));
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(out), _mm512_cvtepi64_epi32(corr));
}

// Per 64-bit lane, the sum of its 8 bytes + 128 each (signed bytes).
inline __m512i LaneSumsPlus128(__m512i v) {
  return _mm512_sad_epu8(_mm512_xor_si512(v, _mm512_set1_epi8(static_cast<char>(0x80))), _mm512_setzero_si512());
}

// The same for the 8 rows of a kRows8 group (rows8_layout.h) of the nibble types. Per group block,
// two VPERMT2D put the rows' nibble words back in order (rows 0-3, 4-7: one 128-bit lane each), two
// VPERMT2Q pair each row's low and high nibbles (Nibbles' order), then Ints::FromNibbles per row; the
// 8 corrections come from byte sums of row pairs (VPSADBW) folded by two rounds of VPERMT2Q.
// (Assembling each row's block with scalar copies instead cost a fifth of llama-3.2-1b Q4_0's pp256.)
template <typename Ints>
void UnpackGroup(int64_t nb, const uint8_t* g, RowTile& tile) {
  using Block = typename Ints::Block;
  constexpr bool kHasQh = std::is_same_v<Block, BlockQ5_0> || std::is_same_v<Block, BlockQ5_1>;
  constexpr size_t kQs = Rows8WordsOffset(kHasQh, kHasMin<Ints>);
  tile.Resize(nb, kHasMin<Ints>);
  // Row r's nibble word w is word 2 r + w of the first 64 bytes (w < 2) or 2 r + w - 2 of the last 64:
  // lane 4 q + w of `rows03` is row q's word w.
  const __m512i index_03 = _mm512_set_epi32(23, 22, 7, 6, 21, 20, 5, 4, 19, 18, 3, 2, 17, 16, 1, 0);
  const __m512i index_47 = _mm512_add_epi32(index_03, _mm512_set1_epi32(8));
  // Qwords of [low nibbles | high nibbles]: row 2p in the lower 256 bits, row 2p + 1 in the upper.
  const __m512i pair_01 = _mm512_set_epi64(11, 10, 3, 2, 9, 8, 1, 0);
  const __m512i pair_23 = _mm512_set_epi64(15, 14, 7, 6, 13, 12, 5, 4);
  // Folding 16 lanes of two vectors to 8 by adding lane pairs (2i, 2i + 1).
  const __m512i even = _mm512_set_epi64(14, 12, 10, 8, 6, 4, 2, 0), odd = _mm512_set_epi64(15, 13, 11, 9, 7, 5, 3, 1);
  const __m512i low4 = _mm512_set1_epi8(0x0F);
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* gb = g + static_cast<size_t>(b) * kRows8Group * sizeof(Block);
    const __m512i words_a = _mm512_loadu_si512(gb + kQs), words_b = _mm512_loadu_si512(gb + kQs + 64);
    __m256i nib[kRows8Group];
#pragma GCC unroll 2
    for (int half = 0; half < 2; ++half) {
      const __m512i qs = _mm512_permutex2var_epi32(words_a, half ? index_47 : index_03, words_b);
      const __m512i lo = _mm512_and_si512(qs, low4), hi = _mm512_and_si512(_mm512_srli_epi16(qs, 4), low4);
      const __m512i r01 = _mm512_permutex2var_epi64(lo, pair_01, hi), r23 = _mm512_permutex2var_epi64(lo, pair_23, hi);
      nib[4 * half + 0] = _mm512_castsi512_si256(r01);
      nib[4 * half + 1] = _mm512_extracti64x4_epi64(r01, 1);
      nib[4 * half + 2] = _mm512_castsi512_si256(r23);
      nib[4 * half + 3] = _mm512_extracti64x4_epi64(r23, 1);
    }
    const size_t k = static_cast<size_t>(b * kPrefillTileRows);
    _mm256_storeu_ps(tile.d.data() + k, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(gb))));
    if constexpr (kHasMin<Ints>) {
      _mm256_storeu_ps(tile.m.data() + k,
                       _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(gb + kRows8MinOffset))));
    }
    __m512i sums[kRows8Group / 2];  // 4 lane sums of row 2p, then 4 of row 2p + 1
#pragma GCC unroll 4
    for (int p = 0; p < kRows8Group / 2; ++p) {
      __m256i q[2];
#pragma GCC unroll 2
      for (int i = 0; i < 2; ++i) {
        uint32_t qh = 0;
        if constexpr (kHasQh) qh = Rows8QhWord(gb + Rows8QhOffset(kHasMin<Ints>), 2 * p + i);
        q[i] = Ints::FromNibbles(nib[2 * p + i], qh);
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(tile.q.data() + ((2 * p + i) * nb + b) * kQK), q[i]);
      }
      sums[p] = LaneSumsPlus128(_mm512_inserti64x4(_mm512_castsi256_si512(q[0]), q[1], 1));
    }
    // Pairs of lanes added twice: [r0 r0 r1 r1 r2 r2 r3 r3], then [r0 .. r7].
    const __m512i half03 = _mm512_add_epi64(_mm512_permutex2var_epi64(sums[0], even, sums[1]),
                                            _mm512_permutex2var_epi64(sums[0], odd, sums[1]));
    const __m512i half47 = _mm512_add_epi64(_mm512_permutex2var_epi64(sums[2], even, sums[3]),
                                            _mm512_permutex2var_epi64(sums[2], odd, sums[3]));
    StoreCorrections(_mm512_add_epi64(_mm512_permutex2var_epi64(half03, even, half47),
                                      _mm512_permutex2var_epi64(half03, odd, half47)),
                     tile.corr.data() + k);
  }
}

// The same for the 8 rows of a kRows8 Q8_0 group (rows8_layout.h: 64 bytes per 8-byte piece of the
// rows' quants, row r's at 8 r), put back together by StoreRowQuads; lane r of each piece's byte sums
// (VPSADBW) is row r's, so the 8 corrections need no folding.
void UnpackQ8_0Group(int64_t nb, const uint8_t* g, RowTile& tile) {
  tile.Resize(nb, false);
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* gb = g + static_cast<size_t>(b) * kRows8Group * sizeof(BlockQ8_0);
    const uint8_t* qs = gb + kRows8Q8QsOffset;
    // Row r's block quants at tile.q + (r * nb + b) * 32.
    StoreRowQuads(qs, 64, reinterpret_cast<uint8_t*>(tile.q.data()) + b * kQK, static_cast<size_t>(nb) * kQK);
    __m512i sums = LaneSumsPlus128(_mm512_loadu_si512(qs));
#pragma GCC unroll 3
    for (int m = 1; m < 4; ++m) sums = _mm512_add_epi64(sums, LaneSumsPlus128(_mm512_loadu_si512(qs + 64 * m)));
    const size_t k = static_cast<size_t>(b * kPrefillTileRows);
    StoreCorrections(sums, tile.corr.data() + k);
    _mm256_storeu_ps(tile.d.data() + k, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(gb))));
  }
}

// out[t * out_stride + r] for kR rows and the n_cols (<= 16) tokens of one packed group.
template <typename Ints, int kR>
void GroupTile(int64_t nb, const RowTile& tile, const typename Ints::Packed* pk, int n_cols, float* out,
               size_t out_stride) {
  __m512 acc[kR];
#pragma GCC unroll 8
  for (int r = 0; r < kR; ++r) acc[r] = _mm512_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    __m512i y[8];
#pragma GCC unroll 8
    for (int j = 0; j < 8; ++j) y[j] = _mm512_load_si512(pk[b].q[j]);
    const __m512 dy = _mm512_load_ps(pk[b].dy);
#pragma GCC unroll 8
    for (int r = 0; r < kR; ++r) {
      const size_t k = static_cast<size_t>(b * kPrefillTileRows + r);
      const int8_t* q = tile.q.data() + (r * nb + b) * kQK;
      __m512i isum = _mm512_set1_epi32(tile.corr[k]);
#pragma GCC unroll 8
      for (int j = 0; j < 8; ++j) {
        int32_t word;
        std::memcpy(&word, q + 4 * j, 4);
        isum = _mm512_dpbusd_epi32(isum, y[j], _mm512_set1_epi32(word));
      }
      acc[r] = _mm512_fmadd_ps(_mm512_mul_ps(_mm512_set1_ps(tile.d[k]), dy), _mm512_cvtepi32_ps(isum), acc[r]);
      if constexpr (kHasMin<Ints>) acc[r] = _mm512_fmadd_ps(_mm512_set1_ps(tile.m[k]), _mm512_load_ps(pk[b].s), acc[r]);
    }
  }
  alignas(64) float lanes[kR][kPrefillGroup];
#pragma GCC unroll 8
  for (int r = 0; r < kR; ++r) _mm512_store_ps(lanes[r], acc[r]);
  for (int t = 0; t < n_cols; ++t) {
    for (int r = 0; r < kR; ++r) out[t * out_stride + r] = lanes[r][t];
  }
}

// TypeKernels::prefill_gemm of one type (kRows8: prefill_gemm_rows8).
template <typename Ints, bool kRows8 = false>
void PrefillGemm(int64_t n, const void* x, size_t x_stride, int n_rows, const void* packed, int n_tokens, float* out,
                 size_t out_stride) {
  thread_local RowTile tile;  // grows to the longest tile; no allocation once warmed up
  const int64_t nb = n / kQK;
  if constexpr (kRows8 && std::is_same_v<Ints, Q8_0Ints>) {
    UnpackQ8_0Group(nb, static_cast<const uint8_t*>(x), tile);
  } else if constexpr (kRows8) {
    UnpackGroup<Ints>(nb, static_cast<const uint8_t*>(x), tile);
  } else {
    UnpackRows<Ints>(nb, static_cast<const uint8_t*>(x), x_stride, n_rows, tile);
  }
  const auto* pk = static_cast<const typename Ints::Packed*>(packed);
  ForEachPrefillGroup<kPrefillTileRows>(n_rows, n_tokens, out, out_stride, [&](auto rows, int g, int n_cols, float* o) {
    GroupTile<Ints, decltype(rows)::value>(nb, tile, pk + g * nb, n_cols, o, out_stride);
  });
}

template <typename Ints>
void Register(TypeKernels& k) {
  k.prefill_gemm = PrefillGemm<Ints>;
  k.prefill_rows = kPrefillTileRows;
}

template <typename Ints>
void RegisterWithRows8(TypeKernels& k) {
  Register<Ints>(k);
  k.prefill_gemm_rows8 = PrefillGemm<Ints, true>;
}

}  // namespace

void RegisterPrefillKernelsAvx512(KernelTable& table) {
  RegisterWithRows8<Q4_0Ints>(table[GgmlType::kQ4_0]);
  RegisterWithRows8<Q5_0Ints>(table[GgmlType::kQ5_0]);
  RegisterWithRows8<Q8_0Ints>(table[GgmlType::kQ8_0]);
  RegisterWithRows8<Iq4NlInts>(table[GgmlType::kIQ4_NL]);
  RegisterWithRows8<Q4_1Ints>(table[GgmlType::kQ4_1]);
  RegisterWithRows8<Q5_1Ints>(table[GgmlType::kQ5_1]);
}

}  // namespace isv
