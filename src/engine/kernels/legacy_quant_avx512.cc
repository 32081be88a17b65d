// AVX-512 level of the legacy quantization kernels: the vec_dot kernels of
// legacy_quant_simd256.h compiled with AVX512-VNNI/VL, so each block's unsigned x signed byte
// products go through one VPDPBUSD (ymm) instead of VPMADDUBSW + VPMADDWD. The activation
// quantizers (Q8_0 / Q8_1 from_float) are inherited from the AVX2 level.
//
// Why 256-bit: a 512-bit variant holding two blocks per register (VPDPBUSD zmm, masked
// fifth-bit insertion, paired scales) measured 15-40% SLOWER than this one on the development
// Xeon (4096-element rows: q4_0 193 vs 166 ns, q4_1 265 vs 191 ns, q8_0 165 vs 119 ns): the
// per-block scale handling and the cross-lane shuffles needed to pair blocks cost more than the
// wider multiply saves. ggml's AVX-512 build also uses 256-bit VNNI for these types.
#include "engine/kernels/kernels.h"
#include "engine/kernels/legacy_quant_simd256.h"

namespace isv {

void RegisterLegacyQuantKernelsAvx512(KernelTable& table) {
  RegisterSimd256LegacyKernels(table);
}

}  // namespace isv
