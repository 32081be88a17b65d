// Scalar kernels of the K-quant types (Q2_K Q3_K Q4_K Q5_K Q6_K, activation type Q8_K) and IQ4_XS:
// dequantization, dot products against Q8_K, registration. The reference quantizers live in
// k_quant_quantize.cc.
//
// Dequantization reproduces ggml's dequantize_row_* bit for bit (same float operations in the same
// order). The dot products follow ggml's portable versions: exact integer sums per sub-block,
// weight mins applied through Q8_K's bsums, and the same float accumulation (8 lane partial sums
// for Q3_K..Q6_K, one running sum for Q2_K and IQ4_XS). They are the oracle of the SIMD kernels.
#include <cstring>

#include "engine/kernels/blocks_k.h"
#include "engine/kernels/k_quant_ref.h"
#include "engine/kernels/kernels.h"
#include "engine/tensor/float16.h"

namespace isv {
namespace {

// ---------------------------------------------------------------------------------------------
// Dequantization

void Q2KToFloat(const void* vx, float* y, int64_t n) {
  const BlockQ2K* x = static_cast<const BlockQ2K*>(vx);
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    const float d = Fp16ToFp32(x[i].d);
    const float dmin = Fp16ToFp32(x[i].dmin);
    const uint8_t* q = x[i].qs;
    int is = 0;
    for (int half = 0; half < 2; ++half) {
      for (int shift = 0; shift < 8; shift += 2) {
        for (int part = 0; part < 2; ++part) {
          const uint8_t sc = x[i].scales[is++];
          const float dl = d * (sc & 0xF);
          const float ml = dmin * (sc >> 4);
          for (int l = 0; l < 16; ++l) *y++ = dl * ((q[16 * part + l] >> shift) & 3) - ml;
        }
      }
      q += 32;
    }
  }
}

void Q3KToFloat(const void* vx, float* y, int64_t n) {
  const BlockQ3K* x = static_cast<const BlockQ3K*>(vx);
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    const float d_all = Fp16ToFp32(x[i].d);
    int8_t scales[16];
    UnpackScalesQ3K(x[i].scales, scales);
    const uint8_t* q = x[i].qs;
    const uint8_t* hm = x[i].hmask;
    uint8_t m = 1;
    int is = 0;
    for (int half = 0; half < 2; ++half) {
      for (int shift = 0; shift < 8; shift += 2) {
        for (int part = 0; part < 2; ++part) {
          const float dl = d_all * scales[is++];
          for (int l = 16 * part; l < 16 * part + 16; ++l) {
            *y++ = dl * (((q[l] >> shift) & 3) - ((hm[l] & m) ? 0 : 4));
          }
        }
        m <<= 1;
      }
      q += 32;
    }
  }
}

void Q4KToFloat(const void* vx, float* y, int64_t n) {
  const BlockQ4K* x = static_cast<const BlockQ4K*>(vx);
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    const float d = Fp16ToFp32(x[i].d);
    const float dmin = Fp16ToFp32(x[i].dmin);
    const uint8_t* q = x[i].qs;
    for (int j = 0; j < 8; j += 2) {
      uint8_t sc, mn;
      UnpackScaleMinK4(j, x[i].scales, &sc, &mn);
      const float d1 = d * sc, m1 = dmin * mn;
      UnpackScaleMinK4(j + 1, x[i].scales, &sc, &mn);
      const float d2 = d * sc, m2 = dmin * mn;
      for (int l = 0; l < 32; ++l) *y++ = d1 * (q[l] & 0xF) - m1;
      for (int l = 0; l < 32; ++l) *y++ = d2 * (q[l] >> 4) - m2;
      q += 32;
    }
  }
}

void Q5KToFloat(const void* vx, float* y, int64_t n) {
  const BlockQ5K* x = static_cast<const BlockQ5K*>(vx);
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    const float d = Fp16ToFp32(x[i].d);
    const float dmin = Fp16ToFp32(x[i].dmin);
    const uint8_t* ql = x[i].qs;
    const uint8_t* qh = x[i].qh;
    uint8_t u1 = 1, u2 = 2;
    for (int j = 0; j < 8; j += 2) {
      uint8_t sc, mn;
      UnpackScaleMinK4(j, x[i].scales, &sc, &mn);
      const float d1 = d * sc, m1 = dmin * mn;
      UnpackScaleMinK4(j + 1, x[i].scales, &sc, &mn);
      const float d2 = d * sc, m2 = dmin * mn;
      for (int l = 0; l < 32; ++l) *y++ = d1 * ((ql[l] & 0xF) + ((qh[l] & u1) ? 16 : 0)) - m1;
      for (int l = 0; l < 32; ++l) *y++ = d2 * ((ql[l] >> 4) + ((qh[l] & u2) ? 16 : 0)) - m2;
      ql += 32;
      u1 <<= 2;
      u2 <<= 2;
    }
  }
}

