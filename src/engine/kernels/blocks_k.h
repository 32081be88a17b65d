// Block layouts of the "K-quant" super-block types (Q2_K .. Q6_K, the activation type Q8_K) and of
// IQ4_XS, byte-identical to ggml's structs so that GGUF tensor data can be read in place.
//
// Every type packs QK_K = 256 weights per block. Scales are stored per sub-block (16 or 32 weights)
// and are themselves quantized against one or two fp16 super-block factors (d, dmin). fp16 fields
// are raw IEEE half bits (convert with engine/tensor/float16.h). All structs are plain data, no
// alignment beyond their members, safe to overlay on unaligned mmap'ed bytes via memcpy or on
// 2-byte aligned pointers (GGUF tensor data is 32-byte aligned and block sizes are even).
#pragma once

#include <cstdint>

// kIq4nlValues, the 16 non-linear levels IQ4_XS shares with IQ4_NL, is defined there.
#include "engine/kernels/blocks.h"

namespace isv {

inline constexpr int kQK_K = 256;
// Bytes of packed 6-bit scales/mins of Q3_K, Q4_K, Q5_K.
inline constexpr int kKScaleBytes = 12;

// 2.625 bits/weight. Weight = d * (scale & 15) * q - dmin * (scale >> 4), q in [0, 3],
// 16 sub-blocks of 16.
struct BlockQ2K {
  uint8_t scales[kQK_K / 16];  // low nibble: scale, high nibble: min
  uint8_t qs[kQK_K / 4];       // 2-bit quants, 4 per byte
  uint16_t d;                  // fp16 super-block scale of the scales
  uint16_t dmin;               // fp16 super-block scale of the mins
};
static_assert(sizeof(BlockQ2K) == 84, "Q2_K block size");

// 3.4375 bits/weight. Weight = d * (scale - 32) * (q - (high bit ? 0 : 4)), 16 sub-blocks of 16.
struct BlockQ3K {
  uint8_t hmask[kQK_K / 8];      // high bit of each quant
  uint8_t qs[kQK_K / 4];         // low 2 bits, 4 per byte
  uint8_t scales[kKScaleBytes];  // 16 packed 6-bit scales
  uint16_t d;                    // fp16 super-block scale
};
static_assert(sizeof(BlockQ3K) == 110, "Q3_K block size");

// 4.5 bits/weight. Weight = d * scale * q - dmin * min, 8 sub-blocks of 32, 6-bit scale and min.
struct BlockQ4K {
  uint16_t d;                    // fp16 super-block scale of the scales
  uint16_t dmin;                 // fp16 super-block scale of the mins
  uint8_t scales[kKScaleBytes];  // 8 scales + 8 mins, 6 bits each
  uint8_t qs[kQK_K / 2];         // 4-bit quants
};
static_assert(sizeof(BlockQ4K) == 144, "Q4_K block size");

// 5.5 bits/weight. As Q4_K with a fifth bit per quant in qh.
struct BlockQ5K {
  uint16_t d;
  uint16_t dmin;
  uint8_t scales[kKScaleBytes];
  uint8_t qh[kQK_K / 8];  // high bits
  uint8_t qs[kQK_K / 2];  // low 4 bits
};
static_assert(sizeof(BlockQ5K) == 176, "Q5_K block size");

// 6.5625 bits/weight. Weight = d * scale * (q - 32), 16 sub-blocks of 16, int8 scales.
struct BlockQ6K {
  uint8_t ql[kQK_K / 2];  // low 4 bits
  uint8_t qh[kQK_K / 4];  // high 2 bits
  int8_t scales[kQK_K / 16];
  uint16_t d;  // fp16 super-block scale (last field)
};
static_assert(sizeof(BlockQ6K) == 210, "Q6_K block size");

// Activation type of every K-quant dot product: 8-bit quants with a float scale and the sums of
// each group of 16 quants (used to apply the weight mins without touching the quants again).
struct BlockQ8K {
  float d;
  int8_t qs[kQK_K];
  int16_t bsums[kQK_K / 16];
};
static_assert(sizeof(BlockQ8K) == 292, "Q8_K block size");

// 4.25 bits/weight. Weight = d * (scale - 32) * kIq4nlValues[q], 8 sub-blocks of 32 with 6-bit
// scales split into a low nibble (scales_l) and 2 high bits (scales_h).
struct BlockIq4Xs {
  uint16_t d;
  uint16_t scales_h;
  uint8_t scales_l[kQK_K / 64];
  uint8_t qs[kQK_K / 2];
};
static_assert(sizeof(BlockIq4Xs) == 136, "IQ4_XS block size");

// Unpacks the 6-bit scale and min of sub-block j (0..7) of a Q4_K / Q5_K block.
inline void UnpackScaleMinK4(int j, const uint8_t* q, uint8_t* scale, uint8_t* min) {
  if (j < 4) {
    *scale = q[j] & 63;
    *min = q[j + 4] & 63;
  } else {
    *scale = static_cast<uint8_t>((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
    *min = static_cast<uint8_t>((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
  }
}

// Unpacks the 16 6-bit scales of a Q3_K block into out[16], already offset by -32.
inline void UnpackScalesQ3K(const uint8_t* packed, int8_t* out) {
  for (int j = 0; j < 16; ++j) {
    const int low = j < 8 ? (packed[j] & 0xF) : (packed[j - 8] >> 4);
    const int high = (packed[8 + j % 4] >> (2 * (j / 4))) & 3;
    out[j] = static_cast<int8_t>((low | (high << 4)) - 32);
  }
}

// The 6-bit scale (0..63, not yet offset by -32) of sub-block ib (0..7) of an IQ4_XS block.
inline int Iq4XsScale(const BlockIq4Xs& b, int ib) {
  return ((b.scales_l[ib / 2] >> (4 * (ib % 2))) & 0xF) | (((b.scales_h >> (2 * ib)) & 3) << 4);
}

}  // namespace isv
