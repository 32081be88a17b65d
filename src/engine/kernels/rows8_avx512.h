// AVX-512 helpers of the kRows8 layouts (rows8_layout.h) shared by the *_avx512.cc kernel files that
// restore groups to the file's row order. Internal linkage on purpose, as simd_helpers.h.
#pragma once

#include <immintrin.h>

#include <cstddef>
#include <cstdint>

namespace isv {
namespace {

// The 64 bytes at in + m * step (m = 0..3) hold 8 bytes of each of the 8 rows (row r's at 8 r): row r's 32
// bytes of them, in order of m, go to out + r * stride.
inline void StoreRowQuads(const uint8_t* in, size_t step, uint8_t* out, size_t stride) {
  const __m512i z[4] = {_mm512_loadu_si512(in), _mm512_loadu_si512(in + step), _mm512_loadu_si512(in + 2 * step),
                        _mm512_loadu_si512(in + 3 * step)};
  // Rows 0-3 / 4-7 of two vectors interleaved: [a.q0 b.q0 a.q1 b.q1 ...].
  const __m512i first = _mm512_set_epi64(11, 3, 10, 2, 9, 1, 8, 0),
                second = _mm512_set_epi64(15, 7, 14, 6, 13, 5, 12, 4);
  const __m512i t[4] = {_mm512_permutex2var_epi64(z[0], first, z[1]), _mm512_permutex2var_epi64(z[0], second, z[1]),
                        _mm512_permutex2var_epi64(z[2], first, z[3]), _mm512_permutex2var_epi64(z[2], second, z[3])};
  // Two rows' 32 bytes each: rows (0, 1) / (4, 5) from the first halves, (2, 3) / (6, 7) from the second.
  const __m512i even = _mm512_set_epi64(11, 10, 3, 2, 9, 8, 1, 0), odd = _mm512_set_epi64(15, 14, 7, 6, 13, 12, 5, 4);
  const __m512i pairs[4] = {_mm512_permutex2var_epi64(t[0], even, t[2]), _mm512_permutex2var_epi64(t[0], odd, t[2]),
                            _mm512_permutex2var_epi64(t[1], even, t[3]), _mm512_permutex2var_epi64(t[1], odd, t[3])};
#pragma GCC unroll 4
  for (int p = 0; p < 4; ++p) {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + 2 * p * stride), _mm512_castsi512_si256(pairs[p]));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + (2 * p + 1) * stride), _mm512_extracti64x4_epi64(pairs[p], 1));
  }
}

// row_bytes (a multiple of 32) of each of the 8 rows from consecutive 64-byte pieces at `in` (8 bytes of
// every row each, row r's at 8 r) to out + r * stride.
inline void StoreRowPieces(const uint8_t* in, size_t row_bytes, uint8_t* out, size_t stride) {
  for (size_t c = 0; c < row_bytes; c += 32) StoreRowQuads(in + 8 * c, 64, out + c, stride);
}

}  // namespace
}  // namespace isv
