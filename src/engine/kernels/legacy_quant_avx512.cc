// AVX-512 (F/BW/DQ/VL + VNNI) kernels of the legacy quantization types: vec_dot of Q4_0 Q4_1 Q5_0
// Q5_1 Q8_0 IQ4_NL. The activation quantizers (Q8_0 / Q8_1 from_float) are the AVX2 ones.
//
// Two blocks fill one 512-bit register (bytes 0..31 = block i, 32..63 = block i+1; an odd last
// block is paired with zeros and a zero scale). VNNI's dpbusd multiplies unsigned by signed bytes
// and sums groups of four into int32 without intermediate saturation, so:
//  - unsigned quants (Q4_1, Q5_1) go in directly;
//  - offset quants (Q4_0: q-8, Q5_0: q-16) use dot(q, y) - offset * sum(y);
//  - signed quants (Q8_0, IQ4_NL values) use dot(|x|, y * sign(x)) (REQUIRES: y != -128, true
//    for every Q8_0 produced by a quantizer).
// Every block's integer dot product is therefore exact; the int32 lanes convert exactly to float
// and are scaled by dx*dy, so only the order of float additions differs from the scalar kernels.
#include <immintrin.h>

// GCC 12's AVX-512 intrinsic headers build vectors from deliberately undefined values
// (_mm512_undefined_*), which -Wuninitialized reports at every call site; the warnings are false.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include <cstdint>
#include <cstring>

#include "engine/kernels/blocks.h"
#include "engine/kernels/kernels.h"
#include "engine/tensor/float16.h"

namespace isv {
namespace {

// fp16 -> fp32 with F16C (exact, equal to Fp16ToFp32 for every non-NaN input).
inline float Half(uint16_t h) { return _cvtsh_ss(h); }

// [lo | hi].
inline __m512i Concat(__m256i lo, __m256i hi) {
  return _mm512_shuffle_i64x2(_mm512_zextsi256_si512(lo), _mm512_zextsi256_si512(hi), 0x44);
}

// 32 quants of block a in the low half, of block b (or zeros when b == nullptr) in the high half.
inline __m512i LoadPair(const int8_t* a, const int8_t* b) {
  const __m256i lo = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a));
  const __m256i hi = b ? _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b)) : _mm256_setzero_si256();
  return Concat(lo, hi);
}

// One block's 16 nibble bytes -> 32 bytes (low nibbles = elements 0..15, high = 16..31).
inline __m256i Nibbles(const uint8_t* qs) {
  const __m128i packed = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs));
  const __m256i both = _mm256_set_m128i(_mm_srli_epi16(packed, 4), packed);
  return _mm256_and_si256(both, _mm256_set1_epi8(0x0F));
}

inline __m512i NibblesPair(const uint8_t* a, const uint8_t* b) {
  const __m256i hi = b ? Nibbles(b) : _mm256_setzero_si256();
  return Concat(Nibbles(a), hi);
}

// The fifth bits of two Q5 blocks as a byte mask (bit j of block a -> byte j, of b -> byte 32+j).
inline __mmask64 FifthBitsPair(const uint8_t* qh_a, const uint8_t* qh_b) {
  uint32_t a, b = 0;
  std::memcpy(&a, qh_a, 4);
  if (qh_b) std::memcpy(&b, qh_b, 4);
  return _cvtu64_mask64(static_cast<uint64_t>(a) | (static_cast<uint64_t>(b) << 32));
}

// Eight lanes of scale a then eight of scale b.
inline __m512 ScalePair(float a, float b) {
  return _mm512_shuffle_f32x4(_mm512_set1_ps(a), _mm512_set1_ps(b), 0x44);
}

// int32 lanes of sum(u * s) over groups of four bytes (u unsigned, s signed).
inline __m512i Dot(__m512i u, __m512i s) { return _mm512_dpbusd_epi32(_mm512_setzero_si512(), u, s); }

// int32 lanes of sum(x * y) for signed x, y (REQUIRES: y != -128 where x < 0).
inline __m512i DotSigned(__m512i x, __m512i y) {
  const __mmask64 negative = _mm512_movepi8_mask(x);
  const __m512i y_signed = _mm512_mask_sub_epi8(y, negative, _mm512_setzero_si512(), y);
  return Dot(_mm512_abs_epi8(x), y_signed);
}

// int32 lanes of sum((q - offset) * y) for unsigned q.
inline __m512i DotOffset(__m512i q, __m512i y, int offset) {
  return _mm512_sub_epi32(Dot(q, y), Dot(_mm512_set1_epi8(static_cast<char>(offset)), y));
}

// Runs pair(i, second, acc) over block pairs (second == false for an odd last block) and returns
// the sum of the accumulator lanes.
template <typename PairFn>
inline float ForEachPair(int64_t n, PairFn pair) {
  const int64_t nb = n / kQK;
  __m512 acc = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i + 1 < nb; i += 2) acc = pair(i, true, acc);
  if (i < nb) acc = pair(i, false, acc);
  return _mm512_reduce_add_ps(acc);
}

inline __m512 ScaleAdd(__m512 scale, __m512i lanes, __m512 acc) {
  return _mm512_fmadd_ps(scale, _mm512_cvtepi32_ps(lanes), acc);
}

template <typename BlockX, typename BlockY>
inline __m512 DxDyPair(const BlockX* x, const BlockY* y, int64_t i, bool second) {
  const float a = Half(x[i].d) * Half(y[i].d);
  const float b = second ? Half(x[i + 1].d) * Half(y[i + 1].d) : 0.0f;
  return ScalePair(a, b);
}

