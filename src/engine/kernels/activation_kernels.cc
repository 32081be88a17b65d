#include "engine/kernels/activation_kernels.h"

#include <array>
#include <cmath>

namespace isv {
namespace {

void SwiGluScalar(int64_t n, const float* gate, const float* up, float* out) {
  for (int64_t i = 0; i < n; ++i) out[i] = gate[i] / (1.0f + std::exp(-gate[i])) * up[i];
}

void RmsNormScalar(int64_t n, const float* x, const float* w, float eps, float* y) {
  double s[16] = {};
  for (int64_t i = 0; i < n; ++i) s[i % 16] += static_cast<double>(x[i]) * x[i];
  const float scale = RmsScale(n, CombineSixteen(s), eps);
  for (int64_t i = 0; i < n; ++i) y[i] = (x[i] * scale) * w[i];
}

ActivationKernels Build(Isa isa) {
  switch (isa) {
    case Isa::kAvx512Bf16:  // no BF16 data here
    case Isa::kAvx512:
      return ActivationKernelsAvx512();
    case Isa::kAvx2:
      return ActivationKernelsAvx2();
    case Isa::kScalar:
      break;
  }
  return ActivationKernels{.swiglu = SwiGluScalar, .rms_norm = RmsNormScalar};
}

}  // namespace

const ActivationKernels& GetActivationKernels(Isa isa) {
  static const std::array<ActivationKernels, kIsaCount> tables = {Build(Isa::kScalar), Build(Isa::kAvx2),
                                                                  Build(Isa::kAvx512), Build(Isa::kAvx512Bf16)};
  return tables[static_cast<int>(isa)];
}

const ActivationKernels& GetActivationKernels() {
  static const Isa best = BestIsa();
  return GetActivationKernels(best);
}

}  // namespace isv
