// AVX2 prefill kernels (prefill.h) for the legacy types (Q4_0, Q5_0, Q8_0,
// IQ4_NL; Q4_1 / Q5_1 with Q8_1 activations, whose min adds one FMA per block
// with the tokens' sums): the AVX-512 kernels' order and bits
// (prefill_avx512.cc) on machines without AVX-512.
//
// Shape: one ymm holds ONE (row, block) pair for 8 tokens (one int32 lane per
// token), so a 16-token packed group is done in two halves. Per block and half,
// the eight packed word rows (word j of the 8 tokens) are turned back into
// signed quants once (XOR 0x80) and shared by the tile's rows; each row then
// adds, per word, the products with its weight word broadcast to every lane.
// Without VNNI the products go through VPMADDUBSW, whose int16 pair sums would
// saturate on the packed unsigned form (255 x 127 x 2 > 32767 for Q8_0
// weights), so they are formed signed: |w| x (y with w's sign), at most 2 x 128
// x 127 = 32512 (activation quants are in [-127, 127], kernels.h), then
// VPMADDWD makes the word's int32 sum per token. That is 4 instructions per 32
// multiply-adds, and the block's convert, scale and FMA serve 8 tokens; the
// vec_dot-order tile (legacy_quant_tile.inc) spends ~7 per 32, as its every
// (row, token, block) needs its own convert and FMA.
//
// The weight rows of a call are unpacked first to int8 quants, their absolute
// values and fp32 scales in a per-thread buffer (one inner loop for every
// type), once per call: MatMul hands each call a whole token block.
#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <type_traits>
#include <vector>

#include "engine/kernels/blocks.h"
#include "engine/kernels/kernels.h"
#include "engine/kernels/legacy_quant_simd256.h"
#include "engine/kernels/prefill.h"
#include "engine/kernels/rows8_layout.h"