void Q6KToFloat(const void* vx, float* y, int64_t n) {
  const BlockQ6K* x = static_cast<const BlockQ6K*>(vx);
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    const float d = Fp16ToFp32(x[i].d);
    const uint8_t* ql = x[i].ql;
    const uint8_t* qh = x[i].qh;
    const int8_t* sc = x[i].scales;
    for (int half = 0; half < 2; ++half) {
      for (int l = 0; l < 32; ++l) {
        const int is = l / 16;
        const int q1 = ((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
        const int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
        const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
        const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
        // (d * scale) * q, the association ggml uses.
        y[l] = d * sc[is + 0] * q1;
        y[l + 32] = d * sc[is + 2] * q2;
        y[l + 64] = d * sc[is + 4] * q3;
        y[l + 96] = d * sc[is + 6] * q4;
      }
      y += 128;
      ql += 64;
      qh += 32;
      sc += 8;
    }
  }
}

void Q8KToFloat(const void* vx, float* y, int64_t n) {
  const BlockQ8K* x = static_cast<const BlockQ8K*>(vx);
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    for (int j = 0; j < kQK_K; ++j) *y++ = x[i].d * x[i].qs[j];
  }
}

void Iq4XsToFloat(const void* vx, float* y, int64_t n) {
  const BlockIq4Xs* x = static_cast<const BlockIq4Xs*>(vx);
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    const float d = Fp16ToFp32(x[i].d);
    const uint8_t* qs = x[i].qs;
    for (int ib = 0; ib < 8; ++ib) {
      const float dl = d * (Iq4XsScale(x[i], ib) - 32);
      for (int j = 0; j < 16; ++j) {
        y[j] = dl * kIq4nlValues[qs[j] & 0xF];
        y[j + 16] = dl * kIq4nlValues[qs[j] >> 4];
      }
      y += 32;
      qs += 16;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Dot products with Q8_K

// Adds scale * q[l] * a[l] for 16 consecutive values into the 8 lane accumulators (element l goes
// to lane l % 8), as ggml's portable kernels do.
inline void AccumulateLanes16(int32_t scale, const int8_t* q8, const int8_t* a, int32_t* lanes) {
  for (int l = 0; l < 16; ++l) lanes[l % 8] += scale * (q8[l] * a[l]);
}

// Float tail shared by Q3_K..Q6_K: sums[l] += d * lanes[l].
inline void AddLanes(float d, const int32_t* lanes, float* sums) {
  for (int l = 0; l < 8; ++l) sums[l] += d * static_cast<float>(lanes[l]);
}

inline float FinishLanes(float sumf, const float* sums) {
  for (int l = 0; l < 8; ++l) sumf += sums[l];
  return sumf;
}

// The 8 scales and 8 mins of a Q4_K / Q5_K block.
inline void UnpackScalesMinsK4(const uint8_t* packed, uint8_t* scales, uint8_t* mins) {
  for (int j = 0; j < 8; ++j) UnpackScaleMinK4(j, packed, &scales[j], &mins[j]);
}

float Q2KVecDot(int64_t n, const void* vx, const void* vy) {
  const BlockQ2K* x = static_cast<const BlockQ2K*>(vx);
  const BlockQ8K* y = static_cast<const BlockQ8K*>(vy);
  float sumf = 0;
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    int summs = 0;
    for (int j = 0; j < 16; ++j) summs += y[i].bsums[j] * (x[i].scales[j] >> 4);
    const float dall = y[i].d * Fp16ToFp32(x[i].d);
    const float dmin = y[i].d * Fp16ToFp32(x[i].dmin);
    const uint8_t* q2 = x[i].qs;
    const int8_t* q8 = y[i].qs;
    int isum = 0;
    int is = 0;
    for (int half = 0; half < 2; ++half) {
      for (int shift = 0; shift < 8; shift += 2) {
        for (int part = 0; part < 2; ++part) {
          int isuml = 0;
          for (int l = 16 * part; l < 16 * part + 16; ++l) isuml += q8[l] * ((q2[l] >> shift) & 3);
          isum += (x[i].scales[is++] & 0xF) * isuml;
        }
        q8 += 32;
      }
      q2 += 32;
    }
    sumf += dall * static_cast<float>(isum) - dmin * static_cast<float>(summs);
  }
  return sumf;
}

float Q3KVecDot(int64_t n, const void* vx, const void* vy) {
  const BlockQ3K* x = static_cast<const BlockQ3K*>(vx);
  const BlockQ8K* y = static_cast<const BlockQ8K*>(vy);
  float sums[8] = {};
  int8_t a[kQK_K];
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    const uint8_t* q3 = x[i].qs;
    const uint8_t* hm = x[i].hmask;
    int8_t* out = a;
    uint8_t m = 1;
    for (int half = 0; half < 2; ++half) {
      for (int shift = 0; shift < 8; shift += 2) {
        for (int l = 0; l < 32; ++l) {
          out[l] = static_cast<int8_t>(((q3[l] >> shift) & 3) - ((hm[l] & m) ? 0 : 4));
        }
        out += 32;
        m <<= 1;
      }
      q3 += 32;
    }
    int8_t scales[16];
    UnpackScalesQ3K(x[i].scales, scales);
    int32_t lanes[8] = {};
    for (int j = 0; j < 16; ++j) AccumulateLanes16(scales[j], y[i].qs + 16 * j, a + 16 * j, lanes);
    AddLanes(Fp16ToFp32(x[i].d) * y[i].d, lanes, sums);
  }
  return FinishLanes(0.f, sums);
}

