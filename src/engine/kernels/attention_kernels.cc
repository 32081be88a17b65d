#include "engine/kernels/attention_kernels.h"

#include <algorithm>
#include <array>
#include <cmath>

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

void WeightedSumF16Scalar(int64_t n, int32_t count, const float* p, const uint16_t* v0, size_t v_stride,
                          const int32_t* cells, float* y, int32_t n_q, size_t p_stride, size_t y_stride) {
  for (int32_t g = 0; g < n_q; ++g) {
    float* yg = y + g * y_stride;
    std::fill(yg, yg + n, 0.0f);
    for (int32_t j = 0; j < count; ++j) {
      AxpyF16Scalar(n, p[g * p_stride + j], v0 + static_cast<size_t>(cells[j]) * v_stride, yg);
    }
  }
}

void ScoresF16Scalar(int64_t n, int32_t count, const float* q, const uint16_t* k0, size_t k_stride,
                     const int32_t* cells, float scale, float* scores, int32_t n_q, size_t q_stride,
                     size_t scores_stride) {
  for (int32_t g = 0; g < n_q; ++g) {
    for (int32_t j = 0; j < count; ++j) {
      scores[g * scores_stride + j] =
          DotF16Scalar(n, q + g * q_stride, k0 + static_cast<size_t>(cells[j]) * k_stride) * scale;
    }
  }
}

double ExpSumScalar(int32_t count, float max, float* scores) {
  double sum = 0.0;
  for (int32_t j = 0; j < count; ++j) {
    scores[j] = std::exp(scores[j] - max);
    sum += scores[j];
  }
  return sum;
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
  return AttentionKernels{DotF16Scalar, AxpyF16Scalar, WeightedSumF16Scalar, ScoresF16Scalar, ExpSumScalar};
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
