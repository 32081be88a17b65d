// The kRows8 weight layout (rows8_layout.h): the repacking against the layout's definition, its
// inverse, the kRows8 decode kernels (TypeKernels::gemv_rows8) bit for bit against the level's gemv on
// the rows in the file's order (Q4_K / Q5_K / Q6_K: within float tolerance of the scalar oracle, and
// batch invariant; Q8_0, Q4_1, Q5_1: the prefill order's bits), and MatMul on a repacked matrix against
// MatMul on the original at every level, for decode, batched and prompt tokens.
#include "engine/kernels/rows8_layout.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "core/thread_pool.h"
#include "engine/kernels/blocks.h"
#include "engine/kernels/blocks_k.h"
#include "engine/kernels/kernel_test_util.h"
#include "engine/kernels/kernels.h"
#include "engine/kernels/matmul.h"
#include "engine/kernels/prefill.h"

namespace isv {
namespace {

// Plain tokens of a repacked matrix in the file order's bits.
constexpr GgmlType kTypes[] = {GgmlType::kQ4_0, GgmlType::kQ5_0, GgmlType::kIQ4_NL};
constexpr GgmlType kKTypes[] = {GgmlType::kQ2_K, GgmlType::kQ3_K, GgmlType::kQ4_K,
                                GgmlType::kQ5_K, GgmlType::kQ6_K, GgmlType::kIQ4_XS};  // in their own order
// The prefill order (prefill.h) where their file-order gemv keeps the vec_dot order.
constexpr GgmlType kPrefillOrderTypes[] = {GgmlType::kQ8_0, GgmlType::kQ4_1, GgmlType::kQ5_1};
// Plain tokens of a repacked matrix in another order than the file order's gemv: the K-quants' own, the
// prefill order.
constexpr GgmlType kOwnOrderTypes[] = {GgmlType::kQ2_K, GgmlType::kQ3_K, GgmlType::kQ4_K,
                                       GgmlType::kQ5_K, GgmlType::kQ6_K, GgmlType::kIQ4_XS,
                                       GgmlType::kQ8_0, GgmlType::kQ4_1, GgmlType::kQ5_1};
// The nibble types (rows8_layout.h: d, m, qh, then the nibble words).
constexpr GgmlType kNibbleTypes[] = {GgmlType::kQ4_0, GgmlType::kQ4_1, GgmlType::kQ5_0, GgmlType::kQ5_1,
                                     GgmlType::kIQ4_NL};

TEST(Rows8LayoutTest, OnlyTheseTypes) {
  for (GgmlType type : kTypes) EXPECT_TRUE(HasRows8Layout(type)) << TypeName(type);
  for (GgmlType type : kOwnOrderTypes) EXPECT_TRUE(HasRows8Layout(type)) << TypeName(type);
  for (GgmlType type : {GgmlType::kF32, GgmlType::kF16, GgmlType::kBF16, GgmlType::kQ8_1, GgmlType::kQ8_K}) {
    EXPECT_FALSE(HasRows8Layout(type)) << TypeName(type);
  }
}

// Every byte where the header says it goes: block i of group g holds the 8 scales, (Q4_1, Q5_1) the 8
// mins, (Q5_0, Q5_1) byte p of the 8 qh words at 8 p + r, then word j = nibble word 2 (j / 16) + j % 2 of
// row (j % 16) / 2.
TEST(Rows8LayoutTest, RepackPlacesEveryByteAsSpecified) {
  std::mt19937 rng(11);
  for (GgmlType type : kNibbleTypes) {
    const int64_t n = 96, n_rows = 24, nb = n / kQK;
    const TestMatrix m = MakeTestMatrix(type, n, n_rows, 1.0f, rng);
    const std::vector<uint8_t> packed = Repacked(m);
    ASSERT_EQ(packed.size(), m.bytes.size());
    const size_t row_bytes = m.view.row_bytes();
    const size_t block = TypeTraits(type).type_size;
    const bool min = type == GgmlType::kQ4_1 || type == GgmlType::kQ5_1;
    const bool q5 = type == GgmlType::kQ5_0 || type == GgmlType::kQ5_1;
    const size_t qs = block - 16;  // the nibbles end every block of these types
    const size_t qh_at = min ? 32 : 16;
    for (int64_t g = 0; g < n_rows / 8; ++g) {
      for (int64_t i = 0; i < nb; ++i) {
        const uint8_t* gb = &packed[g * 8 * row_bytes + i * 8 * block];
        auto src = [&](int r) { return &m.bytes[(g * 8 + r) * row_bytes + i * block]; };
        for (int r = 0; r < 8; ++r) {
          EXPECT_EQ(std::memcmp(gb + 2 * r, src(r), 2), 0) << TypeName(type) << " d of row " << r;
          if (min) {
            EXPECT_EQ(std::memcmp(gb + 16 + 2 * r, src(r) + 2, 2), 0) << TypeName(type) << " m of row " << r;
          }
          if (q5) {
            for (int p = 0; p < 4; ++p) {
              EXPECT_EQ(gb[qh_at + 8 * p + r], src(r)[(min ? 4 : 2) + p])
                  << TypeName(type) << " qh byte " << p << " of row " << r;
            }
          }
        }
        const uint8_t* words = gb + qh_at + (q5 ? 32 : 0);
        for (int j = 0; j < 32; ++j) {
          const int row = (j % 16) / 2, word = 2 * (j / 16) + j % 2;
          ASSERT_EQ(std::memcmp(words + 4 * j, src(row) + qs + 4 * word, 4), 0)
              << TypeName(type) << " group " << g << " block " << i << " word " << j;
        }
      }
    }
  }
}

TEST(Rows8LayoutTest, UnpackRestoresEveryGroup) {
  std::mt19937 rng(12);
  for (GgmlType type : kNibbleTypes) {
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

// Eight tokens of n activations quantized to act_type (rows of RowSize(act_type, n) bytes), every third
// ten times larger than the others.
std::vector<uint8_t> EightTokens(GgmlType act_type, int64_t n, std::mt19937& rng) {
  const size_t a_row = RowSize(act_type, n);
  std::vector<uint8_t> act(a_row * 8);
  std::normal_distribution<float> dist;
  std::vector<float> f(n);
  for (int t = 0; t < 8; ++t) {
    for (float& v : f) v = (t % 3 == 0 ? 10.f : 0.5f) * dist(rng);
    GetKernels(act_type, Isa::kScalar).from_float(f.data(), &act[t * a_row], n);
  }
  return act;
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
          const size_t a_row = RowSize(k.vec_dot_type, n);
          const std::vector<uint8_t> act = EightTokens(k.vec_dot_type, n, rng);
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
    const RepackedMatrix repacked(m);
    const TensorView& v = repacked.view;
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

// UnpackRow8 restores any one row of a group, and DequantizeRow reads a kRows8 matrix's rows as the
// original's (a tied output that Model repacked is also the token embedding table).
TEST(Rows8LayoutTest, SingleRowsOfAGroup) {
  std::mt19937 rng(19);
  std::vector<GgmlType> types(std::begin(kTypes), std::end(kTypes));
  types.insert(types.end(), std::begin(kOwnOrderTypes), std::end(kOwnOrderTypes));
  for (GgmlType type : types) {
    const int64_t n = 512, n_rows = 24;
    const TestMatrix m = MakeTestMatrix(type, n, n_rows, 1.0f, rng);
    const RepackedMatrix repacked(m);
    const TensorView& v = repacked.view;
    const size_t row_bytes = m.view.row_bytes();
    std::vector<uint8_t> row(row_bytes);
    std::vector<float> got(n), want(n);
    for (int64_t r = 0; r < n_rows; ++r) {
      UnpackRow8(type, n, repacked.packed.data() + (r / 8) * 8 * row_bytes, static_cast<int>(r % 8), row.data());
      ASSERT_EQ(std::memcmp(row.data(), &m.bytes[r * row_bytes], row_bytes), 0) << TypeName(type) << " row " << r;
      DequantizeRow(v, r, got.data());
      DequantizeRow(m.view, r, want.data());
      ASSERT_EQ(std::memcmp(got.data(), want.data(), n * sizeof(float)), 0) << TypeName(type) << " row " << r;
    }
  }
}

// A repacked matrix whose kRows8 form moves whole pieces of rows (Block: BlockQ8_0, BlockQ4K or
// BlockQ6K), 512 x 16: check(gb, src, r, where) for every row r of every group block gb, src being row
// r's block as the file stores it; then UnpackRows8 must restore every group.
template <typename Block, typename Check>
void CheckGroupBlocks(GgmlType type, uint32_t seed, Check&& check) {
  std::mt19937 rng(seed);
  const int64_t n = 512, n_rows = 16, nb = n / TypeTraits(type).block_size;
  const TestMatrix m = MakeTestMatrix(type, n, n_rows, 1.0f, rng);
  const std::vector<uint8_t> packed = Repacked(m);
  ASSERT_EQ(packed.size(), m.bytes.size());
  const size_t row_bytes = m.view.row_bytes();
  for (int64_t g = 0; g < n_rows / 8; ++g) {
    for (int64_t i = 0; i < nb; ++i) {
      const uint8_t* gb = &packed[g * 8 * row_bytes + i * 8 * sizeof(Block)];
      for (int r = 0; r < 8; ++r) {
        Block src;
        std::memcpy(&src, &m.bytes[(g * 8 + r) * row_bytes + i * sizeof(Block)], sizeof(src));
        check(gb, src, r, "group " + std::to_string(g) + " block " + std::to_string(i) + " row " + std::to_string(r));
      }
    }
  }
  std::vector<uint8_t> rows(8 * row_bytes);
  for (int64_t g = 0; g < n_rows / 8; ++g) {
    UnpackRows8(type, n, &packed[g * 8 * row_bytes], rows.data());
    EXPECT_EQ(std::memcmp(rows.data(), &m.bytes[g * 8 * row_bytes], rows.size()), 0) << "group " << g;
  }
}

// Q8_0: block i of group g holds d[8], then at 16 + 64 p + 8 r the quant bytes 8 p .. + 7 of row r.
TEST(Rows8LayoutTest, Q8_0RepackPlacesEveryByteAsSpecified) {
  CheckGroupBlocks<BlockQ8_0>(
      GgmlType::kQ8_0, 21, [](const uint8_t* gb, const BlockQ8_0& src, int r, const std::string& where) {
        EXPECT_EQ(std::memcmp(gb + 2 * r, &src.d, 2), 0) << "d: " << where;
        for (int p = 0; p < 4; ++p) {
          EXPECT_EQ(std::memcmp(gb + 16 + 64 * p + 8 * r, src.qs + 8 * p, 8), 0) << "piece " << p << ": " << where;
        }
      });
}

// Q4_K / Q5_K (Block): row r's d, dmin, packed scale bytes and quants where block gb holds them: d[8],
// dmin[8], byte p of the rows' packed scales at 32 + 8 p + r, and at qs + 256 c + 64 m + 8 r the quant
// bytes 32 c + 8 m .. + 7 of row r.
template <typename Block>
void ExpectQ4KParts(const uint8_t* gb, const Block& src, int r, size_t qs, const std::string& where) {
  EXPECT_EQ(std::memcmp(gb + 2 * r, &src.d, 2), 0) << "d: " << where;
  EXPECT_EQ(std::memcmp(gb + 16 + 2 * r, &src.dmin, 2), 0) << "dmin: " << where;
  for (int p = 0; p < 12; ++p) EXPECT_EQ(gb[32 + 8 * p + r], src.scales[p]) << "scale byte " << p << ": " << where;
  for (int c = 0; c < 4; ++c) {
    for (int q = 0; q < 4; ++q) {
      EXPECT_EQ(std::memcmp(gb + qs + 256 * c + 64 * q + 8 * r, src.qs + 32 * c + 8 * q, 8), 0)
          << "chunk " << c << " part " << q << ": " << where;
    }
  }
}

// Q4_K: the quants at 128.
TEST(Rows8LayoutTest, Q4KRepackPlacesEveryByteAsSpecified) {
  CheckGroupBlocks<BlockQ4K>(GgmlType::kQ4_K, 15,
                             [](const uint8_t* gb, const BlockQ4K& src, int r, const std::string& where) {
                               ExpectQ4KParts(gb, src, r, 128, where);
                             });
}

// Q5_K: Q4_K's parts with the quants at 384; at 128 + 64 m + 8 r the qh bytes 8 m .. + 7 of row r.
TEST(Rows8LayoutTest, Q5KRepackPlacesEveryByteAsSpecified) {
  CheckGroupBlocks<BlockQ5K>(
      GgmlType::kQ5_K, 23, [](const uint8_t* gb, const BlockQ5K& src, int r, const std::string& where) {
        ExpectQ4KParts(gb, src, r, 384, where);
        for (int m = 0; m < 4; ++m) {
          EXPECT_EQ(std::memcmp(gb + 128 + 64 * m + 8 * r, src.qh + 8 * m, 8), 0) << "qh part " << m << ": " << where;
        }
      });
}

// Q6_K: block i of group g holds d[8], sub-block j's scale of row r at 16 + 8 j + r, and at 144 + 192 (4 h +
// m) + 8 r row r's ql bytes 64 h + 8 m .. + 7, 64 bytes later its ql bytes 64 h + 32 + 8 m .., 128 bytes
// later its qh bytes 32 h + 8 m ...
TEST(Rows8LayoutTest, Q6KRepackPlacesEveryByteAsSpecified) {
  CheckGroupBlocks<BlockQ6K>(
      GgmlType::kQ6_K, 18, [](const uint8_t* gb, const BlockQ6K& src, int r, const std::string& where) {
        EXPECT_EQ(std::memcmp(gb + 2 * r, &src.d, 2), 0) << "d: " << where;
        for (int j = 0; j < 16; ++j)
          EXPECT_EQ(static_cast<int8_t>(gb[16 + 8 * j + r]), src.scales[j]) << j << ": " << where;
        for (int h = 0; h < 2; ++h) {
          for (int q = 0; q < 4; ++q) {
            const uint8_t* part = gb + 144 + 192 * (4 * h + q) + 8 * r;
            EXPECT_EQ(std::memcmp(part, src.ql + 64 * h + 8 * q, 8), 0) << "ql " << h << " " << q << ": " << where;
            EXPECT_EQ(std::memcmp(part + 64, src.ql + 64 * h + 32 + 8 * q, 8), 0)
                << "ql + 32 " << h << " " << q << ": " << where;
            EXPECT_EQ(std::memcmp(part + 128, src.qh + 32 * h + 8 * q, 8), 0)
                << "qh " << h << " " << q << ": " << where;
          }
        }
      });
}

// Q2_K's and Q3_K's 64 qs bytes of row r: at qs_at + 64 (4 h + m) + 8 r its bytes 32 h + 8 m .. + 7.
void ExpectQ2KQs(const uint8_t* gb, size_t qs_at, const uint8_t* qs, int r, const std::string& where) {
  for (int h = 0; h < 2; ++h) {
    for (int m = 0; m < 4; ++m) {
      EXPECT_EQ(std::memcmp(gb + qs_at + 64 * (4 * h + m) + 8 * r, qs + 32 * h + 8 * m, 8), 0)
          << "qs " << h << " " << m << ": " << where;
    }
  }
}

// Q2_K: block i of group g holds d[8], dmin[8], the rows' scale / min byte j at 32 + 8 j + r, at
// 160 + 64 (4 h + m) + 8 r the qs bytes 32 h + 8 m .. + 7 of row r.
TEST(Rows8LayoutTest, Q2KRepackPlacesEveryByteAsSpecified) {
  CheckGroupBlocks<BlockQ2K>(GgmlType::kQ2_K, 25,
                             [](const uint8_t* gb, const BlockQ2K& src, int r, const std::string& where) {
                               EXPECT_EQ(std::memcmp(gb + 2 * r, &src.d, 2), 0) << "d: " << where;
                               EXPECT_EQ(std::memcmp(gb + 16 + 2 * r, &src.dmin, 2), 0) << "dmin: " << where;
                               for (int j = 0; j < 16; ++j)
                                 EXPECT_EQ(gb[32 + 8 * j + r], src.scales[j]) << "scale " << j << ": " << where;
                               ExpectQ2KQs(gb, 160, src.qs, r, where);
                             });
}

// Q3_K: block i of group g holds d[8], byte p of the rows' packed scales at 16 + 8 p + r, at 112 + 64 m + 8 r
// the hmask bytes 8 m .. + 7 of row r, at 368 + 64 (4 h + m) + 8 r its qs bytes 32 h + 8 m .. + 7.
TEST(Rows8LayoutTest, Q3KRepackPlacesEveryByteAsSpecified) {
  CheckGroupBlocks<BlockQ3K>(
      GgmlType::kQ3_K, 24, [](const uint8_t* gb, const BlockQ3K& src, int r, const std::string& where) {
        EXPECT_EQ(std::memcmp(gb + 2 * r, &src.d, 2), 0) << "d: " << where;
        for (int p = 0; p < 12; ++p)
          EXPECT_EQ(gb[16 + 8 * p + r], src.scales[p]) << "scale byte " << p << ": " << where;
        for (int m = 0; m < 4; ++m) {
          EXPECT_EQ(std::memcmp(gb + 112 + 64 * m + 8 * r, src.hmask + 8 * m, 8), 0) << "hmask " << m << ": " << where;
        }
        ExpectQ2KQs(gb, 368, src.qs, r, where);
      });
}

// IQ4_XS: block i of group g holds d[8], byte q of the rows' scales_l at 16 + 8 q + r, byte p of their
// scales_h at 48 + 8 p + r, and at 64 + 128 b + 64 m + 8 r the quant bytes 16 b + 8 m .. + 7 of row r.
TEST(Rows8LayoutTest, Iq4XsRepackPlacesEveryByteAsSpecified) {
  CheckGroupBlocks<BlockIq4Xs>(
      GgmlType::kIQ4_XS, 23, [](const uint8_t* gb, const BlockIq4Xs& src, int r, const std::string& where) {
        EXPECT_EQ(std::memcmp(gb + 2 * r, &src.d, 2), 0) << "d: " << where;
        for (int q = 0; q < 4; ++q) EXPECT_EQ(gb[16 + 8 * q + r], src.scales_l[q]) << "scales_l " << q << ": " << where;
        EXPECT_EQ(gb[48 + r], src.scales_h & 0xFF) << "scales_h low byte: " << where;
        EXPECT_EQ(gb[56 + r], src.scales_h >> 8) << "scales_h high byte: " << where;
        for (int b = 0; b < 8; ++b) {
          for (int m = 0; m < 2; ++m) {
            EXPECT_EQ(std::memcmp(gb + 64 + 128 * b + 64 * m + 8 * r, src.qs + 16 * b + 8 * m, 8), 0)
                << "sub-block " << b << " part " << m << ": " << where;
          }
        }
      });
}

// The SIMD restore of a K-quant group (TypeKernels::unpack_rows8) gives UnpackRows8's bytes, i.e. the
// file's rows, and writes nothing past them.
TEST(Rows8LayoutTest, KUnpackRows8GivesTheFileRows) {
  std::mt19937 rng(20);
  int checked = 0;
  for (GgmlType type : kKTypes) {
    for (Isa isa : AllIsas()) {
      const TypeKernels& k = GetKernels(type, isa);
      if (k.unpack_rows8 == nullptr) continue;
      ++checked;
      for (int64_t n : {256, 768, 2048}) {
        const TestMatrix m = MakeTestMatrix(type, n, 16, 1.0f, rng);
        const std::vector<uint8_t> packed = Repacked(m);
        const size_t group = 8 * m.view.row_bytes();
        std::vector<uint8_t> rows(group + 64, 0xA5);
        for (int g = 0; g < 2; ++g) {
          k.unpack_rows8(n, &packed[g * group], rows.data());
          ASSERT_EQ(std::memcmp(rows.data(), &m.bytes[g * group], group), 0)
              << TypeName(type) << " " << IsaName(isa) << " n " << n << " g " << g;
          for (size_t e = group; e < rows.size(); ++e) ASSERT_EQ(rows[e], 0xA5) << "written past the rows";
        }
      }
    }
  }
  if (BestIsa() >= Isa::kAvx512) {
    EXPECT_EQ(checked, 3 + 6 * LevelsFrom(Isa::kAvx512))
        << "the K-quants and IQ4_XS have unpack_rows8 from the AVX-512 level on, Q4_K Q5_K Q6_K at AVX2";
  }
}

// The gemv_rows8 kernels of the K-quants and IQ4_XS sum in their own order: within the float tolerance of the scalar
// vec_dot on the file's order (as the SIMD vec_dots, k_quant_test.cc), each token's result independent
// of the others in the call, and nothing written outside out[t * out_stride + r], r < n_rows; at every
// level that has the kernel.
TEST(Rows8LayoutTest, KGemvRows8MatchesTheScalarOracle) {
  std::mt19937 rng(16);
  int checked = 0;
  for (Isa isa : AllIsas()) {
    for (GgmlType type : kKTypes) {
      const TypeKernels& k = GetKernels(type, isa);
      if (k.gemv_rows8 == nullptr) continue;
      const TypeKernels& scalar = GetKernels(type, Isa::kScalar);
      SCOPED_TRACE(std::string(IsaName(isa)));
      ++checked;
      for (int64_t n : {256, 768, 2048}) {
        for (int64_t n_rows : {8, 24, 56}) {
          const TestMatrix m = MakeTestMatrix(type, n, n_rows, 0.05f, rng);
          const std::vector<uint8_t> packed = Repacked(m);
          const size_t row_bytes = m.view.row_bytes();
          const size_t a_row = RowSize(GgmlType::kQ8_K, n);
          const std::vector<uint8_t> act = EightTokens(GgmlType::kQ8_K, n, rng);
          const size_t stride = n_rows + 3;
          std::vector<float> alone(stride * 8, -7.0f);
          for (int t = 0; t < 8; ++t) {
            k.gemv_rows8(n, packed.data(), row_bytes, n_rows, &act[t * a_row], a_row, 1, &alone[t * stride], stride);
          }
          for (int tokens = 1; tokens <= 8; ++tokens) {
            std::vector<float> got(stride * tokens, -7.0f);
            k.gemv_rows8(n, packed.data(), row_bytes, n_rows, act.data(), a_row, tokens, got.data(), stride);
            for (int t = 0; t < tokens; ++t) {
              for (size_t r = 0; r < stride; ++r) {
                const float g = got[t * stride + r];
                ASSERT_TRUE(SameBits(g, alone[t * stride + r]))
                    << "n " << n << " tokens " << tokens << " t " << t << " r " << r;
                if (static_cast<int64_t>(r) >= n_rows) {
                  ASSERT_EQ(g, -7.0f) << "written outside the rows: " << r;
                  continue;
                }
                const std::vector<uint8_t> row(m.bytes.begin() + r * row_bytes, m.bytes.begin() + (r + 1) * row_bytes);
                const float want = scalar.vec_dot(n, row.data(), &act[t * a_row]);
                const double bound = MagnitudeBound(type, row, Dequantize(GgmlType::kQ8_K, &act[t * a_row], n));
                ASSERT_NEAR(g, want, 1e-5 * bound + 1e-30)
                    << TypeName(type) << " n " << n << " rows " << n_rows << " t " << t << " r " << r;
              }
            }
          }
        }
      }
    }
  }
  if (BestIsa() >= Isa::kAvx512) {
    EXPECT_EQ(checked, 3 + 6 * LevelsFrom(Isa::kAvx512))
        << "the K-quants and IQ4_XS have kRows8 kernels from the AVX-512 level on, Q4_K, Q5_K and Q6_K at AVX2";
  }
}

// The gemv_rows8 of Q8_0, Q4_1 and Q5_1 computes the prefill order (prefill.h): PrefillDotRef's bits for
// every row and token, in any batch, and nothing written outside out[t * out_stride + r], r < n_rows; at
// every level that has one (AVX-512 and AVX2: all three).
TEST(Rows8LayoutTest, GemvRows8GivesThePrefillOrder) {
  std::mt19937 rng(22);
  int checked = 0;
  for (Isa isa : AllIsas()) {
    for (GgmlType type : kPrefillOrderTypes) {
      const TypeKernels& k = GetKernels(type, isa);
      if (k.gemv_rows8 == nullptr) continue;
      SCOPED_TRACE(std::string(IsaName(isa)));
      ++checked;
      for (int64_t n : {32, 864, 2048}) {
        for (int64_t n_rows : {8, 24, 56}) {
          const TestMatrix m = MakeTestMatrix(type, n, n_rows, 0.05f, rng);
          const std::vector<uint8_t> packed = Repacked(m);
          const size_t row_bytes = m.view.row_bytes();
          const size_t a_row = RowSize(k.vec_dot_type, n);
          const std::vector<uint8_t> act = EightTokens(k.vec_dot_type, n, rng);
          const size_t stride = n_rows + 3;
          for (int tokens = 1; tokens <= 8; ++tokens) {
            std::vector<float> got(stride * tokens, -7.0f);
            k.gemv_rows8(n, packed.data(), row_bytes, n_rows, act.data(), a_row, tokens, got.data(), stride);
            for (int t = 0; t < tokens; ++t) {
              for (size_t r = 0; r < stride; ++r) {
                const float g = got[t * stride + r];
                if (static_cast<int64_t>(r) >= n_rows) {
                  ASSERT_EQ(g, -7.0f) << "written outside the rows: " << r;
                  continue;
                }
                const float want = PrefillDotRef(type, n, &m.bytes[r * row_bytes], &act[t * a_row]);
                ASSERT_TRUE(SameBits(g, want)) << TypeName(type) << " n " << n << " rows " << n_rows << " tokens "
                                               << tokens << " t " << t << " r " << r << ": " << g << " vs " << want;
              }
            }
          }
        }
      }
    }
  }
  if (BestIsa() >= Isa::kAvx512) {
    EXPECT_EQ(checked, 3 * LevelsFrom(Isa::kAvx2)) << "a type without its kRows8 kernel at a SIMD level";
  }
}

// MatMul on a kRows8 matrix of kOwnOrderTypes: prompt tokens (K-quants: the prefill kernel on each group's
// restored rows; Q8_0, Q4_1, Q5_1: prefill_gemm_rows8) and levels without gemv_rows8 (restored rows) bit for
// bit as on the original; plain tokens through gemv_rows8 within tolerance, and a token's result the same
// in any batch. Guarded as above.
TEST(Rows8LayoutTest, OwnOrderMatMulOnTheRepackedMatrix) {
  std::mt19937 rng(17);
  ThreadPool pool(2);
  for (GgmlType type : kOwnOrderTypes) {
    const int64_t n_in = 768, n_out = 136;
    const TestMatrix m = MakeTestMatrix(type, n_in, n_out, 0.05f, rng);
    const RepackedMatrix repacked(m);
    const TensorView& v = repacked.view;
    std::normal_distribution<float> dist;
    const size_t row_bytes = m.view.row_bytes();
    for (Isa isa : AllIsas()) {
      const bool own_order = GetKernels(type, isa).gemv_rows8 != nullptr;
      std::vector<float> x(n_in * 35);
      for (float& e : x) e = dist(rng);
      std::vector<float> single(n_out * 35);  // each token alone
      for (int64_t t = 0; t < 35; ++t) {
        MatMulScratch s;
        MatMul(v, &x[t * n_in], 1, &single[t * n_out], pool, s, isa, 0);
      }
      for (auto [n_tokens, n_prefill] :
           {std::pair<int64_t, int64_t>{1, 0}, {5, 0}, {8, 0}, {9, 0}, {35, 0}, {20, 20}, {23, 17}, {1, 1}}) {
        std::vector<float> want(n_out * n_tokens), got(n_out * n_tokens);
        MatMulScratch s1, s2;
        MatMul(m.view, x.data(), n_tokens, want.data(), pool, s1, isa, n_prefill);
        MatMul(v, x.data(), n_tokens, got.data(), pool, s2, isa, n_prefill);
        for (int64_t t = 0; t < n_tokens; ++t) {
          const bool plain = t < n_tokens - n_prefill;
          for (int64_t r = 0; r < n_out; ++r) {
            const float g = got[t * n_out + r], w = want[t * n_out + r];
            SCOPED_TRACE(std::string(TypeName(type)) + " " + std::string(IsaName(isa)) + " tokens " +
                         std::to_string(n_tokens) + " prefill " + std::to_string(n_prefill) + " t " +
                         std::to_string(t) + " r " + std::to_string(r));
            if (!plain || !own_order) {
              ASSERT_TRUE(SameBits(g, w)) << g << " vs " << w;
              continue;
            }
            ASSERT_TRUE(SameBits(g, single[t * n_out + r])) << "batch of " << n_tokens << ": " << g;
            const std::vector<uint8_t> row(m.bytes.begin() + r * row_bytes, m.bytes.begin() + (r + 1) * row_bytes);
            const std::vector<float> xt(x.begin() + t * n_in, x.begin() + (t + 1) * n_in);
            ASSERT_NEAR(g, w, 2e-5 * MagnitudeBound(type, row, xt) + 1e-30);
          }
        }
      }
    }
  }
}

}  // namespace
}  // namespace isv
