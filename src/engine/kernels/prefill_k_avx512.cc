// AVX-512 VNNI prefill kernels of Q4_K, Q5_K and Q6_K (prefill.h): the layout of prefill_avx512.cc
// (one zmm = one (row, sub-block) for 16 tokens, broadcast weight words x packed activations) with
// the K-quant order: each sub-block's exact sum is scaled by its integer scale in int32 (VPMULLD)
// and summed over the super-block; the mins (Q4_K / Q5_K) come from the packed activation sums with
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

// A tile's weight rows per (row, super-block): 256 int8 quants, then per sub-block its scale and
// the correction -128 * (sum of its quants) that removes the +128 of the packed activations; the
// mins as int16 pairs; d and dmin.
struct KRowTile {
  std::vector<int8_t> q;
  std::vector<int32_t> sc, corr, mins;
  std::vector<float> d, dmin;
};

// Sums of the bytes of v (unsigned), per 64-bit quarter.
inline __m256i QuarterSums(__m256i v) { return _mm256_sad_epu8(v, _mm256_setzero_si256()); }

inline int64_t Lane64(__m256i v, int i) {
  alignas(32) int64_t l[4];
  _mm256_store_si256(reinterpret_cast<__m256i*>(l), v);
  return l[i];
}

// Q4_K / Q5_K: quants in [0, 31], 8 sub-blocks of 32.
template <bool kFive>
void UnpackQ45K(const uint8_t* block, int8_t* q, int32_t* sc, int32_t* corr, int32_t* mins, float* d, float* dmin) {
  const uint8_t* scales;
  const uint8_t* qs;
  const uint8_t* qh = nullptr;
  uint16_t hd, hdmin;
  if constexpr (kFive) {
    const BlockQ5K& b = *reinterpret_cast<const BlockQ5K*>(block);
    scales = b.scales, qs = b.qs, qh = b.qh, hd = b.d, hdmin = b.dmin;
  } else {
    const BlockQ4K& b = *reinterpret_cast<const BlockQ4K*>(block);
    scales = b.scales, qs = b.qs, hd = b.d, hdmin = b.dmin;
  }
  const __m256i m4 = _mm256_set1_epi8(0x0F);
  __m256i high = _mm256_setzero_si256();
  if constexpr (kFive) high = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qh));
  for (int c = 0; c < 4; ++c) {
    const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qs + 32 * c));
    __m256i lo = _mm256_and_si256(v, m4);
    __m256i hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), m4);
    if constexpr (kFive) {
      const __m256i sixteen = _mm256_set1_epi8(16);
      lo = _mm256_mask_add_epi8(lo, _mm256_test_epi8_mask(high, _mm256_set1_epi8(static_cast<char>(1 << (2 * c)))),
                                lo, sixteen);
      hi = _mm256_mask_add_epi8(
          hi, _mm256_test_epi8_mask(high, _mm256_set1_epi8(static_cast<char>(2 << (2 * c)))), hi, sixteen);
    }
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(q + 64 * c), lo);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(q + 64 * c + 32), hi);
    const __m256i sl = QuarterSums(lo), sh = QuarterSums(hi);
    corr[2 * c] = -128 * static_cast<int32_t>(Lane64(sl, 0) + Lane64(sl, 1) + Lane64(sl, 2) + Lane64(sl, 3));
    corr[2 * c + 1] = -128 * static_cast<int32_t>(Lane64(sh, 0) + Lane64(sh, 1) + Lane64(sh, 2) + Lane64(sh, 3));
  }
  uint8_t s8[8], m8[8];
  for (int j = 0; j < 8; ++j) {
    UnpackScaleMinK4(j, scales, &s8[j], &m8[j]);
    sc[j] = s8[j];
  }
  for (int p = 0; p < 4; ++p) mins[p] = m8[2 * p] | (static_cast<int32_t>(m8[2 * p + 1]) << 16);
  *d = _cvtsh_ss(hd);
  *dmin = _cvtsh_ss(hdmin);
}

