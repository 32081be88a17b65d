// Reference (scalar, bit-exact with ggml's *_ref functions) quantizers of the K-quant types, IQ4_XS
// and the activation quantizer of Q8_K. These are the `from_float` entries of the K-quant kernel
// tables; the `quantize` tool and the tests reach them through GetKernels(type).from_float.
//
// Each function quantizes n floats (REQUIRES: n % 256 == 0) from x into n / 256 blocks at y
// (see blocks_k.h). Stateless and thread-safe. Without an importance matrix these reproduce what
// llama-quantize writes, byte for byte.
#pragma once

#include <cstdint>

namespace isv {

void QuantizeQ2KRef(const float* x, void* y, int64_t n);
void QuantizeQ3KRef(const float* x, void* y, int64_t n);
void QuantizeQ4KRef(const float* x, void* y, int64_t n);
void QuantizeQ5KRef(const float* x, void* y, int64_t n);
void QuantizeQ6KRef(const float* x, void* y, int64_t n);
void QuantizeIq4XsRef(const float* x, void* y, int64_t n);
// Activation quantization: per block, scale -127 / (the value of largest magnitude), round to
// nearest (ties to even), clamp at 127, and the 16 sums of 16 quants.
void QuantizeQ8KRef(const float* x, void* y, int64_t n);

// ggml's nearest_int: round to nearest, ties to even, for |f| <= 2^22.
inline int NearestInt(float f) {
  float v = f + 12582912.f;  // 1.5 * 2^23: the integer part lands in the low mantissa bits
  int32_t i;
  static_assert(sizeof(i) == sizeof(v));
  __builtin_memcpy(&i, &v, sizeof(i));
  return (i & 0x007fffff) - 0x00400000;
}

}  // namespace isv
