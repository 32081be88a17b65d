// Q4_0, Q5_0 and IQ4_NL decode at the AVX-512 level: eight weight rows per pass, in the prefill
// order (prefill.h); and the kRows8 (repacked) matrices of Q8_0, Q4_1 and Q5_1, in the same order.
//
// Why: the vec_dot order (legacy_quant_tile.inc) keeps eight float lanes per (row, token), so every
// 32-weight block of every row costs its own nibble unpack, scale conversion, int -> float
// conversion, scale multiply and FMA: about 14 instructions per 18 bytes, which held Q4_0 decode to
// ~15 GB/s per core even from L2 (llama-3.2-1b Q4_0 tg128 0.87x llama.cpp on the development EPYC).
// In the prefill order each (row, token) keeps ONE float accumulator, so eight rows share one ymm
// of accumulators and the float work of a block is done once for eight rows:
//   - the 16-byte nibble arrays of the eight rows' block i are transposed into two zmm (A: the
//     first two 32-bit words of each row, B: the last two; lanes 2r, 2r + 1 hold row r's), whose low
//     and high nibbles give four zmm of weights (Q4_0: the nibbles, weight + 8; Q5_0: + 16 where the
//     fifth bit is set, weight + 16; IQ4_NL: its table's values + 128, one VPSHUFB each);
//   - four VPDPBUSD, each against two activation words broadcast to every 64-bit lane (the words
//     lanes 2r and 2r + 1 meet), accumulate, onto the offset correction, two exact partial sums per
//     row; adding each 64-bit lane's halves and VPMOVQD give each row's exact integer block sum isum
//     in eight int32 lanes;
//   - acc = fma(fp32(dx) * fp32(dy), float(isum), acc) for the eight rows at once.
// About 45 instructions per eight blocks instead of ~110: 26 GB/s per core from L2 in a
// micro-benchmark (2048-element rows; the vec_dot-order gemv: 15). With the prefetch below,
// llama-3.2-1b Q4_0 tg128 went from ~1.0x to ~1.18x llama.cpp (which repacks Q4_0 rows for this).
// Tried for Q8_0's file order too (two rounds of VPERMT2D transpose its 32-byte rows) and not kept: its
// vec_dot-order gemv streamed at the memory's pace, and llama-3.2-1b / qwen2.5-0.5b Q8_0 tg128 measured
// the same or a little slower. Q8_0 in the kRows8 layout (Q8_0Rows8 below, session 13) needs no
// transpose and pays: 1 thread +20-30% end to end.
//
// Matrices that Model repacked at load into the kRows8 layout (rows8_layout.h: the 8 rows' scales, qh
// and nibble words of each block already where the loaders below put them) go through GroupPass
// (Rows8Gemv<Loader, true>: TypeKernels::gemv_rows8): the same arithmetic without the gathers and the transpose,
// several groups at a time (Rows8Streams, legacy_rows8_frame.inc).
// Micro-benchmark, 2 threads, 2048 rows of 896 elements (each thread's half in its L2), file order -> kRows8: Q5_0 33.2
// -> 74.2 GB/s, Q4_0 44.3 -> 74.6, IQ4_NL 43.5 -> 73.9.
//
// The activations are read from the token's Q8_0 blocks as they are (an 8-byte broadcast per weight
// vector). Until session 13 they were prepared per call as four zmm per block, each activation word
// repeated in eight lanes: 256 bytes per 32 elements, 16 KiB per token for 2048-element rows and 64 KiB
// for 8192 — as much as the L1 holds, so a kRows8 pass streamed its weights at ~18 GB/s per core from
// DRAM (llama-3.2-1b Q5_0's matrices, decode order, 1 thread) and needed the software prefetch to
// reach 25-27. Now 27-32 with or without it, and GroupPass no longer prefetches (the prefetch cost
// qwen2.5-0.5b's Q5_0 matrices 5-8% of their decode speed, as it does Q4_K / Q6_K's).
//
// Batch invariance: vec_dot, gemv and (through MatMul, TypeKernels::plain_in_prefill_order) the
// plain tokens of larger batches all compute the prefill order at this level, so a token's result
// never depends on its batch; prefill_gemm (prefill_avx512.cc) computes the same order for prompt
// tokens. The AVX2 level does the same for Q4_0, Q5_0 and IQ4_NL (legacy_rows8_avx2.cc); the scalar level
// keeps the vec_dot order.
// GCC 12 reports the undefined upper part inside its own 128/256 -> 512-bit cast intrinsics as "used
// uninitialized" (as in legacy_quant_avx512.cc): a false positive.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <vector>

