// AVX2 (+FMA, F16C) kernels of the K-quant types and IQ4_XS: dot products with Q8_K for Q2_K, Q3_K,
// Q4_K, Q5_K, Q6_K, IQ4_XS (plus 1-row x 8-token tiles for Q4_K / Q5_K / Q6_K, which prompt
// processing and batched decode use) and the Q8_K activation quantizer. The bodies live in k_quant_simd.inc,
// shared with the AVX-512 build; dequantization and the weight quantizers stay scalar.
#include <immintrin.h>

#include <cstring>

#include "engine/kernels/blocks_k.h"
#include "engine/kernels/k_quant_scales.h"
#include "engine/kernels/kernels.h"
#include "engine/tensor/float16.h"

namespace isv {
namespace {
#include "engine/kernels/k_quant_simd.inc"
}  // namespace

void RegisterKQuantKernelsAvx2(KernelTable& table) {
  table[GgmlType::kQ2_K].vec_dot = SimdQ2KVecDot;
  table[GgmlType::kQ3_K].vec_dot = SimdQ3KVecDot;
  RegisterKRow<SimdQ4KRow>(table[GgmlType::kQ4_K]);
  RegisterKRow<SimdQ5KRow>(table[GgmlType::kQ5_K]);
  RegisterKRow<SimdQ6KRow>(table[GgmlType::kQ6_K]);
  table[GgmlType::kIQ4_XS].vec_dot = SimdIq4XsVecDot;
  table[GgmlType::kQ8_K].from_float = SimdQuantizeQ8K;
}

}  // namespace isv
