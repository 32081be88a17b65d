// 256-bit legacy-quant dot products (one block per register), shared by legacy_quant_avx2.cc
// and legacy_quant_avx512.cc and compiled with each file's instruction-set flags: with
// AVX512-VNNI available (the AVX-512 file) the unsigned x signed byte products use VPDPBUSD,
// otherwise VPMADDUBSW + VPMADDWD. Include only from kernel files built for AVX2 or AVX-512
// (prefill_avx2.cc uses its block unpackers too).
//
// Exactness: one block's integer dot product is formed in int32 lanes without saturation (with
// maddubs, int16 pair sums stay below 2^15: weight magnitudes are <= 128 and activation quants
// are in [-127, 127], so a pair is at most 2 * 128 * 127 = 32512); lanes convert exactly to float and are scaled by dx*dy, so the
// results differ from the scalar kernels only by the order of float additions.
#pragma once

#include <immintrin.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "engine/kernels/blocks.h"
#include "engine/kernels/kernels.h"
#include "engine/kernels/simd_helpers.h"

namespace isv {
// Internal linkage on purpose: each including file gets its own copy built for its ISA.
namespace {

// fp16 -> fp32 with F16C (exact, equal to Fp16ToFp32 for every non-NaN input).
inline float Half(uint16_t h) { return _cvtsh_ss(h); }

// fp32 -> fp16 with F16C, round to nearest even: equal to Fp32ToFp16 for every non-NaN input.
inline uint16_t ToHalf(float f) { return static_cast<uint16_t>(_cvtss_sh(f, _MM_FROUND_TO_NEAREST_INT)); }

// The Q8_0 / Q8_1 activation quantizers (from_float) around a level's one-block quantizer
// kQuantizeBlock(x, q, &sum) -> d (32 floats -> 32 quants, the wrapping sum of the unsaturated values).
template <float (*kQuantizeBlock)(const float*, int8_t*, int*)>
void Q8_0FromFloatWith(const float* x, void* vy, int64_t n) {
  BlockQ8_0* y = static_cast<BlockQ8_0*>(vy);
  for (int64_t i = 0; i < n / kQK; ++i) {
    int sum;
    y[i].d = ToHalf(kQuantizeBlock(x + i * kQK, y[i].qs, &sum));
  }
}

template <float (*kQuantizeBlock)(const float*, int8_t*, int*)>
void Q8_1FromFloatWith(const float* x, void* vy, int64_t n) {
  BlockQ8_1* y = static_cast<BlockQ8_1*>(vy);
  for (int64_t i = 0; i < n / kQK; ++i) {
    int sum;
    const float d = kQuantizeBlock(x + i * kQK, y[i].qs, &sum);
    y[i].d = ToHalf(d);
    y[i].s = ToHalf(d * static_cast<float>(sum));
  }
}

// 16 bytes of nibbles -> 32 bytes: elements 0..15 (low nibbles) then 16..31 (high nibbles).
inline __m256i UnpackNibbles(const uint8_t* qs) {
  const __m128i packed = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs));
  const __m256i both = _mm256_set_m128i(_mm_srli_epi16(packed, 4), packed);
  return _mm256_and_si256(both, _mm256_set1_epi8(0x0F));
}

// The 32 bits of qh spread to bytes: byte j = 0x10 if bit j is set, else 0.
inline __m256i FifthBits(const uint8_t* qh) {
  uint32_t bits;
  std::memcpy(&bits, qh, 4);
  // Byte j takes byte j / 8 of the word, then tests bit j % 8.
  const __m256i spread = _mm256_shuffle_epi8(
      _mm256_set1_epi32(static_cast<int>(bits)),
      _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202, 0x0101010101010101, 0));
  const __m256i bit = _mm256_set1_epi64x(static_cast<int64_t>(0x8040201008040201ULL));
  const __m256i set = _mm256_cmpeq_epi8(_mm256_and_si256(spread, bit), bit);
  return _mm256_and_si256(set, _mm256_set1_epi8(0x10));
}

