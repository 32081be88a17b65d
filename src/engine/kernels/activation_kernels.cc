#include "engine/kernels/activation_kernels.h"

#include <array>
#include <cmath>

namespace isv {
namespace {

void SwiGluScalar(int64_t n, const float* gate, const float* up, float* out) {
  for (int64_t i = 0; i < n; ++i) out[i] = gate[i] / (1.0f + std::exp(-gate[i])) * up[i];
}

ActivationKernels Build(Isa isa) {
  switch (isa) {
    case Isa::kAvx512:
      return ActivationKernelsAvx512();
    case Isa::kAvx2:
      return ActivationKernelsAvx2();
    case Isa::kScalar:
      break;
  }
  return ActivationKernels{SwiGluScalar};
}

}  // namespace

const ActivationKernels& GetActivationKernels(Isa isa) {
  static const std::array<ActivationKernels, 3> tables = {Build(Isa::kScalar), Build(Isa::kAvx2), Build(Isa::kAvx512)};
  return tables[static_cast<int>(isa)];
}

const ActivationKernels& GetActivationKernels() {
  static const Isa best = BestIsa();
  return GetActivationKernels(best);
}

}  // namespace isv
