// Q4_0 and IQ4_NL decode at the AVX2 level in the prefill order (prefill.h): eight weight rows per pass, as
// legacy_rows8_avx512.cc does at the AVX-512 level (see there for why), with AVX2's instructions:
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
// The prefill kernel of this level (prefill_avx2.cc) computes the same order for prompt tokens, so
// TypeKernels::plain_in_prefill_order holds here too.
#include <immintrin.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
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

// The same from the kRows8 group block at gb (rows8_layout.h): the 8 scales, then the nibble bytes
// already in this form.
inline void LoadGroupNibbles(const uint8_t* gb, __m256i (&w)[8], __m256& dx) {
  const uint8_t* qs = gb + Rows8WordsOffset(false);
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

// Int32 lanes 2r, 2r + 1 of s03 (rows 0-3) and s47 (rows 4-7) -> each row's sum, row r in lane r.
inline __m256i RowSums(__m256i s03, __m256i s47) {
  const __m256i h = _mm256_hadd_epi32(s03, s47);  // rows 0 1 4 5 | 2 3 6 7
  return _mm256_permute4x64_epi64(h, _MM_SHUFFLE(3, 1, 2, 0));
}

// A loader: Load(rows, i, w, dx) as LoadNibbles, w in the loader's form; Sum(w, q) = each row's exact
// sum of weight (+ kOffset) x activation quant over the block whose quants are q.
struct Q4_0Rows8 {
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

struct Iq4NlRows8 {
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
  static __m256i Sum(const __m256i (&w)[8], const int8_t* q) {
    const __m256i ones = _mm256_set1_epi16(1);
    __m256i sum[2] = {_mm256_setzero_si256(), _mm256_setzero_si256()};  // rows 0-3, 4-7
#pragma GCC unroll 8
    for (int j = 0; j < 8; ++j) {
      const __m256i pairs =
          _mm256_maddubs_epi16(_mm256_abs_epi8(w[j]), _mm256_sign_epi8(BroadcastWords(q, j % 4), w[j]));
      sum[j / 4] = _mm256_add_epi32(sum[j / 4], _mm256_madd_epi16(pairs, ones));
    }
    return RowSums(sum[0], sum[1]);
  }
};

// Block i of the eight rows (weights w, scales dx) for kT tokens: acc[t] += their exact integer block
// sums times dx * dy, lane r for row r.
template <int kT, typename Loader>
inline void Accumulate(const __m256i (&w)[8], __m256 dx, const BlockQ8_0* const* ys, const Rows8Prepared& p, int64_t nb,
                       int64_t i, __m256 (&acc)[kT]) {
#pragma GCC unroll 8
  for (int t = 0; t < kT; ++t) {
    const int64_t k = t * nb + i;
    const __m256i isum = _mm256_add_epi32(Loader::Sum(w, ys[t][i].qs), _mm256_set1_epi32(p.corr[k]));
    acc[t] = _mm256_fmadd_ps(_mm256_mul_ps(dx, _mm256_set1_ps(p.dy[k])), _mm256_cvtepi32_ps(isum), acc[t]);
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
    Accumulate<kT, Loader>(w, dx, ys, p, nb, i, acc);
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

// The 8 rows of the kRows8 group at g (rows8_layout.h) for kT tokens: out[t * out_stride + r]; one
// sequential stream, prefetched as above.
template <int kT, typename Loader>
void GroupPass(int64_t nb, const uint8_t* g, const BlockQ8_0* const* ys, const Rows8Prepared& p, const uint8_t* end,
               float* out, size_t out_stride) {
  constexpr size_t kGroupBlock = kRows * sizeof(typename Loader::Block);
  __m256 acc[kT];
#pragma GCC unroll 8
  for (int t = 0; t < kT; ++t) acc[t] = _mm256_setzero_ps();
  for (int64_t i = 0; i < nb; ++i) {
    PrefetchAhead<kGroupBlock>(g, i, end);
    __m256i w[8];
    __m256 dx;
    Loader::LoadGroup(g + i * kGroupBlock, w, dx);
    Accumulate<kT, Loader>(w, dx, ys, p, nb, i, acc);
  }
#pragma GCC unroll 8
  for (int t = 0; t < kT; ++t) _mm256_storeu_ps(out + t * out_stride, acc[t]);
}

// The tokens' corrections and scales in this thread's buffer, and their rows in ys.
template <typename Loader>
const Rows8Prepared& PrepareTokens(int64_t nb, const void* vy, size_t y_stride, int n_tokens,
                                   const BlockQ8_0* (&ys)[kGemvMaxTokens]) {
  thread_local Rows8Prepared p;
  const size_t need = static_cast<size_t>(n_tokens * nb);
  if (p.corr.size() < need) {
    p.corr.resize(need);
    p.dy.resize(need);
  }
  for (int t = 0; t < n_tokens; ++t) {
    ys[t] = reinterpret_cast<const BlockQ8_0*>(static_cast<const uint8_t*>(vy) + t * y_stride);
    for (int64_t i = 0; i < nb; ++i) {
      int32_t sum = 0;
      for (int j = 0; j < kQK; ++j) sum += ys[t][i].qs[j];
      p.corr[t * nb + i] = -Loader::kOffset * sum;
      p.dy[t * nb + i] = _cvtsh_ss(ys[t][i].d);
    }
  }
  return p;
}

// TypeKernels::gemv, and with kGroups gemv_rows8 (the same bits on a kRows8 matrix).
template <typename Loader, bool kGroups = false>
void Rows8Gemv(int64_t n, const void* vx, size_t x_stride, int64_t n_rows, const void* vy, size_t y_stride,
               int n_tokens, float* out, size_t out_stride) {
  const int64_t nb = n / kQK;
  const BlockQ8_0* ys[kGemvMaxTokens];
  const Rows8Prepared& p = PrepareTokens<Loader>(nb, vy, y_stride, n_tokens, ys);
  const uint8_t* x = static_cast<const uint8_t*>(vx);
  const uint8_t* end = x + n_rows * x_stride;
  PrefetchHead(x, static_cast<size_t>(n_rows) * x_stride);
  static_assert(kGemvMaxTokens == 8, "Rows8Gemv handles 1..8 tokens (WithUpTo8)");
  WithUpTo8(n_tokens, [&](auto tokens) {
    constexpr int kT = decltype(tokens)::value;
    for (int64_t r = 0; r < n_rows; r += kRows) {
      if constexpr (kGroups) {
        GroupPass<kT, Loader>(nb, x + r * x_stride, ys, p, end, out + r, out_stride);
      } else {
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
  table[GgmlType::kQ4_0].gemv_rows8 = Rows8Gemv<Q4_0Rows8, true>;
  table[GgmlType::kIQ4_NL].gemv_rows8 = Rows8Gemv<Iq4NlRows8, true>;
}

}  // namespace isv
