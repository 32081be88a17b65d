// Reference quantizers of Q2_K .. Q6_K and IQ4_XS (see k_quant_ref.h). They follow ggml's *_ref
// algorithms without an importance matrix, operation for operation, because the goal is
// byte-identical output with llama-quantize: a different float association would flip a rounding
// somewhere in a model. For the same reason this file must be built without FMA contraction
// (the baseline x86-64 flags it gets, no -mfma / -march, guarantee that; the byte-exact tests
// against the llama-quantize files in k_quant_test.cc would catch a change).
//
// The scalar search helpers:
//   FitScaleMin  - for types with a min (Q2_K, Q4_K, Q5_K): weighted least-squares fit of
//                  x ~ scale * L + min over a grid of candidate inverse scales.
//   FitScale     - for symmetric types (Q6_K): least squares x ~ scale * L, 19 candidate scales.
//   FitScaleQ3   - Q3_K: symmetric, then coordinate-descent refinement of single quants.
// IQ4_XS searches, per sub-block of 32, the scale that best fits the non-linear levels kIq4nlValues
// (15 candidate scales around max / -127), then requantizes the sub-block scales to 6 bits.
#include <cmath>
#include <cstring>

#include "engine/kernels/blocks_k.h"
#include "engine/kernels/k_quant_ref.h"
#include "engine/tensor/float16.h"

