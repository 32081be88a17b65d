// Block layouts of the "legacy" quantization types (32 elements per block), byte-identical to
// ggml's block_q4_0 ... block_iq4_nl, so that rows inside a GGUF mmap can be read in place.
//
// Element order inside a block (all types with nibbles): byte j of `qs` holds element j in its low
// nibble and element j + 16 in its high nibble. Five-bit types keep the fifth bit of element j in
// bit j of the little-endian 32-bit `qh`. Scales are IEEE half floats stored as raw bits.
//
//   Q4_0:   value = (q - 8) * d            q in [0, 15]
//   Q4_1:   value = q * d + m              q in [0, 15]
//   Q5_0:   value = (q - 16) * d           q in [0, 31]
//   Q5_1:   value = q * d + m              q in [0, 31]
//   Q8_0:   value = q * d                  q in [-128, 127] (quantizers produce [-127, 127]; the
//                                          vec_dot kernels require it of the activation side)
//   Q8_1:   value = q * d, s = d * sum(q)  (activation type of Q4_1 / Q5_1)
//   IQ4_NL: value = kIq4nlValues[q] * d    q in [0, 15]
//
// Plain data, no ownership; safe to share read-only.
#pragma once

#include <cstdint>

namespace isv {

inline constexpr int kQK = 32;  // elements per legacy block

struct BlockQ4_0 {
  uint16_t d;         // scale (fp16)
  uint8_t qs[kQK / 2];  // nibbles
};
struct BlockQ4_1 {
  uint16_t d;         // scale (fp16)
  uint16_t m;         // minimum (fp16)
  uint8_t qs[kQK / 2];
};
struct BlockQ5_0 {
  uint16_t d;
  uint8_t qh[4];      // fifth bits, bit j = element j (little-endian uint32)
  uint8_t qs[kQK / 2];
};
struct BlockQ5_1 {
  uint16_t d;
  uint16_t m;
  uint8_t qh[4];
  uint8_t qs[kQK / 2];
};
struct BlockQ8_0 {
  uint16_t d;
  int8_t qs[kQK];
};
struct BlockQ8_1 {
  uint16_t d;         // scale (fp16)
  uint16_t s;         // d * sum(qs) (fp16)
  int8_t qs[kQK];
};
struct BlockIq4Nl {
  uint16_t d;
  uint8_t qs[kQK / 2];  // indices into kIq4nlValues
};

static_assert(sizeof(BlockQ4_0) == 18, "BlockQ4_0 must match ggml");
static_assert(sizeof(BlockQ4_1) == 20, "BlockQ4_1 must match ggml");
static_assert(sizeof(BlockQ5_0) == 22, "BlockQ5_0 must match ggml");
static_assert(sizeof(BlockQ5_1) == 24, "BlockQ5_1 must match ggml");
static_assert(sizeof(BlockQ8_0) == 34, "BlockQ8_0 must match ggml");
static_assert(sizeof(BlockQ8_1) == 36, "BlockQ8_1 must match ggml");
static_assert(sizeof(BlockIq4Nl) == 18, "BlockIq4Nl must match ggml");

// The 16 levels of IQ4_NL (ggml's kvalues_iq4nl), sorted ascending.
inline constexpr int8_t kIq4nlValues[16] = {-127, -104, -83, -65, -49, -35, -22, -10,
                                            1,    13,   25,  38,  53,  69,  89,  113};

}  // namespace isv