namespace isv {
namespace {

constexpr int kPrefillTileRows = 4;
constexpr int kHalf = kPrefillGroup / 2;  // tokens per ymm

// Each type: the 32 signed integer quants of a block; the packed activation
// blocks it takes (Q8_0's, or Q8_1's with their sums for the types with a min).
// The nibble types with a kRows8 layout also give their quants from the 32 nibble values (UnpackNibbles'
// order) and the block's qh bytes (Q5_0; ignored by the others): FromNibbles.
struct Q4_0Ints {
  using Block = BlockQ4_0;
  using Packed = PrefillBlock;
  static __m256i FromNibbles(__m256i nib, const uint8_t* /*qh*/) { return _mm256_sub_epi8(nib, _mm256_set1_epi8(8)); }
  static __m256i Quants(const Block& b) { return FromNibbles(UnpackNibbles(b.qs), nullptr); }
};
struct Q5_0Ints {
  using Block = BlockQ5_0;
  using Packed = PrefillBlock;
  static __m256i FromNibbles(__m256i nib, const uint8_t* qh) {
    return _mm256_sub_epi8(_mm256_or_si256(nib, FifthBits(qh)), _mm256_set1_epi8(16));
  }
  static __m256i Quants(const Block& b) { return FromNibbles(UnpackNibbles(b.qs), b.qh); }
};
struct Q8_0Ints {
  using Block = BlockQ8_0;
  using Packed = PrefillBlock;
  static __m256i Quants(const Block &b) { return LoadQ8(b.qs); }
};
struct Iq4NlInts {
  using Block = BlockIq4Nl;
  using Packed = PrefillBlock;
  static __m256i FromNibbles(__m256i nib, const uint8_t* /*qh*/) {
    const __m128i t = _mm_loadu_si128(reinterpret_cast<const __m128i *>(kIq4nlValues));
    return _mm256_shuffle_epi8(_mm256_set_m128i(t, t), nib);
  }
  static __m256i Quants(const Block& b) { return FromNibbles(UnpackNibbles(b.qs), nullptr); }
};
// Q4_1 / Q5_1: unsigned quants (0..15 / 0..31) and a min per block.
struct Q4_1Ints {
  using Block = BlockQ4_1;
  using Packed = PrefillBlock1;
  static __m256i FromNibbles(__m256i nib, const uint8_t* /*qh*/) { return nib; }
  static __m256i Quants(const Block& b) { return UnpackNibbles(b.qs); }
};
struct Q5_1Ints {
  using Block = BlockQ5_1;
  using Packed = PrefillBlock1;
  static __m256i FromNibbles(__m256i nib, const uint8_t* qh) { return _mm256_or_si256(nib, FifthBits(qh)); }
  static __m256i Quants(const Block& b) { return FromNibbles(UnpackNibbles(b.qs), b.qh); }
};

template <typename Ints>
constexpr bool kHasMin = std::is_same_v<typename Ints::Packed, PrefillBlock1>;

// A call's weight rows, per (row, block): 32 quants, their absolute values (as
// unsigned bytes: 128 for -128), the scale, the min (the types with one).
struct RowTile {
  std::vector<int8_t> q;
  std::vector<uint8_t> q_abs;
  std::vector<float> d, m;
};

template <typename Ints>
void UnpackRows(int64_t nb, const uint8_t *x, size_t x_stride, int n_rows, RowTile &tile) {
  const size_t n_blocks = static_cast<size_t>(n_rows * nb);
  tile.q.resize(n_blocks * kQK);
  tile.q_abs.resize(n_blocks * kQK);
  tile.d.resize(n_blocks);
  if constexpr (kHasMin<Ints>) tile.m.resize(n_blocks);
  for (int r = 0; r < n_rows; ++r) {
    const auto *blocks = reinterpret_cast<const typename Ints::Block *>(x + r * x_stride);
    for (int64_t b = 0; b < nb; ++b) {
      const size_t k = static_cast<size_t>(r * nb + b);
      const __m256i q = Ints::Quants(blocks[b]);
      _mm256_storeu_si256(reinterpret_cast<__m256i *>(tile.q.data() + k * kQK), q);
      _mm256_storeu_si256(reinterpret_cast<__m256i *>(tile.q_abs.data() + k * kQK), _mm256_abs_epi8(q));
      tile.d[k] = Half(blocks[b].d);
      if constexpr (kHasMin<Ints>) tile.m[k] = Half(blocks[b].m);
    }
  }
}

// The 32 quants of each of the 8 rows of kRows8 group block gb (rows8_layout.h), row r in q[r].
// Q4_0 / Q5_0 / IQ4_NL: 32 bytes each hold the first 8 nibble bytes of rows 0-3 (row r at 8 r), of rows
// 4-7, then the last 8 of rows 0-3 and of rows 4-7; VPUNPCK*QDQ of a first and a last vector gives two
// whole rows (one per 128-bit half), whose low and high nibbles VPERM2I128 pairs in UnpackNibbles'
// order, then Ints::FromNibbles per row.
template <typename Ints>
void GroupBlockRows(const uint8_t* gb, __m256i (&q)[kRows8Group]) {
  using Block = typename Ints::Block;
  constexpr bool kHasQh = std::is_same_v<Block, BlockQ5_0> || std::is_same_v<Block, BlockQ5_1>;
  constexpr size_t kQs = Rows8WordsOffset(kHasQh, kHasMin<Ints>);
  const __m256i low4 = _mm256_set1_epi8(0x0F);
  __m256i part[4];
#pragma GCC unroll 4
  for (int m = 0; m < 4; ++m) part[m] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(gb + kQs + 32 * m));
  // Rows (0, 2), (1, 3), (4, 6), (5, 7) in the halves.
  const __m256i pair[4] = {_mm256_unpacklo_epi64(part[0], part[2]), _mm256_unpackhi_epi64(part[0], part[2]),
                           _mm256_unpacklo_epi64(part[1], part[3]), _mm256_unpackhi_epi64(part[1], part[3])};
  constexpr int kFirstRow[4] = {0, 1, 4, 5};
  __m256i nib[kRows8Group];
#pragma GCC unroll 4
  for (int k = 0; k < 4; ++k) {
    const __m256i lo = _mm256_and_si256(pair[k], low4), hi = _mm256_and_si256(_mm256_srli_epi16(pair[k], 4), low4);
    nib[kFirstRow[k]] = _mm256_permute2x128_si256(lo, hi, 0x20);
    nib[kFirstRow[k] + 2] = _mm256_permute2x128_si256(lo, hi, 0x31);
  }
#pragma GCC unroll 8
  for (int r = 0; r < kRows8Group; ++r) {
    const uint32_t qh = Rows8QhWord(gb + Rows8QhOffset(kHasMin<Ints>), r);  // only Q5_0 / Q5_1 read it
    q[r] = Ints::FromNibbles(nib[r], reinterpret_cast<const uint8_t*>(&qh));
  }
}

// Q8_0: piece p (64 bytes) holds quants 8 p .. 8 p + 7 of row r at 8 r; per half (rows 0-3, 4-7) a 4 x 4
// transpose of 64-bit words (VPUNPCK*QDQ, VPERM2I128) gives the rows.
template <>
void GroupBlockRows<Q8_0Ints>(const uint8_t* gb, __m256i (&q)[kRows8Group]) {
#pragma GCC unroll 2
  for (int h = 0; h < 2; ++h) {
    __m256i piece[4];
#pragma GCC unroll 4
    for (int p = 0; p < 4; ++p) {
      piece[p] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(gb + kRows8Q8QsOffset + 64 * p + 32 * h));
    }
    const __m256i t0 = _mm256_unpacklo_epi64(piece[0], piece[1]), t1 = _mm256_unpackhi_epi64(piece[0], piece[1]);
    const __m256i t2 = _mm256_unpacklo_epi64(piece[2], piece[3]), t3 = _mm256_unpackhi_epi64(piece[2], piece[3]);
    q[4 * h + 0] = _mm256_permute2x128_si256(t0, t2, 0x20);
    q[4 * h + 1] = _mm256_permute2x128_si256(t1, t3, 0x20);
    q[4 * h + 2] = _mm256_permute2x128_si256(t0, t2, 0x31);
    q[4 * h + 3] = _mm256_permute2x128_si256(t1, t3, 0x31);
  }
}

