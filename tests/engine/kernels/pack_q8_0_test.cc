// PackWords and PackQ8_0x16: the scalar references against the layout written out here from pack_q8_0.h,
// and the AVX2 / AVX-512 ones against the scalar ones, byte for byte, on random bytes (every quant byte value,
// lanes at uneven places, offsets, both flips, random scales).
#include "engine/kernels/pack_q8_0.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "engine/kernels/cpu_features.h"
#include "engine/tensor/float16.h"

namespace isv {
namespace {

constexpr int kLanes = 16;
constexpr size_t kBlockBytes = 34;
constexpr size_t kOutBytes = 576;

// 16 random 34-byte blocks, each at its own place in `storage` (lanes need not be evenly spaced).
std::vector<const uint8_t*> RandomBlocks(std::mt19937& rng, std::vector<uint8_t>& storage) {
  storage.resize(kLanes * 3 * kBlockBytes);
  for (uint8_t& b : storage) b = static_cast<uint8_t>(rng());
  std::vector<const uint8_t*> blocks(kLanes);
  for (int l = 0; l < kLanes; ++l) {
    const size_t at = (static_cast<size_t>(l) * 3 + rng() % 2) * kBlockBytes + rng() % 3;
    uint8_t* block = storage.data() + at;
    const uint16_t d = Fp32ToFp16(std::ldexp(static_cast<float>(rng() % 1000 + 1), -static_cast<int>(rng() % 20)));
    std::memcpy(block, &d, 2);
    blocks[l] = block;
  }
  return blocks;
}

TEST(PackQ8_0Test, ScalarWritesTheWordRowLayout) {
  std::mt19937 rng(5);
  std::vector<uint8_t> storage;
  const std::vector<const uint8_t*> blocks = RandomBlocks(rng, storage);
  for (uint8_t flip : {uint8_t{0}, uint8_t{0x80}}) {
    std::vector<uint8_t> out(kOutBytes, 0xCD);
    PackQ8_0x16Scalar(blocks.data(), flip, out.data());
    for (int l = 0; l < kLanes; ++l) {
      for (int e = 0; e < 32; ++e) {  // quant e of lane l: row e / 4, byte 4 l + e % 4
        ASSERT_EQ(out[64 * (e / 4) + 4 * l + e % 4], static_cast<uint8_t>(blocks[l][2 + e] ^ flip))
            << "lane " << l << " quant " << e << " flip " << int{flip};
      }
      uint16_t d;
      std::memcpy(&d, blocks[l], 2);
      float scale;
      std::memcpy(&scale, out.data() + 512 + 4 * l, 4);
      ASSERT_EQ(scale, Fp16ToFp32(d)) << "lane " << l;
    }
  }
}

TEST(PackQ8_0Test, SimdEqualsScalar) {
  if (BestIsa() < Isa::kAvx2) GTEST_SKIP() << "no AVX2 level on this CPU";
  std::mt19937 rng(7);
  for (int rep = 0; rep < 200; ++rep) {
    std::vector<uint8_t> storage;
    const std::vector<const uint8_t*> blocks = RandomBlocks(rng, storage);
    const uint8_t flip = rep % 2 == 0 ? 0x80 : 0;
    std::vector<uint8_t> want(kOutBytes, 0xCD), got(kOutBytes, 0x3A);
    PackQ8_0x16Scalar(blocks.data(), flip, want.data());
    PackQ8_0x16Avx2(blocks.data(), flip, got.data());
    ASSERT_EQ(std::memcmp(want.data(), got.data(), kOutBytes), 0) << "AVX2 rep " << rep;
    if (BestIsa() < Isa::kAvx512) continue;
    std::fill(got.begin(), got.end(), 0x3A);
    PackQ8_0x16Avx512(blocks.data(), flip, got.data());
    ASSERT_EQ(std::memcmp(want.data(), got.data(), kOutBytes), 0) << "AVX-512 rep " << rep;
  }
}

TEST(PackQ8_0Test, WordsScalarWritesTheWordRowsAndSimdEqualsIt) {
  std::mt19937 rng(9);
  std::vector<uint8_t> storage(kLanes * 400);
  for (uint8_t& b : storage) b = static_cast<uint8_t>(rng());
  const bool avx512 = BestIsa() >= Isa::kAvx512;
  for (int rep = 0; rep < 100; ++rep) {
    const uint8_t* src[kLanes];
    for (int l = 0; l < kLanes; ++l) src[l] = storage.data() + l * 400 + rng() % 40;
    const size_t offset = rng() % 300;
    const uint8_t flip = rep % 2 == 0 ? 0x80 : 0;
    std::vector<uint8_t> want(512, 0xCD), got(512, 0x3A);
    PackWordsScalar(src, offset, flip, want.data());
    for (int l = 0; l < kLanes; ++l) {
      for (int e = 0; e < 32; ++e) {
        ASSERT_EQ(want[64 * (e / 4) + 4 * l + e % 4], static_cast<uint8_t>(src[l][offset + e] ^ flip))
            << "lane " << l << " byte " << e << " rep " << rep;
      }
    }
    if (BestIsa() < Isa::kAvx2) continue;
    PackWordsAvx2(src, offset, flip, got.data());
    ASSERT_EQ(want, got) << "AVX2 rep " << rep;
    if (!avx512) continue;
    std::fill(got.begin(), got.end(), 0x3A);
    PackWordsAvx512(src, offset, flip, got.data());
    ASSERT_EQ(want, got) << "AVX-512 rep " << rep;
  }
}

}  // namespace
}  // namespace isv