// Eight int32 partial sums of u[i] * s[i] (u unsigned bytes, s signed bytes; without VNNI
// REQUIRES |u[2k] s[2k] + u[2k+1] s[2k+1]| < 2^15).
inline __m256i DotUnsignedSigned(__m256i u, __m256i s) {
#if defined(__AVX512VNNI__) && defined(__AVX512VL__)
  return _mm256_dpbusd_epi32(_mm256_setzero_si256(), u, s);
#else
  return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1));
#endif
}

// Eight int32 partial sums of x[i] * y[i] for signed bytes. REQUIRES: y[i] != -128 (negating it
// wraps); every activation quantizer stays in [-127, 127] for finite input.
inline __m256i DotSigned(__m256i x, __m256i y) {
  return DotUnsignedSigned(_mm256_sign_epi8(x, x), _mm256_sign_epi8(y, x));
}

inline __m256i LoadQ8(const int8_t* qs) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qs)); }

inline __m256 ScaleAdd(float d, __m256i lanes, __m256 acc) {
  return _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(lanes), acc);
}

// Sums block(i, acc) over the blocks of an n-element row, alternating two accumulators so that
// consecutive FMAs do not wait on each other.
template <typename BlockFn>
inline float SumBlocks(int64_t n, BlockFn block) {
  const int64_t nb = n / kQK;
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 1 < nb; i += 2) {
    acc0 = block(i, acc0);
    acc1 = block(i + 1, acc1);
  }
  if (i < nb) acc0 = block(i, acc0);
  return HorizontalSum(_mm256_add_ps(acc0, acc1));
}

// Affine types: sum_b dx*dy * sum_j q_j y_j + mx * sy, the second part summed in scalar float.
float Q4_1VecDot(int64_t n, const void* vx, const void* vy) {
  const BlockQ4_1* x = static_cast<const BlockQ4_1*>(vx);
  const BlockQ8_1* y = static_cast<const BlockQ8_1*>(vy);
  float sum_ms = 0;
  const float dots = SumBlocks(n, [&](int64_t i, __m256 acc) {
    sum_ms += Half(x[i].m) * Half(y[i].s);
    const __m256i q = UnpackNibbles(x[i].qs);
    return ScaleAdd(Half(x[i].d) * Half(y[i].d), DotUnsignedSigned(q, LoadQ8(y[i].qs)), acc);
  });
  return dots + sum_ms;
}

float Q5_1VecDot(int64_t n, const void* vx, const void* vy) {
  const BlockQ5_1* x = static_cast<const BlockQ5_1*>(vx);
  const BlockQ8_1* y = static_cast<const BlockQ8_1*>(vy);
  float sum_ms = 0;
  const float dots = SumBlocks(n, [&](int64_t i, __m256 acc) {
    sum_ms += Half(x[i].m) * Half(y[i].s);
    const __m256i q = _mm256_or_si256(UnpackNibbles(x[i].qs), FifthBits(x[i].qh));
    return ScaleAdd(Half(x[i].d) * Half(y[i].d), DotUnsignedSigned(q, LoadQ8(y[i].qs)), acc);
  });
  return dots + sum_ms;
}

#include "engine/kernels/legacy_quant_tile.inc"

// Registers the vec_dot, vec_dot_4 and gemm_tile kernels of this file's instruction set (Q4_0 and
// IQ4_NL get theirs from RegisterRows8Kernels*, in the prefill order).
inline void RegisterSimd256LegacyKernels(KernelTable& table) {
  table[GgmlType::kQ4_1].vec_dot = Q4_1VecDot;
  table[GgmlType::kQ5_1].vec_dot = Q5_1VecDot;
  RegisterLegacyTile<Q5_0Tile>(table[GgmlType::kQ5_0]);
  RegisterLegacyTile<Q8_0Tile>(table[GgmlType::kQ8_0]);
}

}  // namespace
}  // namespace isv