// UnpackRows for the 8 rows of a kRows8 group (rows8_layout.h) of Q4_0 / Q4_1 / Q5_0 / Q5_1 / IQ4_NL / Q8_0.
template <typename Ints>
void UnpackGroup(int64_t nb, const uint8_t* g, RowTile& tile) {
  using Block = typename Ints::Block;
  const size_t n_blocks = static_cast<size_t>(kRows8Group * nb);
  tile.q.resize(n_blocks * kQK);
  tile.q_abs.resize(n_blocks * kQK);
  tile.d.resize(n_blocks);
  if constexpr (kHasMin<Ints>) tile.m.resize(n_blocks);
  // The buffers' pointers in locals: the byte stores below may alias the vectors' own members, which
  // kept the compiler reloading them (through the thread-local tile) after each store.
  int8_t* const q_out = tile.q.data();
  uint8_t* const q_abs_out = tile.q_abs.data();
  float* const d_out = tile.d.data();
  float* const m_out = tile.m.data();
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* gb = g + static_cast<size_t>(b) * kRows8Group * sizeof(Block);
    __m256i q[kRows8Group];
    GroupBlockRows<Ints>(gb, q);
    alignas(32) float ds[kRows8Group];
    _mm256_store_ps(ds, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(gb))));
    alignas(32) float ms[kRows8Group];  // the mins (Q4_1 / Q5_1)
    if constexpr (kHasMin<Ints>) {
      _mm256_store_ps(ms, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(gb + kRows8MinOffset))));
    }
#pragma GCC unroll 8
    for (int r = 0; r < kRows8Group; ++r) {
      const size_t k = static_cast<size_t>(r * nb + b);
      if constexpr (kHasMin<Ints>) m_out[k] = ms[r];
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(q_out + k * kQK), q[r]);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(q_abs_out + k * kQK), _mm256_abs_epi8(q[r]));
      d_out[k] = ds[r];
    }
  }
}

inline int32_t Word(const void *p) {
  int32_t w;
  std::memcpy(&w, p, 4);
  return w;
}

