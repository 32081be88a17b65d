// EmulatedTiles (kernels/amx_tiles.h) against Intel's documented semantics, independently of any
// kernel: TDPBSSD against a naive triple loop over int8 operands (including -128 and int32
// wrap-around), TILELOADD / TILESTORED with a stride and partial shapes, the zeroing rules, and
// the shape checks the hardware enforces.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "engine/kernels/amx_tiles.h"

namespace isv {
namespace {

// Fills rows x colsb bytes at `base` (stride apart) with random bytes, -128 and 127 included.
void FillRandom(std::vector<uint8_t>& buf, std::mt19937& rng) {
  std::uniform_int_distribution<int> byte(0, 255);
  for (uint8_t& b : buf) b = static_cast<uint8_t>(byte(rng));
}

int32_t Dword(const uint8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

TEST(AmxTilesTest, DotBssdMatchesNaiveLoopAtManyShapes) {
  std::mt19937 rng(11);
  int checked = 0;
  // (rows of A and C, rows of B = colsb(A) / 4, columns = colsb(B) / 4 = colsb(C) / 4)
  for (int m : {1, 3, 16}) {
    for (int k4 : {1, 5, 8, 16}) {
      for (int n : {1, 7, 16}) {
        const size_t a_stride = 4 * k4 + 3, b_stride = 4 * n + 5, c_stride = 4 * n + 8;
        std::vector<uint8_t> a(m * a_stride), b(k4 * b_stride), c(m * c_stride);
        FillRandom(a, rng);
        FillRandom(b, rng);
        FillRandom(c, rng);  // random int32 accumulators: the sums wrap around
        a[0] = 0x80;         // -128 x -128
        b[0] = 0x80;
        TileConfig cfg;
        cfg.Set(0, m, 4 * k4);
        cfg.Set(1, k4, 4 * n);
        cfg.Set(2, m, 4 * n);
        EmulatedTiles tiles;
        tiles.LoadConfig(cfg);
        tiles.Load<0>(a.data(), a_stride);
        tiles.Load<1>(b.data(), b_stride);
        tiles.Load<2>(c.data(), c_stride);
        tiles.DotBssd<2, 0, 1>();
        std::vector<uint8_t> got(m * c_stride, 0xEE);
        tiles.Store<2>(got.data(), c_stride);
        for (int i = 0; i < m; ++i) {
          for (int j = 0; j < n; ++j) {
            int64_t sum = Dword(&c[i * c_stride + 4 * j]);
            for (int k = 0; k < 4 * k4; ++k) {
              sum += int64_t{static_cast<int8_t>(a[i * a_stride + k])} *
                     static_cast<int8_t>(b[(k / 4) * b_stride + 4 * j + k % 4]);
            }
            const int32_t want = static_cast<int32_t>(static_cast<uint32_t>(static_cast<uint64_t>(sum)));
            ASSERT_EQ(Dword(&got[i * c_stride + 4 * j]), want) << m << "x" << k4 << "x" << n << " at " << i << "," << j;
          }
          for (size_t x = 4 * n; x < c_stride; ++x) ASSERT_EQ(got[i * c_stride + x], 0xEE) << "store past colsb";
        }
        ++checked;
      }
    }
  }
  EXPECT_EQ(checked, 36);
}

TEST(AmxTilesTest, LoadStoreZeroAndReleaseFollowTheDocumentedShapes) {
  TileConfig cfg;
  cfg.Set(3, 5, 12);
  cfg.Set(4, 16, 64);
  EmulatedTiles tiles;
  tiles.LoadConfig(cfg);
  std::vector<uint8_t> src(16 * 100);
  for (size_t i = 0; i < src.size(); ++i) src[i] = static_cast<uint8_t>(i * 7 + 1);
  tiles.Load<3>(src.data() + 9, 100);
  std::vector<uint8_t> out(5 * 20, 0xAB);
  tiles.Store<3>(out.data(), 20);
  for (int r = 0; r < 5; ++r) {
    for (int x = 0; x < 20; ++x) {
      const uint8_t want = x < 12 ? src[9 + r * 100 + x] : 0xAB;
      ASSERT_EQ(out[r * 20 + x], want) << "row " << r << " byte " << x;
    }
  }
  // A 16 x 64 tile loaded, then zeroed.
  tiles.Load<4>(src.data(), 100);
  tiles.Zero<4>();
  std::vector<uint8_t> z(16 * 64, 0x55);
  tiles.Store<4>(z.data(), 64);
  for (uint8_t v : z) ASSERT_EQ(v, 0);
  // TDPBSSD zeroes C's rows beyond rows(C) and bytes beyond colsb(C); LDTILECFG zeroes all tiles.
  tiles.LoadConfig(cfg);
  tiles.Store<3>(out.data(), 20);
  for (int r = 0; r < 5; ++r) {
    for (int x = 0; x < 12; ++x) ASSERT_EQ(out[r * 20 + x], 0);
  }
  tiles.Release();
  EXPECT_EQ(tiles.config().rows[3], 0);
}

// Each runs instructions the hardware would fault on.
void DotWithMismatchedB() {
  TileConfig cfg;
  cfg.Set(0, 16, 32);  // A: 16 x 32 bytes
  cfg.Set(1, 4, 64);   // B with 4 rows: colsb(A) != 4 * rows(B)
  cfg.Set(2, 16, 64);
  EmulatedTiles t;
  t.LoadConfig(cfg);
  t.DotBssd<2, 0, 1>();
}
void ConfigureOversizedTile() {
  TileConfig big;
  big.Set(0, 17, 64);
  EmulatedTiles t;
  t.LoadConfig(big);
}
void ZeroBeforeConfig() {
  EmulatedTiles t;
  t.Zero<0>();
}
void LoadUnconfiguredTile() {
  TileConfig cfg;
  cfg.Set(0, 16, 64);
  EmulatedTiles t;
  t.LoadConfig(cfg);
  uint8_t buf[64] = {};
  t.Load<5>(buf, 0);
}

TEST(AmxTilesDeathTest, ShapeRulesAreEnforced) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(DotWithMismatchedB(), "colsb\\(A\\) != 4 \\* rows\\(B\\)");
  EXPECT_DEATH(ConfigureOversizedTile(), "larger than 16 x 64");
  EXPECT_DEATH(ZeroBeforeConfig(), "before LDTILECFG");
  EXPECT_DEATH(LoadUnconfiguredTile(), "unconfigured tile");
}

}  // namespace
}  // namespace isv