#include "engine/kernels/blocks.h"
#include "engine/kernels/kernels.h"
#include "engine/kernels/rows8_layout.h"

namespace isv {
namespace {

#include "engine/kernels/legacy_rows8_frame.inc"

// The activation side of one (token, block): its Q8_0 block (read in place), half the offset
// correction (broadcast to all 16 lanes; each row's two lanes are added at the end, which doubles it) and
// its scale. w[k] of a loader meets activation words kWordLo[k] (its even lanes) and kWordLo[k] + 1 (odd).
constexpr int kWordLo[4] = {0, 4, 2, 6};

// Act: the activation block type, BlockQ8_0, or BlockQ8_1 for the types with a min (Q4_1, Q5_1).
template <typename Act>
struct Rows8Prepared {
  const Act* y[kGemvMaxTokens];    // the tokens' blocks
  std::vector<int32_t> half_corr;  // [t * nb + i]: -kOffset / 2 * sum of the block's quants (kOffset != 0)
  std::vector<float> dy;
  std::vector<float> sy;  // BlockQ8_1: the blocks' sums s
};

// A loader: Load(rows, i, w, dx) gives, for block i of the eight rows, the four weight vectors
// (lanes 2r, 2r + 1: row r's words that meet activation words kWordLo[k], kWordLo[k] + 1), each weight +
// kOffset, and the eight rows' scales; LoadGroup(gb, w, dx) the same from a kRows8 group block. The types
// with a min (kHasMin: Q4_1, Q5_1, whose quants are unsigned, kOffset 0) give the eight rows' mins with
// Mins(gb) and take Q8_1 activations (Act).
//
// The nibble types (Q4_0, IQ4_NL: a fp16 scale, then 16 bytes of nibbles). Nibbles(rows, i, n)
// gives the four vectors of nibble indices.
template <typename Block>
struct NibbleRows8 {
  using Act = BlockQ8_0;
  static constexpr bool kHasMin = false;
  __m512i index_a, index_b, low;
  NibbleRows8()
      : index_a(_mm512_set_epi32(29, 28, 25, 24, 21, 20, 17, 16, 13, 12, 9, 8, 5, 4, 1, 0)),
        index_b(_mm512_add_epi32(index_a, _mm512_set1_epi32(2))),
        low(_mm512_set1_epi8(0x0F)) {}

  void Nibbles(const uint8_t* const* rows, int64_t i, __m512i (&w)[4], __m256& dx) const {
    const size_t o = static_cast<size_t>(i) * sizeof(Block);
    auto qs = [&](int r) {
      return _mm_loadu_si128(reinterpret_cast<const __m128i*>(rows[r] + o + offsetof(Block, qs)));
    };
    // P: rows 0-3 (128 bits each: words 0-3 of the row), Q: rows 4-7.
    __m512i p = _mm512_castsi128_si512(qs(0));
    __m512i q = _mm512_castsi128_si512(qs(4));
    p = _mm512_inserti32x4(p, qs(1), 1);
    q = _mm512_inserti32x4(q, qs(5), 1);
    p = _mm512_inserti32x4(p, qs(2), 2);
    q = _mm512_inserti32x4(q, qs(6), 2);
    p = _mm512_inserti32x4(p, qs(3), 3);
    q = _mm512_inserti32x4(q, qs(7), 3);
    // A lanes 2r + h: word h of row r; B: word 2 + h.
    Split(_mm512_permutex2var_epi32(p, index_a, q), _mm512_permutex2var_epi32(p, index_b, q), w);
    dx = Scales<Block>(rows, o);
  }

  // The same from the kRows8 group block at gb (rows8_layout.h: the 8 scales, then at qs the rows'
  // nibble bytes in the order of A and B).
  void GroupNibbles(const uint8_t* gb, size_t qs, __m512i (&w)[4], __m256& dx) const {
    Split(_mm512_loadu_si512(gb + qs), _mm512_loadu_si512(gb + qs + 64), w);
    dx = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(gb)));
  }

