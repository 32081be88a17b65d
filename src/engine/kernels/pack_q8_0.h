// The transposition every Q8_0 prefill path starts with: 16 tokens' Q8_0 blocks (one per token, the same
// block index) into the word-row form of a PrefillBlock (prefill.h) and of the AMX kernel's B tile + scales
// (amx_q8_0.h): row j (64 bytes) holds the quants 4j .. 4j+3 of lane 0, then of lane 1, ... lane 15, each
// byte XOR `flip` (0x80 for PrefillBlock's unsigned form, 0 for AMX's signed one); then the 16 lanes' fp16
// scales as fp32 (64 bytes). 576 bytes in all.
#pragma once

#include <cstdint>

namespace isv {

// blocks[l]: lane l's 34-byte Q8_0 block (fp16 d, 32 quants). out: 576 bytes.
using PackQ8_0x16Fn = void (*)(const uint8_t* const* blocks, uint8_t flip, uint8_t* out);

// Plain C++ (the reference; any CPU).
void PackQ8_0x16Scalar(const uint8_t* const* blocks, uint8_t flip, uint8_t* out);
// AVX-512 (a permute network; the same bytes). REQUIRES: the AVX-512 level.
void PackQ8_0x16Avx512(const uint8_t* const* blocks, uint8_t flip, uint8_t* out);

// The AVX-512 one where BestIsa() is at least that level, else the scalar one.
PackQ8_0x16Fn PackQ8_0x16Kernel();

}  // namespace isv
