#include <array>

#include "engine/kernels/kernels.h"

namespace isv {
namespace {

KernelTable BuildTable(Isa isa) {
  KernelTable t;
  RegisterFloatKernelsScalar(t);
  RegisterLegacyQuantKernelsScalar(t);
  RegisterKQuantKernelsScalar(t);
  if (isa >= Isa::kAvx2) {
    RegisterFloatKernelsAvx2(t);
    RegisterLegacyQuantKernelsAvx2(t);
    RegisterRows8KernelsAvx2(t);
    RegisterKQuantKernelsAvx2(t);
    RegisterKRows8KernelsAvx2(t);
    RegisterPrefillKernelsAvx2(t);
    RegisterKPrefillKernelsAvx2(t);
    RegisterFloatPrefillKernelsAvx2(t);
  }
  if (isa >= Isa::kAvx512) {
    RegisterFloatKernelsAvx512(t);
    RegisterLegacyQuantKernelsAvx512(t);
    RegisterRows8KernelsAvx512(t);
    RegisterKQuantKernelsAvx512(t);
    RegisterKRows8KernelsAvx512(t);
    RegisterPrefillKernelsAvx512(t);
    RegisterKPrefillKernelsAvx512(t);
    RegisterFloatPrefillKernelsAvx512(t);
  }
  if (isa >= Isa::kAvx512Bf16) {
    RegisterFloatKernelsAvx512Bf16(t);
    RegisterFloatPrefillKernelsAvx512Bf16(t);
  }
  return t;
}

}  // namespace

const TypeKernels& GetKernels(GgmlType type, Isa isa) {
  static const std::array<KernelTable, kIsaCount> tables = {BuildTable(Isa::kScalar), BuildTable(Isa::kAvx2),
                                                            BuildTable(Isa::kAvx512), BuildTable(Isa::kAvx512Bf16)};
  return tables[static_cast<int>(isa)][type];
}

const TypeKernels& GetKernels(GgmlType type) {
  static const Isa best = BestIsa();
  return GetKernels(type, best);
}

}  // namespace isv
