// Scalar kernels of the float types: F32, F16, BF16. ggml converts activations to F16 / BF16 for
// F16 / BF16 weights and accumulates the products in float.
#include "engine/kernels/kernels.h"
#include "engine/tensor/float16.h"

namespace isv {
namespace {

void F32ToFloat(const void* x, float* y, int64_t n) {
  const float* src = static_cast<const float*>(x);
  for (int64_t i = 0; i < n; ++i) y[i] = src[i];
}
void F32FromFloat(const float* x, void* y, int64_t n) {
  float* dst = static_cast<float*>(y);
  for (int64_t i = 0; i < n; ++i) dst[i] = x[i];
}
float F32VecDot(int64_t n, const void* x, const void* y) {
  const float* a = static_cast<const float*>(x);
  const float* b = static_cast<const float*>(y);
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(a[i]) * b[i];
  return static_cast<float>(sum);
}

void F16ToFloat(const void* x, float* y, int64_t n) {
  const uint16_t* src = static_cast<const uint16_t*>(x);
  for (int64_t i = 0; i < n; ++i) y[i] = Fp16ToFp32(src[i]);
}
void F16FromFloat(const float* x, void* y, int64_t n) {
  uint16_t* dst = static_cast<uint16_t*>(y);
  for (int64_t i = 0; i < n; ++i) dst[i] = Fp32ToFp16(x[i]);
}
float F16VecDot(int64_t n, const void* x, const void* y) {
  const uint16_t* a = static_cast<const uint16_t*>(x);
  const uint16_t* b = static_cast<const uint16_t*>(y);
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(Fp16ToFp32(a[i])) * Fp16ToFp32(b[i]);
  return static_cast<float>(sum);
}

void Bf16ToFloat(const void* x, float* y, int64_t n) {
  const uint16_t* src = static_cast<const uint16_t*>(x);
  for (int64_t i = 0; i < n; ++i) y[i] = Bf16ToFp32(src[i]);
}
void Bf16FromFloat(const float* x, void* y, int64_t n) {
  uint16_t* dst = static_cast<uint16_t*>(y);
  for (int64_t i = 0; i < n; ++i) dst[i] = Fp32ToBf16(x[i]);
}
float Bf16VecDot(int64_t n, const void* x, const void* y) {
  const uint16_t* a = static_cast<const uint16_t*>(x);
  const uint16_t* b = static_cast<const uint16_t*>(y);
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(Bf16ToFp32(a[i])) * Bf16ToFp32(b[i]);
  return static_cast<float>(sum);
}

}  // namespace

void RegisterFloatKernelsScalar(KernelTable& table) {
  table[GgmlType::kF32] = {GgmlType::kF32, F32ToFloat, F32FromFloat, F32VecDot};
  table[GgmlType::kF16] = {GgmlType::kF16, F16ToFloat, F16FromFloat, F16VecDot};
  table[GgmlType::kBF16] = {GgmlType::kBF16, Bf16ToFloat, Bf16FromFloat, Bf16VecDot};
}

}  // namespace isv
