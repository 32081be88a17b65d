// Model's load-time repacking into WeightLayout::kRows8 (Model::RepackForDecode): which matrices it
// repacks, and that a repacked model computes exactly the logits of the same file used in place from the
// mmap (not repacked), for a prompt and the decode steps after it (Q4_K, whose kRows8 kernel sums in
// its own order: the same within float rounding).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "engine/kernels/kernels.h"
#include "engine/model/context.h"
#include "engine/model/golden_testutil.h"
#include "engine/model/model.h"

namespace isv {
namespace {

using golden::TestdataDir;
using golden::TestdataPresent;

const std::string kModel = "/models/tiny-llama-Q4_0.gguf";

// Logits of every step: a flagged 9-token prompt, then 6 decode tokens.
std::vector<std::vector<float>> StepLogits(const Model& model) {
  auto ctx = Context::Create(model, {.n_ctx = 64, .n_threads = 2});
  EXPECT_TRUE(ctx.ok()) << ctx.status().ToString();
  std::vector<std::vector<float>> steps;
  const std::vector<int32_t> prompt = {1, 403, 29, 77, 258, 9, 131, 64, 12};
  Batch b;
  for (size_t i = 0; i < prompt.size(); ++i) {
    b.Add(prompt[i], static_cast<int32_t>(i), 0, i + 1 == prompt.size(), /*is_prefill=*/true);
  }
  EXPECT_TRUE((*ctx)->Forward(b).ok());
  int32_t pos = static_cast<int32_t>(prompt.size());
  for (int32_t token : {300, 5, 77, 81, 2, 44}) {
    std::span<const float> l = (*ctx)->Logits((*ctx)->n_outputs() - 1);
    steps.emplace_back(l.begin(), l.end());
    Batch d;
    d.Add(token, pos++, 0, true);
    EXPECT_TRUE((*ctx)->Forward(d).ok());
  }
  return steps;
}

TEST(Rows8RepackTest, RepackedModelGivesTheLogitsOfTheFileOrder) {
  if (!TestdataPresent()) GTEST_SKIP() << "../shared/testdata absent";
  auto copied = Model::Load(TestdataDir() + kModel, GgufMemory::kHugePages);
  auto mapped = Model::Load(TestdataDir() + kModel, GgufMemory::kMap);
  ASSERT_TRUE(copied.ok()) << copied.status().ToString();
  ASSERT_TRUE(mapped.ok()) << mapped.status().ToString();
  const Model& a = **copied;
  const Model& b = **mapped;

  // In place from the mmap nothing is repacked; a private copy is, where the CPU has the kernel.
  EXPECT_EQ(b.rows8_matrices(), 0);
  const bool expect_repack = a.file().writable() && GetKernels(GgmlType::kQ4_0).gemv_rows8 != nullptr;
  const int n_layer = a.params().n_layer;
  EXPECT_EQ(a.rows8_matrices(), expect_repack ? 7 * n_layer : 0);  // q k v o gate up down
  const WeightLayout want = expect_repack ? WeightLayout::kRows8 : WeightLayout::kRows;
  for (const LayerWeights& l : a.weights().layers) {
    for (const TensorView* v : {&l.wq, &l.wk, &l.wv, &l.wo, &l.ffn_gate, &l.ffn_up, &l.ffn_down}) {
      EXPECT_EQ(v->layout, want) << v->name;
      EXPECT_EQ(a.file().FindTensor(v->name)->layout, want) << v->name << " (the file's view)";
    }
  }
  // Looked up by row: never repacked (tied output too).
  EXPECT_EQ(a.weights().token_embd.layout, WeightLayout::kRows);
  if (!expect_repack) GTEST_SKIP() << "no kRows8 kernel at this CPU's level or THP unavailable: nothing to compare";

  const std::vector<std::vector<float>> got = StepLogits(a), reference = StepLogits(b);
  ASSERT_EQ(got.size(), reference.size());
  for (size_t s = 0; s < got.size(); ++s) {
    ASSERT_EQ(got[s].size(), reference[s].size());
    EXPECT_EQ(std::memcmp(got[s].data(), reference[s].data(), got[s].size() * sizeof(float)), 0) << "step " << s;
  }
}

// A Q4_K_M file: its Q4_K layer matrices are repacked (the others, Q6_K, are not); the decode logits
// agree with the file order's within float rounding (the kernels differ only in summation order).
TEST(Rows8RepackTest, Q4KMatricesRepackedAndCloseToTheFileOrder) {
  if (!TestdataPresent()) GTEST_SKIP() << "../shared/testdata absent";
  const std::string path = TestdataDir() + "/models/tiny-llama-Q4_K_M.gguf";
  auto copied = Model::Load(path, GgufMemory::kHugePages);
  auto mapped = Model::Load(path, GgufMemory::kMap);
  ASSERT_TRUE(copied.ok()) << copied.status().ToString();
  ASSERT_TRUE(mapped.ok()) << mapped.status().ToString();
  const Model& a = **copied;
  if (!a.file().writable() || GetKernels(GgmlType::kQ4_K).gemv_rows8 == nullptr) {
    GTEST_SKIP() << "no kRows8 Q4_K kernel at this CPU's level or THP unavailable";
  }
  int q4k = 0;
  for (const LayerWeights& l : a.weights().layers) {
    for (const TensorView* v : {&l.wq, &l.wk, &l.wv, &l.wo, &l.ffn_gate, &l.ffn_up, &l.ffn_down}) {
      const bool repack = v->type == GgmlType::kQ4_K && v->ne[1] % 8 == 0;
      q4k += repack;
      EXPECT_EQ(v->layout, repack ? WeightLayout::kRows8 : WeightLayout::kRows) << v->name << " " << TypeName(v->type);
    }
  }
  EXPECT_GT(q4k, 0);
  EXPECT_EQ(a.rows8_matrices(), q4k);

  // Step 2 of this sequence sits on a rounding edge (an activation quantization that flips with the
  // last bit of its input): the file-order logits of the AVX2 and scalar levels differ there from the
  // AVX-512 level's by 0.63 (largest logit 29.5) too, as the repacked model's do. So: every step keeps
  // its argmax and stays within 5% of the largest logit, and all but one agree to float rounding.
  const std::vector<std::vector<float>> got = StepLogits(a), reference = StepLogits(**mapped);
  ASSERT_EQ(got.size(), reference.size());
  int close = 0;
  for (size_t s = 0; s < got.size(); ++s) {
    ASSERT_EQ(got[s].size(), reference[s].size());
    float scale = 0, diff = 0;
    for (size_t i = 0; i < got[s].size(); ++i) {
      scale = std::max(scale, std::fabs(reference[s][i]));
      diff = std::max(diff, std::fabs(got[s][i] - reference[s][i]));
    }
    EXPECT_EQ(std::max_element(got[s].begin(), got[s].end()) - got[s].begin(),
              std::max_element(reference[s].begin(), reference[s].end()) - reference[s].begin())
        << "step " << s;
    EXPECT_LE(diff, 0.05f * scale) << "step " << s;
    close += diff <= 1e-5f * scale;
  }
  EXPECT_GE(close, static_cast<int>(got.size()) - 1);
}

}  // namespace
}  // namespace isv
