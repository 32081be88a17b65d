// AVX2 kernels of the legacy quantization types: vec_dot of Q4_0 Q4_1 Q5_0 Q5_1 Q8_0 IQ4_NL and
// the activation quantizers of Q8_0 / Q8_1. The AVX-512 level inherits the quantizers.
//
// One block (32 quants) fills a 256-bit register. Products of int8 pairs are formed with
// maddubs (unsigned x signed bytes -> int16 pairs) and widened with madd: with weight quants in
// [-128, 127] except for Q8_0 (REQUIRES |q| <= 127, which all quantizers guarantee), no int16 sum
// can saturate, so each block's integer dot product is exact; it is converted to float (exact)
// and scaled by dx*dy in eight float lanes, so results differ from the scalar kernels only by the
// order of float additions. The quantizers are bit-identical to the scalar ones.
#include <immintrin.h>

#include <cstring>

#include "engine/kernels/blocks.h"
#include "engine/kernels/kernels.h"
#include "engine/tensor/float16.h"

namespace isv {
namespace {

// fp16 -> fp32 with F16C (exact, equal to Fp16ToFp32 for every non-NaN input).
inline float Half(uint16_t h) { return _cvtsh_ss(h); }

inline float HorizontalSum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
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

// Eight int32 partial sums of u[i] * s[i] (u unsigned bytes, s signed bytes; |u*s pairs| < 2^15).
inline __m256i DotUnsignedSigned(__m256i u, __m256i s) {
  return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1));
}

// Eight int32 partial sums of x[i] * y[i] for signed bytes (REQUIRES: x != -128 or |y| small).
inline __m256i DotSigned(__m256i x, __m256i y) {
  return DotUnsignedSigned(_mm256_sign_epi8(x, x), _mm256_sign_epi8(y, x));
}

inline __m256i LoadQ8(const int8_t* qs) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qs)); }

inline __m256 ScaleAdd(float d, __m256i lanes, __m256 acc) {
  return _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(lanes), acc);
}

float Q4_0VecDot(int64_t n, const void* vx, const void* vy) {
  const BlockQ4_0* x = static_cast<const BlockQ4_0*>(vx);
  const BlockQ8_0* y = static_cast<const BlockQ8_0*>(vy);
  __m256 acc = _mm256_setzero_ps();
  for (int64_t i = 0; i < n / kQK; ++i) {
    const __m256i q = _mm256_sub_epi8(UnpackNibbles(x[i].qs), _mm256_set1_epi8(8));
    acc = ScaleAdd(Half(x[i].d) * Half(y[i].d), DotSigned(q, LoadQ8(y[i].qs)), acc);
  }
  return HorizontalSum(acc);
}

float Q5_0VecDot(int64_t n, const void* vx, const void* vy) {
  const BlockQ5_0* x = static_cast<const BlockQ5_0*>(vx);
  const BlockQ8_0* y = static_cast<const BlockQ8_0*>(vy);
  __m256 acc = _mm256_setzero_ps();
  for (int64_t i = 0; i < n / kQK; ++i) {
    const __m256i q5 = _mm256_or_si256(UnpackNibbles(x[i].qs), FifthBits(x[i].qh));
    const __m256i q = _mm256_sub_epi8(q5, _mm256_set1_epi8(16));
    acc = ScaleAdd(Half(x[i].d) * Half(y[i].d), DotSigned(q, LoadQ8(y[i].qs)), acc);
  }
  return HorizontalSum(acc);
}

float Q4_1VecDot(int64_t n, const void* vx, const void* vy) {
  const BlockQ4_1* x = static_cast<const BlockQ4_1*>(vx);
  const BlockQ8_1* y = static_cast<const BlockQ8_1*>(vy);
  __m256 acc = _mm256_setzero_ps();
  float sum_ms = 0;
  for (int64_t i = 0; i < n / kQK; ++i) {
    sum_ms += Half(x[i].m) * Half(y[i].s);
    const __m256i q = UnpackNibbles(x[i].qs);
    acc = ScaleAdd(Half(x[i].d) * Half(y[i].d), DotUnsignedSigned(q, LoadQ8(y[i].qs)), acc);
  }
  return HorizontalSum(acc) + sum_ms;
}

float Q5_1VecDot(int64_t n, const void* vx, const void* vy) {
  const BlockQ5_1* x = static_cast<const BlockQ5_1*>(vx);
  const BlockQ8_1* y = static_cast<const BlockQ8_1*>(vy);
  __m256 acc = _mm256_setzero_ps();
  float sum_ms = 0;
  for (int64_t i = 0; i < n / kQK; ++i) {
    sum_ms += Half(x[i].m) * Half(y[i].s);
    const __m256i q = _mm256_or_si256(UnpackNibbles(x[i].qs), FifthBits(x[i].qh));
    acc = ScaleAdd(Half(x[i].d) * Half(y[i].d), DotUnsignedSigned(q, LoadQ8(y[i].qs)), acc);
  }
  return HorizontalSum(acc) + sum_ms;
}

