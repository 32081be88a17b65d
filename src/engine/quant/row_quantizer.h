// Row conversion between F32 and the weight types a GGUF file stores, with the rounding that
// llama-quantize uses when it writes files (ggml's *_ref quantizers, no importance matrix), plus
// a parallel driver over many rows.
//
// Note: for Q8_0 (and Q8_K) the kernel table's from_float is the ACTIVATION quantizer; files are
// written with the reference quantizer returned here.
//
// Thread-safety: the functions are pure; QuantizeRows uses the given pool (one caller at a time).
#pragma once

#include <cstdint>

#include "core/status.h"
#include "core/thread_pool.h"
#include "engine/tensor/ggml_type.h"

namespace isv {

// Converts n floats into `type` (n a multiple of its block size).
using RowQuantizeFn = void (*)(const float* x, void* y, int64_t n);

// The file-writing quantizer of `type`: F32 (copy), F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0,
// IQ4_NL, Q2_K..Q6_K, IQ4_XS. Unimplemented for other types or when this build lacks the kernels.
StatusOr<RowQuantizeFn> FileQuantizer(GgmlType type);

// Dequantizes/converts n elements of `type` (any type with kernels) to floats.
Status RowsToFloat(GgmlType type, const void* x, float* y, int64_t n);

// Quantizes `rows` rows of n_per_row floats from src into dst (rows of RowSize(type, n_per_row)
// bytes), rows split over the pool's threads. REQUIRES: n_per_row % block size == 0.
void QuantizeRows(ThreadPool& pool, RowQuantizeFn fn, GgmlType type, const float* src, void* dst, int64_t rows,
                  int64_t n_per_row);

}  // namespace isv
