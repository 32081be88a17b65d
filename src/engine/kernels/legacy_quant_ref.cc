// Reference quantizers of the legacy weight types (see legacy_quant_ref.h). Every float operation
// is written out in ggml's order with one rounding per operation (this file is built for baseline
// x86-64, so no multiply-add is ever fused), which is what makes the output byte-identical.
#include "engine/kernels/legacy_quant_ref.h"

#include <cfloat>
#include <cmath>
#include <cstring>

#include "engine/kernels/blocks.h"
#include "engine/tensor/float16.h"

namespace isv {
namespace {

// The value of largest magnitude in x[0..31] (first one wins on ties), and that magnitude.
inline float SignedAbsMax(const float* x, float* amax_out) {
  float amax = 0.0f, max = 0.0f;
  for (int j = 0; j < kQK; ++j) {
    if (amax < std::fabs(x[j])) {
      amax = std::fabs(x[j]);
      max = x[j];
    }
  }
  *amax_out = amax;
  return max;
}

inline void MinMax(const float* x, float* min_out, float* max_out) {
  float min = FLT_MAX, max = -FLT_MAX;
  for (int j = 0; j < kQK; ++j) {
    if (x[j] < min) min = x[j];
    if (x[j] > max) max = x[j];
  }
  *min_out = min;
  *max_out = max;
}

inline int Trunc(float v) { return static_cast<int>(v); }  // C's float -> integer conversion
inline int Min(int a, int b) { return a < b ? a : b; }

}  // namespace

// Branchless binary search on midpoints, compared as 2v >= a + b so both sides are exact.
int BestIq4nlIndex(float v) {
  const float v2 = v + v;
  int idx = 0;
  for (int step = 8; step > 0; step >>= 1) {
    const int j = idx + step;
    idx = (v2 >= static_cast<float>(kIq4nlValues[j - 1] + kIq4nlValues[j])) ? j : idx;
  }
  return idx;
}

float FitIq4Block(const float* x, uint8_t L[kQK]) {
  constexpr int kTries = 7;
  float weight[kQK];
  for (int j = 0; j < kQK; ++j) weight[j] = x[j] * x[j];
  float amax;
  const float max = SignedAbsMax(x, &amax);
  if (amax < 1e-15f) {
    std::memset(L, 0, kQK);
    return 0.0f;
  }
  auto accumulate = [&](float id, float* sumqx, float* sumq2, bool store) {
    *sumqx = 0;
    *sumq2 = 0;
    for (int j = 0; j < kQK; ++j) {
      const float al = id * x[j];
      const int l = BestIq4nlIndex(al);
      if (store) L[j] = static_cast<uint8_t>(l);
      const float q = kIq4nlValues[l];
      const float w = weight[j];
      const float wq = w * q;
      const float wqx = wq * x[j];
      const float wqq = wq * q;
      *sumqx += wqx;
      *sumq2 += wqq;
    }
  };
  float d = -max / static_cast<float>(kIq4nlValues[0]);
  float sumqx, sumq2;
  accumulate(1 / d, &sumqx, &sumq2, true);
  d = sumq2 > 0 ? sumqx / sumq2 : 0.0f;
  float best = d * sumqx;
  for (int itry = -kTries; itry <= kTries; ++itry) {
    const float id = static_cast<float>(itry + kIq4nlValues[0]) / max;
    accumulate(id, &sumqx, &sumq2, false);
    const float lhs = sumqx * sumqx;
    const float rhs = best * sumq2;
    if (sumq2 > 0 && lhs > rhs) {
      d = sumqx / sumq2;
      best = d * sumqx;
    }
  }
  return d;
}

void QuantizeRowQ4_0Ref(const float* x, void* vy, int64_t n) {
  BlockQ4_0* y = static_cast<BlockQ4_0*>(vy);
  for (int64_t i = 0; i < n / kQK; ++i, x += kQK) {
    float amax;
    const float max = SignedAbsMax(x, &amax);
    const float d = max / -8.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    y[i].d = Fp32ToFp16(d);
    for (int j = 0; j < kQK / 2; ++j) {
      const float x0 = x[j] * id;
      const float x1 = x[j + 16] * id;
      const int q0 = Min(15, Trunc(x0 + 8.5f));
      const int q1 = Min(15, Trunc(x1 + 8.5f));
      y[i].qs[j] = static_cast<uint8_t>(q0 | (q1 << 4));
    }
  }
}

void QuantizeRowQ4_1Ref(const float* x, void* vy, int64_t n) {
  BlockQ4_1* y = static_cast<BlockQ4_1*>(vy);
  for (int64_t i = 0; i < n / kQK; ++i, x += kQK) {
    float min, max;
    MinMax(x, &min, &max);
    const float d = (max - min) / 15.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    y[i].d = Fp32ToFp16(d);
    y[i].m = Fp32ToFp16(min);
    for (int j = 0; j < kQK / 2; ++j) {
      const float x0 = (x[j] - min) * id;
      const float x1 = (x[j + 16] - min) * id;
      const int q0 = Min(15, Trunc(x0 + 0.5f));
      const int q1 = Min(15, Trunc(x1 + 0.5f));
      y[i].qs[j] = static_cast<uint8_t>(q0 | (q1 << 4));
    }
  }
}

void QuantizeRowQ5_0Ref(const float* x, void* vy, int64_t n) {
  BlockQ5_0* y = static_cast<BlockQ5_0*>(vy);
  for (int64_t i = 0; i < n / kQK; ++i, x += kQK) {
    float amax;
    const float max = SignedAbsMax(x, &amax);
    const float d = max / -16.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    y[i].d = Fp32ToFp16(d);
    uint32_t qh = 0;
    for (int j = 0; j < kQK / 2; ++j) {
      const float x0 = x[j] * id;
      const float x1 = x[j + 16] * id;
      const int q0 = Min(31, Trunc(x0 + 16.5f));
      const int q1 = Min(31, Trunc(x1 + 16.5f));
      y[i].qs[j] = static_cast<uint8_t>((q0 & 0x0F) | ((q1 & 0x0F) << 4));
      qh |= static_cast<uint32_t>((q0 & 0x10) >> 4) << j;
      qh |= static_cast<uint32_t>((q1 & 0x10) >> 4) << (j + 16);
    }
    std::memcpy(y[i].qh, &qh, 4);
  }
}

void QuantizeRowQ5_1Ref(const float* x, void* vy, int64_t n) {
  BlockQ5_1* y = static_cast<BlockQ5_1*>(vy);
  for (int64_t i = 0; i < n / kQK; ++i, x += kQK) {
    float min, max;
    MinMax(x, &min, &max);
    const float d = (max - min) / 31.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    y[i].d = Fp32ToFp16(d);
    y[i].m = Fp32ToFp16(min);
    uint32_t qh = 0;
    for (int j = 0; j < kQK / 2; ++j) {
      const float x0 = (x[j] - min) * id;
      const float x1 = (x[j + 16] - min) * id;
      // ggml converts to uint8_t without clamping (the value never exceeds 31).
      const int q0 = static_cast<uint8_t>(Trunc(x0 + 0.5f));
      const int q1 = static_cast<uint8_t>(Trunc(x1 + 0.5f));
      y[i].qs[j] = static_cast<uint8_t>((q0 & 0x0F) | ((q1 & 0x0F) << 4));
      qh |= static_cast<uint32_t>((q0 & 0x10) >> 4) << j;
      qh |= static_cast<uint32_t>((q1 & 0x10) >> 4) << (j + 16);
    }
    std::memcpy(y[i].qh, &qh, 4);
  }
}

void QuantizeRowQ8_0Ref(const float* x, void* vy, int64_t n) {
  BlockQ8_0* y = static_cast<BlockQ8_0*>(vy);
  for (int64_t i = 0; i < n / kQK; ++i, x += kQK) {
    float amax = 0.0f;
    for (int j = 0; j < kQK; ++j) amax = std::fmax(amax, std::fabs(x[j]));
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    y[i].d = Fp32ToFp16(d);
    for (int j = 0; j < kQK; ++j) y[i].qs[j] = static_cast<int8_t>(std::round(x[j] * id));  // half away
  }
}

void QuantizeRowIq4NlRef(const float* x, void* vy, int64_t n) {
  BlockIq4Nl* y = static_cast<BlockIq4Nl*>(vy);
  for (int64_t i = 0; i < n / kQK; ++i, x += kQK) {
    uint8_t L[kQK];
    const float scale = FitIq4Block(x, L);
    y[i].d = Fp32ToFp16(scale);
    // Requantize every element with the final scale (ggml does this for single-block rows).
    const float id = scale != 0.0f ? 1 / scale : 0.0f;
    for (int j = 0; j < kQK; ++j) L[j] = static_cast<uint8_t>(BestIq4nlIndex(id * x[j]));
    for (int j = 0; j < kQK / 2; ++j) y[i].qs[j] = static_cast<uint8_t>(L[j] | (L[j + 16] << 4));
  }
}

QuantizeRowFn LegacyReferenceQuantizer(GgmlType type) {
  switch (type) {
    case GgmlType::kQ4_0: return QuantizeRowQ4_0Ref;
    case GgmlType::kQ4_1: return QuantizeRowQ4_1Ref;
    case GgmlType::kQ5_0: return QuantizeRowQ5_0Ref;
    case GgmlType::kQ5_1: return QuantizeRowQ5_1Ref;
    case GgmlType::kQ8_0: return QuantizeRowQ8_0Ref;
    case GgmlType::kIQ4_NL: return QuantizeRowIq4NlRef;
    default: return nullptr;
  }
}

}  // namespace isv
