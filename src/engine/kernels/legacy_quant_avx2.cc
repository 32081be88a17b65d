// Placeholder: the LegacyQuant kernels at Avx2 level are not written yet; registers nothing.
#include "engine/kernels/kernels.h"

namespace isv {
void RegisterLegacyQuantKernelsAvx2(KernelTable&) {}
}  // namespace isv
