// Scalar kernels of the legacy quantization types (Q4_0 Q4_1 Q5_0 Q5_1 Q8_0 Q8_1 IQ4_NL): the
// oracle every SIMD version is tested against.
//
// to_float reproduces ggml's dequantize_row_* bit for bit. vec_dot computes, per block, the exact
// integer dot product of the quants and scales it by the float product of the two block scales
// (plus m * s for the types with a minimum), as ggml does; blocks are summed in double.
// from_float of Q8_0 / Q8_1 quantizes activations exactly like ggml-cpu's x86 (AVX/AVX2/AVX-512)
// quantize_row_q8_0 / q8_1, which produced the llama.cpp goldens: scale d = amax / 127, multiplier
// 127 / amax (not 1 / d), round half to even, s = fp16(d * sum(q)). The weight types' from_float
// are ggml's reference quantizers (legacy_quant_ref.h).
#include <climits>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "engine/kernels/blocks.h"
#include "engine/kernels/kernels.h"
#include "engine/kernels/legacy_quant_ref.h"
#include "engine/tensor/float16.h"

namespace isv {
namespace {

inline uint32_t LoadQh(const uint8_t qh[4]) {
  uint32_t v;
  std::memcpy(&v, qh, 4);
  return v;
}

// Fills q[0..31] with the 5-bit (or 4-bit when qh == nullptr) quants of one block, unsigned.
inline void UnpackNibbles(const uint8_t* qs, const uint8_t* qh, int q[kQK]) {
  const uint32_t h = qh ? LoadQh(qh) : 0;
  for (int j = 0; j < kQK / 2; ++j) {
    q[j] = (qs[j] & 0x0F) | static_cast<int>(((h >> j) & 1u) << 4);
    q[j + kQK / 2] = (qs[j] >> 4) | static_cast<int>(((h >> (j + 16)) & 1u) << 4);
  }
}

template <typename Block, int kOffset, bool kHasQh>
void SymmetricToFloat(const void* x, float* y, int64_t n) {
  const Block* b = static_cast<const Block*>(x);
  for (int64_t i = 0; i < n / kQK; ++i) {
    const float d = Fp16ToFp32(b[i].d);
    int q[kQK];
    if constexpr (kHasQh) UnpackNibbles(b[i].qs, b[i].qh, q); else UnpackNibbles(b[i].qs, nullptr, q);
    for (int j = 0; j < kQK; ++j) y[i * kQK + j] = static_cast<float>(q[j] - kOffset) * d;
  }
}

template <typename Block, bool kHasQh>
void AffineToFloat(const void* x, float* y, int64_t n) {
  const Block* b = static_cast<const Block*>(x);
  for (int64_t i = 0; i < n / kQK; ++i) {
    const float d = Fp16ToFp32(b[i].d);
    const float m = Fp16ToFp32(b[i].m);
    int q[kQK];
    if constexpr (kHasQh) UnpackNibbles(b[i].qs, b[i].qh, q); else UnpackNibbles(b[i].qs, nullptr, q);
    for (int j = 0; j < kQK; ++j) {
      const float prod = static_cast<float>(q[j]) * d;  // two roundings, as ggml (no FMA)
      y[i * kQK + j] = prod + m;
    }
  }
}

template <typename Block>
void Q8ToFloat(const void* x, float* y, int64_t n) {
  const Block* b = static_cast<const Block*>(x);
  for (int64_t i = 0; i < n / kQK; ++i) {
    const float d = Fp16ToFp32(b[i].d);
    for (int j = 0; j < kQK; ++j) y[i * kQK + j] = static_cast<float>(b[i].qs[j]) * d;
  }
}

void Iq4NlToFloat(const void* x, float* y, int64_t n) {
  const BlockIq4Nl* b = static_cast<const BlockIq4Nl*>(x);
  for (int64_t i = 0; i < n / kQK; ++i) {
    const float d = Fp16ToFp32(b[i].d);
    for (int j = 0; j < kQK / 2; ++j) {
      y[i * kQK + j] = d * static_cast<float>(kIq4nlValues[b[i].qs[j] & 0x0F]);
      y[i * kQK + j + 16] = d * static_cast<float>(kIq4nlValues[b[i].qs[j] >> 4]);
    }
  }
}

// Symmetric weights (Q4_0, Q5_0) against Q8_0: sum_b dx*dy * sum_j (q_j - offset) * y_j.
template <typename Block, int kOffset, bool kHasQh>
float SymmetricVecDot(int64_t n, const void* vx, const void* vy) {
  const Block* x = static_cast<const Block*>(vx);
  const BlockQ8_0* y = static_cast<const BlockQ8_0*>(vy);
  double sum = 0;
  for (int64_t i = 0; i < n / kQK; ++i) {
    int q[kQK];
    if constexpr (kHasQh) UnpackNibbles(x[i].qs, x[i].qh, q); else UnpackNibbles(x[i].qs, nullptr, q);
    int sumi = 0;
    for (int j = 0; j < kQK; ++j) sumi += (q[j] - kOffset) * y[i].qs[j];
    sum += static_cast<double>(Fp16ToFp32(x[i].d) * Fp16ToFp32(y[i].d) * static_cast<float>(sumi));
  }
  return static_cast<float>(sum);
}

// Affine weights (Q4_1, Q5_1) against Q8_1: sum_b dx*dy * sum_j q_j * y_j + mx * sy.
template <typename Block, bool kHasQh>
float AffineVecDot(int64_t n, const void* vx, const void* vy) {
  const Block* x = static_cast<const Block*>(vx);
  const BlockQ8_1* y = static_cast<const BlockQ8_1*>(vy);
  double sum = 0;
  for (int64_t i = 0; i < n / kQK; ++i) {
    int q[kQK];
    if constexpr (kHasQh) UnpackNibbles(x[i].qs, x[i].qh, q); else UnpackNibbles(x[i].qs, nullptr, q);
    int sumi = 0;
    for (int j = 0; j < kQK; ++j) sumi += q[j] * y[i].qs[j];
    sum += static_cast<double>(Fp16ToFp32(x[i].d) * Fp16ToFp32(y[i].d) * static_cast<float>(sumi));
    sum += static_cast<double>(Fp16ToFp32(x[i].m) * Fp16ToFp32(y[i].s));
  }
  return static_cast<float>(sum);
}

float Q8_0VecDot(int64_t n, const void* vx, const void* vy) {
  const BlockQ8_0* x = static_cast<const BlockQ8_0*>(vx);
  const BlockQ8_0* y = static_cast<const BlockQ8_0*>(vy);
  double sum = 0;
  for (int64_t i = 0; i < n / kQK; ++i) {
    int sumi = 0;
    for (int j = 0; j < kQK; ++j) sumi += x[i].qs[j] * y[i].qs[j];
    sum += static_cast<double>(Fp16ToFp32(x[i].d) * Fp16ToFp32(y[i].d) * static_cast<float>(sumi));
  }
  return static_cast<float>(sum);
}

float Iq4NlVecDot(int64_t n, const void* vx, const void* vy) {
  const BlockIq4Nl* x = static_cast<const BlockIq4Nl*>(vx);
  const BlockQ8_0* y = static_cast<const BlockQ8_0*>(vy);
  double sum = 0;
  for (int64_t i = 0; i < n / kQK; ++i) {
    int sumi = 0;
    for (int j = 0; j < kQK / 2; ++j) {
      sumi += kIq4nlValues[x[i].qs[j] & 0x0F] * y[i].qs[j];
      sumi += kIq4nlValues[x[i].qs[j] >> 4] * y[i].qs[j + 16];
    }
    sum += static_cast<double>(Fp16ToFp32(x[i].d) * Fp16ToFp32(y[i].d) * static_cast<float>(sumi));
  }
  return static_cast<float>(sum);
}

// _mm256_round_ps(NEAREST) + _mm256_cvtps_epi32 in scalar: round half to even; NaN and values
// beyond int32 become INT32_MIN ("integer indefinite").
inline int32_t RoundToInt32(float v) {
  const float a = std::fabs(v);
  if (!(a < 2147483648.0f)) return INT32_MIN;
  if (a >= 4194304.0f) return static_cast<int32_t>(v);  // already an integer
  return static_cast<int32_t>((v + 12582912.0f) - 12582912.0f);  // 1.5 * 2^23: half to even
}
inline int8_t SaturateToInt8(int32_t i) { return static_cast<int8_t>(i > 127 ? 127 : (i < -128 ? -128 : i)); }

// One block of activations as ggml-cpu's x86 quantize_row_q8_0/q8_1 does it. Returns d (float,
// before fp16 rounding) and writes the quants; *sum receives the wrapping int32 sum of the
// rounded values before saturation (as x86 sums them; equal to sum(q) for finite, normal
// input). The multiplier is 127 / amax, not 1 / d; a denormal amax makes it infinite.
float QuantizeActivationBlock(const float* x, int8_t* q, int* sum) {
  float amax = 0.0f;
  for (int j = 0; j < kQK; ++j) {
    const float a = std::fabs(x[j]);
    amax = a > amax ? a : amax;
  }
  const float d = amax / 127.0f;
  const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
  uint32_t s = 0;
  for (int j = 0; j < kQK; ++j) {
    const int32_t i = RoundToInt32(x[j] * id);
    q[j] = SaturateToInt8(i);
    s += static_cast<uint32_t>(i);
  }
  *sum = static_cast<int32_t>(s);
  return d;
}

void Q8_0FromFloat(const float* x, void* vy, int64_t n) {
  BlockQ8_0* y = static_cast<BlockQ8_0*>(vy);
  for (int64_t i = 0; i < n / kQK; ++i) {
    int sum;
    y[i].d = Fp32ToFp16(QuantizeActivationBlock(x + i * kQK, y[i].qs, &sum));
  }
}

void Q8_1FromFloat(const float* x, void* vy, int64_t n) {
  BlockQ8_1* y = static_cast<BlockQ8_1*>(vy);
  for (int64_t i = 0; i < n / kQK; ++i) {
    int sum;
    const float d = QuantizeActivationBlock(x + i * kQK, y[i].qs, &sum);
    y[i].d = Fp32ToFp16(d);
    y[i].s = Fp32ToFp16(d * static_cast<float>(sum));
  }
}

}  // namespace

void RegisterLegacyQuantKernelsScalar(KernelTable& table) {
  table[GgmlType::kQ4_0] = {GgmlType::kQ8_0, SymmetricToFloat<BlockQ4_0, 8, false>, QuantizeRowQ4_0Ref,
                            SymmetricVecDot<BlockQ4_0, 8, false>};
  table[GgmlType::kQ4_1] = {GgmlType::kQ8_1, AffineToFloat<BlockQ4_1, false>, QuantizeRowQ4_1Ref,
                            AffineVecDot<BlockQ4_1, false>};
  table[GgmlType::kQ5_0] = {GgmlType::kQ8_0, SymmetricToFloat<BlockQ5_0, 16, true>, QuantizeRowQ5_0Ref,
                            SymmetricVecDot<BlockQ5_0, 16, true>};
  table[GgmlType::kQ5_1] = {GgmlType::kQ8_1, AffineToFloat<BlockQ5_1, true>, QuantizeRowQ5_1Ref,
                            AffineVecDot<BlockQ5_1, true>};
  table[GgmlType::kQ8_0] = {GgmlType::kQ8_0, Q8ToFloat<BlockQ8_0>, Q8_0FromFloat, Q8_0VecDot};
  table[GgmlType::kQ8_1] = {GgmlType::kQ8_1, Q8ToFloat<BlockQ8_1>, Q8_1FromFloat, nullptr};
  table[GgmlType::kIQ4_NL] = {GgmlType::kQ8_0, Iq4NlToFloat, QuantizeRowIq4NlRef, Iq4NlVecDot};
}

}  // namespace isv
