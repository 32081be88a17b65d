// Q4_0, Q5_0 and IQ4_NL decode at the AVX2 level in the prefill order (prefill.h), and the kRows8 (repacked)
// matrices of Q8_0, Q4_1 and Q5_1 in the same order: eight weight rows per pass, as legacy_rows8_avx512.cc does at the
// AVX-512 level (see there for why), with AVX2's instructions:
//   - the 16-byte nibble arrays of the eight rows' block i are arranged as the kRows8 layout holds
//     them (rows8_layout.h; four VINSERTI128 and four VPUNPCK*QDQ): four ymm, A03 / B03 with the first
//     / last 8 nibble bytes of rows 0-3 (row r in lanes 2r, 2r + 1), A47 / B47 those of rows 4-7; the
//     low and high nibbles of A are the weights (+8) that meet activation words 0, 1 and 4, 5, those of
//     B words 2, 3 and 6, 7: each pair broadcast to every 64-bit lane;
//   - VPMADDUBSW of each weight vector with its activation words gives int16 pair sums (at most
//     2 * 15 * 127 = 3810), a half's four vectors sum below 2^15 (15240), VPMADDWD with ones gives
//     int32 lanes, and VPHADDD of the two halves plus one VPERMQ give each row's exact sum of
//     weight x activation, minus 8 * sum(activation) = isum;
//   - acc = fma(fp32(dx) * fp32(dy), float(isum), acc) for the eight rows at once.
// IQ4_NL's values (-127..113) would saturate VPMADDUBSW in the +128 form, so they go signed, as in
// prefill_avx2.cc: |w| x (activation with w's sign), at most 2 * 127 * 127 per int16 pair, each
// vector widened to int32 by VPMADDWD before the eight are added.
// Q5_0 adds its fifth bits per weight vector (Q5_0Rows8), Q8_0 is signed like IQ4_NL. The prefill kernel
// of this level (prefill_avx2.cc) computes the same order for prompt tokens, so
// TypeKernels::plain_in_prefill_order holds here too (Q8_0: only its kRows8 matrices sum in it).
// One thread from L3 (MatMul, one token, 2 x 2048 x 2048), against the file-order (vec_dot-order) gemv of
// this level: Q5_0 12.9 -> 22.7 GB/s on kRows8 (11.4 on the file's order, which now takes the prefill
// order too), Q8_0 29.1 -> 51.5, Q4_1 12.2 -> 37.9, Q5_1 11.6 -> 23.8.
#include <immintrin.h>

#include <algorithm>
#include <cstddef>
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

// The activation side of one (token, block): the correction -kOffset * sum(quants) and the scale.
struct Rows8Prepared {
  std::vector<int32_t> corr;  // [t * nb + i]
  std::vector<float> dy;
  std::vector<float> sy;  // Q8_1 activations (the loaders with mins): the blocks' sums s
};

// A loader's activations: Q8_0 blocks, no min (Q4_1 / Q5_1 below: Q8_1 blocks, and the rows' mins).
struct NoMin {
  using Act = BlockQ8_0;
  static constexpr bool kHasMin = false;
  static __m256 Mins(const uint8_t* /*gb*/) { return _mm256_setzero_ps(); }
};

// The four vectors of nibble bytes (A03, B03, A47, B47 above) -> w[k] (rows 0-3) and w[4 + k] (rows
// 4-7): the nibbles that meet activation words kWordLo[k], kWordLo[k] + 1.
constexpr int kWordLo[4] = {0, 4, 2, 6};
inline void SplitNibbles(__m256i a03, __m256i b03, __m256i a47, __m256i b47, __m256i (&w)[8]) {
  const __m256i low = _mm256_set1_epi8(0x0F);
  w[0] = _mm256_and_si256(a03, low);
  w[1] = _mm256_and_si256(_mm256_srli_epi16(a03, 4), low);
  w[2] = _mm256_and_si256(b03, low);
  w[3] = _mm256_and_si256(_mm256_srli_epi16(b03, 4), low);
  w[4] = _mm256_and_si256(a47, low);
  w[5] = _mm256_and_si256(_mm256_srli_epi16(a47, 4), low);
  w[6] = _mm256_and_si256(b47, low);
  w[7] = _mm256_and_si256(_mm256_srli_epi16(b47, 4), low);
}

