// The AMX Q8_0 kernel (amx_q8_0.h), written once over a tile backend (amx_tiles.h lists the
// members a backend has). Included only by amx_q8_0_amx.cc (hardware) and amx_q8_0_emulated.cc.
//
// Step: 2 A tiles (weight rows r..r+15, r+16..r+31) x 2 B tiles (two groups of 16 tokens) -> 4 C
// tiles, one Q8_0 block at a time: zero C, TDPBSSD, store C, then the float epilogue
// acc[row][token] = fma(d_w * d_a, float(isum), acc) into a 32 x 32 float block kept on the stack.
// Token groups come in blocks of up to kTokenBlockBytes of packed activations (~1.1 bytes per token
// and input; 512 tokens x 2048 inputs: 1.2 MB, one block); each row step (32 rows) runs against every
// group of the block before the next, so weights are read once per block and the block's activations
// once per step, from L2 or L3. A tile source: the file's order in place (stride = the row size), or,
// for a kRows8 matrix, this thread's copy of the step's rows in tile order (row m's 32 quants of block
// b at b * 1024 + 32 m), made once per step and token block. Row tails (fewer than 32 rows left) use a
// configuration with fewer rows in the A and C tiles, so no weight byte past row r1 is read; token
// tails are the zero lanes of the packed groups.
#pragma once

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "engine/kernels/amx_q8_0.h"
#include "engine/kernels/amx_tiles.h"
#include "engine/tensor/float16.h"

