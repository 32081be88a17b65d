// AMX tile machinery shared by the hardware and the emulated backends of the AMX kernels
// (amx_q8_0_kernel.h): the 64-byte tile configuration in the layout LDTILECFG reads, and
// EmulatedTiles, a plain C++ model of the 8 tile registers that follows Intel's documented
// semantics of LDTILECFG / TILELOADD / TILESTORED / TILEZERO / TDPBSSD / TILERELEASE.
//
// A tile backend is any type with these members (the kernel template calls nothing else):
//   void LoadConfig(const TileConfig& cfg);                 // LDTILECFG (zeroes every tile)
//   template <int T> void Zero();                           // TILEZERO tmmT
//   template <int T> void Load(const void* base, size_t stride);   // TILELOADD tmmT, [base + stride*row]
//   template <int T> void Store(void* base, size_t stride);        // TILESTORED [base + stride*row], tmmT
//   template <int C, int A, int B> void DotBssd();         // TDPBSSD tmmC, tmmA, tmmB
//   void Release();                                         // TILERELEASE
//
// EmulatedTiles checks the shape rules the hardware enforces (#UD / #GP there) and aborts with a
// message on a violation: that is a bug in the kernel, never a consequence of input data.
// Thread-safety: an EmulatedTiles is one thread's register file; use one per thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace isv {

constexpr int kAmxTiles = 8;
constexpr int kAmxMaxRows = 16;
constexpr int kAmxMaxColsb = 64;

// LDTILECFG's memory operand, palette 1 (Intel SDM vol. 2, LDTILECFG): byte 0 palette, byte 1
// start_row, bytes 2..15 reserved (0), bytes 16..47 colsb of tiles 0..15 (uint16), bytes 48..63
// rows of tiles 0..15 (uint8). Tiles with rows == 0 are unconfigured.
struct alignas(64) TileConfig {
  uint8_t palette = 1;
  uint8_t start_row = 0;
  uint8_t reserved[14] = {};
  uint16_t colsb[16] = {};
  uint8_t rows[16] = {};

  void Set(int tile, int n_rows, int n_colsb) {
    rows[tile] = static_cast<uint8_t>(n_rows);
    colsb[tile] = static_cast<uint16_t>(n_colsb);
  }
  bool operator==(const TileConfig& o) const { return std::memcmp(this, &o, sizeof(TileConfig)) == 0; }
};
static_assert(sizeof(TileConfig) == 64, "LDTILECFG reads exactly 64 bytes");

class EmulatedTiles {
 public:
  void LoadConfig(const TileConfig& cfg) {
    Require(cfg.palette == 1 && cfg.start_row == 0, "LDTILECFG: palette must be 1 and start_row 0");
    for (uint8_t b : cfg.reserved) Require(b == 0, "LDTILECFG: reserved bytes must be 0");
    for (int t = 0; t < 16; ++t) {
      if (t >= kAmxTiles) {
        Require(cfg.rows[t] == 0 && cfg.colsb[t] == 0, "LDTILECFG: tiles 8..15 do not exist in palette 1");
        continue;
      }
      Require(cfg.rows[t] <= kAmxMaxRows && cfg.colsb[t] <= kAmxMaxColsb, "LDTILECFG: tile larger than 16 x 64");
      Require((cfg.rows[t] == 0) == (cfg.colsb[t] == 0), "LDTILECFG: rows and colsb must both be 0 or neither");
    }
    cfg_ = cfg;
    configured_ = true;
    std::memset(data_, 0, sizeof(data_));
  }

  template <int T>
  void Zero() {
    Tile<T>();
    std::memset(data_[T], 0, sizeof(data_[T]));
  }

  // Rows [0, rows) get colsb bytes from base + r * stride; the rest of the tile becomes 0.
  template <int T>
  void Load(const void* base, size_t stride) {
    Tile<T>();
    std::memset(data_[T], 0, sizeof(data_[T]));
    for (int r = 0; r < cfg_.rows[T]; ++r)
      std::memcpy(data_[T][r], static_cast<const uint8_t*>(base) + r * stride, cfg_.colsb[T]);
  }

  // Writes rows [0, rows) x colsb bytes to base + r * stride, nothing else.
  template <int T>
  void Store(void* base, size_t stride) const {
    Tile<T>();
    for (int r = 0; r < cfg_.rows[T]; ++r)
      std::memcpy(static_cast<uint8_t*>(base) + r * stride, data_[T][r], cfg_.colsb[T]);
  }

  // C[m].dword[n] += sum_{k < colsb(A)/4} sum_{i < 4} int8(A[m].byte[4k+i]) * int8(B[k].byte[4n+i])
  // for m < rows(C), n < colsb(C)/4, with 32-bit wrap-around. Rows >= rows(C) and bytes >= colsb(C)
  // become 0 (the documented write_row_and_zero / zero_upper_rows).
  template <int C, int A, int B>
  void DotBssd() {
    static_assert(C != A && C != B && A != B, "TDPBSSD operands must be distinct tiles");
    Tile<C>();
    Tile<A>();
    Tile<B>();
    Require(cfg_.rows[C] == cfg_.rows[A], "TDPBSSD: rows(C) != rows(A)");
    Require(cfg_.colsb[A] == 4 * cfg_.rows[B], "TDPBSSD: colsb(A) != 4 * rows(B)");
    Require(cfg_.colsb[C] == cfg_.colsb[B], "TDPBSSD: colsb(C) != colsb(B)");
    Require(cfg_.colsb[C] % 4 == 0 && cfg_.colsb[A] % 4 == 0, "TDPBSSD: colsb not a multiple of 4");
    uint8_t out[kAmxMaxRows][kAmxMaxColsb] = {};
    for (int m = 0; m < cfg_.rows[C]; ++m) {
      for (int n = 0; n < cfg_.colsb[C] / 4; ++n) {
        uint32_t acc = Dword(data_[C][m], n);
        for (int k = 0; k < cfg_.colsb[A] / 4; ++k) {
          for (int i = 0; i < 4; ++i) {
            const int32_t a = static_cast<int8_t>(data_[A][m][4 * k + i]);
            const int32_t b = static_cast<int8_t>(data_[B][k][4 * n + i]);
            acc += static_cast<uint32_t>(a * b);
          }
        }
        std::memcpy(&out[m][4 * n], &acc, 4);
      }
    }
    std::memcpy(data_[C], out, sizeof(out));
  }

  void Release() {
    configured_ = false;
    cfg_ = TileConfig();
    std::memset(data_, 0, sizeof(data_));
  }

  const TileConfig& config() const { return cfg_; }

 private:
  static void Require(bool ok, const char* what) {
    if (ok) return;
    std::fprintf(stderr, "EmulatedTiles: %s\n", what);
    std::abort();
  }
  template <int T>
  void Tile() const {
    static_assert(T >= 0 && T < kAmxTiles, "tile number out of range");
    Require(configured_, "tile instruction before LDTILECFG");
    Require(cfg_.rows[T] != 0, "tile instruction on an unconfigured tile");
  }
  static uint32_t Dword(const uint8_t* row, int n) {
    uint32_t v;
    std::memcpy(&v, row + 4 * n, 4);
    return v;
  }

  TileConfig cfg_;
  bool configured_ = false;
  uint8_t data_[kAmxTiles][kAmxMaxRows][kAmxMaxColsb] = {};
};

}  // namespace isv