  // Low nibbles of word j hold weights 4j..4j+3, high nibbles weights 16+4j..16+4j+3.
  void Split(__m512i a, __m512i b, __m512i (&w)[4]) const {
    w[0] = _mm512_and_si512(a, low);
    w[1] = _mm512_and_si512(_mm512_srli_epi16(a, 4), low);
    w[2] = _mm512_and_si512(b, low);
    w[3] = _mm512_and_si512(_mm512_srli_epi16(b, 4), low);
  }
};

// Q4_0 stores weight + 8 as the nibble.
struct Q4_0Rows8 : NibbleRows8<BlockQ4_0> {
  using Block = BlockQ4_0;
  static constexpr int kOffset = 8;
  void Load(const uint8_t* const* rows, int64_t i, __m512i (&w)[4], __m256& dx) const { Nibbles(rows, i, w, dx); }
  void LoadGroup(const uint8_t* gb, __m512i (&w)[4], __m256& dx) const {
    GroupNibbles(gb, Rows8WordsOffset(false), w, dx);
  }
};

// IQ4_NL: the nibble indexes kIq4nlValues; the table holds value + 128 (in [1, 241]).
struct Iq4NlRows8 : NibbleRows8<BlockIq4Nl> {
  using Block = BlockIq4Nl;
  static constexpr int kOffset = 128;
  __m512i table;
  Iq4NlRows8() {
    const __m128i t = _mm_add_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(kIq4nlValues)),
                                   _mm_set1_epi8(static_cast<char>(0x80)));
    table = _mm512_broadcast_i32x4(t);
  }
  void Load(const uint8_t* const* rows, int64_t i, __m512i (&w)[4], __m256& dx) const {
    Nibbles(rows, i, w, dx);
    LookUp(w);
  }
  void LoadGroup(const uint8_t* gb, __m512i (&w)[4], __m256& dx) const {
    GroupNibbles(gb, Rows8WordsOffset(false), w, dx);
    LookUp(w);
  }
  void LookUp(__m512i (&w)[4]) const {
#pragma GCC unroll 4
    for (int k = 0; k < 4; ++k) w[k] = _mm512_shuffle_epi8(table, w[k]);
  }
};

// Q5_0 / Q5_1: the nibbles, plus 16 where the weight's fifth bit (bit j of the row's 32-bit qh for
// weight j) is set. With row r's qh in lanes 2r and 2r + 1 of a zmm, weight vector k needs byte kQhByte[k]
// of it (the weights 0-7, 16-23, 8-15, 24-31 its lanes hold), copied to all four bytes of the lane by
// VPSHUFB; VPTESTMB against byte b = 1 << (b + 4 * (l % 2)) then gives the byte mask of the weights to
// add 16 to.
template <typename Block>
struct FifthBitRows8 : NibbleRows8<Block> {
  static constexpr int kQhByte[4] = {0, 2, 1, 3};
  __m512i spread[4], bit, pairs, sixteen;
  FifthBitRows8() {
    for (int k = 0; k < 4; ++k) spread[k] = _mm512_set1_epi32(kQhByte[k] * 0x01010101);
    // VPSHUFB indexes within each 128-bit lane: dword p of the lane takes byte 4 p + kQhByte[k].
    for (int k = 0; k < 4; ++k) {
      spread[k] = _mm512_add_epi8(spread[k], _mm512_set4_epi32(0x0C0C0C0C, 0x08080808, 0x04040404, 0));
    }
    bit = _mm512_set1_epi64(static_cast<int64_t>(0x8040201008040201ull));
    pairs = _mm512_set_epi32(7, 7, 6, 6, 5, 5, 4, 4, 3, 3, 2, 2, 1, 1, 0, 0);
    sixteen = _mm512_set1_epi8(16);
  }
  // qh8: the 8 rows' qh words (row r in 32-bit lane r).
  __attribute__((always_inline)) void AddFifthBits(__m256i qh8, __m512i (&w)[4]) const {
    const __m512i h = _mm512_permutexvar_epi32(pairs, _mm512_castsi256_si512(qh8));
#pragma GCC unroll 4
    for (int k = 0; k < 4; ++k) {
      const __mmask64 fifth = _mm512_test_epi8_mask(_mm512_shuffle_epi8(h, spread[k]), bit);
      w[k] = _mm512_mask_add_epi8(w[k], fifth, w[k], sixteen);
    }
  }
  // The same from a group block's qh bytes (rows8_layout.h: byte p of the 8 rows side by side, which is
  // the byte mask of the vector of weights 8 p .. 8 p + 7): one mask load and one masked add per vector.
  __attribute__((always_inline)) void AddGroupFifthBits(const uint8_t* qh, __m512i (&w)[4]) const {
#pragma GCC unroll 4
    for (int k = 0; k < 4; ++k) {
      uint64_t bits;
      std::memcpy(&bits, qh + kRows * kQhByte[k], 8);
      w[k] = _mm512_mask_add_epi8(w[k], _cvtu64_mask64(bits), w[k], sixteen);
    }
  }
};

