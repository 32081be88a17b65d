#include "engine/kernels/attention_kernels.h"

#include <array>

#include "engine/tensor/float16.h"

namespace isv {
namespace {

float DotF16Scalar(int64_t n, const float* q, const uint16_t* k) {
  float sum = 0.0f;
  for (int64_t i = 0; i < n; ++i) sum += q[i] * Fp16ToFp32(k[i]);
  return sum;
}

void AxpyF16Scalar(int64_t n, float a, const uint16_t* v, float* y) {
  for (int64_t i = 0; i < n; ++i) y[i] += a * Fp16ToFp32(v[i]);
}

AttentionKernels Build(Isa isa) {
  switch (isa) {
    case Isa::kAvx512:
      return AttentionKernelsAvx512();
    case Isa::kAvx2:
      return AttentionKernelsAvx2();
    case Isa::kScalar:
      break;
  }
  return AttentionKernels{DotF16Scalar, AxpyF16Scalar};
}

}  // namespace

const AttentionKernels& GetAttentionKernels(Isa isa) {
  static const std::array<AttentionKernels, 3> tables = {Build(Isa::kScalar), Build(Isa::kAvx2), Build(Isa::kAvx512)};
  return tables[static_cast<int>(isa)];
}

const AttentionKernels& GetAttentionKernels() {
  static const Isa best = BestIsa();
  return GetAttentionKernels(best);
}

}  // namespace isv
