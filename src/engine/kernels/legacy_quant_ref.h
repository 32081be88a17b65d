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

using QuantizeRowFn = void (*)(const float* x, void* y, int64_t n);
// The reference (file-writing) quantizer of a legacy weight type, or nullptr for other types.
QuantizeRowFn LegacyReferenceQuantizer(GgmlType type);

}  // namespace isv