// Q5_0: weight + 16 is the nibble plus 16 times the fifth bit.
struct Q5_0Rows8 : FifthBitRows8<BlockQ5_0> {
  using Block = BlockQ5_0;
  static constexpr int kOffset = 16;
  // Inlined by force: GCC 12 kept this one out of line, which cost a third of Q5_0's decode speed.
  __attribute__((always_inline)) void Load(const uint8_t* const* rows, int64_t i, __m512i (&w)[4], __m256& dx) const {
    Nibbles(rows, i, w, dx);
    const size_t o = static_cast<size_t>(i) * sizeof(Block);
    uint32_t qh[kRows];
#pragma GCC unroll 8
    for (int r = 0; r < kRows; ++r) std::memcpy(&qh[r], rows[r] + o + offsetof(Block, qh), 4);
    AddFifthBits(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(qh)), w);
  }
  // kRows8: the scales, the 8 rows' qh bytes (32), the nibble words.
  __attribute__((always_inline)) void LoadGroup(const uint8_t* gb, __m512i (&w)[4], __m256& dx) const {
    GroupNibbles(gb, Rows8WordsOffset(true), w, dx);
    AddGroupFifthBits(gb + Rows8QhOffset(false), w);
  }
};

// Q4_1 / Q5_1, kRows8 only (their file-order decode keeps the vec_dot order, legacy_quant_avx512.cc): the
// unsigned quants (Q4_1: the nibbles; Q5_1: plus 16 times the fifth bit) as they are, the mins after the
// scales (rows8_layout.h). One more FMA per block and token (min * the token's block sum s), in the prefill
// order's place. Against the vec_dot-order gemv (session 14, llama-3.2-1b, tg 1 thread): Q4_1 18.1 -> 35.0
// t/s, Q5_1 15.2 -> 31.1.
template <typename B, bool kQh = std::is_same_v<B, BlockQ5_1>>
struct MinRows8 : std::conditional_t<kQh, FifthBitRows8<B>, NibbleRows8<B>> {
  using Block = B;
  using Act = BlockQ8_1;
  static constexpr bool kHasMin = true;
  static constexpr int kOffset = 0;
  __attribute__((always_inline)) void LoadGroup(const uint8_t* gb, __m512i (&w)[4], __m256& dx) const {
    this->GroupNibbles(gb, Rows8WordsOffset(kQh, true), w, dx);
    if constexpr (kQh) {
      this->AddGroupFifthBits(gb + Rows8QhOffset(true), w);
    }
  }
  static __m256 Mins(const uint8_t* gb) {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(gb + kRows8MinOffset)));
  }
};
using Q4_1Rows8 = MinRows8<BlockQ4_1>;
using Q5_1Rows8 = MinRows8<BlockQ5_1>;

// Q8_0, kRows8 only (its file-order decode keeps the vec_dot order, legacy_quant_avx512.cc): the
// quants are stored as the activation words meet them (rows8_layout.h), so a block is four loads and
// the +128 (VPXORD with 0x80 bytes) that makes them unsigned.
struct Q8_0Rows8 {
  using Block = BlockQ8_0;
  using Act = BlockQ8_0;
  static constexpr bool kHasMin = false;
  static constexpr int kOffset = 128;
  static constexpr int kPiece[4] = {0, 2, 1, 3};  // the 64 bytes that meet activation words kWordLo[k]
  __m512i sign = _mm512_set1_epi8(static_cast<char>(0x80));
  __attribute__((always_inline)) void LoadGroup(const uint8_t* gb, __m512i (&w)[4], __m256& dx) const {
#pragma GCC unroll 4
    for (int k = 0; k < 4; ++k) {
      w[k] = _mm512_xor_si512(_mm512_loadu_si512(gb + kRows8Q8QsOffset + 64 * kPiece[k]), sign);
    }
    dx = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(gb)));
  }
};