// One Q4_K / Q5_K block (they differ only in how the quants a[0..255] are unpacked): adds the
// scaled part d * sum_j scale_j * (q . y) into the 8 lane sums and returns the min part
// dmin * sum_j min_j * bsum, which the caller subtracts from its running sum (ggml's order).
float K4BlockDot(uint16_t d16, uint16_t dmin16, const uint8_t* packed_scales, const int8_t* a,
                 const BlockQ8K& y, float* sums) {
  uint8_t scales[8], mins[8];
  UnpackScalesMinsK4(packed_scales, scales, mins);
  int sumi = 0;
  for (int j = 0; j < 16; ++j) sumi += y.bsums[j] * mins[j / 2];
  int32_t lanes[8] = {};
  for (int j = 0; j < 16; ++j) AccumulateLanes16(scales[j / 2], y.qs + 16 * j, a + 16 * j, lanes);
  AddLanes(Fp16ToFp32(d16) * y.d, lanes, sums);
  const float dmin = Fp16ToFp32(dmin16) * y.d;
  return dmin * static_cast<float>(sumi);  // subtracted by the caller
}

float Q4KVecDot(int64_t n, const void* vx, const void* vy) {
  const BlockQ4K* x = static_cast<const BlockQ4K*>(vx);
  const BlockQ8K* y = static_cast<const BlockQ8K*>(vy);
  float sums[8] = {};
  float sumf = 0;
  int8_t a[kQK_K];
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    const uint8_t* q4 = x[i].qs;
    for (int j = 0; j < 4; ++j) {
      for (int l = 0; l < 32; ++l) a[64 * j + l] = static_cast<int8_t>(q4[l] & 0xF);
      for (int l = 0; l < 32; ++l) a[64 * j + 32 + l] = static_cast<int8_t>(q4[l] >> 4);
      q4 += 32;
    }
    sumf -= K4BlockDot(x[i].d, x[i].dmin, x[i].scales, a, y[i], sums);
  }
  return FinishLanes(sumf, sums);
}

float Q5KVecDot(int64_t n, const void* vx, const void* vy) {
  const BlockQ5K* x = static_cast<const BlockQ5K*>(vx);
  const BlockQ8K* y = static_cast<const BlockQ8K*>(vy);
  float sums[8] = {};
  float sumf = 0;
  int8_t a[kQK_K];
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    const uint8_t* q4 = x[i].qs;
    const uint8_t* hm = x[i].qh;
    uint8_t m = 1;
    for (int j = 0; j < 4; ++j) {
      for (int l = 0; l < 32; ++l) {
        a[64 * j + l] = static_cast<int8_t>((q4[l] & 0xF) + ((hm[l] & m) ? 16 : 0));
      }
      m <<= 1;
      for (int l = 0; l < 32; ++l) {
        a[64 * j + 32 + l] = static_cast<int8_t>((q4[l] >> 4) + ((hm[l] & m) ? 16 : 0));
      }
      m <<= 1;
      q4 += 32;
    }
    sumf -= K4BlockDot(x[i].d, x[i].dmin, x[i].scales, a, y[i], sums);
  }
  return FinishLanes(sumf, sums);
}

