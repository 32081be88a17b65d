// ActivationKernels: elementwise activation loops of the feed-forward blocks, chosen at run time for
// the CPU's instruction set like the per-type tables of kernels.h. The scalar level is the oracle
// (std::exp); the SIMD levels use the polynomial exp of simd_exp.h and agree within a few ulp.
// The tables are built once and never change; safe to use from any thread.
#pragma once

#include <cmath>
#include <cstdint>

#include "engine/kernels/cpu_features.h"

namespace isv {

struct ActivationKernels {
  // out[i] = silu(gate[i]) * up[i] = gate[i] / (1 + exp(-gate[i])) * up[i] for i < n. out may alias
  // gate or up.
  void (*swiglu)(int64_t n, const float* gate, const float* up, float* out) = nullptr;
  // RMS normalisation of one row: y[i] = (x[i] * scale) * w[i] for i < n, scale = 1 / sqrt(mean +
  // eps) in float, mean = float(sum / n). The sum of squares is in double in one specified order —
  // sixteen partial sums s_k of x[i]^2 over i = k mod 16 in increasing i, then (s_k + s_k+8),
  // then + the one 4 apart, 2 apart, 1 apart — so every level gives the same bits (each square is
  // exact in double). y may alias x. REQUIRES: n >= 1.
  void (*rms_norm)(int64_t n, const float* x, const float* w, float eps, float* y) = nullptr;
};

// The combination of the sixteen partial sums of rms_norm: ((s_k + s_k+8) over k < 8, then the
// halves 4 apart, 2 apart, 1 apart).
inline double CombineSixteen(double* s) {
  for (int width = 8; width >= 1; width /= 2) {
    for (int k = 0; k < width; ++k) s[k] += s[k + width];
  }
  return s[0];
}

// rms_norm's scale from the sum of squares of n elements.
inline float RmsScale(int64_t n, double sum, float eps) {
  const float mean = static_cast<float>(sum / static_cast<double>(n));
  return 1.0f / std::sqrt(mean + eps);
}

// The kernels at instruction-set level `isa` (REQUIRES: supported by this CPU), and at BestIsa().
const ActivationKernels& GetActivationKernels(Isa isa);
const ActivationKernels& GetActivationKernels();

// Defined in activation_avx2.cc / activation_avx512.cc.
ActivationKernels ActivationKernelsAvx2();
ActivationKernels ActivationKernelsAvx512();

}  // namespace isv
