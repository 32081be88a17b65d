// The AMX Q8_0 prefill kernel (kernels/amx_q8_0.h) against a scalar oracle that spells out its
// float contract: per (row, token), acc = fma(fp32(d_w) * fp32(d_a), float(isum), acc) block by
// block. The emulated tiles run everywhere; on a CPU with usable AMX the hardware kernel must equal
// the emulated one bit for bit (skipped elsewhere). Also: the activation packing, and MatMul's
// use of the kernel for the prefill rows only.
#include "engine/kernels/amx_q8_0.h"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "core/thread_pool.h"
#include "engine/kernels/kernel_test_util.h"
#include "engine/kernels/kernels.h"
#include "engine/kernels/matmul.h"
#include "engine/kernels/prefill.h"
#include "engine/kernels/rows8_layout.h"
#include "engine/tensor/float16.h"

namespace isv {
namespace {

constexpr size_t kQ8Block = 34;
constexpr int64_t kNOut[] = {1, 15, 16, 17, 48, 100};
constexpr int64_t kNTokens[] = {1, 5, 16, 17, 40};
constexpr int64_t kNIn[] = {32, 96, 896};

// n_rows Q8_0 rows of random raw blocks: any int8 quant (-128 included), random fp16 scales.
std::vector<uint8_t> RandomWeights(int64_t n_rows, int64_t n_in, std::mt19937& rng) {
  std::uniform_int_distribution<int> byte(0, 255);
  std::normal_distribution<float> dist;
  std::vector<uint8_t> w(static_cast<size_t>(n_rows * n_in / 32) * kQ8Block);
  for (size_t b = 0; b < w.size(); b += kQ8Block) {
    const uint16_t d = Fp32ToFp16(0.01f * dist(rng));
    std::memcpy(&w[b], &d, 2);
    for (size_t i = 2; i < kQ8Block; ++i) w[b + i] = static_cast<uint8_t>(byte(rng));
  }
  return w;
}

// n_tokens activation rows quantized to Q8_0 the way MatMul does (from_float at `isa`).
std::vector<uint8_t> QuantizedActivations(int64_t n_tokens, int64_t n_in, std::mt19937& rng, Isa isa) {
  std::normal_distribution<float> dist;
  const size_t row = RowSize(GgmlType::kQ8_0, n_in);
  std::vector<uint8_t> a(row * n_tokens);
  std::vector<float> f(n_in);
  for (int64_t t = 0; t < n_tokens; ++t) {
    for (float& v : f) v = dist(rng);
    GetKernels(GgmlType::kQ8_0, isa).from_float(f.data(), &a[t * row], n_in);
  }
  return a;
}

// The contract of amx_q8_0.h, one (row, token) pair at a time.
// The prefill order's oracle (kernels/prefill.h), which the AVX-512 prefill kernel also equals.
float Oracle(const uint8_t* w_row, const uint8_t* a_row, int64_t n_in) {
  return PrefillDotRef(GgmlType::kQ8_0, n_in, w_row, a_row);
}

// A 64-byte aligned packing of all n_tokens rows.
struct Packed {
  std::vector<uint8_t> storage;
  uint8_t* data = nullptr;
};

Packed Pack(const std::vector<uint8_t>& act, int64_t n_in, int64_t n_tokens) {
  Packed p;
  p.storage.assign(AmxQ8_0PackedSize(n_in, n_tokens) + 64, 0xCD);
  const uintptr_t a = reinterpret_cast<uintptr_t>(p.storage.data());
  p.data = p.storage.data() + (64 - a % 64) % 64;
  AmxQ8_0Pack(n_in, act.data(), RowSize(GgmlType::kQ8_0, n_in), n_tokens, 0, n_tokens, p.data);
  return p;
}

constexpr float kSentinel = -12345.0f;

// y[t * (n_out + 3) + r] from `kernel`, the rows split as a MatMul thread would (and at odd places;
// at multiples of 8 for kRows8); the weights end at an inaccessible page. rows8: the weights repacked
// into kRows8 first (n_out a multiple of 8).
std::vector<float> RunKernel(AmxQ8_0RowsFn kernel, const std::vector<uint8_t>& weights, const Packed& p, int64_t n_in,
                             int64_t n_out, int64_t n_tokens, bool rows8 = false) {
  std::vector<uint8_t> bytes = weights;
  if (rows8) RepackRows8(GgmlType::kQ8_0, n_in, n_out, bytes.data());
  const GuardedCopy w(bytes);
  const size_t y_stride = static_cast<size_t>(n_out + 3);
  std::vector<float> y(y_stride * (n_tokens + 1), kSentinel);
  AmxQ8_0Args args;
  args.n_in = n_in;
  args.w = w.data();
  args.row_bytes = RowSize(GgmlType::kQ8_0, n_in);
  args.packed = p.data;
  args.n_tokens = n_tokens;
  args.y = y.data();
  args.y_stride = y_stride;
  args.rows8 = rows8;
  const int64_t split1 = std::min<int64_t>(n_out, 16), split2 = std::min<int64_t>(n_out, rows8 ? 24 : 23);
  kernel(args, 0, split1);
  kernel(args, split1, split2);
  kernel(args, split2, n_out);
  return y;
}

TEST(AmxQ8_0Test, PackingFollowsTheTileLayout) {
  std::mt19937 rng(21);
  for (int64_t n_in : kNIn) {
    for (int64_t n_tokens : kNTokens) {
      const std::vector<uint8_t> act = QuantizedActivations(n_tokens, n_in, rng, Isa::kScalar);
      const Packed p = Pack(act, n_in, n_tokens);
      const int64_t nb = n_in / 32, n_groups = (n_tokens + 15) / 16;
      const size_t row = RowSize(GgmlType::kQ8_0, n_in);
      for (int64_t g = 0; g < n_groups; ++g) {
        for (int64_t b = 0; b < nb; ++b) {
          const uint8_t* tile = p.data + (g * nb + b) * 576;
          for (int lane = 0; lane < 16; ++lane) {
            const int64_t t = g * 16 + lane;
            float scale;
            std::memcpy(&scale, tile + 512 + 4 * lane, 4);
            uint16_t d = 0;
            if (t < n_tokens) std::memcpy(&d, &act[t * row + b * kQ8Block], 2);
            ASSERT_TRUE(SameBits(scale, t < n_tokens ? Fp16ToFp32(d) : 0.0f)) << "token " << t << " block " << b;
            for (int k = 0; k < 32; ++k) {
              // Row k / 4 of the B tile holds bytes k - k % 4 .. of every token, token `lane` at 4 * lane.
              const uint8_t got = tile[(k / 4) * 64 + lane * 4 + k % 4];
              const uint8_t want = t < n_tokens ? act[t * row + b * kQ8Block + 2 + k] : 0;
              ASSERT_EQ(got, want) << "n_in " << n_in << " token " << t << " block " << b << " k " << k;
            }
          }
        }
      }
      // Packing in two group ranges (two threads) gives the same bytes.
      if (n_tokens > 16) {
        Packed halves = Pack(act, n_in, n_tokens);
        std::fill(halves.storage.begin(), halves.storage.end(), 0x77);
        AmxQ8_0Pack(n_in, act.data(), row, n_tokens, 16, n_tokens, halves.data);
        AmxQ8_0Pack(n_in, act.data(), row, n_tokens, 0, 16, halves.data);
        ASSERT_EQ(std::memcmp(halves.data, p.data, AmxQ8_0PackedSize(n_in, n_tokens)), 0);
      }
    }
  }
}

TEST(AmxQ8_0Test, EmulatedKernelEqualsOracleBitForBit) {
  std::mt19937 rng(22);
  int checked = 0;
  for (int64_t n_in : kNIn) {
    const size_t row = RowSize(GgmlType::kQ8_0, n_in);
    for (int64_t n_out : kNOut) {
      const std::vector<uint8_t> w = RandomWeights(n_out, n_in, rng);
      for (int64_t n_tokens : kNTokens) {
        const std::vector<uint8_t> act = QuantizedActivations(n_tokens, n_in, rng, Isa::kScalar);
        const std::vector<float> y = RunKernel(AmxQ8_0RowsEmulated, w, Pack(act, n_in, n_tokens), n_in, n_out, n_tokens);
        const size_t y_stride = static_cast<size_t>(n_out + 3);
        for (int64_t t = 0; t <= n_tokens; ++t) {
          for (size_t r = 0; r < y_stride; ++r) {
            const float got = y[t * y_stride + r];
            if (t == n_tokens || r >= static_cast<size_t>(n_out)) {
              ASSERT_EQ(got, kSentinel) << "wrote outside the output at token " << t << " row " << r;
              continue;
            }
            const float want = Oracle(&w[r * row], &act[t * row], n_in);
            ASSERT_TRUE(SameBits(got, want)) << "n_in " << n_in << " n_out " << n_out << " tokens " << n_tokens
                                             << " row " << r << " token " << t << ": " << got << " vs " << want;
          }
        }
        ++checked;
      }
    }
  }
  EXPECT_EQ(checked, 90);
}

// A kRows8 matrix (the model's private copy) gives the file order's bits: the kernel copies each row
// step into tile order, the same quants and scales meet the same activations in the same order.
TEST(AmxQ8_0Test, EmulatedKernelOnRows8EqualsTheFileOrderBitForBit) {
  std::mt19937 rng(27);
  for (int64_t n_in : kNIn) {
    for (int64_t n_out : {8, 16, 24, 40, 48, 104}) {
      const std::vector<uint8_t> w = RandomWeights(n_out, n_in, rng);
      for (int64_t n_tokens : kNTokens) {
        const std::vector<uint8_t> act = QuantizedActivations(n_tokens, n_in, rng, Isa::kScalar);
        const Packed p = Pack(act, n_in, n_tokens);
        const std::vector<float> file = RunKernel(AmxQ8_0RowsEmulated, w, p, n_in, n_out, n_tokens);
        const std::vector<float> rows8 = RunKernel(AmxQ8_0RowsEmulated, w, p, n_in, n_out, n_tokens, true);
        ASSERT_EQ(std::memcmp(file.data(), rows8.data(), file.size() * sizeof(float)), 0)
            << "n_in " << n_in << " n_out " << n_out << " tokens " << n_tokens;
      }
    }
  }
}

// A batch whose packed activations pass the kernel's 4 MB token block (4096 inputs: 56 groups of 16 tokens
// per block; 901 tokens: 57 groups, two blocks): every (row, token) still the oracle's, in both layouts.
TEST(AmxQ8_0Test, EmulatedKernelSpansSeveralTokenBlocks) {
  std::mt19937 rng(30);
  const int64_t n_in = 4096, n_out = 16, n_tokens = 901;
  ASSERT_GT(AmxQ8_0PackedSize(n_in, n_tokens), size_t{4} << 20);
  const size_t row = RowSize(GgmlType::kQ8_0, n_in);
  const std::vector<uint8_t> w = RandomWeights(n_out, n_in, rng);
  const std::vector<uint8_t> act = QuantizedActivations(n_tokens, n_in, rng, Isa::kScalar);
  const Packed p = Pack(act, n_in, n_tokens);
  for (bool rows8 : {false, true}) {
    const std::vector<float> y = RunKernel(AmxQ8_0RowsEmulated, w, p, n_in, n_out, n_tokens, rows8);
    const size_t y_stride = static_cast<size_t>(n_out + 3);
    for (int64_t t = 0; t < n_tokens; ++t) {
      for (int64_t r = 0; r < n_out; ++r) {
        ASSERT_TRUE(SameBits(y[t * y_stride + r], Oracle(&w[r * row], &act[t * row], n_in)))
            << (rows8 ? "kRows8" : "file order") << " row " << r << " token " << t;
      }
    }
  }
}

// The hardware kernel's kRows8 step copy (AVX-512) against the plain one: the same bytes and floats, for
// every step height, with subnormal and large fp16 scales among the random ones.
TEST(AmxQ8_0Test, Avx512TileOrderEqualsThePlainCopy) {
  if (BestIsa() < Isa::kAvx512) GTEST_SKIP() << "no AVX-512 level here";
  std::mt19937 rng(29);
  std::uniform_int_distribution<int> byte(0, 255);
  for (int64_t n_in : {32, 96, 2048}) {
    const int64_t n_out = 48, nb = n_in / 32;
    std::vector<uint8_t> w = RandomWeights(n_out, n_in, rng);
    for (size_t b = 0; b < w.size(); b += kQ8Block) {
      const uint16_t d = static_cast<uint16_t>(byte(rng) | (byte(rng) % 0x7C) << 8);  // finite, any sign bit
      std::memcpy(&w[b], &d, 2);
    }
    RepackRows8(GgmlType::kQ8_0, n_in, n_out, w.data());
    AmxQ8_0Args args;
    args.n_in = n_in;
    args.w = w.data();
    args.row_bytes = RowSize(GgmlType::kQ8_0, n_in);
    args.rows8 = true;
    for (int64_t r = 0; r < n_out; r += 8) {
      for (int n_rows = 8; n_rows <= 32 && r + n_rows <= n_out; n_rows += 8) {
        std::vector<uint8_t> wt_plain(nb * kAmxTileOrderBlockBytes, 0xAB), wt_simd = wt_plain;
        std::vector<float> dw_plain(nb * 32, kSentinel), dw_simd = dw_plain;
        AmxQ8_0TileOrder(args, r, n_rows, wt_plain.data(), dw_plain.data());
        AmxQ8_0TileOrderAvx512(args, r, n_rows, wt_simd.data(), dw_simd.data());
        ASSERT_EQ(wt_plain, wt_simd) << "n_in " << n_in << " r " << r << " n_rows " << n_rows;
        ASSERT_EQ(std::memcmp(dw_plain.data(), dw_simd.data(), dw_plain.size() * sizeof(float)), 0)
            << "n_in " << n_in << " r " << r << " n_rows " << n_rows;
      }
    }
  }
}

TEST(AmxQ8_0Test, HardwareKernelEqualsEmulatedKernel) {
  if (!AmxHardwareUsable())
    GTEST_SKIP() << "AMX not usable here (needs AMX-TILE + AMX-INT8 in CPUID, the tile state in XCR0, the "
                    "arch_prctl tile-data permission and AVX-512): hardware path not run";
  const char* isa = std::getenv("ISV_ISA");
  if (isa == nullptr || std::string(isa) == "amx") {
    ASSERT_TRUE(AmxEnabled()) << "the start-up check found the hardware kernel differing from the emulated one";
  }
  std::mt19937 rng(23);
  for (int64_t n_in : kNIn) {
    for (int64_t n_out : kNOut) {
      const std::vector<uint8_t> w = RandomWeights(n_out, n_in, rng);
      for (int64_t n_tokens : kNTokens) {
        const std::vector<uint8_t> act = QuantizedActivations(n_tokens, n_in, rng, Isa::kScalar);
        const Packed p = Pack(act, n_in, n_tokens);
        const std::vector<float> hw = RunKernel(AmxQ8_0RowsHardware, w, p, n_in, n_out, n_tokens);
        const std::vector<float> emu = RunKernel(AmxQ8_0RowsEmulated, w, p, n_in, n_out, n_tokens);
        ASSERT_EQ(std::memcmp(hw.data(), emu.data(), hw.size() * sizeof(float)), 0)
            << "n_in " << n_in << " n_out " << n_out << " tokens " << n_tokens;
        if (n_out % 8 == 0) {
          const std::vector<float> hw8 = RunKernel(AmxQ8_0RowsHardware, w, p, n_in, n_out, n_tokens, true);
          ASSERT_EQ(std::memcmp(hw8.data(), emu.data(), hw.size() * sizeof(float)), 0)
              << "kRows8: n_in " << n_in << " n_out " << n_out << " tokens " << n_tokens;
        }
        EXPECT_TRUE(SameBits(hw[0], Oracle(&w[0], &act[0], n_in)));  // row 0, token 0
      }
    }
  }
}

// MatMul with the emulated kernel forced for the prefill rows (what an AMX CPU runs, on the
// tiles' model): rows before prefill_begin equal a one-token MatMul (vec_dot, batch invariance),
// rows from it on equal the oracle, at every level and split (pool chunks included).
TEST(AmxQ8_0Test, MatMulUsesThePrefillKernelForPrefillRowsOnly) {
  std::mt19937 rng(24);
  std::normal_distribution<float> dist;
  ThreadPool pool(2);
  MatMulScratch scratch;
  const int64_t n_in = 896, n_out = 100, n_tokens = 40;
  const TestMatrix m = MakeTestMatrix(GgmlType::kQ8_0, n_in, n_out, 0.05f, rng);
  std::vector<float> x(n_tokens * n_in);
  for (float& v : x) v = dist(rng);
  const size_t row = RowSize(GgmlType::kQ8_0, n_in);
  for (Isa isa : AllIsas()) {
    std::vector<uint8_t> act(row * n_tokens);
    for (int64_t t = 0; t < n_tokens; ++t)
      GetKernels(GgmlType::kQ8_0, isa).from_float(&x[t * n_in], &act[t * row], n_in);
    for (int64_t prefill_begin : {int64_t{0}, int64_t{3}, int64_t{17}, n_tokens - 1, n_tokens}) {
      std::vector<float> y(n_tokens * n_out), one(n_out);
      MatMul(m.view, x.data(), n_tokens, y.data(), pool, scratch, isa, n_tokens - prefill_begin, AmxQ8_0RowsEmulated);
      for (int64_t t = 0; t < n_tokens; ++t) {
        if (t < prefill_begin) MatMul(m.view, &x[t * n_in], 1, one.data(), pool, scratch, isa);
        for (int64_t r = 0; r < n_out; ++r) {
          const float want = t < prefill_begin ? one[r] : Oracle(&m.bytes[r * row], &act[t * row], n_in);
          ASSERT_TRUE(SameBits(y[t * n_out + r], want))
              << IsaName(isa) << " prefill_begin " << prefill_begin << " token " << t << " row " << r << ": "
              << y[t * n_out + r] << " vs " << want;
        }
      }
    }
  }
}

// The same on a kRows8 matrix (what the model's private copy holds), with enough prompt tokens for AMX
// (matmul.cc: kAmxRows8MinTokens, 8): prompt rows through the kernel's tile-order copies equal the
// oracle on the file's rows; plain rows equal a one-token MatMul of it.
TEST(AmxQ8_0Test, MatMulUsesThePrefillKernelOnRows8Matrices) {
  std::mt19937 rng(28);
  std::normal_distribution<float> dist;
  ThreadPool pool(2);
  MatMulScratch scratch;
  const int64_t n_in = 896, n_out = 104, n_tokens = 80, prefill_begin = 7;
  const TestMatrix m = MakeTestMatrix(GgmlType::kQ8_0, n_in, n_out, 0.05f, rng);
  const RepackedMatrix repacked(m);
  const TensorView& view = repacked.view;
  std::vector<float> x(n_tokens * n_in);
  for (float& v : x) v = dist(rng);
  const size_t row = RowSize(GgmlType::kQ8_0, n_in);
  for (Isa isa : AllIsas()) {
    std::vector<uint8_t> act(row);
    std::vector<float> y(n_tokens * n_out), one(n_out);
    MatMul(view, x.data(), n_tokens, y.data(), pool, scratch, isa, n_tokens - prefill_begin, AmxQ8_0RowsEmulated);
    for (int64_t t = 0; t < n_tokens; ++t) {
      GetKernels(GgmlType::kQ8_0, isa).from_float(&x[t * n_in], act.data(), n_in);
      if (t < prefill_begin) MatMul(view, &x[t * n_in], 1, one.data(), pool, scratch, isa);
      for (int64_t r = 0; r < n_out; ++r) {
        const float want = t < prefill_begin ? one[r] : Oracle(&m.bytes[r * row], act.data(), n_in);
        ASSERT_TRUE(SameBits(y[t * n_out + r], want))
            << IsaName(isa) << " token " << t << " row " << r << ": " << y[t * n_out + r] << " vs " << want;
      }
    }
  }
}

// Which prompts reach the AMX kernel: on a kRows8 matrix 8 prompt tokens or more (fewer take the level's
// prefill kernel, the same bits, without the kernel's per-call copy of the rows), in the file's order any.
std::atomic<int> amx_calls{0};
void CountingKernel(const AmxQ8_0Args& args, int64_t r0, int64_t r1) {
  ++amx_calls;
  AmxQ8_0RowsEmulated(args, r0, r1);
}

TEST(AmxQ8_0Test, SmallPromptsOfRows8MatricesSkipTheAmxKernel) {
  std::mt19937 rng(31);
  std::normal_distribution<float> dist;
  ThreadPool pool(2);
  MatMulScratch scratch;
  const int64_t n_in = 96, n_out = 48;
  const TestMatrix m = MakeTestMatrix(GgmlType::kQ8_0, n_in, n_out, 0.05f, rng);
  const RepackedMatrix repacked(m);
  const TensorView& rows8 = repacked.view;
  std::vector<float> x(70 * n_in), y(70 * n_out);
  for (float& v : x) v = dist(rng);
  auto calls = [&](const TensorView& w, int64_t n_tokens, int64_t n_prefill) {
    amx_calls = 0;
    MatMul(w, x.data(), n_tokens, y.data(), pool, scratch, BestIsa(), n_prefill, CountingKernel);
    return amx_calls.load();
  };
  EXPECT_EQ(calls(rows8, 7, 7), 0);
  EXPECT_EQ(calls(rows8, 70, 7), 0);
  EXPECT_GT(calls(rows8, 8, 8), 0);
  EXPECT_GT(calls(rows8, 70, 8), 0);
  EXPECT_GT(calls(m.view, 20, 20), 0);
}

// Other weight types ignore the AMX kernel (it is Q8_0 only): their prompt rows take the level's path.
TEST(AmxQ8_0Test, MatMulIgnoresPrefillRowsForOtherTypes) {
  std::mt19937 rng(25);
  std::normal_distribution<float> dist;
  ThreadPool pool(2);
  MatMulScratch scratch;
  const int64_t n_in = 256, n_out = 48, n_tokens = 9;
  std::vector<float> x(n_tokens * n_in);
  for (float& v : x) v = dist(rng);
  for (GgmlType type : {GgmlType::kQ4_0, GgmlType::kQ4_K, GgmlType::kF16}) {
    const TestMatrix m = MakeTestMatrix(type, n_in, n_out, 0.05f, rng);
    std::vector<float> plain(n_tokens * n_out), prefill(n_tokens * n_out);
    MatMul(m.view, x.data(), n_tokens, plain.data(), pool, scratch, BestIsa(), n_tokens - 2, nullptr);
    MatMul(m.view, x.data(), n_tokens, prefill.data(), pool, scratch, BestIsa(), n_tokens - 2, AmxQ8_0RowsEmulated);
    EXPECT_EQ(std::memcmp(plain.data(), prefill.data(), plain.size() * sizeof(float)), 0) << TypeName(type);
  }
}

// The production dispatch: the prompt rows are the oracle's bits where AMX or the level's prefill
// kernel serves Q8_0 (the same order), else the plain rows' bits; the other rows stay bit for bit.
TEST(AmxQ8_0Test, MatMulDispatchHonoursAmxAvailability) {
  std::mt19937 rng(26);
  std::normal_distribution<float> dist;
  ThreadPool pool(2);
  MatMulScratch scratch;
  const int64_t n_in = 96, n_out = 48, n_tokens = 17, prefill_begin = 5;
  const TestMatrix m = MakeTestMatrix(GgmlType::kQ8_0, n_in, n_out, 0.05f, rng);
  std::vector<float> x(n_tokens * n_in);
  for (float& v : x) v = dist(rng);
  std::vector<float> plain(n_tokens * n_out), prefill(n_tokens * n_out);
  MatMul(m.view, x.data(), n_tokens, plain.data(), pool, scratch);
  MatMul(m.view, x.data(), n_tokens, prefill.data(), pool, scratch, n_tokens - prefill_begin);
  for (Isa isa : {Isa::kScalar, Isa::kAvx2}) EXPECT_EQ(AmxQ8_0PrefillKernel(isa), nullptr) << IsaName(isa);
  if (AmxQ8_0PrefillKernel(BestIsa()) == nullptr && GetKernels(GgmlType::kQ8_0).prefill_gemm == nullptr) {
    EXPECT_EQ(std::memcmp(plain.data(), prefill.data(), plain.size() * sizeof(float)), 0);
    return;
  }
  const size_t row = RowSize(GgmlType::kQ8_0, n_in);
  std::vector<uint8_t> act(row);
  for (int64_t t = 0; t < n_tokens; ++t) {
    GetKernels(GgmlType::kQ8_0, BestIsa()).from_float(&x[t * n_in], act.data(), n_in);
    for (int64_t r = 0; r < n_out; ++r) {
      const float want = t < prefill_begin ? plain[t * n_out + r] : Oracle(&m.bytes[r * row], act.data(), n_in);
      ASSERT_TRUE(SameBits(prefill[t * n_out + r], want)) << "token " << t << " row " << r;
    }
  }
}

}  // namespace
}  // namespace isv