// Block i of the eight rows (a fp16 scale, then 16 bytes of nibbles): w as SplitNibbles gives it, and
// the rows' scales.
template <typename Block>
inline void LoadNibbles(const uint8_t* const* rows, int64_t i, __m256i (&w)[8], __m256& dx) {
  const size_t o = static_cast<size_t>(i) * sizeof(Block);
  auto qs = [&](int r) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(rows[r] + o + offsetof(Block, qs))); };
  // Rows r and r + 2 in the two halves; unpacking 64-bit halves pairs rows r and r + 1.
  auto halves = [&](int r, __m256i& a, __m256i& b) {
    const __m256i p = _mm256_inserti128_si256(_mm256_castsi128_si256(qs(r)), qs(r + 2), 1);
    const __m256i q = _mm256_inserti128_si256(_mm256_castsi128_si256(qs(r + 1)), qs(r + 3), 1);
    a = _mm256_unpacklo_epi64(p, q);
    b = _mm256_unpackhi_epi64(p, q);
  };
  __m256i a03, b03, a47, b47;
  halves(0, a03, b03);
  halves(4, a47, b47);
  SplitNibbles(a03, b03, a47, b47, w);
  dx = Scales<Block>(rows, o);
}

// The same from the kRows8 group block at gb (rows8_layout.h): the 8 scales, then (at qs_offset) the
// nibble bytes already in this form.
inline void LoadGroupNibbles(const uint8_t* gb, __m256i (&w)[8], __m256& dx,
                             size_t qs_offset = Rows8WordsOffset(false)) {
  const uint8_t* qs = gb + qs_offset;
  auto load = [&](int k) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qs + 32 * k)); };
  SplitNibbles(load(0), load(2), load(1), load(3), w);
  dx = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(gb)));
}

// Activation words kWordLo[k], kWordLo[k] + 1 of the block quants q in every 64-bit lane.
inline __m256i BroadcastWords(const int8_t* q, int k) {
  int64_t v;
  std::memcpy(&v, q + 4 * kWordLo[k], 8);
  return _mm256_set1_epi64x(v);
}

// A loader: Load(rows, i, w, dx) as LoadNibbles, w in the loader's form; Sum(w, q) = each row's exact
// sum of weight (+ kOffset) x activation quant over the block whose quants are q.
struct Q4_0Rows8 : NoMin {
  using Block = BlockQ4_0;
  static constexpr int kOffset = 8;  // Q4_0 stores weight + 8
  static void Load(const uint8_t* const* rows, int64_t i, __m256i (&w)[8], __m256& dx) {
    LoadNibbles<Block>(rows, i, w, dx);
  }
  static void LoadGroup(const uint8_t* gb, __m256i (&w)[8], __m256& dx) { LoadGroupNibbles(gb, w, dx); }
  // Four int16 pair sums of at most 2 * 15 * 127 each stay below 2^15.
  static __m256i Sum(const __m256i (&w)[8], const int8_t* q) {
    const __m256i ones = _mm256_set1_epi16(1);
    __m256i y[4];
#pragma GCC unroll 4
    for (int k = 0; k < 4; ++k) y[k] = BroadcastWords(q, k);
    __m256i p03 = _mm256_maddubs_epi16(w[0], y[0]), p47 = _mm256_maddubs_epi16(w[4], y[0]);
#pragma GCC unroll 4
    for (int k = 1; k < 4; ++k) {
      p03 = _mm256_add_epi16(p03, _mm256_maddubs_epi16(w[k], y[k]));
      p47 = _mm256_add_epi16(p47, _mm256_maddubs_epi16(w[4 + k], y[k]));
    }
    return RowSums(_mm256_madd_epi16(p03, ones), _mm256_madd_epi16(p47, ones));
  }
};

