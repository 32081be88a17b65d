// ActivationKernels: elementwise activation loops of the feed-forward blocks, chosen at run time for
// the CPU's instruction set like the per-type tables of kernels.h. The scalar level is the oracle
// (std::exp); the SIMD levels use the polynomial exp of simd_exp.h and agree within a few ulp.
// The tables are built once and never change; safe to use from any thread.
#pragma once

#include <cstdint>

#include "engine/kernels/cpu_features.h"

namespace isv {

struct ActivationKernels {
  // out[i] = silu(gate[i]) * up[i] = gate[i] / (1 + exp(-gate[i])) * up[i] for i < n. out may alias
  // gate or up.
  void (*swiglu)(int64_t n, const float* gate, const float* up, float* out) = nullptr;
};

// The kernels at instruction-set level `isa` (REQUIRES: supported by this CPU), and at BestIsa().
const ActivationKernels& GetActivationKernels(Isa isa);
const ActivationKernels& GetActivationKernels();

// Defined in activation_avx2.cc / activation_avx512.cc.
ActivationKernels ActivationKernelsAvx2();
ActivationKernels ActivationKernelsAvx512();

}  // namespace isv