float Q6KVecDot(int64_t n, const void* vx, const void* vy) {
  const BlockQ6K* x = static_cast<const BlockQ6K*>(vx);
  const BlockQ8K* y = static_cast<const BlockQ8K*>(vy);
  float sums[8] = {};
  int8_t a[kQK_K];
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    const uint8_t* ql = x[i].ql;
    const uint8_t* qh = x[i].qh;
    int8_t* out = a;
    for (int half = 0; half < 2; ++half) {
      for (int l = 0; l < 32; ++l) {
        out[l] = static_cast<int8_t>(((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32);
        out[l + 32] = static_cast<int8_t>(((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32);
        out[l + 64] = static_cast<int8_t>(((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32);
        out[l + 96] = static_cast<int8_t>(((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32);
      }
      out += 128;
      ql += 64;
      qh += 32;
    }
    int32_t lanes[8] = {};
    for (int j = 0; j < 16; ++j) {
      AccumulateLanes16(x[i].scales[j], y[i].qs + 16 * j, a + 16 * j, lanes);
    }
    AddLanes(Fp16ToFp32(x[i].d) * y[i].d, lanes, sums);
  }
  return FinishLanes(0.f, sums);
}

float Iq4XsVecDot(int64_t n, const void* vx, const void* vy) {
  const BlockIq4Xs* x = static_cast<const BlockIq4Xs*>(vx);
  const BlockQ8K* y = static_cast<const BlockQ8K*>(vy);
  float sumf = 0;
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    const float d4d8 = Fp16ToFp32(x[i].d) * y[i].d;
    const uint8_t* qs = x[i].qs;
    const int8_t* q8 = y[i].qs;
    for (int ib = 0; ib < 8; ++ib) {
      const float dl = d4d8 * (Iq4XsScale(x[i], ib) - 32);
      int sumi1 = 0, sumi2 = 0;
      for (int j = 0; j < 16; ++j) {
        sumi1 += q8[j] * kIq4nlValues[qs[j] & 0xF];
        sumi2 += q8[j + 16] * kIq4nlValues[qs[j] >> 4];
      }
      sumf += dl * static_cast<float>(sumi1 + sumi2);
      qs += 16;
      q8 += 32;
    }
  }
  return sumf;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Q8_K activation quantization (what ggml's CPU backend runs on x86: the reference version).

void QuantizeQ8KRef(const float* x, void* vy, int64_t n) {
  BlockQ8K* y = static_cast<BlockQ8K*>(vy);
  for (int64_t i = 0; i < n / kQK_K; ++i, x += kQK_K) {
    float max = 0, amax = 0;
    for (int j = 0; j < kQK_K; ++j) {
      const float ax = x[j] < 0 ? -x[j] : x[j];
      if (ax > amax) {
        amax = ax;
        max = x[j];
      }
    }
    if (amax == 0) {
      y[i].d = 0;
      std::memset(y[i].qs, 0, sizeof(y[i].qs));
      std::memset(y[i].bsums, 0, sizeof(y[i].bsums));
      continue;
    }
    const float iscale = -127.f / max;
    for (int j = 0; j < kQK_K; ++j) {
      const int v = NearestInt(iscale * x[j]);
      y[i].qs[j] = static_cast<int8_t>(v < 127 ? v : 127);
    }
    for (int j = 0; j < kQK_K / 16; ++j) {
      int sum = 0;
      for (int l = 0; l < 16; ++l) sum += y[i].qs[16 * j + l];
      y[i].bsums[j] = static_cast<int16_t>(sum);
    }
    y[i].d = 1 / iscale;
  }
}

void RegisterKQuantKernelsScalar(KernelTable& table) {
  constexpr GgmlType q8k = GgmlType::kQ8_K;
  table[GgmlType::kQ2_K] = {q8k, Q2KToFloat, QuantizeQ2KRef, Q2KVecDot};
  table[GgmlType::kQ3_K] = {q8k, Q3KToFloat, QuantizeQ3KRef, Q3KVecDot};
  table[GgmlType::kQ4_K] = {q8k, Q4KToFloat, QuantizeQ4KRef, Q4KVecDot};
  table[GgmlType::kQ5_K] = {q8k, Q5KToFloat, QuantizeQ5KRef, Q5KVecDot};
  table[GgmlType::kQ6_K] = {q8k, Q6KToFloat, QuantizeQ6KRef, Q6KVecDot};
  // Q8_K only appears as an activation type: no dot product of its own.
  table[GgmlType::kQ8_K] = {q8k, Q8KToFloat, QuantizeQ8KRef, nullptr};
  table[GgmlType::kIQ4_XS] = {q8k, Iq4XsToFloat, QuantizeIq4XsRef, Iq4XsVecDot};
}

}  // namespace isv