// Each row's exact sum of w x q for signed weights (IQ4_NL's values, Q8_0's quants): VPMADDUBSW needs
// an unsigned side, so |w| x (activation with w's sign), at most 2 * 128 * 127 per int16 pair, each
// vector widened to int32 by VPMADDWD before the eight are added.
inline __m256i SignedSum(const __m256i (&w)[8], const int8_t* q) {
  const __m256i ones = _mm256_set1_epi16(1);
  __m256i sum[2] = {_mm256_setzero_si256(), _mm256_setzero_si256()};  // rows 0-3, 4-7
#pragma GCC unroll 8
  for (int j = 0; j < 8; ++j) {
    const __m256i pairs = _mm256_maddubs_epi16(_mm256_abs_epi8(w[j]), _mm256_sign_epi8(BroadcastWords(q, j % 4), w[j]));
    sum[j / 4] = _mm256_add_epi32(sum[j / 4], _mm256_madd_epi16(pairs, ones));
  }
  return RowSums(sum[0], sum[1]);
}

// Q5_0: the nibbles plus 16 where the fifth bit is set (weight + 16, Q4_0's Sum). Weight vector k (and
// 4 + k) holds weights 8 p .. 8 p + 7 of each row, p = kPiece[k]: byte 8 r + b of the ymm is row r (+ 4)'s
// weight 8 p + b. AddFifthBits turns byte p of each row's fifth-bit word into the byte mask of those
// weights: VPSHUFB copies row r's byte to the 8 bytes of its 64-bit lane, VPAND and VPCMPEQB with 1 << b
// test bit b in byte b, and VPAND / VPOR add the 16s: five instructions per vector (AVX-512 loads a
// kRows8 piece as a mask register).
constexpr int kPiece[4] = {0, 2, 1, 3};  // = kWordLo[k] / 2: the 8 quants that meet words kWordLo[k], + 1
struct Q5_0Rows8 : NoMin {
  using Block = BlockQ5_0;
  static constexpr int kOffset = 16;
  // Adds the fifth bits to w[k] and w[4 + k]: h03 / h47 hold the fifth-bit bytes of rows 0-3 / 4-7 in each
  // 128-bit lane, and byte 8 r + b of the VPSHUFB index i03 / i47 picks row r's byte p = kPiece[k] there.
  static void AddFifthBits(__m256i h03, __m256i i03, __m256i h47, __m256i i47, int k, __m256i (&w)[8]) {
    const __m256i bit = _mm256_set1_epi64x(static_cast<int64_t>(0x8040201008040201ull));
    const __m256i sixteen = _mm256_set1_epi8(16);
    auto fifth = [&](__m256i h, __m256i index) {
      const __m256i b = _mm256_and_si256(_mm256_shuffle_epi8(h, index), bit);
      return _mm256_and_si256(_mm256_cmpeq_epi8(b, bit), sixteen);
    };
    w[k] = _mm256_or_si256(w[k], fifth(h03, i03));
    w[4 + k] = _mm256_or_si256(w[4 + k], fifth(h47, i47));
  }
  // From the file: the 8 rows' qh words (row r in 32-bit lane r), each half copied to both lanes, so
  // row r's byte p is byte 4 (r % 4) + p of every lane.
  static void Load(const uint8_t* const* rows, int64_t i, __m256i (&w)[8], __m256& dx) {
    LoadNibbles<Block>(rows, i, w, dx);
    const size_t o = static_cast<size_t>(i) * sizeof(Block);
    uint32_t qh[kRows];
#pragma GCC unroll 8
    for (int r = 0; r < kRows; ++r) std::memcpy(&qh[r], rows[r] + o + offsetof(Block, qh), 4);
    const __m256i qh8 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qh));
    const __m256i h03 = _mm256_permute2x128_si256(qh8, qh8, 0x00), h47 = _mm256_permute2x128_si256(qh8, qh8, 0x11);
