#include "engine/kernels/pack_q8_0.h"

#include <cstring>

#include "engine/kernels/cpu_features.h"
#include "engine/tensor/float16.h"

namespace isv {

void PackWordsScalar(const uint8_t* const* src, size_t offset, uint8_t flip, uint8_t* out) {
  for (int l = 0; l < 16; ++l) {
    for (int j = 0; j < 8; ++j) {
      for (int i = 0; i < 4; ++i) out[64 * j + 4 * l + i] = src[l][offset + 4 * j + i] ^ flip;
    }
  }
}

void PackQ8_0x16Scalar(const uint8_t* const* blocks, uint8_t flip, uint8_t* out) {
  PackWordsScalar(blocks, 2, flip, out);
  float scales[16];
  for (int l = 0; l < 16; ++l) {
    uint16_t d;
    std::memcpy(&d, blocks[l], 2);
    scales[l] = Fp16ToFp32(d);
  }
  std::memcpy(out + 512, scales, sizeof(scales));
}

PackWordsFn PackWordsKernel() {
  const Isa isa = BestIsa();
  return isa >= Isa::kAvx512 ? PackWordsAvx512 : isa >= Isa::kAvx2 ? PackWordsAvx2 : PackWordsScalar;
}

PackQ8_0x16Fn PackQ8_0x16Kernel() {
  const Isa isa = BestIsa();
  return isa >= Isa::kAvx512 ? PackQ8_0x16Avx512 : isa >= Isa::kAvx2 ? PackQ8_0x16Avx2 : PackQ8_0x16Scalar;
}

}  // namespace isv
