// AVX-512 level of the legacy quantization kernels: the vec_dot kernels of
// legacy_quant_simd256.h compiled with AVX512-VNNI/VL, so each block's unsigned x signed byte
// products go through one VPDPBUSD (ymm) instead of VPMADDUBSW + VPMADDWD. The activation
// quantizers (Q8_0 / Q8_1 from_float): the AVX2 level's operations on two zmm per block (its bits).
//
// Why 256-bit for vec_dot: a 512-bit variant holding two blocks of one row per register (VPDPBUSD
// zmm, masked fifth-bit insertion, paired scales) measured 15-40% SLOWER than this one on the
// development Xeon (4096-element rows: q4_0 193 vs 166 ns, q4_1 265 vs 191 ns, q8_0 165 vs 119 ns):
// the per-block scale handling and the cross-lane shuffles needed to pair blocks cost more than
// the wider multiply saves. ggml's AVX-512 build also uses 256-bit VNNI for these types.
//
// At this level only Q8_0, Q4_1 and Q5_1 keep these kernels, and only for matrices in the file's order
// (INFERENCE_MMAP=1): Q4_0, Q5_0 and IQ4_NL decode in the prefill order (legacy_rows8_avx512.cc), and
// all six types' repacked (kRows8) matrices through legacy_rows8_avx512.cc.
//
// The multi-token tile (gemm_tile, prefill) is 512-bit in another way: each zmm register holds the
// SAME block of TWO tokens (one per 256-bit half) and each weight block is broadcast to both
// halves, so one VPDPBUSD / VCVTDQ2PS / VMULPS / VFMADD serves two (row, token) pairs. Each half
// goes through exactly the operations of the 256-bit kernel (legacy_quant_tile.inc: exact int32
// lanes, fp32(dx) * fp32(dy), one FMA per block, the same horizontal sum), so the results stay
// bit-identical to vec_dot (batch invariance). This halves the instructions per pair, which is
// what bounds the 256-bit tile (about 8.5 instructions per pair and block).
// GCC 12 reports the deliberately undefined upper half inside its own 256 -> 512-bit cast
// intrinsics (_mm512_castsi256_si512 and friends) as "used uninitialized": a false positive.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <algorithm>
#include <cstdint>

#include "engine/kernels/kernels.h"
#include "engine/kernels/legacy_quant_simd256.h"