#pragma GCC unroll 4
    for (int k = 0; k < 4; ++k) {
      const int p = kPiece[k];
      const __m256i index = _mm256_setr_epi64x(Bytes8(p), Bytes8(4 + p), Bytes8(8 + p), Bytes8(12 + p));
      AddFifthBits(h03, index, h47, index, k, w);
    }
  }
  // From a kRows8 group block: its qh piece p (rows8_layout.h: byte p of the 8 rows side by side),
  // broadcast, row r's byte at r.
  static void LoadGroup(const uint8_t* gb, __m256i (&w)[8], __m256& dx) {
    LoadGroupNibbles(gb, w, dx, Rows8WordsOffset(true));
    AddGroupFifthBits(gb + Rows8QhOffset(false), w);
  }
  // The fifth bits of a group block's qh bytes at qh (Q5_0's or Q5_1's).
  static void AddGroupFifthBits(const uint8_t* qh, __m256i (&w)[8]) {
    const __m256i i03 = _mm256_setr_epi64x(Bytes8(0), Bytes8(1), Bytes8(2), Bytes8(3));
    const __m256i i47 = _mm256_setr_epi64x(Bytes8(4), Bytes8(5), Bytes8(6), Bytes8(7));
#pragma GCC unroll 4
    for (int k = 0; k < 4; ++k) {
      int64_t bytes;
      std::memcpy(&bytes, qh + kRows8Group * kPiece[k], 8);
      const __m256i h = _mm256_set1_epi64x(bytes);
      AddFifthBits(h, i03, h, i47, k, w);
    }
  }
  // The byte b in all 8 bytes of a 64-bit lane.
  static constexpr int64_t Bytes8(int b) {
    return static_cast<int64_t>(0x0101010101010101ull * static_cast<uint64_t>(b));
  }
  static __m256i Sum(const __m256i (&w)[8], const int8_t* q) { return Q4_0Rows8::Sum(w, q); }
};

struct Iq4NlRows8 : NoMin {
  using Block = BlockIq4Nl;
  static constexpr int kOffset = 0;  // signed form: w holds the values
  static void Load(const uint8_t* const* rows, int64_t i, __m256i (&w)[8], __m256& dx) {
    LoadNibbles<Block>(rows, i, w, dx);
    LookUp(w);
  }
  static void LoadGroup(const uint8_t* gb, __m256i (&w)[8], __m256& dx) {
    LoadGroupNibbles(gb, w, dx);
    LookUp(w);
  }
  static void LookUp(__m256i (&w)[8]) {
    const __m256i table = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(kIq4nlValues)));
#pragma GCC unroll 8
    for (int j = 0; j < 8; ++j) w[j] = _mm256_shuffle_epi8(table, w[j]);
  }
  static __m256i Sum(const __m256i (&w)[8], const int8_t* q) { return SignedSum(w, q); }
};

// Q8_0, kRows8 only (its file-order decode keeps the vec_dot order, legacy_quant_avx2.cc): piece p of a
// group block (rows8_layout.h) is two ymm of weights as the loaders' w holds them (rows 0-3, 4-7), the
// signed quants as they are, summed by SignedSum.
struct Q8_0Rows8 : NoMin {
  using Block = BlockQ8_0;
  static constexpr int kOffset = 0;
  static void LoadGroup(const uint8_t* gb, __m256i (&w)[8], __m256& dx) {
    const uint8_t* qs = gb + kRows8Q8QsOffset;
#pragma GCC unroll 4
    for (int k = 0; k < 4; ++k) {
      w[k] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qs + 64 * kPiece[k]));
      w[4 + k] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qs + 64 * kPiece[k] + 32));
    }
    dx = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(gb)));
  }
  static __m256i Sum(const __m256i (&w)[8], const int8_t* q) { return SignedSum(w, q); }
};

// Q4_1 / Q5_1, kRows8 only (their file-order decode keeps the vec_dot order, legacy_quant_avx2.cc): the
// unsigned quants (Q4_1: the nibbles; Q5_1: plus 16 times the fifth bit, Q5_0Rows8's) in Q4_0's Sum, the
// rows' mins after the scales (rows8_layout.h), one more FMA per block and token with the Q8_1 activations'
// sum s, as legacy_rows8_avx512.cc does.
template <bool kQh>
struct MinRows8 {
  using Block = std::conditional_t<kQh, BlockQ5_1, BlockQ4_1>;
  using Act = BlockQ8_1;
  static constexpr bool kHasMin = true;
  static constexpr int kOffset = 0;
  static void LoadGroup(const uint8_t* gb, __m256i (&w)[8], __m256& dx) {
    LoadGroupNibbles(gb, w, dx, Rows8WordsOffset(kQh, true));
    if constexpr (kQh) Q5_0Rows8::AddGroupFifthBits(gb + Rows8QhOffset(true), w);
  }
  static __m256 Mins(const uint8_t* gb) {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(gb + kRows8MinOffset)));
  }
  static __m256i Sum(const __m256i (&w)[8], const int8_t* q) { return Q4_0Rows8::Sum(w, q); }
};

