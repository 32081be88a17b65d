// The transposition every quantized prefill path starts with: 16 tokens' activation quants (the same
// block of each token) into word rows, the layout of PrefillBlock / PrefillBlockK (prefill.h) and of the
// AMX kernel's B tile (amx_q8_0.h): row j (64 bytes) holds the quants 4j .. 4j+3 of lane 0, then of lane
// 1, ... lane 15, each byte XOR `flip` (0x80 for the prefill blocks' unsigned form, 0 for AMX's signed one).
#pragma once

#include <cstddef>
#include <cstdint>

namespace isv {

// PackWords: out[64 j + 4 l + i] = src[l][offset + 4 j + i] ^ flip for the 8 words j < 8 of the 16 lanes
// l < 16 (i < 4): 32 bytes of each lane as 8 rows of 64 bytes (512 bytes).
using PackWordsFn = void (*)(const uint8_t* const* src, size_t offset, uint8_t flip, uint8_t* out);
void PackWordsScalar(const uint8_t* const* src, size_t offset, uint8_t flip, uint8_t* out);
// The same bytes by SIMD transpositions. REQUIRES: the AVX2 / AVX-512 level.
void PackWordsAvx2(const uint8_t* const* src, size_t offset, uint8_t flip, uint8_t* out);
void PackWordsAvx512(const uint8_t* const* src, size_t offset, uint8_t flip, uint8_t* out);

// PackQ8_0x16: 16 Q8_0 blocks (blocks[l]: lane l's 34 bytes, fp16 d then 32 quants) as PackWords of their
// quants, then the 16 scales as fp32 (64 bytes): 576 bytes, a PrefillBlock or an AMX B tile + scales.
using PackQ8_0x16Fn = void (*)(const uint8_t* const* blocks, uint8_t flip, uint8_t* out);
void PackQ8_0x16Scalar(const uint8_t* const* blocks, uint8_t flip, uint8_t* out);
// REQUIRES: the AVX2 / AVX-512 level.
void PackQ8_0x16Avx2(const uint8_t* const* blocks, uint8_t flip, uint8_t* out);
void PackQ8_0x16Avx512(const uint8_t* const* blocks, uint8_t flip, uint8_t* out);

// The ones of BestIsa()'s level (AVX-512, AVX2, else scalar).
PackWordsFn PackWordsKernel();
PackQ8_0x16Fn PackQ8_0x16Kernel();

}  // namespace isv
