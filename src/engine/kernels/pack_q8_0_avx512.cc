// AVX-512 PackWords and PackQ8_0x16 (pack_q8_0.h): the 16 lanes x 8 quant words transposed to 8 word
// rows x 16 lanes by three rounds of two-source permutes (VPERMT2D), each round doubling the lanes per
// register and halving the words: a[k] = lanes 2k, 2k+1 x words 0..7 -> b = 4 lanes x 4 words -> c = 8
// lanes x 2 words -> the rows (16 lanes x 1 word). The scales: 16 fp16 values converted by VCVTPH2PS,
// exact like Fp16ToFp32.
#include <immintrin.h>

#include <cstring>

// GCC 12's AVX-512 intrinsic headers build vectors from deliberately undefined values, which
// -Wuninitialized reports at call sites; the warnings are false.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include "engine/kernels/pack_q8_0.h"

namespace isv {
namespace {

// Index vector of one permute round: output position p takes input (lane, word) where the output holds
// kLanes lanes x kWords words (position = lane * kWords + word) of words [w0, w0 + kWords), from two
// inputs of kLanes / 2 lanes x 2 kWords words each (first: the lower lanes; words [w0 & ~(2 kWords - 1) ...)).
template <int kLanes, int kWords>
__m512i RoundIndex(int w0) {
  alignas(64) int32_t idx[16];
  const int in_words = 2 * kWords, in_lanes = kLanes / 2;
  const int in_w0 = w0 & ~(in_words - 1);
  for (int p = 0; p < 16; ++p) {
    const int lane = p / kWords, word = w0 + p % kWords;
    const int src = lane / in_lanes;  // 0: first input, 1: second
    idx[p] = (src << 4) | ((lane % in_lanes) * in_words + (word - in_w0));
  }
  return _mm512_load_si512(idx);
}

}  // namespace

void PackWordsAvx512(const uint8_t* const* src, size_t offset, uint8_t flip, uint8_t* out) {
  // Round 0: a[k] = lane 2k's 8 words | lane 2k + 1's 8 words.
  __m512i a[8];
  for (int k = 0; k < 8; ++k) {
    const __m256i lo = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src[2 * k] + offset));
    const __m256i hi = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src[2 * k + 1] + offset));
    a[k] = _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
  }
  // Round 1: b[m][h] = lanes 4m .. 4m+3 x words 4h .. 4h+3.
  static const __m512i i1[2] = {RoundIndex<4, 4>(0), RoundIndex<4, 4>(4)};
  __m512i b[4][2];
  for (int m = 0; m < 4; ++m) {
    for (int h = 0; h < 2; ++h) b[m][h] = _mm512_permutex2var_epi32(a[2 * m], i1[h], a[2 * m + 1]);
  }
  // Round 2: c[n][w] = lanes 8n .. 8n+7 x words 2w, 2w + 1 (w = 0..3; from b[.][w / 2]).
  static const __m512i i2[4] = {RoundIndex<8, 2>(0), RoundIndex<8, 2>(2), RoundIndex<8, 2>(4), RoundIndex<8, 2>(6)};
  __m512i c[2][4];
  for (int n = 0; n < 2; ++n) {
    for (int w = 0; w < 4; ++w) c[n][w] = _mm512_permutex2var_epi32(b[2 * n][w / 2], i2[w], b[2 * n + 1][w / 2]);
  }
  // Round 3: row j = lanes 0 .. 15 x word j (from c[.][j / 2]).
  static const __m512i i3[8] = {RoundIndex<16, 1>(0), RoundIndex<16, 1>(1), RoundIndex<16, 1>(2), RoundIndex<16, 1>(3),
                                RoundIndex<16, 1>(4), RoundIndex<16, 1>(5), RoundIndex<16, 1>(6), RoundIndex<16, 1>(7)};
  const __m512i x = _mm512_set1_epi8(static_cast<char>(flip));
  for (int j = 0; j < 8; ++j) {
    const __m512i row = _mm512_permutex2var_epi32(c[0][j / 2], i3[j], c[1][j / 2]);
    _mm512_storeu_si512(out + 64 * j, _mm512_xor_si512(row, x));
  }
}

void PackQ8_0x16Avx512(const uint8_t* const* blocks, uint8_t flip, uint8_t* out) {
  PackWordsAvx512(blocks, 2, flip, out);
  alignas(32) uint16_t d[16];
  for (int l = 0; l < 16; ++l) std::memcpy(&d[l], blocks[l], 2);
  _mm512_storeu_ps(out + 512, _mm512_cvtph_ps(_mm256_load_si256(reinterpret_cast<const __m256i*>(d))));
}

}  // namespace isv
