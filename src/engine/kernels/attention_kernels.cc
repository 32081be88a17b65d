#include "engine/kernels/attention_kernels.h"

#include <algorithm>
#include <array>
#include <cmath>

#include "engine/kernels/attention_rows.h"
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

void ScoresRowsF16Scalar(int64_t n, int32_t count, const float* q, int32_t n_tok, size_t q_tok_stride, int32_t n_head,
                         const uint16_t* k0, size_t k_stride, const int32_t* cells, float scale, float* scores,
                         size_t scores_stride) {
  for (int32_t t = 0; t < n_tok; ++t) {
    for (int32_t h = 0; h < n_head; ++h) {
      const float* qr = q + t * q_tok_stride + h * n;
      float* out = scores + static_cast<size_t>(t * n_head + h) * scores_stride;
      for (int32_t j = 0; j < count; ++j) {
        const uint16_t* k = k0 + static_cast<size_t>(cells[j]) * k_stride;
        float s = qr[0] * Fp16ToFp32(k[0]);
        for (int64_t i = 1; i < n; ++i) s = std::fma(qr[i], Fp16ToFp32(k[i]), s);
        out[j] = s * scale;
      }
    }
  }
}

void WeightedSumRowsF16Scalar(int64_t n, const int32_t* counts, const float* p, int32_t n_tok, size_t p_stride,
                              int32_t n_head, const uint16_t* v0, size_t v_stride, const int32_t* cells, float* y,
                              size_t y_tok_stride) {
  WeightedSumRowsByToken(WeightedSumF16Scalar, n, counts, p, n_tok, p_stride, n_head, v0, v_stride, cells, y,
                         y_tok_stride);
}

float MaxF32Scalar(int32_t count, const float* x) {
  float m = -INFINITY;
  for (int32_t j = 0; j < count; ++j) m = std::max(m, x[j]);
  return m;
}

void ScaleF32Scalar(int32_t count, float a, float* x) {
  for (int32_t j = 0; j < count; ++j) x[j] *= a;
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
    case Isa::kAvx512Bf16:  // no BF16 data here
    case Isa::kAvx512:
      return AttentionKernelsAvx512();
    case Isa::kAvx2:
      return AttentionKernelsAvx2();
    case Isa::kScalar:
      break;
  }
  return AttentionKernels{.dot_f16 = DotF16Scalar,
                          .axpy_f16 = AxpyF16Scalar,
                          .weighted_sum_f16 = WeightedSumF16Scalar,
                          .scores_f16 = ScoresF16Scalar,
                          .scores_rows_f16 = ScoresRowsF16Scalar,
                          .weighted_sum_rows_f16 = WeightedSumRowsF16Scalar,
                          .max_f32 = MaxF32Scalar,
                          .scale_f32 = ScaleF32Scalar,
                          .exp_sum = ExpSumScalar};
}

}  // namespace

const AttentionKernels& GetAttentionKernels(Isa isa) {
  static const std::array<AttentionKernels, kIsaCount> tables = {Build(Isa::kScalar), Build(Isa::kAvx2),
                                                                 Build(Isa::kAvx512), Build(Isa::kAvx512Bf16)};
  return tables[static_cast<int>(isa)];
}

const AttentionKernels& GetAttentionKernels() {
  static const Isa best = BestIsa();
  return GetAttentionKernels(best);
}

}  // namespace isv
