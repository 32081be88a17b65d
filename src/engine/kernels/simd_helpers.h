// Small SIMD helpers shared by the instruction-set specific kernel files (*_avx2.cc, *_avx512.cc and
// the headers they include); not for baseline files.
//
// Internal linkage on purpose: each including file gets its own copy built for its instruction set
// (one inline function with external linkage would let the linker keep one file's build, say the
// AVX-512 one, for every caller).
#pragma once

#include <immintrin.h>

#include <cstdint>

namespace isv {
namespace {

// The 8 lanes of v summed as (l, l + 4), then (l, l + 2), then (l, l + 1).
inline float HorizontalSum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// AVX-512 masks of the first `remaining` lanes of 16 / 32 (all of them when remaining >= 16 / 32).
inline __mmask16 TailMask16(int64_t remaining) {
  return remaining >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << remaining) - 1);
}
inline __mmask32 TailMask32(int64_t remaining) {
  return remaining >= 32 ? static_cast<__mmask32>(0xFFFFFFFFu) : static_cast<__mmask32>((1u << remaining) - 1);
}

}  // namespace
}  // namespace isv
