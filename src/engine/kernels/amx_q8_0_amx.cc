// The AMX Q8_0 kernel (amx_q8_0_kernel.h) on the hardware tiles. Compiled with -mamx-tile
// -mamx-int8 and the AVX-512 flags (cmake/isa_sources.cmake); runs only when AmxEnabled().
//
// This file is the only code that cannot be executed on a CPU without AMX: keep it to the
// one-line instruction wrappers below. Notes:
// - LDTILECFG is issued with our own asm, whose "m" operand is the whole 64-byte TileConfig, so the
//   compiler must have stored all of it first. (GCC 12's _tile_loadconfig declares an 8-byte
//   operand and may drop the stores: garbage configuration, SIGILL.)
// - GCC's tile macros stringify their tile number, so each tile gets an explicit specialization
//   with a literal number; TILELOADD's macro has no memory operand, so a compiler barrier precedes
//   it (the bytes it reads must have been written); TILESTORED's macro clobbers memory.
#include <immintrin.h>

#include "engine/kernels/amx_q8_0.h"
#include "engine/kernels/amx_q8_0_kernel.h"
#include "engine/kernels/amx_tiles.h"

namespace isv {
namespace {

struct HardwareTiles {
  void LoadConfig(const TileConfig& cfg) { __asm__ volatile("ldtilecfg %0" : : "m"(cfg) : "memory"); }
  template <int T>
  void Zero();
  template <int T>
  void Load(const void* base, size_t stride);
  template <int T>
  void Store(void* base, size_t stride);
  template <int C, int A, int B>
  void DotBssd();
  void Release() { _tile_release(); }
};

#define ISV_AMX_TILE_OPS(N)                                                          \
  template <>                                                                        \
  inline void HardwareTiles::Zero<N>() {                                             \
    _tile_zero(N);                                                                   \
  }                                                                                  \
  template <>                                                                        \
  inline void HardwareTiles::Load<N>(const void* base, size_t stride) {              \
    __asm__ volatile("" : : : "memory");                                             \
    _tile_loadd(N, base, stride);                                                    \
  }                                                                                  \
  template <>                                                                        \
  inline void HardwareTiles::Store<N>(void* base, size_t stride) {                   \
    _tile_stored(N, base, stride);                                                   \
  }
ISV_AMX_TILE_OPS(0)
ISV_AMX_TILE_OPS(1)
ISV_AMX_TILE_OPS(2)
ISV_AMX_TILE_OPS(3)
ISV_AMX_TILE_OPS(4)
ISV_AMX_TILE_OPS(5)
ISV_AMX_TILE_OPS(6)
ISV_AMX_TILE_OPS(7)
#undef ISV_AMX_TILE_OPS

#define ISV_AMX_DOT(C, A, B)                  \
  template <>                                 \
  inline void HardwareTiles::DotBssd<C, A, B>() { \
    _tile_dpbssd(C, A, B);                    \
  }
ISV_AMX_DOT(4, 0, 2)
ISV_AMX_DOT(5, 0, 3)
ISV_AMX_DOT(6, 1, 2)
ISV_AMX_DOT(7, 1, 3)
#undef ISV_AMX_DOT

}  // namespace

void AmxQ8_0RowsHardware(const AmxQ8_0Args& args, int64_t r0, int64_t r1) {
  HardwareTiles tiles;
  amx_q8_0::Rows(tiles, args, r0, r1, AmxQ8_0TileOrderAvx512);
}

}  // namespace isv
