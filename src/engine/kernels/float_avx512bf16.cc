// AVX-512 BF16 vec_dot of BF16 rows, the level Isa::kAvx512Bf16 (AVX512_BF16 is absent on some
// AVX-512 CPUs and VMs; their level, Isa::kAvx512, does the same order by FMAs: float_avx512.cc).
// VDPBF16PS: bf16 products are exact in float and each instruction adds two of them per lane (round to
// nearest even; the instruction treats denormal inputs as zero, which changes a sum only by less than
// the smallest normal float per product). Tails are handled with masked loads (masked-off lanes read
// as zero and add nothing).
#include <immintrin.h>

// GCC 12's AVX-512 intrinsic headers build vectors from deliberately undefined values, which
// -Wuninitialized reports at call sites; the warnings are false.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include "engine/kernels/kernels.h"
#include "engine/kernels/simd_helpers.h"

namespace isv {
namespace {

float Bf16VecDot(int64_t n, const void* vx, const void* vy) {
  const uint16_t* a = static_cast<const uint16_t*>(vx);
  const uint16_t* b = static_cast<const uint16_t*>(vy);
  __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i + 64 <= n; i += 64) {
    acc0 = _mm512_dpbf16_ps(acc0, (__m512bh)_mm512_loadu_si512(a + i), (__m512bh)_mm512_loadu_si512(b + i));
    acc1 = _mm512_dpbf16_ps(acc1, (__m512bh)_mm512_loadu_si512(a + i + 32), (__m512bh)_mm512_loadu_si512(b + i + 32));
  }
  for (; i < n; i += 32) {
    const __mmask32 m = TailMask32(n - i);
    acc0 = _mm512_dpbf16_ps(acc0, (__m512bh)_mm512_maskz_loadu_epi16(m, a + i),
                            (__m512bh)_mm512_maskz_loadu_epi16(m, b + i));
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
}

}  // namespace

void RegisterFloatKernelsAvx512Bf16(KernelTable& table) { table[GgmlType::kBF16].vec_dot = Bf16VecDot; }

}  // namespace isv
