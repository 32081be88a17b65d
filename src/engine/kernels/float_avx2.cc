// Placeholder: the float kernels at Avx2 level are not written yet; registers nothing.
#include "engine/kernels/kernels.h"

namespace isv {
void RegisterFloatKernelsAvx2(KernelTable&) {}
}  // namespace isv
