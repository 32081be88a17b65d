// AVX2 PackWords and PackQ8_0x16 (pack_q8_0.h): each half of the 16 lanes is an 8 x 8 transposition of
// 32-bit words (unpack 32, unpack 64, then swap 128-bit halves), written to its half of every word row.
// The scales: VCVTPH2PS, exact like Fp16ToFp32.
#include <immintrin.h>

#include <cstring>

#include "engine/kernels/pack_q8_0.h"

namespace isv {

void PackWordsAvx2(const uint8_t* const* src, size_t offset, uint8_t flip, uint8_t* out) {
  const __m256i x = _mm256_set1_epi8(static_cast<char>(flip));
  for (int half = 0; half < 2; ++half) {
    __m256i r[8];  // r[l] = lane 8 half + l's 8 words
    for (int l = 0; l < 8; ++l) r[l] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src[8 * half + l] + offset));
    // Lanes paired: s[2p] = words 0,1 | 4,5 of lanes 2p, 2p + 1 interleaved; s[2p + 1] = words 2,3 | 6,7.
    __m256i s[8];
    for (int p = 0; p < 4; ++p) {
      s[2 * p] = _mm256_unpacklo_epi32(r[2 * p], r[2 * p + 1]);
      s[2 * p + 1] = _mm256_unpackhi_epi32(r[2 * p], r[2 * p + 1]);
    }
    // t[4q + k]: words (2k, 2k + 1 within each 128-bit half) of four lanes 4q .. 4q + 3.
    __m256i t[8];
    for (int q = 0; q < 2; ++q) {
      for (int k = 0; k < 2; ++k) {
        t[4 * q + 2 * k] = _mm256_unpacklo_epi64(s[4 * q + k], s[4 * q + 2 + k]);
        t[4 * q + 2 * k + 1] = _mm256_unpackhi_epi64(s[4 * q + k], s[4 * q + 2 + k]);
      }
    }
    // Row j (j < 4 from the low 128-bit halves, j + 4 from the high ones) = lanes 0..3 | lanes 4..7.
    for (int j = 0; j < 4; ++j) {
      const __m256i lo = _mm256_permute2x128_si256(t[j], t[4 + j], 0x20);
      const __m256i hi = _mm256_permute2x128_si256(t[j], t[4 + j], 0x31);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + 64 * j + 32 * half), _mm256_xor_si256(lo, x));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + 64 * (j + 4) + 32 * half), _mm256_xor_si256(hi, x));
    }
  }
}

void PackQ8_0x16Avx2(const uint8_t* const* blocks, uint8_t flip, uint8_t* out) {
  PackWordsAvx2(blocks, 2, flip, out);
  alignas(16) uint16_t d[16];
  for (int l = 0; l < 16; ++l) std::memcpy(&d[l], blocks[l], 2);
  for (int h = 0; h < 2; ++h) {
    const __m128i v = _mm_load_si128(reinterpret_cast<const __m128i*>(d + 8 * h));
    _mm256_storeu_ps(reinterpret_cast<float*>(out + 512) + 8 * h, _mm256_cvtph_ps(v));
  }
}

}  // namespace isv
