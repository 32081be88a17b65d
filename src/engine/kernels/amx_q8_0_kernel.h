// The AMX Q8_0 kernel (amx_q8_0.h), written once over a tile backend (amx_tiles.h lists the
// members a backend has). Included only by amx_q8_0_amx.cc (hardware) and amx_q8_0_emulated.cc.
//
// Step: 2 A tiles (weight rows r..r+15, r+16..r+31) x 2 B tiles (two groups of 16 tokens) -> 4 C
// tiles, one Q8_0 block at a time: zero C, TDPBSSD, store C, then the float epilogue
// acc[row][token] = fma(d_w * d_a, float(isum), acc) into a 32 x 32 float block kept on the stack.
// Row tails (fewer than 32 rows left) use a configuration with fewer rows in the A and C tiles,
// so no weight byte past row r1 is read; token tails are the zero lanes of the packed groups.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "engine/kernels/amx_q8_0.h"
#include "engine/kernels/amx_tiles.h"
#include "engine/tensor/float16.h"

namespace isv {
namespace amx_q8_0 {

constexpr int kBlock = 32;           // Q8_0 elements per block
constexpr size_t kBlockBytes = 34;   // fp16 scale + 32 quants
constexpr int kStepRows = 32;        // 2 A tiles
constexpr int kStepGroups = 2;       // 2 B tiles
// Token groups processed against each row range: about this many bytes of packed activations,
// which stay in L2 while the rows of the range pass over them (as kTokenBlockBytes in matmul.cc).
constexpr size_t kGroupBlockBytes = 256 << 10;

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
void Step(Tiles& tiles, const AmxQ8_0Args& args, int64_t r, int n_rows, int64_t g, int n_groups, const float* dw) {
  const int64_t nb = args.n_in / kBlock;
  const size_t group_bytes = static_cast<size_t>(nb) * kAmxPackedBlockBytes;
  const bool two_a = n_rows > 16, two_b = n_groups > 1;
  const int rows0 = std::min(n_rows, 16), rows1 = n_rows - rows0;
  float acc[kStepRows][32] = {};
  alignas(64) int32_t c[4][16][16];
  const uint8_t* w_rows = args.w + r * args.row_bytes;
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* wb = w_rows + b * kBlockBytes;
    const uint8_t* pb = args.packed + g * group_bytes + b * kAmxPackedBlockBytes;
    tiles.template Zero<4>();
    tiles.template Load<0>(wb + 2, args.row_bytes);
    tiles.template Load<2>(pb, 64);
    tiles.template DotBssd<4, 0, 2>();
    if (two_b) {
      tiles.template Zero<5>();
      tiles.template Load<3>(pb + group_bytes, 64);
      tiles.template DotBssd<5, 0, 3>();
    }
    if (two_a) {
      tiles.template Zero<6>();
      tiles.template Load<1>(wb + 2 + 16 * args.row_bytes, args.row_bytes);
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
// once per row step instead of once per group pair).
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

template <class Tiles>
void Rows(Tiles& tiles, const AmxQ8_0Args& args, int64_t r0, int64_t r1) {
  if (r1 <= r0 || args.n_tokens <= 0) return;
  const int64_t nb = args.n_in / kBlock;
  const int64_t n_groups = (args.n_tokens + kAmxGroupTokens - 1) / kAmxGroupTokens;
  const size_t group_bytes = static_cast<size_t>(nb) * kAmxPackedBlockBytes;
  const int64_t groups_per_block =
      std::max<int64_t>(kStepGroups, static_cast<int64_t>(kGroupBlockBytes / group_bytes) / kStepGroups * kStepGroups);
  thread_local std::vector<float> dw;  // grows to the longest rows seen, then no allocation
  dw.resize(static_cast<size_t>(nb) * kStepRows);
  int config_rows = 0;
  for (int64_t gb = 0; gb < n_groups; gb += groups_per_block) {
    const int64_t ge = std::min(n_groups, gb + groups_per_block);
    for (int64_t r = r0; r < r1; r += kStepRows) {
      const int n_rows = static_cast<int>(std::min<int64_t>(kStepRows, r1 - r));
      if (n_rows != config_rows) {
        tiles.LoadConfig(StepConfig(n_rows));
        config_rows = n_rows;
      }
      ScalesOf(args, r, n_rows, dw.data());
      for (int64_t g = gb; g < ge; g += kStepGroups) {
        Step(tiles, args, r, n_rows, g, static_cast<int>(std::min<int64_t>(kStepGroups, ge - g)), dw.data());
      }
    }
  }
  tiles.Release();
}

}  // namespace amx_q8_0
}  // namespace isv
