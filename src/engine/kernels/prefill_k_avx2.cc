// AVX2 prefill kernels of Q2_K, Q3_K, Q4_K, Q5_K and Q6_K (prefill.h; IQ4_XS has none at this level, see
// prefill_k_unpack.inc): the AVX-512 kernels' order and bits
// (prefill_k_avx512.cc) on machines without AVX-512.
//
// Shape: one ymm holds ONE (row, sub-block) pair for 8 tokens, so a 16-token packed group is done in
// two halves. Each weight word (4 quants) is broadcast and multiplied with the packed word row of the
// 8 tokens by VPMADDUBSW (packed activations + 128 unsigned, quants signed). The quants are small, so
// the int16 pair sums of several words are added before one VPMADDWD widens them (kI16Words: 4 for
// Q4_K, 2 for Q5_K / Q6_K, sized so that int16 cannot overflow); the sub-block's int32 sum is scaled
// by the integer sub-block scale (VPMULLD) and added to the row's base (prefill_k_unpack.inc: it
// removes the +128), which makes the super-block's exact sum; the Q2_K / Q4_K / Q5_K mins come from the packed
// activation sums (VPMADDWD); then the same two FMAs per super-block and row as every prefill kernel.
#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "engine/kernels/blocks_k.h"
#include "engine/kernels/kernels.h"
#include "engine/kernels/prefill.h"

namespace isv {
namespace {

constexpr int kTileRows = 4;
constexpr int kHalf = kPrefillGroup / 2;  // tokens per ymm

#include "engine/kernels/prefill_k_unpack.inc"

inline __m256i Broadcast(const int8_t* q) {
  int32_t w;
  std::memcpy(&w, q, 4);
  return _mm256_set1_epi32(w);
}

// lanes[r][t] for kR rows and the 8 tokens of half h of one packed group.
template <typename T, int kR>
void HalfGroup(int64_t nb, const KRowTile& tile, const PrefillBlockK* pk, int h, float (*lanes)[kPrefillGroup]) {
  constexpr int kWords = kQK_K / T::kSub / 4;  // 32-bit weight words per sub-block
  const __m256i ones = _mm256_set1_epi16(1);
  __m256 acc[kR];
#pragma GCC unroll 8
  for (int r = 0; r < kR; ++r) acc[r] = _mm256_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    const PrefillBlockK& a = pk[b];
    __m256i s[kR];
#pragma GCC unroll 8
    for (int r = 0; r < kR; ++r) s[r] = _mm256_set1_epi32(tile.base[r * nb + b]);
    for (int sub = 0; sub < T::kSub; ++sub) {
      __m256i isum[kR];
#pragma GCC unroll 8
      for (int r = 0; r < kR; ++r) isum[r] = _mm256_setzero_si256();
#pragma GCC unroll 8
      for (int w0 = 0; w0 < kWords; w0 += T::kI16Words) {
        __m256i y[T::kI16Words];
#pragma GCC unroll 4
        for (int i = 0; i < T::kI16Words; ++i) {
          y[i] = _mm256_load_si256(reinterpret_cast<const __m256i*>(a.q[sub * kWords + w0 + i] + 4 * kHalf * h));
        }
#pragma GCC unroll 8
        for (int r = 0; r < kR; ++r) {
          const int8_t* q = tile.q.data() + (r * nb + b) * kQK_K + 4 * (sub * kWords + w0);
          __m256i pairs = _mm256_maddubs_epi16(y[0], Broadcast(q));
#pragma GCC unroll 4
          for (int i = 1; i < T::kI16Words; ++i) {
            pairs = _mm256_add_epi16(pairs, _mm256_maddubs_epi16(y[i], Broadcast(q + 4 * i)));
          }
          isum[r] = _mm256_add_epi32(isum[r], _mm256_madd_epi16(pairs, ones));
        }
      }
#pragma GCC unroll 8
      for (int r = 0; r < kR; ++r) {
        s[r] = _mm256_add_epi32(s[r],
                                _mm256_mullo_epi32(isum[r], _mm256_set1_epi32(tile.sc[(r * nb + b) * T::kSub + sub])));
      }
    }
    const __m256 dy = _mm256_load_ps(a.dy + kHalf * h);
#pragma GCC unroll 8
    for (int r = 0; r < kR; ++r) {
      const size_t k = static_cast<size_t>(r * nb + b);
      acc[r] = _mm256_fmadd_ps(_mm256_mul_ps(_mm256_set1_ps(tile.d[k]), dy), _mm256_cvtepi32_ps(s[r]), acc[r]);
      if constexpr (T::kMinPairs > 0) {
        const uint32_t(*sums)[kPrefillGroup] = T::kMinPairs == 4 ? a.ysum : a.ysum16;
        __m256i m = _mm256_setzero_si256();
#pragma GCC unroll 8
        for (int p = 0; p < T::kMinPairs; ++p) {
          const __m256i ysum = _mm256_load_si256(reinterpret_cast<const __m256i*>(sums[p] + kHalf * h));
          m = _mm256_add_epi32(m, _mm256_madd_epi16(ysum, _mm256_set1_epi32(tile.mins[k * 8 + p])));
        }
        acc[r] = _mm256_fnmadd_ps(_mm256_mul_ps(_mm256_set1_ps(tile.dmin[k]), dy), _mm256_cvtepi32_ps(m), acc[r]);
      }
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < kR; ++r) _mm256_storeu_ps(lanes[r] + kHalf * h, acc[r]);
}

// out[t * out_stride + r] for kR rows and the n_cols (<= 16) tokens of one packed group.
template <typename T, int kR>
void GroupTile(int64_t nb, const KRowTile& tile, const PrefillBlockK* pk, int n_cols, float* out, size_t out_stride) {
  alignas(32) float lanes[kR][kPrefillGroup];
  for (int h = 0; h * kHalf < n_cols; ++h) HalfGroup<T, kR>(nb, tile, pk, h, lanes);
  for (int t = 0; t < n_cols; ++t) {
    for (int r = 0; r < kR; ++r) out[t * out_stride + r] = lanes[r][t];
  }
}

template <typename T>
void PrefillGemm(int64_t n, const void* x, size_t x_stride, int n_rows, const void* packed, int n_tokens, float* out,
                 size_t out_stride) {
  thread_local KRowTile tile;  // grows to the longest tile; no allocation once warmed up
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

void RegisterKPrefillKernelsAvx2(KernelTable& table) {
  Register<Q4KType>(table[GgmlType::kQ4_K]);
  Register<Q5KType>(table[GgmlType::kQ5_K]);
  Register<Q6KType>(table[GgmlType::kQ6_K]);
  Register<Q2KType>(table[GgmlType::kQ2_K]);
  Register<Q3KType>(table[GgmlType::kQ3_K]);
}

}  // namespace isv