// Block i of the eight rows (weights w, scales dx; mins mx where Loader::kHasMin) for kT tokens: acc[t] +=
// their exact integer block sums times dx * dy, then mx * sy, lane r for row r.
template <int kT, typename Loader>
inline void Accumulate(const __m256i (&w)[8], __m256 dx, __m256 mx, const typename Loader::Act* const* ys,
                       const Rows8Prepared& p, int64_t nb, int64_t i, __m256 (&acc)[kT]) {
#pragma GCC unroll 8
  for (int t = 0; t < kT; ++t) {
    const int64_t k = t * nb + i;
    const __m256i isum = _mm256_add_epi32(Loader::Sum(w, ys[t][i].qs), _mm256_set1_epi32(p.corr[k]));
    acc[t] = _mm256_fmadd_ps(_mm256_mul_ps(dx, _mm256_set1_ps(p.dy[k])), _mm256_cvtepi32_ps(isum), acc[t]);
    if constexpr (Loader::kHasMin) acc[t] = _mm256_fmadd_ps(mx, _mm256_set1_ps(p.sy[k]), acc[t]);
  }
}

// Rows [0, n_rows) (n_rows <= 8; missing rows repeat the last one, computed and not stored) of x
// for kT tokens ys[t]: out[t * out_stride + r]. The prefetch stops at `end`.
template <int kT, typename Loader>
void Rows8Pass(int64_t nb, const uint8_t* x, size_t x_stride, int n_rows, const BlockQ8_0* const* ys,
               const Rows8Prepared& p, const uint8_t* end, float* out, size_t out_stride) {
  const uint8_t* rows[kRows];
  PassRows(x, x_stride, n_rows, rows);
  __m256 acc[kT];
#pragma GCC unroll 8
  for (int t = 0; t < kT; ++t) acc[t] = _mm256_setzero_ps();
  for (int64_t i = 0; i < nb; ++i) {
    PrefetchAhead<kRows * sizeof(typename Loader::Block)>(x, i, end);
    __m256i w[8];
    __m256 dx;
    Loader::Load(rows, i, w, dx);
    Accumulate<kT, Loader>(w, dx, dx, ys, p, nb, i, acc);
  }
#pragma GCC unroll 8
  for (int t = 0; t < kT; ++t) {
    if (n_rows == kRows) {
      _mm256_storeu_ps(out + t * out_stride, acc[t]);
    } else {
      alignas(32) float all[kRows];
      _mm256_store_ps(all, acc[t]);
      std::copy(all, all + n_rows, out + t * out_stride);
    }
  }
}

// The 8 rows of each of the kStreams kRows8 groups (rows8_layout.h) at g, g + group_bytes, ... for kT
// tokens: group s's row r to out[t * out_stride + 8 s + r]. Block by block in turn, kStreams sequential
// streams (Rows8Streams), which the hardware prefetchers follow: the software prefetch of Rows8Pass cost
// one stream 25-45% of its pace from memory (2 threads, 24 Q8_0 matrices of 4864 x 896: 34-45 GB/s with
// it, 58-60 without; Q5_0 36-37 either way), as it had at the AVX-512 level (legacy_rows8_avx512.cc).
template <int kT, int kStreams, typename Loader>
void GroupPass(int64_t nb, const uint8_t* g, size_t group_bytes, const typename Loader::Act* const* ys,
               const Rows8Prepared& p, float* out, size_t out_stride) {
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
      __m256i w[8];
      __m256 dx;
      const uint8_t* gb = g + s * group_bytes + i * kGroupBlock;
      Loader::LoadGroup(gb, w, dx);
      Accumulate<kT, Loader>(w, dx, Loader::Mins(gb), ys, p, nb, i, acc[s]);
    }
  }
