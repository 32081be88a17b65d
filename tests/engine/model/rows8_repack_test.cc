// Model's load-time repacking into WeightLayout::kRows8 (Model::RepackForDecode): which matrices it
// repacks, and that a repacked model computes exactly the logits of the same file used in place from the
// mmap (not repacked), for a prompt and the decode steps after it.
#include <gtest/gtest.h>

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

}  // namespace
}  // namespace isv