float Q8_0VecDot(int64_t n, const void* vx, const void* vy) {
  const BlockQ8_0* x = static_cast<const BlockQ8_0*>(vx);
  const BlockQ8_0* y = static_cast<const BlockQ8_0*>(vy);
  __m256 acc = _mm256_setzero_ps();
  for (int64_t i = 0; i < n / kQK; ++i) {
    acc = ScaleAdd(Half(x[i].d) * Half(y[i].d), DotSigned(LoadQ8(x[i].qs), LoadQ8(y[i].qs)), acc);
  }
  return HorizontalSum(acc);
}

float Iq4NlVecDot(int64_t n, const void* vx, const void* vy) {
  const BlockIq4Nl* x = static_cast<const BlockIq4Nl*>(vx);
  const BlockQ8_0* y = static_cast<const BlockQ8_0*>(vy);
  const __m128i table128 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(kIq4nlValues));
  const __m256i table = _mm256_set_m128i(table128, table128);
  __m256 acc = _mm256_setzero_ps();
  for (int64_t i = 0; i < n / kQK; ++i) {
    const __m256i v = _mm256_shuffle_epi8(table, UnpackNibbles(x[i].qs));  // values in [-127, 113]
    acc = ScaleAdd(Half(x[i].d) * Half(y[i].d), DotSigned(v, LoadQ8(y[i].qs)), acc);
  }
  return HorizontalSum(acc);
}

// One block of activations, as the scalar QuantizeActivationBlock: returns d, writes 32 quants,
// *sum = their sum.
inline float QuantizeBlock(const float* x, int8_t* q, int* sum) {
  __m256 v[4];
  __m256 amax = _mm256_setzero_ps();
  const __m256 sign = _mm256_set1_ps(-0.0f);
  for (int k = 0; k < 4; ++k) {
    v[k] = _mm256_loadu_ps(x + 8 * k);
    amax = _mm256_max_ps(amax, _mm256_andnot_ps(sign, v[k]));
  }
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(amax), _mm256_extractf128_ps(amax, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  m = _mm_max_ss(m, _mm_movehdup_ps(m));
  const float max_abs = _mm_cvtss_f32(m);
  const float d = max_abs / 127.0f;
  const __m256 id = _mm256_set1_ps(max_abs != 0.0f ? 127.0f / max_abs : 0.0f);
  __m256i iv[4];
  for (int k = 0; k < 4; ++k) {
    const __m256 r = _mm256_round_ps(_mm256_mul_ps(v[k], id), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    iv[k] = _mm256_cvtps_epi32(r);
  }
  const __m256i s32 = _mm256_add_epi32(_mm256_add_epi32(iv[0], iv[1]), _mm256_add_epi32(iv[2], iv[3]));
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(s32), _mm256_extracti128_si256(s32, 1));
  s = _mm_add_epi32(s, _mm_unpackhi_epi64(s, s));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 1));
  *sum = _mm_cvtsi128_si32(s);
  // Saturating packs interleave 128-bit halves; the permute restores element order.
  const __m256i p16a = _mm256_packs_epi32(iv[0], iv[1]);
  const __m256i p16b = _mm256_packs_epi32(iv[2], iv[3]);
  const __m256i p8 = _mm256_packs_epi16(p16a, p16b);
  const __m256i ordered = _mm256_permutevar8x32_epi32(p8, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(q), ordered);
  return d;
}

void Q8_0FromFloat(const float* x, void* vy, int64_t n) {
  BlockQ8_0* y = static_cast<BlockQ8_0*>(vy);
  for (int64_t i = 0; i < n / kQK; ++i) {
    int sum;
    y[i].d = Fp32ToFp16(QuantizeBlock(x + i * kQK, y[i].qs, &sum));
  }
}

void Q8_1FromFloat(const float* x, void* vy, int64_t n) {
  BlockQ8_1* y = static_cast<BlockQ8_1*>(vy);
  for (int64_t i = 0; i < n / kQK; ++i) {
    int sum;
    const float d = QuantizeBlock(x + i * kQK, y[i].qs, &sum);
    y[i].d = Fp32ToFp16(d);
    y[i].s = Fp32ToFp16(d * static_cast<float>(sum));
  }
}

}  // namespace

void RegisterLegacyQuantKernelsAvx2(KernelTable& table) {
  table[GgmlType::kQ4_0].vec_dot = Q4_0VecDot;
  table[GgmlType::kQ4_1].vec_dot = Q4_1VecDot;
  table[GgmlType::kQ5_0].vec_dot = Q5_0VecDot;
  table[GgmlType::kQ5_1].vec_dot = Q5_1VecDot;
  table[GgmlType::kQ8_0].vec_dot = Q8_0VecDot;
  table[GgmlType::kIQ4_NL].vec_dot = Iq4NlVecDot;
  table[GgmlType::kQ8_0].from_float = Q8_0FromFloat;
  table[GgmlType::kQ8_1].from_float = Q8_1FromFloat;
}

}  // namespace isv
