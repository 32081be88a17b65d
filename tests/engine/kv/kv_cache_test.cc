// KvCache cell bookkeeping, and several sequences in one batch computing exactly what each
// computes alone (stories260K).
#include "engine/kv/kv_cache.h"

#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "engine/model/batch.h"
#include "engine/model/context.h"
#include "engine/model/golden_testutil.h"
#include "engine/model/model.h"

namespace isv {
namespace {

TEST(KvCacheTest, AllocatesRemovesAndReportsFull) {
  KvCache kv(/*n_layer=*/2, /*n_ctx=*/4, /*n_embd_kv=*/8);
  std::vector<int32_t> cells;
  const std::vector<int32_t> seqs = {0, 0, 1}, pos = {0, 1, 0};
  ASSERT_TRUE(kv.Allocate(seqs, pos, &cells).ok());
  EXPECT_EQ(cells, (std::vector<int32_t>{0, 1, 2}));
  EXPECT_EQ(kv.n_used(), 3);
  EXPECT_EQ(kv.MaxPosition(0), 1);
  EXPECT_EQ(kv.MaxPosition(1), 0);
  EXPECT_EQ(kv.MaxPosition(2), -1);

  // Same (seq, pos) twice is refused; too many tokens is ResourceExhausted and reserves nothing.
  const std::vector<int32_t> one_seq = {0}, one_pos = {1};
  EXPECT_EQ(kv.Allocate(one_seq, one_pos, &cells).code(), StatusCode::kInvalidArgument);
  const std::vector<int32_t> two_seq = {2, 2}, two_pos = {0, 1};
  EXPECT_EQ(kv.Allocate(two_seq, two_pos, &cells).code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(kv.n_used(), 3);

  kv.RemoveFrom(0, 1);  // drops (0, 1): cell 1 becomes free and is reused
  EXPECT_EQ(kv.n_used(), 2);
  ASSERT_TRUE(kv.Allocate(two_seq, two_pos, &cells).ok());
  EXPECT_EQ(cells, (std::vector<int32_t>{1, 3}));
  kv.CellsOf(2, &cells);
  EXPECT_EQ(cells, (std::vector<int32_t>{1, 3}));
  kv.Clear();
  EXPECT_EQ(kv.n_used(), 0);
}

TEST(KvCacheTest, InterleavedSequencesMatchSeparateRuns) {
  using golden::TestdataDir;
  if (!golden::TestdataPresent()) GTEST_SKIP() << "../shared/testdata absent";
  StatusOr<std::unique_ptr<Model>> model = Model::Load(TestdataDir() + "/models/stories260K.gguf");
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  StatusOr<std::unique_ptr<Context>> ctx = Context::Create(**model, {.n_ctx = 64, .n_threads = 2});
  ASSERT_TRUE(ctx.ok());
  const std::vector<int32_t> a = {1, 403, 407, 261, 378}, b = {1, 450, 318, 291, 292, 306, 300};

  auto run_alone = [&](const std::vector<int32_t>& toks) {
    (*ctx)->kv_cache().Clear();
    Batch batch;
    for (size_t i = 0; i < toks.size(); ++i) batch.Add(toks[i], static_cast<int32_t>(i), 0, true);
    EXPECT_TRUE((*ctx)->Forward(batch).ok());
    std::vector<std::vector<float>> out;
    for (int32_t i = 0; i < (*ctx)->n_outputs(); ++i) out.emplace_back((*ctx)->Logits(i).begin(), (*ctx)->Logits(i).end());
    return out;
  };
  const auto alone_a = run_alone(a), alone_b = run_alone(b);

  // Both prompts in one batch, interleaved, as sequences 3 and 5.
  (*ctx)->kv_cache().Clear();
  Batch batch;
  std::vector<std::pair<int, int>> order;  // (which, index)
  for (size_t i = 0; i < std::max(a.size(), b.size()); ++i) {
    if (i < b.size()) { batch.Add(b[i], static_cast<int32_t>(i), 5, true); order.emplace_back(1, i); }
    if (i < a.size()) { batch.Add(a[i], static_cast<int32_t>(i), 3, true); order.emplace_back(0, i); }
  }
  ASSERT_TRUE((*ctx)->Forward(batch).ok());
  for (size_t r = 0; r < order.size(); ++r) {
    const auto& expected = order[r].first == 0 ? alone_a[order[r].second] : alone_b[order[r].second];
    std::span<const float> got = (*ctx)->Logits(static_cast<int32_t>(r));
    for (size_t id = 0; id < expected.size(); ++id) ASSERT_FLOAT_EQ(got[id], expected[id]) << "row " << r << " id " << id;
  }
  // Removing one sequence leaves the other's continuation unchanged.
  (*ctx)->kv_cache().RemoveFrom(5);
  Batch next;
  next.Add(292, static_cast<int32_t>(a.size()), 3, true);
  ASSERT_TRUE((*ctx)->Forward(next).ok());
  const std::vector<float> with_removal((*ctx)->Logits(0).begin(), (*ctx)->Logits(0).end());
  (*ctx)->kv_cache().Clear();
  Batch solo;
  for (size_t i = 0; i < a.size(); ++i) solo.Add(a[i], static_cast<int32_t>(i), 3, false);
  solo.Add(292, static_cast<int32_t>(a.size()), 3, true);
  ASSERT_TRUE((*ctx)->Forward(solo).ok());
  for (size_t id = 0; id < with_removal.size(); ++id) ASSERT_FLOAT_EQ((*ctx)->Logits(0)[id], with_removal[id]);
}

}  // namespace
}  // namespace isv