#pragma GCC unroll 4
  for (int s = 0; s < kStreams; ++s) {
#pragma GCC unroll 8
    for (int t = 0; t < kT; ++t) _mm256_storeu_ps(out + t * out_stride + s * kRows, acc[s][t]);
  }
}

// The tokens' corrections and scales in this thread's buffer, and their rows in ys.
template <typename Loader>
const Rows8Prepared& PrepareTokens(int64_t nb, const void* vy, size_t y_stride, int n_tokens,
                                   const typename Loader::Act* (&ys)[kGemvMaxTokens]) {
  thread_local Rows8Prepared p;
  const size_t need = static_cast<size_t>(n_tokens * nb);
  if (p.corr.size() < need) {
    p.corr.resize(need);
    p.dy.resize(need);
    if constexpr (Loader::kHasMin) p.sy.resize(need);
  }
  for (int t = 0; t < n_tokens; ++t) {
    ys[t] = reinterpret_cast<const typename Loader::Act*>(static_cast<const uint8_t*>(vy) + t * y_stride);
    for (int64_t i = 0; i < nb; ++i) {
      int32_t sum = 0;
      if constexpr (Loader::kOffset != 0) {
        for (int j = 0; j < kQK; ++j) sum += ys[t][i].qs[j];
      }
      p.corr[t * nb + i] = -Loader::kOffset * sum;
      p.dy[t * nb + i] = _cvtsh_ss(ys[t][i].d);
      if constexpr (Loader::kHasMin) p.sy[t * nb + i] = _cvtsh_ss(ys[t][i].s);
    }
  }
  return p;
}

// TypeKernels::gemv, and with kGroups gemv_rows8 (the same bits on a kRows8 matrix).
template <typename Loader, bool kGroups = false>
void Rows8Gemv(int64_t n, const void* vx, size_t x_stride, int64_t n_rows, const void* vy, size_t y_stride,
               int n_tokens, float* out, size_t out_stride) {
  const int64_t nb = n / kQK;
  const typename Loader::Act* ys[kGemvMaxTokens];
  const Rows8Prepared& p = PrepareTokens<Loader>(nb, vy, y_stride, n_tokens, ys);
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
        GroupPass<kT, kStreams, Loader>(nb, x + r * x_stride, group_bytes, ys, p, out + r, out_stride);
      }
      for (; r < n_rows; r += kRows) {
        GroupPass<kT, 1, Loader>(nb, x + r * x_stride, group_bytes, ys, p, out + r, out_stride);
      }
    } else {
      for (int64_t r = 0; r < n_rows; r += kRows) {
        const int rows = static_cast<int>(std::min<int64_t>(kRows, n_rows - r));
        Rows8Pass<kT, Loader>(nb, x + r * x_stride, x_stride, rows, ys, p, end, out + r, out_stride);
      }
    }
  });
}

}  // namespace

void RegisterRows8KernelsAvx2(KernelTable& table) {
  RegisterRows8<Rows8Gemv<Q4_0Rows8>>(table[GgmlType::kQ4_0]);
  RegisterRows8<Rows8Gemv<Iq4NlRows8>>(table[GgmlType::kIQ4_NL]);
  RegisterRows8<Rows8Gemv<Q5_0Rows8>>(table[GgmlType::kQ5_0]);
  table[GgmlType::kQ4_0].gemv_rows8 = Rows8Gemv<Q4_0Rows8, true>;
  table[GgmlType::kIQ4_NL].gemv_rows8 = Rows8Gemv<Iq4NlRows8, true>;
  table[GgmlType::kQ5_0].gemv_rows8 = Rows8Gemv<Q5_0Rows8, true>;
  table[GgmlType::kQ8_0].gemv_rows8 = Rows8Gemv<Q8_0Rows8, true>;
  table[GgmlType::kQ4_1].gemv_rows8 = Rows8Gemv<MinRows8<false>, true>;
  table[GgmlType::kQ5_1].gemv_rows8 = Rows8Gemv<MinRows8<true>, true>;
}

}  // namespace isv