namespace isv {
namespace {

constexpr float kGroupMaxEps = 1e-15f;

template <typename T>
inline T Clamp(T v, T lo, T hi) {
  return v < lo ? lo : (v > hi ? hi : v);
}

// Weighted fit of x[i] ~ scale * L[i] - the_min with L in [0, nmax]; returns scale, stores the
// (non-negative) min. Candidate inverse scales (rmin + rdelta * k + nmax) / (max - min),
// k = 0..nstep; the error measure is weighted |diff| (use_mad) or diff^2.
float FitScaleMin(int n, int nmax, const float* x, const float* weights, uint8_t* L, float* the_min,
                  uint8_t* Laux, float rmin, float rdelta, int nstep, bool use_mad) {
  float min = x[0], max = x[0];
  float sum_w = weights[0];
  float sum_x = sum_w * x[0];
  for (int i = 1; i < n; ++i) {
    if (x[i] < min) min = x[i];
    if (x[i] > max) max = x[i];
    const float w = weights[i];
    sum_w += w;
    sum_x += w * x[i];
  }
  if (min > 0) min = 0;
  if (max == min) {
    for (int i = 0; i < n; ++i) L[i] = 0;
    *the_min = -min;
    return 0.f;
  }
  float iscale = nmax / (max - min);
  float scale = 1 / iscale;
  float best_error = 0;
  for (int i = 0; i < n; ++i) {
    const int l = NearestInt(iscale * (x[i] - min));
    L[i] = static_cast<uint8_t>(Clamp(l, 0, nmax));
    float diff = scale * L[i] + min - x[i];
    diff = use_mad ? std::fabs(diff) : diff * diff;
    best_error += weights[i] * diff;
  }
  for (int is = 0; is <= nstep; ++is) {
    iscale = (rmin + rdelta * is + nmax) / (max - min);
    float sum_l = 0, sum_l2 = 0, sum_xl = 0;
    for (int i = 0; i < n; ++i) {
      const int l = Clamp(NearestInt(iscale * (x[i] - min)), 0, nmax);
      Laux[i] = static_cast<uint8_t>(l);
      const float w = weights[i];
      sum_l += w * l;
      sum_l2 += w * l * l;
      sum_xl += w * l * x[i];
    }
    const float det = sum_w * sum_l2 - sum_l * sum_l;
    if (det > 0) {
      float this_scale = (sum_w * sum_xl - sum_x * sum_l) / det;
      float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / det;
      if (this_min > 0) {
        this_min = 0;
        this_scale = sum_xl / sum_l2;
      }
      float cur_error = 0;
      for (int i = 0; i < n; ++i) {
        float diff = this_scale * Laux[i] + this_min - x[i];
        diff = use_mad ? std::fabs(diff) : diff * diff;
        cur_error += weights[i] * diff;
      }
      if (cur_error < best_error) {
        for (int i = 0; i < n; ++i) L[i] = Laux[i];
        best_error = cur_error;
        scale = this_scale;
        min = this_min;
      }
    }
  }
  *the_min = -min;
  return scale;
}

// The element of largest magnitude (sign kept; the first one on ties), its magnitude in *amax.
float SignedAbsMax(int n, const float* x, float* amax) {
  float max = 0;
  *amax = 0;
  for (int i = 0; i < n; ++i) {
    const float ax = std::fabs(x[i]);
    if (ax > *amax) {
      *amax = ax;
      max = x[i];
    }
  }
  return max;
}

// Symmetric fit x[i] ~ scale * (L[i] - nmax) with L - nmax in [-nmax, nmax - 1], weights x^2
// (ggml's rmse_type 1 without importance). Stores L offset by +nmax.
float FitScale(int n, int nmax, const float* x, int8_t* L) {
  float amax;
  const float max = SignedAbsMax(n, x, &amax);
  if (amax < kGroupMaxEps) {
    for (int i = 0; i < n; ++i) L[i] = 0;
    return 0.f;
  }
  float iscale = -nmax / max;
  float sumlx = 0, suml2 = 0;
  for (int i = 0; i < n; ++i) {
    const int l = Clamp(NearestInt(iscale * x[i]), -nmax, nmax - 1);
    L[i] = static_cast<int8_t>(l + nmax);
    const float w = x[i] * x[i];
    sumlx += w * x[i] * l;
    suml2 += w * l * l;
  }
  float scale = suml2 != 0 ? sumlx / suml2 : 0.0f;
  float best = scale * sumlx;
  for (int is = -9; is <= 9; ++is) {
    if (is == 0) continue;
    iscale = -(nmax + 0.1f * is) / max;
    sumlx = suml2 = 0;
    for (int i = 0; i < n; ++i) {
      const int l = Clamp(NearestInt(iscale * x[i]), -nmax, nmax - 1);
      const float w = x[i] * x[i];
      sumlx += w * x[i] * l;
      suml2 += w * l * l;
    }
    if (suml2 > 0 && sumlx * sumlx > best * suml2) {
      for (int i = 0; i < n; ++i) {
        L[i] = static_cast<int8_t>(nmax + Clamp(NearestInt(iscale * x[i]), -nmax, nmax - 1));
      }
      scale = sumlx / suml2;
      best = scale * sumlx;
    }
  }
  return scale;
}

// Q3_K's sub-block fit: symmetric rounding, then up to 5 passes that move single quants when that
// increases sumlx^2 / suml2 (weights x^2). Stores L offset by +nmax.
float FitScaleQ3(int n, int nmax, const float* x, int8_t* L) {
  float amax;
  const float max = SignedAbsMax(n, x, &amax);
  if (amax < kGroupMaxEps) {
    for (int i = 0; i < n; ++i) L[i] = 0;
    return 0.f;
  }
  const float iscale = -nmax / max;
  float sumlx = 0, suml2 = 0;
  for (int i = 0; i < n; ++i) {
    const int l = Clamp(NearestInt(iscale * x[i]), -nmax, nmax - 1);
    L[i] = static_cast<int8_t>(l);
    const float w = x[i] * x[i];
    sumlx += w * x[i] * l;
    suml2 += w * l * l;
  }
  for (int itry = 0; itry < 5; ++itry) {
    int n_changed = 0;
    for (int i = 0; i < n; ++i) {
      const float w = x[i] * x[i];
      float slx = sumlx - w * x[i] * L[i];
      if (slx > 0) {
        float sl2 = suml2 - w * L[i] * L[i];
        const int new_l = Clamp(NearestInt(x[i] * sl2 / slx), -nmax, nmax - 1);
        if (new_l != L[i]) {
          slx += w * x[i] * new_l;
          sl2 += w * new_l * new_l;
          if (sl2 > 0 && slx * slx * suml2 > sumlx * sumlx * sl2) {
            L[i] = static_cast<int8_t>(new_l);
            sumlx = slx;
            suml2 = sl2;
            ++n_changed;
          }
        }
      }
    }
    if (n_changed == 0) break;
  }
  for (int i = 0; i < n; ++i) L[i] = static_cast<int8_t>(L[i] + nmax);
  return suml2 > 0.0f ? sumlx / suml2 : 0.0f;
}

// Packs 256 2-bit values: byte l of each 32-byte group holds elements l, l+32, l+64, l+96.
void Pack2Bit(const uint8_t* L, uint8_t* qs) {
  for (int j = 0; j < kQK_K; j += 128) {
    for (int l = 0; l < 32; ++l) {
      qs[j / 4 + l] = static_cast<uint8_t>(L[j + l] | (L[j + l + 32] << 2) | (L[j + l + 64] << 4) |
                                           (L[j + l + 96] << 6));
    }
  }
}

// Shared by Q4_K (nmax 15) and Q5_K (nmax 31): per sub-block of 32 a fitted scale and min, both
// requantized to 6 bits against d = max_scale / 63 and dmin = max_min / 63, then the final quants
// L (in [0, nmax]) against the stored fp16 values.
void QuantizeK4Style(const float* x, int nmax, float rmin, int nstep, uint16_t* d, uint16_t* dmin,
                     uint8_t* packed_scales, uint8_t* L) {
  uint8_t Laux[32];
  float weights[32];
  float mins[8], scales[8];
  float max_scale = 0, max_min = 0;
  for (int j = 0; j < 8; ++j) {
    float sum_x2 = 0;
    for (int l = 0; l < 32; ++l) sum_x2 += x[32 * j + l] * x[32 * j + l];
    const float av_x = std::sqrt(sum_x2 / 32);
    for (int l = 0; l < 32; ++l) weights[l] = av_x + std::fabs(x[32 * j + l]);
    scales[j] = FitScaleMin(32, nmax, x + 32 * j, weights, L + 32 * j, &mins[j], Laux, rmin, 0.1f,
                            nstep, false);
    if (scales[j] > max_scale) max_scale = scales[j];
    if (mins[j] > max_min) max_min = mins[j];
  }
  const float inv_scale = max_scale > 0 ? 63.f / max_scale : 0.f;
  const float inv_min = max_min > 0 ? 63.f / max_min : 0.f;
  for (int j = 0; j < 8; ++j) {
    uint8_t ls = static_cast<uint8_t>(NearestInt(inv_scale * scales[j]));
    uint8_t lm = static_cast<uint8_t>(NearestInt(inv_min * mins[j]));
    if (ls > 63) ls = 63;
    if (lm > 63) lm = 63;
    if (j < 4) {
      packed_scales[j] = ls;
      packed_scales[j + 4] = lm;
    } else {
      packed_scales[j + 4] = static_cast<uint8_t>((ls & 0xF) | ((lm & 0xF) << 4));
      packed_scales[j - 4] |= static_cast<uint8_t>((ls >> 4) << 6);
      packed_scales[j] |= static_cast<uint8_t>((lm >> 4) << 6);
    }
  }
  *d = Fp32ToFp16(max_scale / 63.f);
  *dmin = Fp32ToFp16(max_min / 63.f);
  for (int j = 0; j < 8; ++j) {
    uint8_t sc, m;
    UnpackScaleMinK4(j, packed_scales, &sc, &m);
    const float dl = Fp16ToFp32(*d) * sc;
    if (dl == 0) continue;
    const float dm = Fp16ToFp32(*dmin) * m;
    for (int ii = 0; ii < 32; ++ii) {
      L[32 * j + ii] = static_cast<uint8_t>(Clamp(NearestInt((x[32 * j + ii] + dm) / dl), 0, nmax));
    }
  }
}

// Index of the level in values[0..n) (ascending) nearest to x; ties go to the upper level.
int NearestLevel(int n, const int8_t* values, float x) {
  if (x <= values[0]) return 0;
  if (x >= values[n - 1]) return n - 1;
  int lo = 0, hi = n - 1;
  while (hi - lo > 1) {
    const int mid = (lo + hi) / 2;
    if (x < values[mid]) {
      hi = mid;
    } else {
      lo = mid;
    }
  }
  return x - values[hi - 1] < values[hi] - x ? hi - 1 : hi;
}

// Weighted (w = x^2) least-squares scale of the 32 values xb onto the IQ4 levels, trying the
// inverse scales (k - 127) / max for k = -ntry..ntry besides the plain -max / -127.
float FitIq4Scale(const float* xb, int ntry) {
  constexpr int kN = 32;
  float amax = 0, max = 0;
  for (int j = 0; j < kN; ++j) {
    const float ax = std::fabs(xb[j]);
    if (ax > amax) {
      amax = ax;
      max = xb[j];
    }
  }
  if (amax < kGroupMaxEps) return 0;
  const float v0 = kIq4nlValues[0];
  float d = -max / v0;
  float id = 1 / d;
  float sumqx = 0, sumq2 = 0;
  for (int j = 0; j < kN; ++j) {
    const float q = kIq4nlValues[NearestLevel(16, kIq4nlValues, id * xb[j])];
    const float w = xb[j] * xb[j];
    sumqx += w * q * xb[j];
    sumq2 += w * q * q;
  }
  d = sumq2 > 0 ? sumqx / sumq2 : 0.f;
  float best = d * sumqx;
  for (int itry = -ntry; itry <= ntry; ++itry) {
    id = (itry + kIq4nlValues[0]) / max;
    sumqx = sumq2 = 0;
    for (int j = 0; j < kN; ++j) {
      const float q = kIq4nlValues[NearestLevel(16, kIq4nlValues, id * xb[j])];
      const float w = xb[j] * xb[j];
      sumqx += w * q * xb[j];
      sumq2 += w * q * q;
    }
    if (sumq2 > 0 && sumqx * sumqx > best * sumq2) {
      d = sumqx / sumq2;
      best = d * sumqx;
    }
  }
  return d;
}

}  // namespace

void QuantizeQ2KRef(const float* x, void* vy, int64_t n) {
  BlockQ2K* y = static_cast<BlockQ2K*>(vy);
  constexpr float kQ4Scale = 15.f;
  uint8_t L[kQK_K], Laux[16];
  float weights[16], mins[16], scales[16];
  for (int64_t i = 0; i < n / kQK_K; ++i, x += kQK_K) {
    float max_scale = 0, max_min = 0;
    for (int j = 0; j < 16; ++j) {
      for (int l = 0; l < 16; ++l) weights[l] = std::fabs(x[16 * j + l]);
      scales[j] = FitScaleMin(16, 3, x + 16 * j, weights, L + 16 * j, &mins[j], Laux, -0.5f, 0.1f,
                              15, true);
      if (scales[j] > max_scale) max_scale = scales[j];
      if (mins[j] > max_min) max_min = mins[j];
    }
    if (max_scale > 0) {
      const float iscale = kQ4Scale / max_scale;
      for (int j = 0; j < 16; ++j) {
        y[i].scales[j] = static_cast<uint8_t>(NearestInt(iscale * scales[j]));
      }
      y[i].d = Fp32ToFp16(max_scale / kQ4Scale);
    } else {
      for (int j = 0; j < 16; ++j) y[i].scales[j] = 0;
      y[i].d = Fp32ToFp16(0.f);
    }
    if (max_min > 0) {
      const float iscale = kQ4Scale / max_min;
      for (int j = 0; j < 16; ++j) {
        y[i].scales[j] |= static_cast<uint8_t>(NearestInt(iscale * mins[j]) << 4);
      }
      y[i].dmin = Fp32ToFp16(max_min / kQ4Scale);
    } else {
      y[i].dmin = Fp32ToFp16(0.f);
    }
    for (int j = 0; j < 16; ++j) {
      const float d = Fp16ToFp32(y[i].d) * (y[i].scales[j] & 0xF);
      if (d == 0) continue;
      const float dm = Fp16ToFp32(y[i].dmin) * (y[i].scales[j] >> 4);
      for (int ii = 0; ii < 16; ++ii) {
        L[16 * j + ii] = static_cast<uint8_t>(Clamp(NearestInt((x[16 * j + ii] + dm) / d), 0, 3));
      }
    }
    Pack2Bit(L, y[i].qs);
  }
}

void QuantizeQ3KRef(const float* x, void* vy, int64_t n) {
  BlockQ3K* y = static_cast<BlockQ3K*>(vy);
  int8_t L[kQK_K];
  float scales[16];
  for (int64_t i = 0; i < n / kQK_K; ++i, x += kQK_K) {
    float max_scale = 0, amax = 0;
    for (int j = 0; j < 16; ++j) {
      scales[j] = FitScaleQ3(16, 4, x + 16 * j, L + 16 * j);
      const float scale = std::fabs(scales[j]);
      if (scale > amax) {
        amax = scale;
        max_scale = scales[j];
      }
    }
    std::memset(y[i].scales, 0, sizeof(y[i].scales));
    if (max_scale != 0) {
      const float iscale = -32.f / max_scale;
      for (int j = 0; j < 16; ++j) {
        // ggml stores nearest_int into an int8_t before clamping.
        int l = static_cast<int8_t>(NearestInt(iscale * scales[j]));
        l = Clamp(l, -32, 31) + 32;
        if (j < 8) {
          y[i].scales[j] = static_cast<uint8_t>(l & 0xF);
        } else {
          y[i].scales[j - 8] |= static_cast<uint8_t>((l & 0xF) << 4);
        }
        l >>= 4;
        y[i].scales[j % 4 + 8] |= static_cast<uint8_t>(l << (2 * (j / 4)));
      }
      y[i].d = Fp32ToFp16(1 / iscale);
    } else {
      y[i].d = Fp32ToFp16(0.f);
    }
    int8_t sc[16];
    UnpackScalesQ3K(y[i].scales, sc);
    for (int j = 0; j < 16; ++j) {
      const float d = Fp16ToFp32(y[i].d) * sc[j];
      if (d == 0) continue;
      for (int ii = 0; ii < 16; ++ii) {
        L[16 * j + ii] = static_cast<int8_t>(Clamp(NearestInt(x[16 * j + ii] / d), -4, 3) + 4);
      }
    }
    std::memset(y[i].hmask, 0, sizeof(y[i].hmask));
    // High bit of element j goes to hmask[j % 32], bit j / 32.
    uint8_t low[kQK_K];
    for (int j = 0; j < kQK_K; ++j) {
      int v = L[j];
      if (v > 3) {
        y[i].hmask[j % 32] |= static_cast<uint8_t>(1 << (j / 32));
        v -= 4;
      }
      low[j] = static_cast<uint8_t>(v);
    }
    Pack2Bit(low, y[i].qs);
  }
}

void QuantizeQ4KRef(const float* x, void* vy, int64_t n) {
  BlockQ4K* y = static_cast<BlockQ4K*>(vy);
  uint8_t L[kQK_K];
  for (int64_t i = 0; i < n / kQK_K; ++i, x += kQK_K) {
    QuantizeK4Style(x, 15, -1.f, 20, &y[i].d, &y[i].dmin, y[i].scales, L);
    uint8_t* q = y[i].qs;
    for (int j = 0; j < kQK_K; j += 64) {
      for (int l = 0; l < 32; ++l) q[l] = static_cast<uint8_t>(L[j + l] | (L[j + l + 32] << 4));
      q += 32;
    }
  }
}

void QuantizeQ5KRef(const float* x, void* vy, int64_t n) {
  BlockQ5K* y = static_cast<BlockQ5K*>(vy);
  uint8_t L[kQK_K];
  for (int64_t i = 0; i < n / kQK_K; ++i, x += kQK_K) {
    QuantizeK4Style(x, 31, -0.5f, 15, &y[i].d, &y[i].dmin, y[i].scales, L);
    uint8_t* qh = y[i].qh;
    uint8_t* ql = y[i].qs;
    std::memset(qh, 0, sizeof(y[i].qh));
    uint8_t m1 = 1, m2 = 2;
    for (int n0 = 0; n0 < kQK_K; n0 += 64) {
      for (int j = 0; j < 32; ++j) {
        int l1 = L[n0 + j];
        if (l1 > 15) {
          l1 -= 16;
          qh[j] |= m1;
        }
        int l2 = L[n0 + j + 32];
        if (l2 > 15) {
          l2 -= 16;
          qh[j] |= m2;
        }
        ql[j] = static_cast<uint8_t>(l1 | (l2 << 4));
      }
      m1 <<= 2;
      m2 <<= 2;
      ql += 32;
    }
  }
}

void QuantizeQ6KRef(const float* x, void* vy, int64_t n) {
  BlockQ6K* y = static_cast<BlockQ6K*>(vy);
  int8_t L[kQK_K];
  float scales[16];
  for (int64_t i = 0; i < n / kQK_K; ++i, x += kQK_K) {
    float max_scale = 0, max_abs_scale = 0;
    for (int ib = 0; ib < 16; ++ib) {
      const float scale = FitScale(16, 32, x + 16 * ib, L + 16 * ib);
      scales[ib] = scale;
      if (std::fabs(scale) > max_abs_scale) {
        max_abs_scale = std::fabs(scale);
        max_scale = scale;
      }
    }
    if (max_abs_scale < kGroupMaxEps) {
      std::memset(&y[i], 0, sizeof(y[i]));
      y[i].d = Fp32ToFp16(0.f);
      continue;
    }
    const float iscale = -128.f / max_scale;
    y[i].d = Fp32ToFp16(1 / iscale);
    for (int ib = 0; ib < 16; ++ib) {
      const int v = NearestInt(iscale * scales[ib]);
      y[i].scales[ib] = static_cast<int8_t>(v < 127 ? v : 127);
    }
    for (int j = 0; j < 16; ++j) {
      const float d = Fp16ToFp32(y[i].d) * y[i].scales[j];
      if (d == 0) continue;
      for (int ii = 0; ii < 16; ++ii) {
        L[16 * j + ii] = static_cast<int8_t>(Clamp(NearestInt(x[16 * j + ii] / d), -32, 31) + 32);
      }
    }
    uint8_t* ql = y[i].ql;
    uint8_t* qh = y[i].qh;
    for (int j = 0; j < kQK_K; j += 128) {
      for (int l = 0; l < 32; ++l) {
        const uint8_t q1 = L[j + l] & 0xF, q2 = L[j + l + 32] & 0xF;
        const uint8_t q3 = L[j + l + 64] & 0xF, q4 = L[j + l + 96] & 0xF;
        ql[l] = static_cast<uint8_t>(q1 | (q3 << 4));
        ql[l + 32] = static_cast<uint8_t>(q2 | (q4 << 4));
        qh[l] = static_cast<uint8_t>((L[j + l] >> 4) | ((L[j + l + 32] >> 4) << 2) |
                                     ((L[j + l + 64] >> 4) << 4) | ((L[j + l + 96] >> 4) << 6));
      }
      ql += 64;
      qh += 32;
    }
  }
}

void QuantizeIq4XsRef(const float* x, void* vy, int64_t n) {
  BlockIq4Xs* y = static_cast<BlockIq4Xs*>(vy);
  float scales[8];
  for (int64_t i = 0; i < n / kQK_K; ++i, x += kQK_K) {
    std::memset(&y[i], 0, sizeof(y[i]));
    float max_scale = 0, amax_scale = 0;
    for (int ib = 0; ib < 8; ++ib) {
      scales[ib] = FitIq4Scale(x + 32 * ib, 7);
      if (std::fabs(scales[ib]) > amax_scale) {
        amax_scale = std::fabs(scales[ib]);
        max_scale = scales[ib];
      }
    }
    // The super-block factor; the sub-block scales are rounded against the float value, not the
    // stored fp16 one (as in ggml).
    const float d = -max_scale / 32;
    y[i].d = Fp32ToFp16(d);
    const float id = d != 0 ? 1 / d : 0.f;
    for (int ib = 0; ib < 8; ++ib) {
      const int l = Clamp(NearestInt(id * scales[ib]), -32, 31);
      const float dl = d * l;
      const float idl = dl != 0 ? 1 / dl : 0.f;
      uint8_t L[32];
      for (int j = 0; j < 32; ++j) {
        L[j] = static_cast<uint8_t>(NearestLevel(16, kIq4nlValues, idl * x[32 * ib + j]));
      }
      for (int j = 0; j < 16; ++j) {
        y[i].qs[16 * ib + j] = static_cast<uint8_t>(L[j] | (L[16 + j] << 4));
      }
      const int stored = l + 32;
      y[i].scales_l[ib / 2] |= static_cast<uint8_t>((stored & 0xF) << (4 * (ib % 2)));
      y[i].scales_h |= static_cast<uint16_t>((stored >> 4) << (2 * ib));
    }
  }
}

}  // namespace isv
