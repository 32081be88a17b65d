// The prefill order's oracle dot product (plain C++) and the activation packing (its word transposes by the
// CPU level's PackWords / PackQ8_0x16, pack_q8_0.h; the rest plain C++).
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstring>

#include "engine/kernels/blocks.h"
#include "engine/kernels/blocks_k.h"
#include "engine/kernels/pack_q8_0.h"
#include "engine/kernels/prefill.h"
#include "engine/tensor/float16.h"

namespace isv {
namespace {

// The 32 integer weight quants of block `i` of a row of `type`, and its scale.
float BlockInts(GgmlType type, const void* row, int64_t i, int8_t q[kQK]) {
  switch (type) {
    case GgmlType::kQ4_0: {
      const BlockQ4_0& b = static_cast<const BlockQ4_0*>(row)[i];
      for (int j = 0; j < kQK / 2; ++j) {
        q[j] = static_cast<int8_t>((b.qs[j] & 0x0F) - 8);
        q[j + kQK / 2] = static_cast<int8_t>((b.qs[j] >> 4) - 8);
      }
      return Fp16ToFp32(b.d);
    }
    case GgmlType::kQ5_0: {
      const BlockQ5_0& b = static_cast<const BlockQ5_0*>(row)[i];
      uint32_t qh;
      std::memcpy(&qh, b.qh, 4);
      for (int j = 0; j < kQK / 2; ++j) {
        q[j] = static_cast<int8_t>(((b.qs[j] & 0x0F) | (((qh >> j) & 1) << 4)) - 16);
        q[j + kQK / 2] = static_cast<int8_t>(((b.qs[j] >> 4) | (((qh >> (j + kQK / 2)) & 1) << 4)) - 16);
      }
      return Fp16ToFp32(b.d);
    }
    case GgmlType::kQ8_0: {
      const BlockQ8_0& b = static_cast<const BlockQ8_0*>(row)[i];
      std::memcpy(q, b.qs, kQK);
      return Fp16ToFp32(b.d);
    }
    case GgmlType::kIQ4_NL: {
      const BlockIq4Nl& b = static_cast<const BlockIq4Nl*>(row)[i];
      for (int j = 0; j < kQK / 2; ++j) {
        q[j] = kIq4nlValues[b.qs[j] & 0x0F];
        q[j + kQK / 2] = kIq4nlValues[b.qs[j] >> 4];
      }
      return Fp16ToFp32(b.d);
    }
    default:
      return 0;
  }
}

// Q4_1 / Q5_1 (Q8_1 activations): per block acc = fma(fp32(dx) * fp32(dy), float(isum), acc), then
// acc = fma(fp32(m), fp32(s), acc) with the weight block's min m and the activation block's sum s.
float MinPrefillDotRef(GgmlType type, int64_t n, const void* x, const void* y) {
  const BlockQ8_1* act = static_cast<const BlockQ8_1*>(y);
  float acc = 0;
  for (int64_t i = 0; i < n / kQK; ++i) {
    int q[kQK];
    uint16_t d, m;
    if (type == GgmlType::kQ4_1) {
      const BlockQ4_1& b = static_cast<const BlockQ4_1*>(x)[i];
      for (int j = 0; j < kQK / 2; ++j) q[j] = b.qs[j] & 0x0F, q[j + kQK / 2] = b.qs[j] >> 4;
      d = b.d, m = b.m;
    } else {
      const BlockQ5_1& b = static_cast<const BlockQ5_1*>(x)[i];
      uint32_t qh;
      std::memcpy(&qh, b.qh, 4);
      for (int j = 0; j < kQK / 2; ++j) {
        q[j] = (b.qs[j] & 0x0F) | (((qh >> j) & 1) << 4);
        q[j + kQK / 2] = (b.qs[j] >> 4) | (((qh >> (j + kQK / 2)) & 1) << 4);
      }
      d = b.d, m = b.m;
    }
    int32_t isum = 0;
    for (int j = 0; j < kQK; ++j) isum += q[j] * act[i].qs[j];
    acc = std::fma(Fp16ToFp32(d) * Fp16ToFp32(act[i].d), static_cast<float>(isum), acc);
    acc = std::fma(Fp16ToFp32(m), Fp16ToFp32(act[i].s), acc);
  }
  return acc;
}

// The 16 token rows of packed group g (past n_tokens the last token again, prefill.h).
void GroupRows(const void* act, size_t act_stride, int64_t n_tokens, int64_t g, const uint8_t** lanes) {
  for (int t = 0; t < kPrefillGroup; ++t) {
    lanes[t] = static_cast<const uint8_t*>(act) + std::min<int64_t>(g * kPrefillGroup + t, n_tokens - 1) * act_stride;
  }
}

// Q8_0 rows into PrefillBlock groups: each block of the 16 tokens by the CPU's PackQ8_0x16.
void PackQ8_0Rows(const void* act, size_t act_stride, int64_t n_tokens, int64_t n, int64_t first_group,
                  int64_t n_groups, void* packed) {
  const PackQ8_0x16Fn pack = PackQ8_0x16Kernel();
  const int64_t nb = n / kQK;
  PrefillBlock* out = static_cast<PrefillBlock*>(packed);
  for (int64_t g = first_group; g < first_group + n_groups; ++g) {
    const uint8_t* blocks[kPrefillGroup];
    GroupRows(act, act_stride, n_tokens, g, blocks);
    for (int64_t b = 0; b < nb; ++b) {
      pack(blocks, 0x80, reinterpret_cast<uint8_t*>(&out[g * nb + b]));
      for (const uint8_t*& block : blocks) block += sizeof(BlockQ8_0);
    }
  }
}

// Q8_1 rows into PrefillBlock1 groups: the quants by the CPU's PackWords, the scales and sums as fp32.
void PackQ8_1Rows(const void* act, size_t act_stride, int64_t n_tokens, int64_t n, int64_t first_group,
                  int64_t n_groups, void* packed) {
  const PackWordsFn pack_words = PackWordsKernel();
  const int64_t nb = n / kQK;
  PrefillBlock1* out = static_cast<PrefillBlock1*>(packed);
  for (int64_t g = first_group; g < first_group + n_groups; ++g) {
    const uint8_t* lanes[kPrefillGroup];
    GroupRows(act, act_stride, n_tokens, g, lanes);
    for (int64_t b = 0; b < nb; ++b) {
      PrefillBlock1& p = out[g * nb + b];
      pack_words(lanes, b * sizeof(BlockQ8_1) + offsetof(BlockQ8_1, qs), 0x80, p.q[0]);
      for (int t = 0; t < kPrefillGroup; ++t) {
        const BlockQ8_1& block = reinterpret_cast<const BlockQ8_1*>(lanes[t])[b];
        p.dy[t] = Fp16ToFp32(block.d);
        p.s[t] = Fp16ToFp32(block.s);
      }
    }
  }
}

// One K-quant (or IQ4_XS) super-block in integers: 256 quants, the sub-block scales (8 of 32 or 16 of
// 16), the mins (Q4_K / Q5_K: 8, Q2_K: 16), d and dmin.
struct KInts {
  int8_t q[kQK_K];
  int32_t sc[16];
  int32_t m[16];
  int n_sub = 0;
  float d = 0, dmin = 0;
};

void KBlockInts(GgmlType type, const void* row, int64_t i, KInts& k) {
  if (type == GgmlType::kQ2_K) {
    const BlockQ2K& b = static_cast<const BlockQ2K*>(row)[i];
    for (int half = 0; half < 2; ++half) {
      for (int j = 0; j < 4; ++j) {
        for (int l = 0; l < 32; ++l)
          k.q[128 * half + 32 * j + l] = static_cast<int8_t>((b.qs[32 * half + l] >> (2 * j)) & 3);
      }
    }
    for (int j = 0; j < 16; ++j) {
      k.sc[j] = b.scales[j] & 0xF;
      k.m[j] = b.scales[j] >> 4;
    }
    k.n_sub = 16;
    k.d = Fp16ToFp32(b.d);
    k.dmin = Fp16ToFp32(b.dmin);
    return;
  }
  if (type == GgmlType::kQ3_K) {
    const BlockQ3K& b = static_cast<const BlockQ3K*>(row)[i];
    for (int half = 0; half < 2; ++half) {
      for (int j = 0; j < 4; ++j) {
        const int bit = 1 << (4 * half + j);
        for (int l = 0; l < 32; ++l) {
          const int low = (b.qs[32 * half + l] >> (2 * j)) & 3;
          k.q[128 * half + 32 * j + l] = static_cast<int8_t>(low - ((b.hmask[l] & bit) ? 0 : 4));
        }
      }
    }
    int8_t scales[16];
    UnpackScalesQ3K(b.scales, scales);
    for (int j = 0; j < 16; ++j) k.sc[j] = scales[j];
    k.n_sub = 16;
    k.d = Fp16ToFp32(b.d);
    k.dmin = 0;
    return;
  }
  if (type == GgmlType::kIQ4_XS) {
    const BlockIq4Xs& b = static_cast<const BlockIq4Xs*>(row)[i];
    for (int ib = 0; ib < 8; ++ib) {
      for (int l = 0; l < 16; ++l) {
        k.q[32 * ib + l] = kIq4nlValues[b.qs[16 * ib + l] & 0xF];
        k.q[32 * ib + 16 + l] = kIq4nlValues[b.qs[16 * ib + l] >> 4];
      }
      k.sc[ib] = Iq4XsScale(b, ib) - 32;
    }
    k.n_sub = 8;
    k.d = Fp16ToFp32(b.d);
    k.dmin = 0;
    return;
  }
  if (type == GgmlType::kQ6_K) {
    const BlockQ6K& b = static_cast<const BlockQ6K*>(row)[i];
    for (int half = 0; half < 2; ++half) {
      const uint8_t* ql = b.ql + 64 * half;
      const uint8_t* qh = b.qh + 32 * half;
      int8_t* q = k.q + 128 * half;
      for (int l = 0; l < 32; ++l) {
        q[l] = static_cast<int8_t>(((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32);
        q[l + 32] = static_cast<int8_t>(((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32);
        q[l + 64] = static_cast<int8_t>(((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32);
        q[l + 96] = static_cast<int8_t>(((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32);
      }
    }
    for (int j = 0; j < 16; ++j) k.sc[j] = b.scales[j];
    k.n_sub = 16;
    k.d = Fp16ToFp32(b.d);
    k.dmin = 0;
    return;
  }
  // Q4_K / Q5_K: chunk c of 64 elements = the low nibbles of qs[32c..32c+31], then the high ones.
  const bool five = type == GgmlType::kQ5_K;
  const uint8_t* scales;
  const uint8_t* qs;
  const uint8_t* qh = nullptr;
  uint16_t d, dmin;
  if (five) {
    const BlockQ5K& b = static_cast<const BlockQ5K*>(row)[i];
    scales = b.scales, qs = b.qs, qh = b.qh, d = b.d, dmin = b.dmin;
  } else {
    const BlockQ4K& b = static_cast<const BlockQ4K*>(row)[i];
    scales = b.scales, qs = b.qs, d = b.d, dmin = b.dmin;
  }
  for (int c = 0; c < 4; ++c) {
    for (int l = 0; l < 32; ++l) {
      int lo = qs[32 * c + l] & 0xF, hi = qs[32 * c + l] >> 4;
      if (five) {
        lo |= ((qh[l] >> (2 * c)) & 1) << 4;
        hi |= ((qh[l] >> (2 * c + 1)) & 1) << 4;
      }
      k.q[64 * c + l] = static_cast<int8_t>(lo);
      k.q[64 * c + 32 + l] = static_cast<int8_t>(hi);
    }
  }
  for (int j = 0; j < 8; ++j) {
    uint8_t sc, m;
    UnpackScaleMinK4(j, scales, &sc, &m);
    k.sc[j] = sc;
    k.m[j] = m;
  }
  k.n_sub = 8;
  k.d = Fp16ToFp32(d);
  k.dmin = Fp16ToFp32(dmin);
}

bool IsFloatType(GgmlType type) { return type == GgmlType::kF32 || type == GgmlType::kF16 || type == GgmlType::kBF16; }

// Element i of a row of float type `type` (F32, F16 or BF16) as a float; 0 past the row's n elements.
float FloatAt(GgmlType type, const void* row, int64_t n, int64_t i) {
  if (i >= n) return 0.0f;
  if (type == GgmlType::kF32) return static_cast<const float*>(row)[i];
  const uint16_t h = static_cast<const uint16_t*>(row)[i];
  return type == GgmlType::kBF16 ? Bf16ToFp32(h) : Fp16ToFp32(h);
}

// The float order (prefill.h): 16 lane sums, then the fixed tree. F32 / F16: lane l adds the products
// of elements l, l + 16, l + 32, ... in order, one FMA each. BF16: per 32 elements, lane l adds the
// product of element 2l + 1, then of 2l (VDPBF16PS's order). Elements past n count as zeros.
float FloatPrefillDotRef(GgmlType type, int64_t n, const void* x, const void* y) {
  auto product = [&](float acc, int64_t i) { return std::fma(FloatAt(type, x, n, i), FloatAt(type, y, n, i), acc); };
  float lanes[16] = {};
  if (type == GgmlType::kBF16) {
    for (int64_t k = 0; k < n; k += 32) {
      for (int l = 0; l < 16; ++l) lanes[l] = product(product(lanes[l], k + 2 * l + 1), k + 2 * l);
    }
  } else {
    for (int64_t k = 0; k < n; k += 16) {
      for (int l = 0; l < 16; ++l) lanes[l] = product(lanes[l], k + l);
    }
  }
  for (int width = 8; width >= 1; width /= 2) {
    for (int l = 0; l < width; ++l) lanes[l] += lanes[l + width];
  }
  return lanes[0];
}

// F16 rows as floats (unless f16_rows), F32 and BF16 rows as they are, token after token (prefill.h).
void PackFloatRows(GgmlType act_type, const void* act, size_t act_stride, int64_t n_tokens, int64_t n,
                   int64_t first_group, int64_t n_groups, void* packed, bool f16_rows) {
  const uint8_t* rows = static_cast<const uint8_t*>(act);
  for (int64_t g = first_group; g < first_group + n_groups; ++g) {
    for (int t = 0; t < kPrefillGroup; ++t) {
      const int64_t slot = g * kPrefillGroup + t;
      const uint8_t* row = rows + std::min<int64_t>(slot, n_tokens - 1) * act_stride;
      if (act_type == GgmlType::kF16 && !f16_rows) {
        const uint16_t* h = reinterpret_cast<const uint16_t*>(row);
        float* out = static_cast<float*>(packed) + slot * n;
        for (int64_t i = 0; i < n; ++i) out[i] = Fp16ToFp32(h[i]);
      } else {
        const size_t bytes = RowSize(act_type, n);
        std::memcpy(static_cast<uint8_t*>(packed) + slot * bytes, row, bytes);
      }
    }
  }
}

bool IsKType(GgmlType type) {
  return type == GgmlType::kQ2_K || type == GgmlType::kQ3_K || type == GgmlType::kQ4_K || type == GgmlType::kQ5_K ||
         type == GgmlType::kQ6_K || type == GgmlType::kIQ4_XS;
}

float KPrefillDotRef(GgmlType type, int64_t n, const void* x, const void* y) {
  const BlockQ8K* act = static_cast<const BlockQ8K*>(y);
  float acc = 0;
  KInts k;
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    KBlockInts(type, x, i, k);
    const int len = kQK_K / k.n_sub;
    int32_t s = 0;
    for (int sub = 0; sub < k.n_sub; ++sub) {
      int32_t isum = 0;
      for (int e = sub * len; e < (sub + 1) * len; ++e) isum += static_cast<int32_t>(k.q[e]) * act[i].qs[e];
      s += k.sc[sub] * isum;
    }
    acc = std::fma(k.d * act[i].d, static_cast<float>(s), acc);
    if (type == GgmlType::kQ2_K) {
      int32_t m = 0;
      for (int j = 0; j < 16; ++j) m += k.m[j] * act[i].bsums[j];
      acc = std::fma(-(k.dmin * act[i].d), static_cast<float>(m), acc);
    }
    if (type == GgmlType::kQ4_K || type == GgmlType::kQ5_K) {
      int32_t m = 0;
      for (int j = 0; j < 8; ++j) m += k.m[j] * (act[i].bsums[2 * j] + act[i].bsums[2 * j + 1]);
      acc = std::fma(-(k.dmin * act[i].d), static_cast<float>(m), acc);
    }
  }
  return acc;
}

void PackQ8K(const void* act, size_t act_stride, int64_t n_tokens, int64_t n, int64_t first_group, int64_t n_groups,
             void* packed) {
  const PackWordsFn pack_words = PackWordsKernel();  // the quants: 8 words of 16 tokens at a time
  const int64_t nb = n / kQK_K;
  PrefillBlockK* out = static_cast<PrefillBlockK*>(packed);
  for (int64_t g = first_group; g < first_group + n_groups; ++g) {
    const uint8_t* lanes[kPrefillGroup];
    GroupRows(act, act_stride, n_tokens, g, lanes);
    for (int64_t b = 0; b < nb; ++b) {
      for (int c = 0; c < kQK_K / 32; ++c) {
        pack_words(lanes, b * sizeof(BlockQ8K) + offsetof(BlockQ8K, qs) + 32 * c, 0x80, out[g * nb + b].q[8 * c]);
      }
    }
    for (int t = 0; t < kPrefillGroup; ++t) {
      const BlockQ8K* blocks = reinterpret_cast<const BlockQ8K*>(lanes[t]);
      for (int64_t b = 0; b < nb; ++b) {
        PrefillBlockK& p = out[g * nb + b];
        p.dy[t] = blocks[b].d;
        for (int pair = 0; pair < 4; ++pair) {
          const int16_t* bs = blocks[b].bsums + 4 * pair;
          const uint16_t lo = static_cast<uint16_t>(bs[0] + bs[1]), hi = static_cast<uint16_t>(bs[2] + bs[3]);
          p.ysum[pair][t] = lo | (static_cast<uint32_t>(hi) << 16);
        }
        for (int pair = 0; pair < 8; ++pair) {
          const int16_t* bs = blocks[b].bsums + 2 * pair;
          p.ysum16[pair][t] =
              static_cast<uint16_t>(bs[0]) | (static_cast<uint32_t>(static_cast<uint16_t>(bs[1])) << 16);
        }
      }
    }
  }
}

}  // namespace

size_t PrefillPackedBytes(GgmlType act_type, int64_t n_tokens, int64_t n, bool f16_rows) {
  const int64_t groups = (n_tokens + kPrefillGroup - 1) / kPrefillGroup;
  if (act_type == GgmlType::kQ8_K) return static_cast<size_t>(groups * (n / kQK_K)) * sizeof(PrefillBlockK);
  if (act_type == GgmlType::kF16 && !f16_rows) return static_cast<size_t>(groups * kPrefillGroup * n) * sizeof(float);
  if (IsFloatType(act_type)) return static_cast<size_t>(groups * kPrefillGroup) * RowSize(act_type, n);
  if (act_type == GgmlType::kQ8_1) return static_cast<size_t>(groups * (n / kQK)) * sizeof(PrefillBlock1);
  return static_cast<size_t>(groups * (n / kQK)) * sizeof(PrefillBlock);
}

float PrefillDotRef(GgmlType type, int64_t n, const void* x, const void* y) {
  if (IsKType(type)) return KPrefillDotRef(type, n, x, y);
  if (IsFloatType(type)) return FloatPrefillDotRef(type, n, x, y);
  if (type == GgmlType::kQ4_1 || type == GgmlType::kQ5_1) return MinPrefillDotRef(type, n, x, y);
  const BlockQ8_0* act = static_cast<const BlockQ8_0*>(y);
  float acc = 0;
  for (int64_t i = 0; i < n / kQK; ++i) {
    int8_t q[kQK];
    const float dx = BlockInts(type, x, i, q);
    int32_t isum = 0;
    for (int j = 0; j < kQK; ++j) isum += static_cast<int32_t>(q[j]) * act[i].qs[j];
    acc = std::fma(dx * Fp16ToFp32(act[i].d), static_cast<float>(isum), acc);
  }
  return acc;
}

void PackPrefillActivations(GgmlType act_type, const void* act, size_t act_stride, int64_t n_tokens, int64_t n,
                            int64_t first_group, int64_t n_groups, void* packed, bool f16_rows) {
  if (act_type == GgmlType::kQ8_K) return PackQ8K(act, act_stride, n_tokens, n, first_group, n_groups, packed);
  if (IsFloatType(act_type))
    return PackFloatRows(act_type, act, act_stride, n_tokens, n, first_group, n_groups, packed, f16_rows);
  if (act_type == GgmlType::kQ8_1) return PackQ8_1Rows(act, act_stride, n_tokens, n, first_group, n_groups, packed);
  PackQ8_0Rows(act, act_stride, n_tokens, n, first_group, n_groups, packed);
}

}  // namespace isv