// Q6_K: quants in [-32, 31], 16 sub-blocks of 16.
void UnpackQ6K(const uint8_t* block, int8_t* q, int32_t* sc, int32_t* corr, int32_t*, float* d, float* dmin) {
  const BlockQ6K& b = *reinterpret_cast<const BlockQ6K*>(block);
  const __m256i m4 = _mm256_set1_epi8(0x0F), m2 = _mm256_set1_epi8(0x03), off = _mm256_set1_epi8(32);
  const __m256i flip = _mm256_set1_epi8(static_cast<char>(0x80));
  for (int half = 0; half < 2; ++half) {
    const __m256i l0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.ql + 64 * half));
    const __m256i l1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.ql + 64 * half + 32));
    const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.qh + 32 * half));
    const __m256i parts[4] = {
        _mm256_or_si256(_mm256_and_si256(l0, m4), _mm256_slli_epi16(_mm256_and_si256(h, m2), 4)),
        _mm256_or_si256(_mm256_and_si256(l1, m4),
                        _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 2), m2), 4)),
        _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), m4),
                        _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 4), m2), 4)),
        _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), m4),
                        _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 6), m2), 4)),
    };
    for (int k = 0; k < 4; ++k) {
      const __m256i signed_q = _mm256_sub_epi8(parts[k], off);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(q + 128 * half + 32 * k), signed_q);
      // Sums of the two 16-quant sub-blocks: (q + 128) summed, minus 16 * 128.
      const __m256i s = QuarterSums(_mm256_xor_si256(signed_q, flip));
      const int sub = 8 * half + 2 * k;
      corr[sub] = -128 * static_cast<int32_t>(Lane64(s, 0) + Lane64(s, 1) - 16 * 128);
      corr[sub + 1] = -128 * static_cast<int32_t>(Lane64(s, 2) + Lane64(s, 3) - 16 * 128);
    }
  }
  for (int j = 0; j < 16; ++j) sc[j] = b.scales[j];
  *d = _cvtsh_ss(b.d);
  *dmin = 0;
}

struct Q4KType {
  static constexpr int kSub = 8;
  static constexpr bool kMins = true;
  static constexpr size_t kBlockBytes = sizeof(BlockQ4K);
  static constexpr auto Unpack = UnpackQ45K<false>;
};
struct Q5KType {
  static constexpr int kSub = 8;
  static constexpr bool kMins = true;
  static constexpr size_t kBlockBytes = sizeof(BlockQ5K);
  static constexpr auto Unpack = UnpackQ45K<true>;
};
struct Q6KType {
  static constexpr int kSub = 16;
  static constexpr bool kMins = false;
  static constexpr size_t kBlockBytes = sizeof(BlockQ6K);
  static constexpr auto Unpack = UnpackQ6K;
};

template <typename T>
void UnpackRows(int64_t nb, const uint8_t* x, size_t x_stride, int n_rows, KRowTile& tile) {
  const size_t n = static_cast<size_t>(n_rows * nb);
  tile.q.resize(n * kQK_K);
  tile.sc.resize(n * T::kSub);
  tile.corr.resize(n * T::kSub);
  tile.mins.resize(n * 4);
  tile.d.resize(n);
  tile.dmin.resize(n);
  for (int r = 0; r < n_rows; ++r) {
    for (int64_t b = 0; b < nb; ++b) {
      const size_t k = static_cast<size_t>(r * nb + b);
      T::Unpack(x + r * x_stride + b * T::kBlockBytes, tile.q.data() + k * kQK_K, tile.sc.data() + k * T::kSub,
                tile.corr.data() + k * T::kSub, tile.mins.data() + k * 4, &tile.d[k], &tile.dmin[k]);
    }
  }
}

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
      if constexpr (T::kMins) {
        __m512i m = _mm512_setzero_si512();
#pragma GCC unroll 4
        for (int p = 0; p < 4; ++p) {
          m = _mm512_dpwssd_epi32(m, _mm512_load_si512(a.ysum[p]), _mm512_set1_epi32(tile.mins[k * 4 + p]));
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

template <typename T, int kR>
void AllGroups(int64_t nb, const KRowTile& tile, const PrefillBlockK* pk, int n_tokens, float* out, size_t out_stride) {
  for (int t = 0; t < n_tokens; t += kPrefillGroup) {
    GroupTile<T, kR>(nb, tile, pk + (t / kPrefillGroup) * nb, std::min(kPrefillGroup, n_tokens - t),
                     out + t * out_stride, out_stride);
  }
}

template <typename T>
void PrefillGemm(int64_t n, const void* x, size_t x_stride, int n_rows, const void* packed, int n_tokens, float* out,
                 size_t out_stride) {
  thread_local KRowTile tile;
  const int64_t nb = n / kQK_K;
  UnpackRows<T>(nb, static_cast<const uint8_t*>(x), x_stride, n_rows, tile);
  const auto* pk = static_cast<const PrefillBlockK*>(packed);
  WithUpTo8(n_rows, [&](auto rows) { AllGroups<T, decltype(rows)::value>(nb, tile, pk, n_tokens, out, out_stride); });
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
}

}  // namespace isv
