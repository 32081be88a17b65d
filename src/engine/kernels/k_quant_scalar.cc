// Placeholder: the KQuant kernels at Scalar level are not written yet; registers nothing.
#include "engine/kernels/kernels.h"

namespace isv {
void RegisterKQuantKernelsScalar(KernelTable&) {}
}  // namespace isv