namespace isv {
namespace {

// Four weight rows x four token pairs (eight tokens): 16 zmm accumulators + 4 weight registers +
// 4 row scales, within the 32 zmm registers.
constexpr int kWideTileRows = 4;
constexpr int kWideTilePairs = 4;

inline __m512i PairOfTokens(const BlockQ8_0& a, const BlockQ8_0& b) {
  return _mm512_inserti64x4(_mm512_castsi256_si512(LoadQ8(a.qs)), LoadQ8(b.qs), 1);
}

inline __m512 PairOfScales(const BlockQ8_0& a, const BlockQ8_0& b) {
  return _mm512_insertf32x8(_mm512_castps256_ps512(_mm256_set1_ps(Half(a.d))), _mm256_set1_ps(Half(b.d)), 1);
}

// out[t * out_stride + r] for r < kR and the n_cols (<= 2 * kP) tokens of y; pair p holds tokens
// 2p and 2p + 1, a missing second token repeats the first (computed, not stored).
template <int kR, int kP, typename Tile>
void WideTile(const Tile& tile, int64_t n, const uint8_t* x, size_t x_stride, const uint8_t* y,
              size_t y_stride, int n_cols, float* out, size_t out_stride) {
  static_assert(Tile::kOffset != 0, "the AVX-512 level always uses the VNNI offset form");
  using Block = typename Tile::Block;
  const int64_t nb = n / kQK;
  const Block* rows[kR];
  const BlockQ8_0* first[kP];
  const BlockQ8_0* second[kP];
#pragma GCC unroll 8
  for (int r = 0; r < kR; ++r) rows[r] = reinterpret_cast<const Block*>(x + r * x_stride);
#pragma GCC unroll 8
  for (int p = 0; p < kP; ++p) {
    const int t0 = 2 * p;
    const int t1 = std::min(2 * p + 1, n_cols - 1);
    first[p] = reinterpret_cast<const BlockQ8_0*>(y + t0 * y_stride);
    second[p] = reinterpret_cast<const BlockQ8_0*>(y + t1 * y_stride);
  }
  const __m512i offset = _mm512_set1_epi8(static_cast<char>(Tile::kOffset));
  __m512 acc[kR][kP];
#pragma GCC unroll 8
  for (int r = 0; r < kR; ++r) {
#pragma GCC unroll 8
    for (int p = 0; p < kP; ++p) acc[r][p] = _mm512_setzero_ps();
  }
  for (int64_t i = 0; i < nb; ++i) {
    __m512i w[kR];
    float dx[kR];  // used as broadcast memory operands: 4 fewer registers than zmm copies
#pragma GCC unroll 8
    for (int r = 0; r < kR; ++r) {
      w[r] = _mm512_broadcast_i64x4(tile.Weights(rows[r][i]));
      dx[r] = Half(rows[r][i].d);
    }
#pragma GCC unroll 8
    for (int p = 0; p < kP; ++p) {
      const __m512i yq = PairOfTokens(first[p][i], second[p][i]);
      // -kOffset * (sum of each group of 4 activation quants), as OffsetCorrection does per half.
      const __m512i corr = _mm512_dpbusd_epi32(_mm512_setzero_si512(), offset,
                                               _mm512_sub_epi8(_mm512_setzero_si512(), yq));
      const __m512 dy = PairOfScales(first[p][i], second[p][i]);
#pragma GCC unroll 8
      for (int r = 0; r < kR; ++r) {
        const __m512 lanes = _mm512_cvtepi32_ps(_mm512_dpbusd_epi32(corr, w[r], yq));
        acc[r][p] = _mm512_fmadd_ps(_mm512_mul_ps(_mm512_set1_ps(dx[r]), dy), lanes, acc[r][p]);
      }
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < kR; ++r) {
#pragma GCC unroll 8
    for (int p = 0; p < kP; ++p) {
      out[2 * p * out_stride + r] = HorizontalSum(_mm512_castps512_ps256(acc[r][p]));
      if (2 * p + 1 < n_cols) out[(2 * p + 1) * out_stride + r] = HorizontalSum(_mm512_extractf32x8_ps(acc[r][p], 1));
    }
  }
}

template <int kR, typename Tile>
void WideTilePairs(const Tile& tile, int64_t n, const uint8_t* x, size_t x_stride, const uint8_t* y,
                   size_t y_stride, int n_cols, float* out, size_t out_stride) {
  static_assert(kWideTilePairs == 4, "WideTilePairs handles 1..4 pairs");
  switch ((n_cols + 1) / 2) {
    case 1: return WideTile<kR, 1>(tile, n, x, x_stride, y, y_stride, n_cols, out, out_stride);
    case 2: return WideTile<kR, 2>(tile, n, x, x_stride, y, y_stride, n_cols, out, out_stride);
    case 3: return WideTile<kR, 3>(tile, n, x, x_stride, y, y_stride, n_cols, out, out_stride);
    default: return WideTile<kR, 4>(tile, n, x, x_stride, y, y_stride, n_cols, out, out_stride);
  }
}

// TypeKernels::gemm_tile of one type at this level.
template <typename Tile>
void WideGemmTile(int64_t n, const void* vx, size_t x_stride, int n_rows, const void* vy, size_t y_stride,
                  int n_cols, float* out, size_t out_stride) {
  const Tile tile;
  const uint8_t* x = static_cast<const uint8_t*>(vx);
  const uint8_t* y = static_cast<const uint8_t*>(vy);
  static_assert(kWideTileRows == 4, "WideGemmTile handles 1..4 rows");
  switch (n_rows) {
    case 1: return WideTilePairs<1>(tile, n, x, x_stride, y, y_stride, n_cols, out, out_stride);
    case 2: return WideTilePairs<2>(tile, n, x, x_stride, y, y_stride, n_cols, out, out_stride);
    case 3: return WideTilePairs<3>(tile, n, x, x_stride, y, y_stride, n_cols, out, out_stride);
    default: return WideTilePairs<4>(tile, n, x, x_stride, y, y_stride, n_cols, out, out_stride);
  }
}

// One block of activations as the AVX2 level's QuantizeBlock (legacy_quant_avx2.cc), so bit-identical to
// the scalar QuantizeActivationBlock for input without NaN: d = amax / 127, quants = the nearest-even
// integers of x * (127 / amax) saturated to int8 (VPMOVSDB), *sum = the wrapping sum of the unsaturated
// integers.
inline float QuantizeBlock(const float* x, int8_t* q, int* sum) {
  const __m512 v0 = _mm512_loadu_ps(x), v1 = _mm512_loadu_ps(x + 16);
  const float max_abs = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(v0), _mm512_abs_ps(v1)));
  const float d = max_abs / 127.0f;
  const __m512 id = _mm512_set1_ps(max_abs != 0.0f ? 127.0f / max_abs : 0.0f);
  const __m512i i0 = _mm512_cvt_roundps_epi32(_mm512_mul_ps(v0, id), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  const __m512i i1 = _mm512_cvt_roundps_epi32(_mm512_mul_ps(v1, id), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  *sum = _mm512_reduce_add_epi32(_mm512_add_epi32(i0, i1));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(q), _mm512_cvtsepi32_epi8(i0));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(q + 16), _mm512_cvtsepi32_epi8(i1));
  return d;
}

template <typename Tile>
void RegisterWideTile(TypeKernels& k) {
  k.gemm_tile = WideGemmTile<Tile>;
  k.tile_rows = kWideTileRows;
  k.tile_cols = 2 * kWideTilePairs;
}

}  // namespace

void RegisterLegacyQuantKernelsAvx512(KernelTable& table) {
  RegisterSimd256LegacyKernels(table);
  // Q4_0, Q5_0 and IQ4_NL: RegisterRows8KernelsAvx512 replaces their entries (prefill order).
  RegisterWideTile<Q8_0Tile>(table[GgmlType::kQ8_0]);
  table[GgmlType::kQ8_0].from_float = Q8_0FromFloatWith<QuantizeBlock>;
  table[GgmlType::kQ8_1].from_float = Q8_1FromFloatWith<QuantizeBlock>;
}

}  // namespace isv