// lanes[r][t] for kR rows and the 8 tokens of half h of one packed group.
template <typename Ints, int kR>
void HalfGroup(int64_t nb, const RowTile& tile, int row0, const typename Ints::Packed* pk, int h,
               float (*lanes)[kPrefillGroup]) {
  const __m256i ones = _mm256_set1_epi16(1);
  const __m256i bias = _mm256_set1_epi8(static_cast<char>(0x80));
  __m256 acc[kR];
#pragma GCC unroll 8
  for (int r = 0; r < kR; ++r) acc[r] = _mm256_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    __m256i y[8];
#pragma GCC unroll 8
    for (int j = 0; j < 8; ++j) {
      y[j] = _mm256_xor_si256(_mm256_load_si256(reinterpret_cast<const __m256i *>(pk[b].q[j] + 4 * kHalf * h)), bias);
    }
    const __m256 dy = _mm256_load_ps(pk[b].dy + kHalf * h);
#pragma GCC unroll 8
    for (int r = 0; r < kR; ++r) {
      const size_t k = static_cast<size_t>((row0 + r) * nb + b);
      const int8_t *q = tile.q.data() + k * kQK;
      const uint8_t *qa = tile.q_abs.data() + k * kQK;
      __m256i isum = _mm256_setzero_si256();
#pragma GCC unroll 8
      for (int j = 0; j < 8; ++j) {
        const __m256i w = _mm256_set1_epi32(Word(q + 4 * j));
        const __m256i w_abs = _mm256_set1_epi32(Word(qa + 4 * j));
        const __m256i pairs = _mm256_maddubs_epi16(w_abs, _mm256_sign_epi8(y[j], w));
        isum = _mm256_add_epi32(isum, _mm256_madd_epi16(pairs, ones));
      }
      acc[r] = _mm256_fmadd_ps(_mm256_mul_ps(_mm256_set1_ps(tile.d[k]), dy), _mm256_cvtepi32_ps(isum), acc[r]);
      if constexpr (kHasMin<Ints>) {
        acc[r] = _mm256_fmadd_ps(_mm256_set1_ps(tile.m[k]), _mm256_load_ps(pk[b].s + kHalf * h), acc[r]);
      }
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < kR; ++r) _mm256_storeu_ps(lanes[r] + kHalf * h, acc[r]);
}

// out[t * out_stride + r] for kR rows and the n_cols (<= 16) tokens of one
// packed group.
template <typename Ints, int kR>
void GroupTile(int64_t nb, const RowTile& tile, int row0, const typename Ints::Packed* pk, int n_cols, float* out,
               size_t out_stride) {
  alignas(32) float lanes[kR][kPrefillGroup];
  for (int h = 0; h * kHalf < n_cols; ++h) HalfGroup<Ints, kR>(nb, tile, row0, pk, h, lanes);
  for (int t = 0; t < n_cols; ++t) {
    for (int r = 0; r < kR; ++r) out[t * out_stride + r] = lanes[r][t];
  }
}

// TypeKernels::prefill_gemm of one type.
template <typename Ints, bool kRows8 = false>
void PrefillGemm(int64_t n, const void* x, size_t x_stride, int n_rows, const void* packed, int n_tokens, float* out,
                 size_t out_stride) {
  thread_local RowTile tile;  // grows to the longest tile; no allocation once warmed up
  const int64_t nb = n / kQK;
  if constexpr (kRows8) {
    UnpackGroup<Ints>(nb, static_cast<const uint8_t*>(x), tile);
  } else {
    UnpackRows<Ints>(nb, static_cast<const uint8_t*>(x), x_stride, n_rows, tile);
  }
  const auto* pk = static_cast<const typename Ints::Packed*>(packed);
  // A kRows8 group's 8 rows, unpacked once, in tiles of kPrefillTileRows.
  for (int row0 = 0; row0 < n_rows; row0 += kPrefillTileRows) {
    ForEachPrefillGroup<kPrefillTileRows>(
        n_rows - row0, n_tokens, out + row0, out_stride, [&](auto rows, int g, int n_cols, float* o) {
          GroupTile<Ints, decltype(rows)::value>(nb, tile, row0, pk + g * nb, n_cols, o, out_stride);
        });
  }
}

template <typename Ints>
void Register(TypeKernels &k) {
  k.prefill_gemm = PrefillGemm<Ints>;
  k.prefill_rows = kPrefillTileRows;
}

// The types with a kRows8 layout: prefill_gemm_rows8 too.
template <typename Ints>
void RegisterWithRows8(TypeKernels& k) {
  Register<Ints>(k);
  k.prefill_gemm_rows8 = PrefillGemm<Ints, true>;
}

}  // namespace

void RegisterPrefillKernelsAvx2(KernelTable &table) {
  RegisterWithRows8<Q4_0Ints>(table[GgmlType::kQ4_0]);
  RegisterWithRows8<Q5_0Ints>(table[GgmlType::kQ5_0]);
  RegisterWithRows8<Q8_0Ints>(table[GgmlType::kQ8_0]);
  RegisterWithRows8<Iq4NlInts>(table[GgmlType::kIQ4_NL]);
  RegisterWithRows8<Q4_1Ints>(table[GgmlType::kQ4_1]);
  RegisterWithRows8<Q5_1Ints>(table[GgmlType::kQ5_1]);
}

}  // namespace isv
