// AVX-512 VNNI prefill kernels of Q2_K, Q3_K, Q4_K, Q5_K, Q6_K and IQ4_XS (prefill.h): the layout of prefill_avx512.cc
// (one zmm = one (row, sub-block) for 16 tokens, broadcast weight words x packed activations) with
// the K-quant order: each sub-block's exact sum is scaled by its integer scale in int32 (VPMULLD)
// and summed over the super-block; the mins (Q2_K / Q4_K / Q5_K) come from the packed activation sums with
// VPDPWSSD (two sub-blocks per instruction); then two FMAs per super-block and row.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "engine/kernels/blocks_k.h"
#include "engine/kernels/kernels.h"
#include "engine/kernels/prefill.h"

namespace isv {
namespace {

constexpr int kTileRows = 8;

#include "engine/kernels/prefill_k_unpack.inc"

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
    for (int r = 0; r < kR; ++r) s[r] = _mm512_setzero_si512();
    for (int sub = 0; sub < T::kSub; ++sub) {
      __m512i isum[kR];
#pragma GCC unroll 8
      for (int r = 0; r < kR; ++r) isum[r] = _mm512_set1_epi32(tile.corr[(r * nb + b) * T::kSub + sub]);
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
  Register<Q4KType>(table[GgmlType::kQ4_K]);
  Register<Q5KType>(table[GgmlType::kQ5_K]);
  Register<Q6KType>(table[GgmlType::kQ6_K]);
  Register<Q2KType>(table[GgmlType::kQ2_K]);
  Register<Q3KType>(table[GgmlType::kQ3_K]);
  Register<Iq4XsType>(table[GgmlType::kIQ4_XS]);
}

}  // namespace isv
