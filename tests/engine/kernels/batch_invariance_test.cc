// Batch invariance of the dot-product kernels (kernels.h): the multi-token kernels (vec_dot_4,
// gemm_tile at every tile shape) and MatMul on a batch must give results BIT-IDENTICAL to vec_dot
// / a one-token MatMul of the same instruction-set level, so that a sequence's logits do not
// depend on what else the server batches with it.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <vector>

#include "core/thread_pool.h"
#include "engine/kernels/kernel_test_util.h"
#include "engine/kernels/kernels.h"
#include "engine/kernels/matmul.h"

namespace isv {
namespace {

constexpr GgmlType kTypes[] = {GgmlType::kQ4_0,   GgmlType::kQ4_1,   GgmlType::kQ5_0, GgmlType::kQ5_1, GgmlType::kQ8_0,
                               GgmlType::kIQ4_NL, GgmlType::kQ4_K,   GgmlType::kQ5_K, GgmlType::kQ6_K, GgmlType::kQ2_K,
                               GgmlType::kQ3_K,   GgmlType::kIQ4_XS, GgmlType::kF16,  GgmlType::kF32,  GgmlType::kBF16};

// n_rows weight rows of `type` and n_cols activation rows of its vec_dot_type, random.
struct Operands {
  std::vector<uint8_t> w, a;
  size_t w_row = 0, a_row = 0;
};

Operands MakeOperands(GgmlType type, int64_t n, int n_rows, int n_cols, std::mt19937& rng) {
  std::normal_distribution<float> dist;
  const TypeKernels& k = GetKernels(type, Isa::kScalar);
  Operands o;
  o.w_row = RowSize(type, n);
  o.a_row = RowSize(k.vec_dot_type, n);
  o.w.resize(o.w_row * n_rows);
  o.a.resize(o.a_row * n_cols);
  std::vector<float> f(n);
  for (int r = 0; r < n_rows; ++r) {
    for (float& v : f) v = 0.05f * dist(rng);
    k.from_float(f.data(), &o.w[r * o.w_row], n);
  }
  for (int t = 0; t < n_cols; ++t) {
    for (float& v : f) v = dist(rng);
    GetKernels(k.vec_dot_type, Isa::kScalar).from_float(f.data(), &o.a[t * o.a_row], n);
  }
  return o;
}

int64_t RowLength(GgmlType type) { return TypeTraits(type).block_size == 256 ? 768 : 864; }  // 27 legacy blocks

TEST(BatchInvarianceTest, VecDot4IsBitIdenticalToVecDot) {
  std::mt19937 rng(5);
  int checked = 0;
  for (GgmlType type : kTypes) {
    const int64_t n = RowLength(type);
    const Operands o = MakeOperands(type, n, 3, 4, rng);
    for (Isa isa : AllIsas()) {
      const TypeKernels& k = GetKernels(type, isa);
      if (k.vec_dot_4 == nullptr) continue;
      for (int r = 0; r < 3; ++r) {
        float got[4];
        k.vec_dot_4(n, &o.w[r * o.w_row], o.a.data(), o.a_row, got);
        for (int t = 0; t < 4; ++t) {
          const float want = k.vec_dot(n, &o.w[r * o.w_row], &o.a[t * o.a_row]);
          ASSERT_TRUE(SameBits(got[t], want))
              << TypeName(type) << " " << IsaName(isa) << " row " << r << " token " << t << ": vec_dot_4 "
              << got[t] << " vs vec_dot " << want << " (diff " << got[t] - want << ")";
        }
      }
      ++checked;
    }
  }
  if (BestIsa() >= Isa::kAvx2) {
    EXPECT_GT(checked, 0);
  }
}

TEST(BatchInvarianceTest, GemmTileIsBitIdenticalToVecDotAtEveryShape) {
  std::mt19937 rng(6);
  int checked = 0;
  for (GgmlType type : kTypes) {
    const int64_t n = RowLength(type);
    for (Isa isa : AllIsas()) {
      const TypeKernels& k = GetKernels(type, isa);
      if (k.gemm_tile == nullptr) continue;
      ASSERT_GE(k.tile_rows, 1);
      ASSERT_GE(k.tile_cols, 1);
      const Operands o = MakeOperands(type, n, k.tile_rows, k.tile_cols, rng);
      for (int nr = 1; nr <= k.tile_rows; ++nr) {
        for (int nc = 1; nc <= k.tile_cols; ++nc) {
          const size_t out_stride = 7;
          std::vector<float> out(nc * out_stride, -1.0f);
          k.gemm_tile(n, o.w.data(), o.w_row, nr, o.a.data(), o.a_row, nc, out.data(), out_stride);
          for (int t = 0; t < nc; ++t) {
            for (int r = 0; r < nr; ++r) {
              const float want = k.vec_dot(n, &o.w[r * o.w_row], &o.a[t * o.a_row]);
              const float got = out[t * out_stride + r];
              ASSERT_TRUE(SameBits(got, want)) << TypeName(type) << " " << IsaName(isa) << " tile " << nr << "x"
                                               << nc << " row " << r << " col " << t << ": " << got << " vs "
                                               << want << " (diff " << got - want << ")";
            }
            for (int r = nr; r < static_cast<int>(out_stride); ++r) {
              ASSERT_EQ(out[t * out_stride + r], -1.0f) << "gemm_tile wrote outside its tile";
            }
          }
          ++checked;
        }
      }
    }
  }
  if (BestIsa() >= Isa::kAvx2) {
    EXPECT_GT(checked, 0) << "no gemm_tile kernel registered";
  }
}

// The decode kernel: every (row, token) of a range equals vec_dot, for 1..kGemvMaxTokens tokens, odd
// and even row counts (below, at and past Q4_0's 8-row pass at the AVX-512 level), a normal row length
// and a long one (its prepared activations grow).
TEST(BatchInvarianceTest, GemvIsBitIdenticalToVecDot) {
  std::mt19937 rng(8);
  int checked = 0;
  for (GgmlType type : kTypes) {
    for (const int64_t n : {RowLength(type), int64_t{40960}}) {
      const int n_rows = 19;
      const Operands o = MakeOperands(type, n, n_rows, kGemvMaxTokens, rng);
      for (Isa isa : AllIsas()) {
        const TypeKernels& k = GetKernels(type, isa);
        if (k.gemv == nullptr) continue;
        std::vector<float> want(static_cast<size_t>(kGemvMaxTokens) * n_rows);
        for (int t = 0; t < kGemvMaxTokens; ++t) {
          for (int r = 0; r < n_rows; ++r) want[t * n_rows + r] = k.vec_dot(n, &o.w[r * o.w_row], &o.a[t * o.a_row]);
        }
        for (int tokens = 1; tokens <= kGemvMaxTokens; ++tokens) {
          for (int rows : {1, 2, 7, 9, n_rows}) {
            const size_t out_stride = n_rows + 2;
            std::vector<float> out(kGemvMaxTokens * out_stride, -1.0f);
            k.gemv(n, o.w.data(), o.w_row, rows, o.a.data(), o.a_row, tokens, out.data(), out_stride);
            for (int t = 0; t < kGemvMaxTokens; ++t) {
              for (int r = 0; r < static_cast<int>(out_stride); ++r) {
                const float got = out[t * out_stride + r];
                if (t >= tokens || r >= rows) {
                  ASSERT_EQ(got, -1.0f) << "gemv wrote outside its rows and tokens";
                  continue;
                }
                ASSERT_TRUE(SameBits(got, want[t * n_rows + r]))
                    << TypeName(type) << " " << IsaName(isa) << " n " << n << " tokens " << tokens << " rows " << rows
                    << " row " << r << " token " << t << ": gemv " << got << " vs vec_dot " << want[t * n_rows + r];
              }
            }
          }
        }
        ++checked;
      }
    }
  }
  if (BestIsa() >= Isa::kAvx2) {
    EXPECT_GT(checked, 0) << "no gemv kernel registered";
  }
}

// End to end: a batch of 1..11 tokens through MatMul (tiles, row blocks, thread chunks) equals
// each token through MatMul alone, bit for bit, for every type and level.
TEST(BatchInvarianceTest, BatchedMatMulIsBitIdenticalToOneTokenMatMul) {
  std::mt19937 rng(7);
  std::normal_distribution<float> dist;
  ThreadPool pool(2);
  MatMulScratch scratch;
  const int64_t n_out = 203;
  for (GgmlType type : kTypes) {
    const int64_t n = RowLength(type);
    const Operands o = MakeOperands(type, n, static_cast<int>(n_out), 0, rng);
    TensorView w;
    w.name = "w";
    w.type = type;
    w.n_dims = 2;
    w.ne[0] = n;
    w.ne[1] = n_out;
    w.data = o.w.data();
    for (int64_t n_tokens : {2, 5, 11}) {
      std::vector<float> x(n_tokens * n);
      for (float& v : x) v = dist(rng);
      for (Isa isa : AllIsas()) {
        std::vector<float> batch(n_tokens * n_out), one(n_out);
        MatMul(w, x.data(), n_tokens, batch.data(), pool, scratch, isa);
        for (int64_t t = 0; t < n_tokens; ++t) {
          MatMul(w, &x[t * n], 1, one.data(), pool, scratch, isa);
          for (int64_t r = 0; r < n_out; ++r) {
            ASSERT_TRUE(SameBits(batch[t * n_out + r], one[r]))
                << TypeName(type) << " " << IsaName(isa) << " tokens " << n_tokens << " t " << t << " row " << r
                << ": " << batch[t * n_out + r] << " vs " << one[r];
          }
        }
      }
    }
  }
}

}  // namespace
}  // namespace isv