// Block i of the eight rows (weights w, scales dx; mins mx where Loader::kHasMin) for kT tokens:
// acc[t] += their exact integer block sums times dx * dy, then (kHasMin) mx * sy, lane r for row r.
template <int kT, typename Loader>
__attribute__((always_inline)) inline void Accumulate(const __m512i (&w)[4], __m256 dx, __m256 mx,
                                                      const Rows8Prepared<typename Loader::Act>& p, int64_t nb,
                                                      int64_t i, __m256 (&acc)[kT]) {
#pragma GCC unroll 8
  for (int t = 0; t < kT; ++t) {
    const int64_t k = t * nb + i;
    const int8_t* q = p.y[t][i].qs;
    __m512i s = Loader::kOffset != 0 ? _mm512_set1_epi32(p.half_corr[k]) : _mm512_setzero_si512();
#pragma GCC unroll 4
    for (int j = 0; j < 4; ++j) {
      int64_t words;  // activation words kWordLo[j], kWordLo[j] + 1
      std::memcpy(&words, q + 4 * kWordLo[j], 8);
      s = _mm512_dpbusd_epi32(s, w[j], _mm512_set1_epi64(words));
    }
    const __m256i isum = _mm512_cvtepi64_epi32(_mm512_add_epi32(s, _mm512_srli_epi64(s, 32)));
    acc[t] = _mm256_fmadd_ps(_mm256_mul_ps(dx, _mm256_set1_ps(p.dy[k])), _mm256_cvtepi32_ps(isum), acc[t]);
    if constexpr (Loader::kHasMin) acc[t] = _mm256_fmadd_ps(mx, _mm256_set1_ps(p.sy[k]), acc[t]);
  }
}

// Rows [0, n_rows) (n_rows <= 8; missing rows repeat the last one, computed and not stored) of x
// for kT tokens: out[t * out_stride + r]. The prefetch stops at `end`, the end of the gemv's rows.
template <int kT, typename Loader>
void Rows8Pass(const Loader& loader, int64_t nb, const uint8_t* x, size_t x_stride, int n_rows,
               const Rows8Prepared<BlockQ8_0>& p, const uint8_t* end, float* out, size_t out_stride) {
  const uint8_t* rows[kRows];
  PassRows(x, x_stride, n_rows, rows);
  __m256 acc[kT];
#pragma GCC unroll 8
  for (int t = 0; t < kT; ++t) acc[t] = _mm256_setzero_ps();
  for (int64_t i = 0; i < nb; ++i) {
    PrefetchAhead<kRows * sizeof(typename Loader::Block)>(x, i, end);
    __m512i w[4];
    __m256 dx;
    loader.Load(rows, i, w, dx);
    Accumulate<kT, Loader>(w, dx, dx, p, nb, i, acc);
  }
  const __mmask8 store = static_cast<__mmask8>((1u << n_rows) - 1);
#pragma GCC unroll 8
  for (int t = 0; t < kT; ++t) _mm256_mask_storeu_ps(out + t * out_stride, store, acc[t]);
}

// The 8 rows of each of the kStreams kRows8 groups at g, g + group_bytes, ... for kT tokens: group s's
// row r to out[t * out_stride + 8 s + r]. Block by block in turn, kStreams sequential streams
// (Rows8Streams), which the hardware prefetchers follow (software prefetch: see the top of the file).
template <int kT, int kStreams, typename Loader>
void GroupPass(const Loader& loader, int64_t nb, const uint8_t* g, size_t group_bytes,
               const Rows8Prepared<typename Loader::Act>& p, float* out, size_t out_stride) {
  constexpr size_t kGroupBlock = kRows * sizeof(typename Loader::Block);
  __m256 acc[kStreams][kT];
#pragma GCC unroll 4
  for (int s = 0; s < kStreams; ++s) {
#pragma GCC unroll 8
    for (int t = 0; t < kT; ++t) acc[s][t] = _mm256_setzero_ps();
  }
  for (int64_t i = 0; i < nb; ++i) {
#pragma GCC unroll 4
    for (int s = 0; s < kStreams; ++s) {
      const uint8_t* gb = g + s * group_bytes + i * kGroupBlock;
      __m512i w[4];
      __m256 dx, mx = _mm256_setzero_ps();  // mx: only where Loader::kHasMin
      loader.LoadGroup(gb, w, dx);
      if constexpr (Loader::kHasMin) mx = loader.Mins(gb);
      Accumulate<kT, Loader>(w, dx, mx, p, nb, i, acc[s]);
    }
  }
#pragma GCC unroll 4
  for (int s = 0; s < kStreams; ++s) {
#pragma GCC unroll 8
    for (int t = 0; t < kT; ++t) _mm256_storeu_ps(out + t * out_stride + s * kRows, acc[s][t]);
  }
}

