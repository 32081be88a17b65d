// The AMX Q8_0 kernel on EmulatedTiles, the activation packing, and the run-time choice of the
// hardware kernel (amx_q8_0.h). Plain C++ (baseline x86-64): runs on every CPU.
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string_view>

#include "engine/kernels/amx_q8_0.h"
#include "engine/kernels/amx_q8_0_kernel.h"
#include "engine/kernels/amx_tiles.h"
#include "engine/tensor/float16.h"

namespace isv {
namespace {

constexpr int kArchReqXcompPerm = 0x1023;  // arch_prctl code (asm/prctl.h)
constexpr int kXfeatureXtiledata = 18;     // XSAVE feature number of the tile data

// CPU + OS support and the process's permission, checked once.
bool AmxSupported() {
  static const bool supported = [] {
    const CpuFeatures& f = GetCpuFeatures();
    if (!f.amx_tile || !f.amx_int8) return false;
    return syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) == 0;
  }();
  return supported;
}

}  // namespace

size_t AmxQ8_0PackedSize(int64_t n_in, int64_t n_tokens) {
  const int64_t n_groups = (n_tokens + kAmxGroupTokens - 1) / kAmxGroupTokens;
  return static_cast<size_t>(n_groups) * static_cast<size_t>(n_in / amx_q8_0::kBlock) * kAmxPackedBlockBytes;
}

void AmxQ8_0Pack(int64_t n_in, const uint8_t* act, size_t act_row, int64_t n_tokens, int64_t t0, int64_t t1,
                 uint8_t* packed) {
  const int64_t nb = n_in / amx_q8_0::kBlock;
  const int64_t g_end = (t1 + kAmxGroupTokens - 1) / kAmxGroupTokens;
  for (int64_t g = t0 / kAmxGroupTokens; g < g_end; ++g) {
    for (int64_t b = 0; b < nb; ++b) {
      uint8_t* dst = packed + (g * nb + b) * kAmxPackedBlockBytes;
      float scales[kAmxGroupTokens];
      for (int lane = 0; lane < kAmxGroupTokens; ++lane) {
        const int64_t t = g * kAmxGroupTokens + lane;
        if (t >= n_tokens) {
          for (int k4 = 0; k4 < 8; ++k4) std::memset(dst + k4 * 64 + lane * 4, 0, 4);
          scales[lane] = 0.0f;
          continue;
        }
        const uint8_t* block = act + t * act_row + b * amx_q8_0::kBlockBytes;
        uint16_t d;
        std::memcpy(&d, block, 2);
        scales[lane] = Fp16ToFp32(d);
        for (int k4 = 0; k4 < 8; ++k4) std::memcpy(dst + k4 * 64 + lane * 4, block + 2 + 4 * k4, 4);
      }
      std::memcpy(dst + 512, scales, sizeof(scales));
    }
  }
}

void AmxQ8_0RowsEmulated(const AmxQ8_0Args& args, int64_t r0, int64_t r1) {
  EmulatedTiles tiles;
  amx_q8_0::Rows(tiles, args, r0, r1);
}

bool AmxEnabled() {
  static const bool enabled = [] {
    if (const char* env = std::getenv("ISV_ISA"); env != nullptr && std::string_view(env) != "amx") return false;
    return BestIsa() == Isa::kAvx512 && AmxSupported();
  }();
  return enabled;
}

AmxQ8_0RowsFn AmxQ8_0PrefillKernel(Isa isa) {
  if (isa != Isa::kAvx512 || !AmxEnabled()) return nullptr;
  return AmxQ8_0RowsHardware;
}

}  // namespace isv
