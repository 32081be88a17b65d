// The prefill order's scalar parts: the oracle dot product and the activation packing (plain C++:
// packing is a transpose of 32-bit words, a small fraction of a prefill matmul).
#include "engine/kernels/prefill.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "engine/kernels/blocks.h"
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

}  // namespace

bool HasPrefillOrder(GgmlType type) {
  return type == GgmlType::kQ4_0 || type == GgmlType::kQ5_0 || type == GgmlType::kQ8_0 ||
         type == GgmlType::kIQ4_NL;
}

float PrefillDotRef(GgmlType type, int64_t n, const void* x, const void* y) {
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

void PackPrefillActivations(const void* act, size_t act_stride, int64_t n_tokens, int64_t n, int64_t first_group,
                            int64_t n_groups, void* packed) {
  const int64_t nb = n / kQK;
  const uint8_t* rows = static_cast<const uint8_t*>(act);
  PrefillBlock* out = static_cast<PrefillBlock*>(packed);
  for (int64_t g = first_group; g < first_group + n_groups; ++g) {
    for (int t = 0; t < kPrefillGroup; ++t) {
      const int64_t token = std::min<int64_t>(g * kPrefillGroup + t, n_tokens - 1);
      const BlockQ8_0* blocks = reinterpret_cast<const BlockQ8_0*>(rows + token * act_stride);
      for (int64_t b = 0; b < nb; ++b) {
        PrefillBlock& p = out[g * nb + b];
        for (int j = 0; j < 8; ++j) {
          uint32_t word;
          std::memcpy(&word, blocks[b].qs + 4 * j, 4);
          word ^= 0x80808080u;  // quant + 128 in each byte
          std::memcpy(&p.q[j][4 * t], &word, 4);
        }
        p.dy[t] = Fp16ToFp32(blocks[b].d);
      }
    }
  }
}

}  // namespace isv