float Q4_0VecDot(int64_t n, const void* vx, const void* vy) {
  const BlockQ4_0* x = static_cast<const BlockQ4_0*>(vx);
  const BlockQ8_0* y = static_cast<const BlockQ8_0*>(vy);
  return ForEachPair(n, [&](int64_t i, bool second, __m512 acc) {
    const __m512i q = NibblesPair(x[i].qs, second ? x[i + 1].qs : nullptr);
    const __m512i qy = LoadPair(y[i].qs, second ? y[i + 1].qs : nullptr);
    return ScaleAdd(DxDyPair(x, y, i, second), DotOffset(q, qy, 8), acc);
  });
}

// Adds 16 to the bytes whose fifth bit is set.
inline __m512i WithFifthBits(__m512i q4, const uint8_t* qh_a, const uint8_t* qh_b) {
  return _mm512_mask_add_epi8(q4, FifthBitsPair(qh_a, qh_b), q4, _mm512_set1_epi8(0x10));
}

float Q5_0VecDot(int64_t n, const void* vx, const void* vy) {
  const BlockQ5_0* x = static_cast<const BlockQ5_0*>(vx);
  const BlockQ8_0* y = static_cast<const BlockQ8_0*>(vy);
  return ForEachPair(n, [&](int64_t i, bool second, __m512 acc) {
    const __m512i q4 = NibblesPair(x[i].qs, second ? x[i + 1].qs : nullptr);
    const __m512i q = WithFifthBits(q4, x[i].qh, second ? x[i + 1].qh : nullptr);
    const __m512i qy = LoadPair(y[i].qs, second ? y[i + 1].qs : nullptr);
    return ScaleAdd(DxDyPair(x, y, i, second), DotOffset(q, qy, 16), acc);
  });
}

// Affine types: the m * s terms are summed separately in float, as in the AVX2 kernels.
template <typename BlockX>
inline float MinTimesSum(const BlockX* x, const BlockQ8_1* y, int64_t n) {
  float sum = 0;
  for (int64_t i = 0; i < n / kQK; ++i) sum += Half(x[i].m) * Half(y[i].s);
  return sum;
}

float Q4_1VecDot(int64_t n, const void* vx, const void* vy) {
  const BlockQ4_1* x = static_cast<const BlockQ4_1*>(vx);
  const BlockQ8_1* y = static_cast<const BlockQ8_1*>(vy);
  const float dots = ForEachPair(n, [&](int64_t i, bool second, __m512 acc) {
    const __m512i q = NibblesPair(x[i].qs, second ? x[i + 1].qs : nullptr);
    const __m512i qy = LoadPair(y[i].qs, second ? y[i + 1].qs : nullptr);
    return ScaleAdd(DxDyPair(x, y, i, second), Dot(q, qy), acc);
  });
  return dots + MinTimesSum(x, y, n);
}

float Q5_1VecDot(int64_t n, const void* vx, const void* vy) {
  const BlockQ5_1* x = static_cast<const BlockQ5_1*>(vx);
  const BlockQ8_1* y = static_cast<const BlockQ8_1*>(vy);
  const float dots = ForEachPair(n, [&](int64_t i, bool second, __m512 acc) {
    const __m512i q4 = NibblesPair(x[i].qs, second ? x[i + 1].qs : nullptr);
    const __m512i q = WithFifthBits(q4, x[i].qh, second ? x[i + 1].qh : nullptr);
    const __m512i qy = LoadPair(y[i].qs, second ? y[i + 1].qs : nullptr);
    return ScaleAdd(DxDyPair(x, y, i, second), Dot(q, qy), acc);
  });
  return dots + MinTimesSum(x, y, n);
}

float Q8_0VecDot(int64_t n, const void* vx, const void* vy) {
  const BlockQ8_0* x = static_cast<const BlockQ8_0*>(vx);
  const BlockQ8_0* y = static_cast<const BlockQ8_0*>(vy);
  return ForEachPair(n, [&](int64_t i, bool second, __m512 acc) {
    const __m512i qx = LoadPair(x[i].qs, second ? x[i + 1].qs : nullptr);
    const __m512i qy = LoadPair(y[i].qs, second ? y[i + 1].qs : nullptr);
    return ScaleAdd(DxDyPair(x, y, i, second), DotSigned(qx, qy), acc);
  });
}

float Iq4NlVecDot(int64_t n, const void* vx, const void* vy) {
  const BlockIq4Nl* x = static_cast<const BlockIq4Nl*>(vx);
  const BlockQ8_0* y = static_cast<const BlockQ8_0*>(vy);
  const __m512i table =
      _mm512_broadcast_i32x4(_mm_loadu_si128(reinterpret_cast<const __m128i*>(kIq4nlValues)));
  return ForEachPair(n, [&](int64_t i, bool second, __m512 acc) {
    const __m512i idx = NibblesPair(x[i].qs, second ? x[i + 1].qs : nullptr);
    const __m512i v = _mm512_shuffle_epi8(table, idx);  // per 128-bit lane lookup, values [-127, 113]
    const __m512i qy = LoadPair(y[i].qs, second ? y[i + 1].qs : nullptr);
    return ScaleAdd(DxDyPair(x, y, i, second), DotSigned(v, qy), acc);
  });
}

}  // namespace

void RegisterLegacyQuantKernelsAvx512(KernelTable& table) {
  table[GgmlType::kQ4_0].vec_dot = Q4_0VecDot;
  table[GgmlType::kQ4_1].vec_dot = Q4_1VecDot;
  table[GgmlType::kQ5_0].vec_dot = Q5_0VecDot;
  table[GgmlType::kQ5_1].vec_dot = Q5_1VecDot;
  table[GgmlType::kQ8_0].vec_dot = Q8_0VecDot;
  table[GgmlType::kIQ4_NL].vec_dot = Iq4NlVecDot;
}

}  // namespace isv