// The activations of n_tokens tokens for a loader with offset kOffset, in this thread's buffer.
template <typename Act, int kOffset>
const Rows8Prepared<Act>& PrepareTokens(int64_t nb, const void* vy, size_t y_stride, int n_tokens) {
  thread_local Rows8Prepared<Act> p;
  const size_t need = static_cast<size_t>(n_tokens * nb);
  if (p.dy.size() < need) {
    p.half_corr.resize(need);
    p.dy.resize(need);
    if constexpr (std::is_same_v<Act, BlockQ8_1>) p.sy.resize(need);
  }
  for (int t = 0; t < n_tokens; ++t) {
    const Act* y = reinterpret_cast<const Act*>(static_cast<const uint8_t*>(vy) + t * y_stride);
    p.y[t] = y;
    for (int64_t i = 0; i < nb; ++i) {
      if constexpr (kOffset != 0) {
        int32_t sum = 0;
        for (int j = 0; j < kQK; ++j) sum += y[i].qs[j];
        p.half_corr[t * nb + i] = -kOffset / 2 * sum;
      }
      p.dy[t * nb + i] = _cvtsh_ss(y[i].d);
      if constexpr (std::is_same_v<Act, BlockQ8_1>) p.sy[t * nb + i] = _cvtsh_ss(y[i].s);
    }
  }
  return p;
}

// TypeKernels::gemv, and with kGroups gemv_rows8 (the same bits on a kRows8 matrix).
template <typename Loader, bool kGroups = false>
void Rows8Gemv(int64_t n, const void* vx, size_t x_stride, int64_t n_rows, const void* vy, size_t y_stride,
               int n_tokens, float* out, size_t out_stride) {
  const int64_t nb = n / kQK;
  const auto& p = PrepareTokens<typename Loader::Act, Loader::kOffset>(nb, vy, y_stride, n_tokens);
  const Loader loader;
  const uint8_t* x = static_cast<const uint8_t*>(vx);
  const uint8_t* end = x + n_rows * x_stride;
  PrefetchHead(x, static_cast<size_t>(n_rows) * x_stride);
  static_assert(kGemvMaxTokens == 8, "Rows8Gemv handles 1..8 tokens (WithUpTo8)");
  WithUpTo8(n_tokens, [&](auto tokens) {
    constexpr int kT = decltype(tokens)::value;
    if constexpr (kGroups) {
      constexpr int kStreams = Rows8Streams(kT);
      const size_t group_bytes = kRows * x_stride;
      int64_t r = 0;
      for (; r + kStreams * kRows <= n_rows; r += kStreams * kRows) {
        GroupPass<kT, kStreams>(loader, nb, x + r * x_stride, group_bytes, p, out + r, out_stride);
      }
      for (; r < n_rows; r += kRows)
        GroupPass<kT, 1>(loader, nb, x + r * x_stride, group_bytes, p, out + r, out_stride);
    } else {
      for (int64_t r = 0; r < n_rows; r += kRows) {
        const int rows = static_cast<int>(std::min<int64_t>(kRows, n_rows - r));
        Rows8Pass<kT>(loader, nb, x + r * x_stride, x_stride, rows, p, end, out + r, out_stride);
      }
    }
  });
}

template <typename Loader>
void Register(TypeKernels& k) {
  RegisterRows8<Rows8Gemv<Loader>>(k);
  k.gemv_rows8 = Rows8Gemv<Loader, true>;
}

}  // namespace

void RegisterRows8KernelsAvx512(KernelTable& table) {
  Register<Q4_0Rows8>(table[GgmlType::kQ4_0]);
  Register<Iq4NlRows8>(table[GgmlType::kIQ4_NL]);
  Register<Q5_0Rows8>(table[GgmlType::kQ5_0]);
  table[GgmlType::kQ8_0].gemv_rows8 = Rows8Gemv<Q8_0Rows8, true>;
  table[GgmlType::kQ4_1].gemv_rows8 = Rows8Gemv<Q4_1Rows8, true>;
  table[GgmlType::kQ5_1].gemv_rows8 = Rows8Gemv<Q5_1Rows8, true>;
}

}  // namespace isv
