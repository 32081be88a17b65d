// MatMul's batched paths (row blocks, the four-token vec_dot_4 kernels, the pool's dynamic
// chunks) against the scalar vec_dot oracle, for every type with a quantizer and every
// instruction-set level this CPU runs.
#include "engine/kernels/matmul.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <cstring>
#include <memory>
#include <random>
#include <utility>
#include <vector>

#include "core/thread_pool.h"
#include "engine/kernels/kernel_test_util.h"
#include "engine/kernels/kernels.h"

namespace isv {
namespace {

constexpr GgmlType kTypes[] = {GgmlType::kQ4_0, GgmlType::kQ4_1, GgmlType::kQ5_0, GgmlType::kQ5_1,
                               GgmlType::kQ8_0, GgmlType::kIQ4_NL, GgmlType::kQ4_K, GgmlType::kQ5_K,
                               GgmlType::kQ6_K, GgmlType::kF16, GgmlType::kF32};

// Bound on float reordering: a few ulps of the absolute-value sum per block.
double Tolerance(const float* w, const float* x, int64_t n) {
  double b = 0;
  for (int64_t j = 0; j < n; ++j) b += (std::fabs(w[j]) + 0.1) * (std::fabs(x[j]) + 0.1);
  return (n / 32 + 8) * std::ldexp(1.0, -22) * b;
}

TEST(MatMulTest, VecDot4MatchesScalarVecDot) {
  std::mt19937 rng(17);
  std::normal_distribution<float> dist;
  const int64_t n_in = 512;
  int checked = 0;
  for (GgmlType type : kTypes) {
    TestMatrix m = MakeTestMatrix(type, n_in, 3, 0.1f, rng);
    const TypeKernels& scalar = GetKernels(type, Isa::kScalar);
    const TypeKernels& act = GetKernels(scalar.vec_dot_type, Isa::kScalar);
    const size_t act_row = RowSize(scalar.vec_dot_type, n_in);
    std::vector<float> x(4 * n_in);
    for (float& v : x) v = dist(rng);
    std::vector<uint8_t> a(4 * act_row);
    for (int j = 0; j < 4; ++j) act.from_float(&x[j * n_in], &a[j * act_row], n_in);
    for (Isa isa : AllIsas()) {
      const TypeKernels& k = GetKernels(type, isa);
      if (k.vec_dot_4 == nullptr) continue;
      for (int64_t r = 0; r < 3; ++r) {
        float got[4];
        k.vec_dot_4(n_in, &m.bytes[r * m.view.row_bytes()], a.data(), act_row, got);
        for (int j = 0; j < 4; ++j) {
          const float want = scalar.vec_dot(n_in, &m.bytes[r * m.view.row_bytes()], &a[j * act_row]);
          ASSERT_NEAR(got[j], want, Tolerance(&m.dequantized[r * n_in], &x[j * n_in], n_in))
              << TypeName(type) << " " << IsaName(isa) << " row " << r << " token " << j;
        }
        ++checked;
      }
    }
  }
  if (BestIsa() >= Isa::kAvx2) {
    EXPECT_GT(checked, 0) << "no vec_dot_4 kernel registered";
  }
}

// Batches of 1..9 tokens (four-token groups plus a remainder), more rows than one chunk, a row
// count that is not a multiple of the row alignment: every output equals the scalar MatMul.
TEST(MatMulTest, BatchedMatMulMatchesScalarAtEveryIsa) {
  std::mt19937 rng(23);
  std::normal_distribution<float> dist;
  const int64_t n_in = 256, n_out = 203;
  ThreadPool pool(2);
  MatMulScratch scratch;
  for (GgmlType type : kTypes) {
    TestMatrix m = MakeTestMatrix(type, n_in, n_out, 0.1f, rng);
    for (int64_t n_tokens : {1, 4, 9}) {
      std::vector<float> x(n_tokens * n_in);
      for (float& v : x) v = dist(rng);
      std::vector<float> want(n_tokens * n_out), got(n_tokens * n_out);
      MatMul(m.view, x.data(), n_tokens, want.data(), pool, scratch, Isa::kScalar);
      for (Isa isa : AllIsas()) {
        std::fill(got.begin(), got.end(), NAN);
        MatMul(m.view, x.data(), n_tokens, got.data(), pool, scratch, isa);
        for (int64_t t = 0; t < n_tokens; ++t) {
          for (int64_t r = 0; r < n_out; ++r) {
            // Activation quantization may round differently per level: allow its error too.
            const double tol = 4 * Tolerance(&m.dequantized[r * n_in], &x[t * n_in], n_in) +
                               (type == GgmlType::kF32 || type == GgmlType::kF16 ? 0.0 : 2e-2);
            ASSERT_NEAR(got[t * n_out + r], want[t * n_out + r], tol)
                << TypeName(type) << " " << IsaName(isa) << " tokens " << n_tokens << " row " << r << " t " << t;
          }
        }
      }
    }
  }
}

// MatMulShared = separate MatMul calls, bit for bit: shared preparations (one vec_dot_type: Q5_0 + Q8_0
// share Q8_0 activations, Q4_K + Q6_K share Q8_K; prompt rows too: packed once, for Q8_0 in kRows8 also
// the AMX-or-not choice) and fallback cases (mixed activation types), with matrices of different heights
// so chunks of several matrices interleave, batches of plain rows, prompt rows and both.
TEST(MatMulTest, SharedEqualsSeparateCallsBitForBit) {
  std::mt19937 rng(29);
  std::normal_distribution<float> dist;
  const int64_t n_in = 512;
  ThreadPool pool(2);
  MatMulScratch scratch;
  const std::vector<std::vector<GgmlType>> groups = {{GgmlType::kQ5_0, GgmlType::kQ5_0, GgmlType::kQ8_0},
                                                     {GgmlType::kQ4_K, GgmlType::kQ6_K},
                                                     {GgmlType::kQ8_0, GgmlType::kQ4_0, GgmlType::kQ8_0},
                                                     {GgmlType::kQ4_K, GgmlType::kQ8_0, GgmlType::kF16}};
  const int64_t heights[] = {896, 128, 408};
  for (bool rows8 : {false, true}) {
    for (const std::vector<GgmlType>& types : groups) {
      std::vector<TestMatrix> ms;
      std::vector<std::unique_ptr<RepackedMatrix>> repacked;
      std::vector<const TensorView*> views;
      for (size_t i = 0; i < types.size(); ++i) {
        ms.push_back(MakeTestMatrix(types[i], n_in, heights[i], 0.1f, rng));
        if (rows8 && types[i] != GgmlType::kF16) {
          repacked.push_back(std::make_unique<RepackedMatrix>(ms.back()));
          views.push_back(&repacked.back()->view);
        } else {
          views.push_back(&ms.back().view);
        }
      }
      for (const auto& [n_tokens, n_prefill] :
           {std::pair<int64_t, int64_t>{1, 0}, {3, 0}, {8, 0}, {5, 5}, {20, 0}, {37, 37}, {41, 35}}) {
        std::vector<float> x(n_tokens * n_in);
        for (float& v : x) v = dist(rng);
        std::vector<std::vector<float>> want(ms.size()), got(ms.size());
        for (size_t i = 0; i < ms.size(); ++i) {
          want[i].assign(n_tokens * heights[i], NAN);
          got[i].assign(n_tokens * heights[i], NAN);
          MatMul(*views[i], x.data(), n_tokens, want[i].data(), pool, scratch, n_prefill);
        }
        if (ms.size() == 3) {
          MatMulShared({{views[0], got[0].data()}, {views[1], got[1].data()}, {views[2], got[2].data()}}, x.data(),
                       n_tokens, pool, scratch, n_prefill);
        } else {
          MatMulShared({{views[0], got[0].data()}, {views[1], got[1].data()}}, x.data(), n_tokens, pool, scratch,
                       n_prefill);
        }
        for (size_t i = 0; i < ms.size(); ++i) {
          ASSERT_EQ(std::memcmp(got[i].data(), want[i].data(), got[i].size() * sizeof(float)), 0)
              << TypeName(types[i]) << " output " << i << " tokens " << n_tokens << " prefill " << n_prefill
              << (rows8 ? " kRows8" : "");
        }
      }
    }
  }
}

// MatMul of rows made by an ActivationRowFn = MatMul of the same rows stored, bit for bit, at every level
// (plain rows, prompt rows, both; file order and kRows8), and every row made exactly once.
TEST(MatMulTest, MadeRowsEqualStoredRowsBitForBit) {
  std::mt19937 rng(31);
  std::normal_distribution<float> dist;
  const int64_t n_in = 256, n_out = 136;
  ThreadPool pool(2);
  MatMulScratch scratch;
  for (GgmlType type : {GgmlType::kQ8_0, GgmlType::kQ4_1, GgmlType::kQ4_K, GgmlType::kF16}) {
    TestMatrix m = MakeTestMatrix(type, n_in, n_out, 0.1f, rng);
    std::unique_ptr<RepackedMatrix> r8;  // (no kRows8 layout for F16)
    if (type != GgmlType::kF16) r8 = std::make_unique<RepackedMatrix>(m);
    for (const TensorView* view : {&m.view, r8 != nullptr ? &r8->view : nullptr}) {
      if (view == nullptr) continue;
      for (const auto& [n_tokens, n_prefill] :
           {std::pair<int64_t, int64_t>{1, 0}, {6, 0}, {300, 0}, {40, 40}, {300, 296}}) {
        std::vector<float> x(n_tokens * n_in);
        for (float& v : x) v = dist(rng);
        std::vector<float> want(n_tokens * n_out, NAN), got(n_tokens * n_out, NAN);
        MatMul(*view, x.data(), n_tokens, want.data(), pool, scratch, n_prefill);
        std::vector<std::atomic<int>> made(n_tokens);
        MatMul(
            *view,
            [&](int64_t t, float* row) {
              made[t].fetch_add(1);
              std::copy(x.data() + t * n_in, x.data() + (t + 1) * n_in, row);
            },
            n_tokens, got.data(), pool, scratch, n_prefill);
        ASSERT_EQ(std::memcmp(got.data(), want.data(), got.size() * sizeof(float)), 0)
            << TypeName(type) << " tokens " << n_tokens << " prefill " << n_prefill
            << (view->layout == WeightLayout::kRows8 ? " kRows8" : "");
        for (int64_t t = 0; t < n_tokens; ++t) ASSERT_EQ(made[t].load(), 1) << "row " << t;
      }
    }
  }
}

}  // namespace
}  // namespace isv
