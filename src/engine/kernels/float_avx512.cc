// Placeholder: the float kernels at Avx512 level are not written yet; registers nothing.
#include "engine/kernels/kernels.h"

namespace isv {
void RegisterFloatKernelsAvx512(KernelTable&) {}
}  // namespace isv
