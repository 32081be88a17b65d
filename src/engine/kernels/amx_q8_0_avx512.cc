// The AMX Q8_0 kernel's kRows8 step copy at the AVX-512 level (amx_q8_0.h: AmxQ8_0TileOrderAvx512):
// per group block, the 8 scales by one VCVTPH2PS and the 8 rows' quants by one 4 x 8 transpose of
// 8-byte pieces (StoreRowQuads), instead of the plain copy's 8 software fp16 conversions and 32
// 8-byte moves. One thread, 32-row steps of 2048-element rows (Zen 4): from L2 13.8 -> 42.8 GB/s
// (5.1 -> 1.6 us per step), from memory 8 -> 21 GB/s. A step of the AMX kernel at 64 prompt tokens
// is ~50 us at the rate measured on the device machine (qwen2.5-0.5b Q8_0 pp64, 2 threads).
#include <immintrin.h>

#include "engine/kernels/amx_q8_0.h"
#include "engine/kernels/rows8_avx512.h"
#include "engine/kernels/rows8_layout.h"

// GCC 12 false positive on _mm256_undefined_* inside the extract intrinsics (as in the other AVX-512 files).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

namespace isv {

void AmxQ8_0TileOrderAvx512(const AmxQ8_0Args& args, int64_t r, int n_rows, uint8_t* wt, float* dw) {
  constexpr int kBlock = 32, kStepRows = 32;
  constexpr size_t kGroupBlockBytes = kRows8Group * 34;
  const int64_t nb = args.n_in / kBlock;
  for (int k = 0; k < n_rows / kRows8Group; ++k) {
    const uint8_t* group = args.w + (r + k * kRows8Group) * args.row_bytes;
    for (int64_t b = 0; b < nb; ++b) {
      const uint8_t* gb = group + b * kGroupBlockBytes;
      const __m128i d = _mm_loadu_si128(reinterpret_cast<const __m128i*>(gb));
      _mm256_storeu_ps(dw + b * kStepRows + k * kRows8Group, _mm256_cvtph_ps(d));
      StoreRowQuads(gb + kRows8Q8QsOffset, 64, wt + b * kAmxTileOrderBlockBytes + k * kRows8Group * kBlock, kBlock);
    }
  }
}

}  // namespace isv
