// Placeholder: the KQuant kernels at Avx2 level are not written yet; registers nothing.
#include "engine/kernels/kernels.h"

namespace isv {
void RegisterKQuantKernelsAvx2(KernelTable&) {}
}  // namespace isv
