// AMX int8 prefill kernel for Q8_0 weights x Q8_0 activations (Sapphire Rapids and later).
//
// Not a TypeKernels entry: it works on whole row ranges with activations packed once per MatMul,
// and its float results are NOT those of vec_dot (see below), so MatMul uses it only for the batch
// rows the caller marked as prompt tokens (MatMul's n_prefill, Batch::prefill), whose kernel choice
// never depends on what else is batched. Its order is the prefill order of kernels/prefill.h, so it
// gives the bits of the AVX-512 prefill kernel it replaces where AMX is usable. (For a kRows8
// matrix MatMul takes it from 8 prompt tokens on, matmul.cc: kAmxRows8MinTokens; same bits.)
//
// Per (weight row r, token t), with one TDPBSSD per Q8_0 block b giving the exact int32 isum(r,t,b):
//   acc = 0; for b in order: acc = fma(fp32(d_w[r,b]) * fp32(d_a[t,b]), float(isum(r,t,b)), acc)
// (the product rounded to float first, then one fused multiply-add). Every float operation is
// specified, so the hardware, the tile emulator and a scalar loop agree bit for bit
// (tests/engine/kernels/amx_q8_0_test.cc).
//
// Layout: weights in the file's order are read in place (A tile = 16 rows x the 32 quants of one
// block, stride = the row size, straight from the mmap); a kRows8 matrix (rows8_layout.h: what the
// model's private copy holds, for the 8-row decode kernel) is copied 32 rows at a time into that
// tile order (stride 32) in the calling thread's buffer, once per row step and token block
// (amx_q8_0_kernel.h). The activations are packed per group of 16 tokens and block into a B tile in
// AMX's VNNI layout (8 rows x 64 bytes: row k4 holds, for each token t, the quants 4*k4 .. 4*k4+3)
// followed by the 16 tokens' scales as float (576 bytes, 64-aligned).
//
// The kernel is one template over a tile backend (amx_q8_0_kernel.h), instantiated with the AMX
// instructions (amx_q8_0_amx.cc, compiled with -mamx-tile -mamx-int8) and with EmulatedTiles
// (amx_tiles.h, plain C++, which is what runs on CPUs without AMX: the tests).
// Thread-safety: the row functions are reentrant; concurrent calls must write disjoint rows of y.
#pragma once

#include <cstddef>
#include <cstdint>

#include "engine/kernels/cpu_features.h"

namespace isv {

constexpr int kAmxGroupTokens = 16;          // tokens per packed group (one B tile's columns)
constexpr int kAmxStepRows = 32;             // weight rows per kernel step (two A tiles)
constexpr size_t kAmxPackedBlockBytes = 576;  // 512 bytes of quants + 16 float scales

// Bytes of packed activations for n_tokens rows of n_in elements. REQUIRES: n_in % 32 == 0.
size_t AmxQ8_0PackedSize(int64_t n_in, int64_t n_tokens);

// Packs tokens [t0, t1) of the Q8_0 rows act (act_row bytes apart, n_in elements each) into
// `packed` (AmxQ8_0PackedSize(n_in, n_tokens) bytes for all n_tokens; best 64-byte aligned). Token
// t goes to group t / 16, lane t % 16; t0 and t1 must be multiples of 16 or t1 == n_tokens (whole
// groups), lanes past n_tokens become zero quants with scale 0. Several threads may pack disjoint
// group ranges.
void AmxQ8_0Pack(int64_t n_in, const uint8_t* act, size_t act_row, int64_t n_tokens, int64_t t0, int64_t t1,
                 uint8_t* packed);

// One kernel call: weight rows [r0, r1) of a Q8_0 matrix against all packed tokens.
struct AmxQ8_0Args {
  int64_t n_in = 0;              // elements per row (multiple of 32)
  const uint8_t* w = nullptr;    // Q8_0 weight rows, row_bytes apart
  size_t row_bytes = 0;
  bool rows8 = false;               // w in the kRows8 layout: then r0 and r1 are multiples of 8
  const uint8_t* packed = nullptr;  // AmxQ8_0Pack output for n_tokens tokens
  int64_t n_tokens = 0;
  float* y = nullptr;            // y[t * y_stride + r] for t < n_tokens
  size_t y_stride = 0;
};

// Computes y for rows [r0, r1) and every token (the float order above). Loads its own tile
// configuration and releases the tiles before returning, so any thread may call it.
using AmxQ8_0RowsFn = void (*)(const AmxQ8_0Args& args, int64_t r0, int64_t r1);

// The kernel on the emulated tiles (any CPU; slow: for tests).
void AmxQ8_0RowsEmulated(const AmxQ8_0Args& args, int64_t r0, int64_t r1);
// The kernel on the AMX hardware. REQUIRES: AmxEnabled().
void AmxQ8_0RowsHardware(const AmxQ8_0Args& args, int64_t r0, int64_t r1);

// The kRows8 step copy: rows [r, r + n_rows) of a kRows8 matrix (r and n_rows multiples of 8; n_rows
// <= 32) in the kernel's tile order, row m's 32 quants of block b at wt + b * kAmxTileOrderBlockBytes
// + 32 m and its scale as float at dw[32 b + m]. The plain C++ one is the emulated kernel's; the
// hardware kernel's is the AVX-512 one (same bytes, same floats; REQUIRES: the AVX-512 level).
constexpr size_t kAmxTileOrderBlockBytes = 32 * 32;
using AmxQ8_0TileOrderFn = void (*)(const AmxQ8_0Args& args, int64_t r, int n_rows, uint8_t* wt, float* dw);
void AmxQ8_0TileOrder(const AmxQ8_0Args& args, int64_t r, int n_rows, uint8_t* wt, float* dw);
void AmxQ8_0TileOrderAvx512(const AmxQ8_0Args& args, int64_t r, int n_rows, uint8_t* wt, float* dw);

// True when the CPU has AMX-TILE and AMX-INT8, the OS enabled the tile state (XCR0 bits 17, 18),
// the process got the tile-data permission (arch_prctl(ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA),
// asked once and cached) and the AVX-512 level is available.
bool AmxHardwareUsable();

// True when AmxHardwareUsable(), ISV_ISA is unset or "amx" (any other value — scalar, avx2, avx512, ... —
// turns AMX off), and the hardware kernel gave the emulated kernel's bits on a small fixed problem
// (else a warning on stderr and AMX stays off). Decided once per process.
bool AmxEnabled();

// The kernel MatMul uses for the prefill rows of Q8_0 weights at level `isa`: the hardware one when
// isa is an AVX-512 level and AmxEnabled(), else nullptr (today's gemm_tile path for every row).
AmxQ8_0RowsFn AmxQ8_0PrefillKernel(Isa isa);

}  // namespace isv
