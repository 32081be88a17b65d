// Placeholder: the LegacyQuant kernels at Scalar level are not written yet; registers nothing.
#include "engine/kernels/kernels.h"

namespace isv {
void RegisterLegacyQuantKernelsScalar(KernelTable&) {}
}  // namespace isv
