// AVX-512 level kernels of the K-quant types and IQ4_XS: the k_quant_simd.inc bodies compiled with
// AVX512-VNNI/VL, where the scale-and-accumulate step of every dot product is one vpdpwssd instead
// of vpmaddwd + vpaddd (the vectors stay 256 bits wide). Same coverage as the AVX2 level.
#include <immintrin.h>

#include <cstring>

#include "engine/kernels/blocks_k.h"
#include "engine/kernels/kernels.h"
#include "engine/tensor/float16.h"

namespace isv {
namespace {
#include "engine/kernels/k_quant_simd.inc"
}  // namespace

void RegisterKQuantKernelsAvx512(KernelTable& table) {
  table[GgmlType::kQ2_K].vec_dot = SimdQ2KVecDot;
  table[GgmlType::kQ3_K].vec_dot = SimdQ3KVecDot;
  table[GgmlType::kQ4_K].vec_dot = SimdQ4KVecDot;
  table[GgmlType::kQ5_K].vec_dot = SimdQ5KVecDot;
  table[GgmlType::kQ6_K].vec_dot = SimdQ6KVecDot;
  table[GgmlType::kIQ4_XS].vec_dot = SimdIq4XsVecDot;
  table[GgmlType::kQ8_K].from_float = SimdQuantizeQ8K;
}

}  // namespace isv
