// The kRows8 weight layout (rows8_layout.h): the repacking against the layout's definition, its
// inverse, the kRows8 decode kernels (TypeKernels::gemv_rows8) bit for bit against the level's gemv on
// the rows in the file's order, and MatMul on a repacked matrix against MatMul on the original at every
// level, for decode, batched and prompt tokens.
#include "engine/kernels/rows8_layout.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <vector>

#include "core/thread_pool.h"
#include "engine/kernels/blocks.h"
#include "engine/kernels/kernel_test_util.h"
#include "engine/kernels/kernels.h"
#include "engine/kernels/matmul.h"

namespace isv {
namespace {

constexpr GgmlType kTypes[] = {GgmlType::kQ4_0, GgmlType::kQ5_0, GgmlType::kIQ4_NL};

std::vector<uint8_t> Repacked(const TestMatrix& m) {
  std::vector<uint8_t> bytes = m.bytes;
  RepackRows8(m.view.type, m.view.ne[0], m.view.ne[1], bytes.data());
  return bytes;
}

TEST(Rows8LayoutTest, OnlyTheThreeTypes) {
  for (GgmlType type : kTypes) EXPECT_TRUE(HasRows8Layout(type)) << TypeName(type);
  for (GgmlType type : {GgmlType::kQ8_0, GgmlType::kQ4_1, GgmlType::kQ5_1, GgmlType::kQ4_K, GgmlType::kF16}) {
    EXPECT_FALSE(HasRows8Layout(type)) << TypeName(type);
  }
}

// Every byte where the header says it goes: block i of group g holds the 8 scales, (Q5_0) the 8 qh
// words, then word j = nibble word 2 (j / 16) + (j / 8) % 2 of row j % 8.
TEST(Rows8LayoutTest, RepackPlacesEveryByteAsSpecified) {
  std::mt19937 rng(11);
  for (GgmlType type : kTypes) {
    const int64_t n = 96, n_rows = 24, nb = n / kQK;
    const TestMatrix m = MakeTestMatrix(type, n, n_rows, 1.0f, rng);
    const std::vector<uint8_t> packed = Repacked(m);
    ASSERT_EQ(packed.size(), m.bytes.size());
    const size_t row_bytes = m.view.row_bytes();
    const size_t block = TypeTraits(type).type_size;
    const bool q5 = type == GgmlType::kQ5_0;
    const size_t qs = block - 16;  // the nibbles end every block of the three types
    for (int64_t g = 0; g < n_rows / 8; ++g) {
      for (int64_t i = 0; i < nb; ++i) {
        const uint8_t* gb = &packed[g * 8 * row_bytes + i * 8 * block];
        auto src = [&](int r) { return &m.bytes[(g * 8 + r) * row_bytes + i * block]; };
        for (int r = 0; r < 8; ++r) {
          EXPECT_EQ(std::memcmp(gb + 2 * r, src(r), 2), 0) << TypeName(type) << " d of row " << r;
          if (q5) {
            EXPECT_EQ(std::memcmp(gb + 16 + 4 * r, src(r) + 2, 4), 0) << "qh of row " << r;
          }
        }
        const uint8_t* words = gb + (q5 ? 48 : 16);
        for (int j = 0; j < 32; ++j) {
          const int row = j % 8, word = 2 * (j / 16) + (j / 8) % 2;
          ASSERT_EQ(std::memcmp(words + 4 * j, src(row) + qs + 4 * word, 4), 0)
              << TypeName(type) << " group " << g << " block " << i << " word " << j;
        }
      }
    }
  }
}

TEST(Rows8LayoutTest, UnpackRestoresEveryGroup) {
  std::mt19937 rng(12);
  for (GgmlType type : kTypes) {
    for (int64_t n : {32, 864, 2048}) {
      const TestMatrix m = MakeTestMatrix(type, n, 32, 1.0f, rng);
      const std::vector<uint8_t> packed = Repacked(m);
      const size_t group = 8 * m.view.row_bytes();
      std::vector<uint8_t> rows(group);
      for (int g = 0; g < 4; ++g) {
        UnpackRows8(type, n, &packed[g * group], rows.data());
        ASSERT_EQ(std::memcmp(rows.data(), &m.bytes[g * group], group), 0)
            << TypeName(type) << " n " << n << " g " << g;
      }
    }
  }
}

// gemv_rows8 on the repacked rows == gemv on the original rows, bit for bit, for 1..8 tokens, one and
// several groups, and it writes nothing outside out[t * out_stride + r], r < n_rows.
TEST(Rows8LayoutTest, GemvRows8EqualsGemvOnTheFileOrder) {
  std::mt19937 rng(13);
  int checked = 0;
  for (GgmlType type : kTypes) {
    for (Isa isa : AllIsas()) {
      const TypeKernels& k = GetKernels(type, isa);
      if (k.gemv_rows8 == nullptr) continue;
      for (int64_t n : {32, 864, 2048}) {
        for (int64_t n_rows : {8, 16, 56}) {
          const TestMatrix m = MakeTestMatrix(type, n, n_rows, 0.05f, rng);
          const std::vector<uint8_t> packed = Repacked(m);
          const TypeKernels& ak = GetKernels(k.vec_dot_type, Isa::kScalar);
          const size_t a_row = RowSize(k.vec_dot_type, n);
          std::vector<uint8_t> act(a_row * 8);
          std::normal_distribution<float> dist;
          std::vector<float> f(n);
          for (int t = 0; t < 8; ++t) {
            for (float& v : f) v = dist(rng);
            ak.from_float(f.data(), &act[t * a_row], n);
          }
          for (int tokens = 1; tokens <= 8; ++tokens) {
            const size_t stride = n_rows + 5;
            std::vector<float> want(stride * tokens, -7.0f), got(stride * tokens, -7.0f);
            k.gemv(n, m.bytes.data(), m.view.row_bytes(), n_rows, act.data(), a_row, tokens, want.data(), stride);
            k.gemv_rows8(n, packed.data(), m.view.row_bytes(), n_rows, act.data(), a_row, tokens, got.data(), stride);
            for (size_t e = 0; e < got.size(); ++e) {
              ASSERT_TRUE(SameBits(got[e], want[e]))
                  << TypeName(type) << " " << IsaName(isa) << " n " << n << " rows " << n_rows << " tokens " << tokens
                  << " element " << e << ": " << got[e] << " vs " << want[e];
            }
            ++checked;
          }
        }
      }
    }
  }
  if (BestIsa() >= Isa::kAvx512) {
    EXPECT_GT(checked, 0) << "no level has a kRows8 kernel";
  }
}

// MatMul on a kRows8 view == MatMul on the original view at every level (levels without gemv_rows8
// restore each group's rows first), for decode, a few tokens, large plain batches and prompt tokens.
// The repacked matrix ends at an inaccessible page: no kernel reads past it.
TEST(Rows8LayoutTest, MatMulOnTheRepackedMatrixEqualsTheOriginal) {
  std::mt19937 rng(14);
  ThreadPool pool(2);
  for (GgmlType type : kTypes) {
    const int64_t n_in = 864, n_out = 136;  // 17 groups: chunks of 16 rows and a last one of 8
    const TestMatrix m = MakeTestMatrix(type, n_in, n_out, 0.05f, rng);
    const GuardedCopy packed(Repacked(m));
    TensorView v = m.view;
    v.data = packed.data();
    v.layout = WeightLayout::kRows8;
    std::normal_distribution<float> dist;
    for (Isa isa : AllIsas()) {
      for (auto [n_tokens, n_prefill] :
           {std::pair<int64_t, int64_t>{1, 0}, {5, 0}, {8, 0}, {9, 0}, {35, 0}, {20, 20}, {23, 17}, {1, 1}}) {
        std::vector<float> x(n_in * n_tokens);
        for (float& e : x) e = dist(rng);
        std::vector<float> want(n_out * n_tokens), got(n_out * n_tokens);
        MatMulScratch s1, s2;
        MatMul(m.view, x.data(), n_tokens, want.data(), pool, s1, isa, n_prefill);
        MatMul(v, x.data(), n_tokens, got.data(), pool, s2, isa, n_prefill);
        for (size_t e = 0; e < got.size(); ++e) {
          ASSERT_TRUE(SameBits(got[e], want[e]))
              << TypeName(type) << " " << IsaName(isa) << " tokens " << n_tokens << " prefill " << n_prefill
              << " element " << e << ": " << got[e] << " vs " << want[e];
        }
      }
    }
  }
}

}  // namespace
}  // namespace isv