namespace isv {
namespace amx_q8_0 {
// Internal linkage: each including file (one compiled for AMX, one for the baseline) keeps its own copies.
namespace {

constexpr int kBlock = 32;           // Q8_0 elements per block
constexpr size_t kBlockBytes = 34;   // fp16 scale + 32 quants
constexpr int kStepRows = kAmxStepRows;
constexpr int kStepGroups = 2;       // 2 B tiles
// Packed activations per pass over the rows (a block). Larger than the 256 KB (L2) of the kernel's first
// version, so that a kRows8 step is copied once per call at a usual batch (not measured on AMX yet).
constexpr size_t kTokenBlockBytes = 4 << 20;
static_assert(kStepRows * kBlock == kAmxTileOrderBlockBytes);  // a step's block in tile order

// Where a step's A tiles are read: row m of block b at base + b * block_stride + m * row_stride.
struct ASource {
  const uint8_t* base = nullptr;
  size_t block_stride = 0;
  size_t row_stride = 0;
};

// Tiles 0, 1: A (rows x 32 bytes); 2, 3: B (8 x 64); 4, 5: C of A0 (rows x 64); 6, 7: C of A1.
inline TileConfig StepConfig(int n_rows) {
  const int rows0 = std::min(n_rows, 16), rows1 = n_rows - rows0;
  TileConfig cfg;
  cfg.Set(0, rows0, 32);
  cfg.Set(2, 8, 64);
  cfg.Set(3, 8, 64);
  cfg.Set(4, rows0, 64);
  cfg.Set(5, rows0, 64);
  if (rows1 > 0) {
    cfg.Set(1, rows1, 32);
    cfg.Set(6, rows1, 64);
    cfg.Set(7, rows1, 64);
  }
  return cfg;
}

// acc[m][col0 + n] = fma(dw[m] * da[n], float(c[m][n]), acc[m][col0 + n]) for m < n_rows, n < 16.
inline void Epilogue(const int32_t (*c)[16], const float* dw, const float* da, int n_rows, float (*acc)[32],
                     int col0) {
  for (int m = 0; m < n_rows; ++m) {
    const float d = dw[m];
    float* a = acc[m] + col0;
    for (int n = 0; n < 16; ++n) a[n] = std::fma(d * da[n], static_cast<float>(c[m][n]), a[n]);
  }
}

// Rows [r, r + n_rows) x groups [g, g + n_groups) over all blocks, written to y. dw: the rows'
// weight scales as float, kStepRows per block (ScalesOf).
template <class Tiles>
void Step(Tiles& tiles, const AmxQ8_0Args& args, const ASource& a, int64_t r, int n_rows, int64_t g, int n_groups,
          const float* dw) {
  const int64_t nb = args.n_in / kBlock;
  const size_t group_bytes = static_cast<size_t>(nb) * kAmxPackedBlockBytes;
  const bool two_a = n_rows > 16, two_b = n_groups > 1;
  const int rows0 = std::min(n_rows, 16), rows1 = n_rows - rows0;
  float acc[kStepRows][32] = {};
  alignas(64) int32_t c[4][16][16];
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* wb = a.base + b * a.block_stride;
    const uint8_t* pb = args.packed + g * group_bytes + b * kAmxPackedBlockBytes;
    tiles.template Zero<4>();
    tiles.template Load<0>(wb, a.row_stride);
    tiles.template Load<2>(pb, 64);
    tiles.template DotBssd<4, 0, 2>();
    if (two_b) {
      tiles.template Zero<5>();
      tiles.template Load<3>(pb + group_bytes, 64);
      tiles.template DotBssd<5, 0, 3>();
    }
    if (two_a) {
      tiles.template Zero<6>();
      tiles.template Load<1>(wb + 16 * a.row_stride, a.row_stride);
      tiles.template DotBssd<6, 1, 2>();
      if (two_b) {
        tiles.template Zero<7>();
        tiles.template DotBssd<7, 1, 3>();
      }
    }
    const float* dwb = dw + b * kStepRows;
    float da[2][16];
    std::memcpy(da[0], pb + 512, sizeof(da[0]));
    tiles.template Store<4>(c[0], 64);
    Epilogue(c[0], dwb, da[0], rows0, acc, 0);
    if (two_b) {
      std::memcpy(da[1], pb + group_bytes + 512, sizeof(da[1]));
      tiles.template Store<5>(c[1], 64);
      Epilogue(c[1], dwb, da[1], rows0, acc, 16);
    }
    if (two_a) {
      tiles.template Store<6>(c[2], 64);
      Epilogue(c[2], dwb + 16, da[0], rows1, acc + 16, 0);
      if (two_b) {
        tiles.template Store<7>(c[3], 64);
        Epilogue(c[3], dwb + 16, da[1], rows1, acc + 16, 16);
      }
    }
  }
  const int64_t t0 = g * kAmxGroupTokens;
  const int64_t t1 = std::min(args.n_tokens, t0 + int64_t{n_groups} * kAmxGroupTokens);
  for (int64_t t = t0; t < t1; ++t) {
    float* yt = args.y + t * args.y_stride + r;
    for (int m = 0; m < n_rows; ++m) yt[m] = acc[m][t - t0];
  }
}

// dw[b * kStepRows + m] = fp32 scale of block b of row r + m, for m < n_rows, b < nb (converted
// once per row step instead of once per group pair). File order.
inline void ScalesOf(const AmxQ8_0Args& args, int64_t r, int n_rows, float* dw) {
  const int64_t nb = args.n_in / kBlock;
  for (int m = 0; m < n_rows; ++m) {
    const uint8_t* row = args.w + (r + m) * args.row_bytes;
    for (int64_t b = 0; b < nb; ++b) {
      uint16_t h;
      std::memcpy(&h, row + b * kBlockBytes, 2);
      dw[b * kStepRows + m] = Fp16ToFp32(h);
    }
  }
}

// tile_order: the kRows8 step copy (AmxQ8_0TileOrder or its AVX-512 twin; unused for the file order).
template <class Tiles>
void Rows(Tiles& tiles, const AmxQ8_0Args& args, int64_t r0, int64_t r1, AmxQ8_0TileOrderFn tile_order) {
  if (r1 <= r0 || args.n_tokens <= 0) return;
  assert(!args.rows8 || (r0 % 8 == 0 && r1 % 8 == 0));  // whole kRows8 groups
  const int64_t nb = args.n_in / kBlock;
  const int64_t n_groups = (args.n_tokens + kAmxGroupTokens - 1) / kAmxGroupTokens;
  const size_t group_bytes = static_cast<size_t>(nb) * kAmxPackedBlockBytes;
  const int64_t groups_per_block =
      std::max<int64_t>(kStepGroups, static_cast<int64_t>(kTokenBlockBytes / group_bytes) / kStepGroups * kStepGroups);
  thread_local std::vector<float> dw;    // grow to the longest rows seen, then no allocation
  thread_local std::vector<uint8_t> wt;  // kRows8 only
  dw.resize(static_cast<size_t>(nb) * kStepRows);
  if (args.rows8) wt.resize(static_cast<size_t>(nb) * kAmxTileOrderBlockBytes);
  int config_rows = 0;
  for (int64_t gb = 0; gb < n_groups; gb += groups_per_block) {
    const int64_t ge = std::min(n_groups, gb + groups_per_block);
    for (int64_t r = r0; r < r1; r += kStepRows) {
      const int n_rows = static_cast<int>(std::min<int64_t>(kStepRows, r1 - r));
      if (n_rows != config_rows) {
        tiles.LoadConfig(StepConfig(n_rows));
        config_rows = n_rows;
      }
      ASource a;
      if (args.rows8) {
        tile_order(args, r, n_rows, wt.data(), dw.data());
        a = {wt.data(), kAmxTileOrderBlockBytes, kBlock};
      } else {
        ScalesOf(args, r, n_rows, dw.data());
        a = {args.w + r * args.row_bytes + 2, kBlockBytes, args.row_bytes};
      }
      for (int64_t g = gb; g < ge; g += kStepGroups) {
        Step(tiles, args, a, r, n_rows, g, static_cast<int>(std::min<int64_t>(kStepGroups, ge - g)), dw.data());
      }
    }
  }
  tiles.Release();
}

}  // namespace
}  // namespace amx_q8_0
}  // namespace isv
