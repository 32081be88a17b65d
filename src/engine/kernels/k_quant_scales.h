// Scale decoding of the K-quant blocks with SSE (SSSE3) instructions, shared by the kernel files of
// every SIMD level (k_quant_simd.inc, prefill_k_avx512.cc). Internal linkage on purpose, as
// simd_helpers.h: each file compiles its own copy for its instruction set.
#pragma once

#include <immintrin.h>

#include <cstdint>
#include <cstring>

namespace isv {
namespace {

// The 8 mins (bytes 0-7) and 8 scales (bytes 8-15) of a Q4_K / Q5_K block from its 12 packed bytes
// (UnpackScaleMinK4, all at once): scales 0-3 / mins 0-3 are the low 6 bits of bytes 0-3 / 4-7;
// scales 4-7 / mins 4-7 are the low / high nibbles of bytes 8-11 with the top 2 bits of bytes 0-3 /
// 4-7 above them. Reads 16 bytes (the last 4 are the quants that follow the scales; ignored).
inline __m128i K4MinsScales(const uint8_t* packed) {
  const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(packed));
  // [w1 w2 w0 w2] (mins 0-3, mins 4-7 low, scales 0-3, scales 4-7 low) and the top-bit sources.
  const __m128i t = _mm_shuffle_epi8(v, _mm_setr_epi8(4, 5, 6, 7, 8, 9, 10, 11, 0, 1, 2, 3, 8, 9, 10, 11));
  const __m128i top_src = _mm_shuffle_epi8(v, _mm_setr_epi8(-1, -1, -1, -1, 4, 5, 6, 7, -1, -1, -1, -1, 0, 1, 2, 3));
  const __m128i low = _mm_and_si128(
      t, _mm_setr_epi8(0x3f, 0x3f, 0x3f, 0x3f, 0, 0, 0, 0, 0x3f, 0x3f, 0x3f, 0x3f, 0x0f, 0x0f, 0x0f, 0x0f));
  const __m128i high_nibble =
      _mm_and_si128(_mm_srli_epi16(t, 4), _mm_setr_epi8(0, 0, 0, 0, 0x0f, 0x0f, 0x0f, 0x0f, 0, 0, 0, 0, 0, 0, 0, 0));
  // (byte >> 6) << 4 = (byte >> 2) & 0x30; the 16-bit shift only moves bits out of the mask.
  const __m128i top = _mm_and_si128(_mm_srli_epi16(top_src, 2), _mm_setr_epi8(0, 0, 0, 0, 0x30, 0x30, 0x30, 0x30, 0, 0,
                                                                              0, 0, 0x30, 0x30, 0x30, 0x30));
  return _mm_or_si128(_mm_or_si128(low, high_nibble), top);  // one vpternlogd at the AVX-512 level
}

// The 16 scales of a Q3_K block minus 32, as int8 (UnpackScalesQ3K four bytes at a time): scale j
// has its low nibble in byte j % 8 (low half for j < 8) and its 2 high bits in byte 8 + j % 4 at
// bit 2 * (j / 4).
inline __m128i Q3Scales(const uint8_t* packed) {
  uint32_t w[3];
  std::memcpy(w, packed, 12);
  constexpr uint32_t kLow4 = 0x0f0f0f0f, kLow2 = 0x03030303;
  const uint32_t s0 = (w[0] & kLow4) | (((w[2] >> 0) & kLow2) << 4);
  const uint32_t s1 = (w[1] & kLow4) | (((w[2] >> 2) & kLow2) << 4);
  const uint32_t s2 = ((w[0] >> 4) & kLow4) | (((w[2] >> 4) & kLow2) << 4);
  const uint32_t s3 = ((w[1] >> 4) & kLow4) | (((w[2] >> 6) & kLow2) << 4);
  const __m128i v =
      _mm_setr_epi32(static_cast<int>(s0), static_cast<int>(s1), static_cast<int>(s2), static_cast<int>(s3));
  return _mm_sub_epi8(v, _mm_set1_epi8(32));
}

}  // namespace
}  // namespace isv
