// The AMX Q8_0 kernel on EmulatedTiles, the activation packing, and the run-time choice of the
// hardware kernel (amx_q8_0.h). Plain C++ (baseline x86-64): runs on every CPU.
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <vector>

#include "engine/kernels/amx_q8_0.h"
#include "engine/kernels/amx_q8_0_kernel.h"
#include "engine/kernels/amx_tiles.h"
#include "engine/kernels/pack_q8_0.h"
#include "engine/kernels/rows8_layout.h"
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

// The hardware kernel against the emulated one on a small fixed problem covering the tile shapes a
// step uses (a full and a partial second weight tile, a partial token group, two blocks), with the
// weights in the file's order and in kRows8. Run once, before the first use: a hardware kernel that
// disagrees with the tests' model is never used.
bool HardwareAgreesWithEmulation() {
  constexpr int64_t kIn = 64, kOut = 40, kTokens = 20;
  const size_t row = static_cast<size_t>(kIn / amx_q8_0::kBlock) * amx_q8_0::kBlockBytes;
  std::vector<uint8_t> w(row * kOut), act(row * kTokens);
  uint32_t state = 12345;
  auto next = [&state] { return state = state * 1664525u + 1013904223u; };
  auto fill = [&](std::vector<uint8_t>& rows) {
    for (size_t off = 0; off < rows.size(); off += amx_q8_0::kBlockBytes) {
      const uint16_t d = static_cast<uint16_t>(0x2000 + (next() >> 20) % 0x1000);  // finite fp16 scales
      std::memcpy(&rows[off], &d, 2);
      for (int k = 0; k < amx_q8_0::kBlock; ++k) rows[off + 2 + k] = static_cast<uint8_t>(next() >> 24);
    }
  };
  fill(w);
  fill(act);
  std::vector<uint8_t> storage(AmxQ8_0PackedSize(kIn, kTokens) + 64);
  uint8_t* packed = storage.data() + (64 - reinterpret_cast<uintptr_t>(storage.data()) % 64) % 64;
  AmxQ8_0Pack(kIn, act.data(), row, kTokens, 0, kTokens, packed);
  std::vector<float> hw(kOut * kTokens), emu(kOut * kTokens);
  AmxQ8_0Args args;
  args.n_in = kIn;
  args.w = w.data();
  args.row_bytes = row;
  args.packed = packed;
  args.n_tokens = kTokens;
  args.y_stride = kOut;
  args.y = hw.data();
  AmxQ8_0RowsHardware(args, 0, kOut);
  args.y = emu.data();
  AmxQ8_0RowsEmulated(args, 0, kOut);
  if (std::memcmp(hw.data(), emu.data(), hw.size() * sizeof(float)) != 0) return false;
  RepackRows8(GgmlType::kQ8_0, kIn, kOut, w.data());
  args.rows8 = true;
  std::vector<float> hw8(kOut * kTokens);
  args.y = hw8.data();
  AmxQ8_0RowsHardware(args, 0, kOut);
  return std::memcmp(hw8.data(), emu.data(), hw8.size() * sizeof(float)) == 0;
}

}  // namespace

bool AmxHardwareUsable() { return BestIsa() >= Isa::kAvx512 && AmxSupported(); }

size_t AmxQ8_0PackedSize(int64_t n_in, int64_t n_tokens) {
  const int64_t n_groups = (n_tokens + kAmxGroupTokens - 1) / kAmxGroupTokens;
  return static_cast<size_t>(n_groups) * static_cast<size_t>(n_in / amx_q8_0::kBlock) * kAmxPackedBlockBytes;
}

void AmxQ8_0Pack(int64_t n_in, const uint8_t* act, size_t act_row, int64_t n_tokens, int64_t t0, int64_t t1,
                 uint8_t* packed) {
  static const uint8_t kZeroBlock[amx_q8_0::kBlockBytes] = {};  // lanes past n_tokens: quants 0, scale 0
  const PackQ8_0x16Fn pack = PackQ8_0x16Kernel();
  const int64_t nb = n_in / amx_q8_0::kBlock;
  const int64_t g_end = (t1 + kAmxGroupTokens - 1) / kAmxGroupTokens;
  for (int64_t g = t0 / kAmxGroupTokens; g < g_end; ++g) {
    const uint8_t* blocks[kAmxGroupTokens];
    for (int lane = 0; lane < kAmxGroupTokens; ++lane) {
      const int64_t t = g * kAmxGroupTokens + lane;
      blocks[lane] = t < n_tokens ? act + t * act_row : kZeroBlock;
    }
    for (int64_t b = 0; b < nb; ++b) {
      pack(blocks, 0, packed + (g * nb + b) * kAmxPackedBlockBytes);
      for (int lane = 0; lane < kAmxGroupTokens; ++lane) {
        if (blocks[lane] != kZeroBlock) blocks[lane] += amx_q8_0::kBlockBytes;
      }
    }
  }
}

void AmxQ8_0TileOrder(const AmxQ8_0Args& args, int64_t r, int n_rows, uint8_t* wt, float* dw) {
  constexpr size_t kGroupBlockBytes = kRows8Group * amx_q8_0::kBlockBytes;
  const int64_t nb = args.n_in / amx_q8_0::kBlock;
  for (int k = 0; k < n_rows / kRows8Group; ++k) {
    const uint8_t* group = args.w + (r + k * kRows8Group) * args.row_bytes;
    for (int64_t b = 0; b < nb; ++b) {
      const uint8_t* gb = group + b * kGroupBlockBytes;
      uint8_t* dst = wt + b * kAmxTileOrderBlockBytes + k * kRows8Group * amx_q8_0::kBlock;
      float* d = dw + b * amx_q8_0::kStepRows + k * kRows8Group;
      for (int m = 0; m < kRows8Group; ++m) {
        uint16_t h;
        std::memcpy(&h, gb + 2 * m, 2);
        d[m] = Fp16ToFp32(h);
        // Row m's quant bytes 8 p .. 8 p + 7 at kRows8Q8QsOffset + 64 p + 8 m.
        for (int p = 0; p < 4; ++p) {
          std::memcpy(dst + m * amx_q8_0::kBlock + 8 * p, gb + kRows8Q8QsOffset + 64 * p + 8 * m, 8);
        }
      }
    }
  }
}

void AmxQ8_0RowsEmulated(const AmxQ8_0Args& args, int64_t r0, int64_t r1) {
  EmulatedTiles tiles;
  amx_q8_0::Rows(tiles, args, r0, r1, AmxQ8_0TileOrder);
}

bool AmxEnabled() {
  static const bool enabled = [] {
    if (const char* env = std::getenv("ISV_ISA"); env != nullptr && std::string_view(env) != "amx") return false;
    if (!AmxHardwareUsable()) return false;
    if (!HardwareAgreesWithEmulation()) {
      std::fprintf(stderr, "warning: the AMX prompt kernel disagrees with its emulation on this CPU; AMX not used\n");
      return false;
    }
    return true;
  }();
  return enabled;
}

AmxQ8_0RowsFn AmxQ8_0PrefillKernel(Isa isa) {
  if (isa < Isa::kAvx512 || !AmxEnabled()) return nullptr;
  return AmxQ8_0RowsHardware;
}

}  // namespace isv
