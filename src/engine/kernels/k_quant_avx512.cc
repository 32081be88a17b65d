// Placeholder: the KQuant kernels at Avx512 level are not written yet; registers nothing.
#include "engine/kernels/kernels.h"

namespace isv {
void RegisterKQuantKernelsAvx512(KernelTable&) {}
}  // namespace isv
