// Reference quantizers of the legacy weight types: byte-identical to ggml's quantize_row_*_ref
// (what llama-quantize runs for these types when no importance matrix is given). Used as the
// from_float of the weight types in the kernel table and by the quantize tool.
//
// Note: the kernel table's from_float of Q8_0 is the ACTIVATION quantizer (ggml-cpu's x86 rounding,
// see legacy_quant_scalar.cc), which differs from QuantizeRowQ8_0Ref in rounding; a tool writing
// Q8_0 weights must call QuantizeRowQ8_0Ref (or LegacyReferenceQuantizer) instead.
//
// All functions: REQUIRES n % 32 == 0; y has room for n / 32 blocks. Pure, thread-safe.
#pragma once

#include <cstdint>

#include "engine/tensor/ggml_type.h"

namespace isv {

void QuantizeRowQ4_0Ref(const float* x, void* y, int64_t n);
void QuantizeRowQ4_1Ref(const float* x, void* y, int64_t n);
void QuantizeRowQ5_0Ref(const float* x, void* y, int64_t n);
void QuantizeRowQ5_1Ref(const float* x, void* y, int64_t n);
void QuantizeRowQ8_0Ref(const float* x, void* y, int64_t n);
// ggml's quantize_iq4_nl without importance weights (best-scale search over 15 candidate scales).
void QuantizeRowIq4NlRef(const float* x, void* y, int64_t n);

// Building blocks of the IQ4 quantizers, shared with IQ4_XS (same per-block search in ggml):
// the index of the kIq4nlValues level nearest to v (ties go up) ...
int BestIq4nlIndex(float v);
// ... and the scale of a 32-element block by weighted least squares (weights x^2, 15 candidate
// scales as ggml's quantize_row_iq4_nl_impl with ntry = 7, no importance matrix). Writes the
// chosen level indices to L; returns 0 (and L = 0) for a block with max |x| < 1e-15.
float FitIq4Block(const float* x, uint8_t L[32]);

using QuantizeRowFn = void (*)(const float* x, void* y, int64_t n);
// The reference (file-writing) quantizer of a legacy weight type, or nullptr for other types.
QuantizeRowFn LegacyReferenceQuantizer(GgmlType type);

}  // namespace isv
