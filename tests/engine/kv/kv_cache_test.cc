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

TEST(KvCacheTest, AllocatesBlocksRemovesAndReportsFull) {
  KvCache kv(/*n_layer=*/2, /*n_ctx=*/8, /*n_embd_kv=*/8, /*block_size=*/2);
  ASSERT_EQ(kv.n_blocks(), 4);
  std::vector<int32_t> cells;
  const std::vector<int32_t> seqs = {0, 0, 1, 0}, pos = {0, 1, 0, 2};
  ASSERT_TRUE(kv.Allocate(seqs, pos, &cells).ok());
  // seq 0 takes block 0 (cells 0, 1) then block 2 for position 2; seq 1 takes block 1.
  EXPECT_EQ(cells, (std::vector<int32_t>{0, 1, 2, 4}));
  EXPECT_EQ(kv.n_free_blocks(), 1);
  EXPECT_EQ(kv.MaxPosition(0), 2);
  EXPECT_EQ(kv.MaxPosition(1), 0);
  EXPECT_EQ(kv.MaxPosition(2), -1);
  kv.CellsOf(0, &cells);
  EXPECT_EQ(cells, (std::vector<int32_t>{0, 1, 4}));
  EXPECT_EQ(kv.cell_pos(4), 2);

  // A position already stored, or a gap, is refused; more blocks than free is ResourceExhausted
  // and changes nothing.
  const std::vector<int32_t> one_seq = {0}, stored = {1}, gap = {5};
  EXPECT_EQ(kv.Allocate(one_seq, stored, &cells).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(kv.Allocate(one_seq, gap, &cells).code(), StatusCode::kInvalidArgument);
  const std::vector<int32_t> three_seq = {2, 2, 2}, three_pos = {0, 1, 2};
  EXPECT_EQ(kv.Allocate(three_seq, three_pos, &cells).code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(kv.n_free_blocks(), 1);
  EXPECT_EQ(kv.SeqLength(2), 0);

  kv.RemoveFrom(0, 2);  // drops position 2: block 2 is free again
  EXPECT_EQ(kv.n_free_blocks(), 2);
  ASSERT_TRUE(kv.Allocate(three_seq, three_pos, &cells).ok());
  EXPECT_EQ(kv.n_free_blocks(), 0);
  kv.Clear();
  EXPECT_EQ(kv.n_free_blocks(), 4);
}

// With several KV heads each head's rows of consecutive cells are adjacent (head_dim apart), and
// copy-on-write copies the used cells' K and V rows of every layer and head.
TEST(KvCacheTest, HeadMajorRowsAndCopyOnWriteOfEveryHead) {
  constexpr int32_t kLayers = 2, kHeads = 3, kHeadDim = 4;
  KvCache kv(kLayers, /*n_ctx=*/16, /*n_embd_kv=*/kHeads * kHeadDim, /*block_size=*/4, kHeads);
  EXPECT_EQ(kv.head_dim(), kHeadDim);
  EXPECT_EQ(kv.n_head_kv(), kHeads);
  EXPECT_EQ(kv.k(1, 2, 5) + kHeadDim, kv.k(1, 2, 6));
  auto value = [](int32_t l, int32_t h, int32_t pos, int32_t i, int kind) {
    return static_cast<uint16_t>(1000 * kind + 200 * l + 50 * h + pos * kHeadDim + i);
  };
  std::vector<int32_t> a_cells;
  const std::vector<int32_t> a(6, 0), a_pos = {0, 1, 2, 3, 4, 5};
  ASSERT_TRUE(kv.Allocate(a, a_pos, &a_cells).ok());
  for (int32_t l = 0; l < kLayers; ++l) {
    for (int32_t h = 0; h < kHeads; ++h) {
      for (int32_t p = 0; p < 6; ++p) {
        for (int32_t i = 0; i < kHeadDim; ++i) {
          kv.k(l, h, a_cells[p])[i] = value(l, h, p, i, 1);
          kv.v(l, h, a_cells[p])[i] = value(l, h, p, i, 2);
        }
      }
    }
  }
  // Sequence 1 shares the first block, keeps 2 of its positions and writes position 2: the block
  // is copied first (positions 0 and 1 of every layer and head), sequence 0 keeps its own.
  const std::vector<int32_t> blocks(kv.Blocks(0).begin(), kv.Blocks(0).end());
  ASSERT_TRUE(kv.ShareBlocks(1, std::span<const int32_t>(blocks).first(1)).ok());
  kv.RemoveFrom(1, 2);
  std::vector<int32_t> cells;
  const std::vector<int32_t> b = {1}, b_pos = {2};
  ASSERT_TRUE(kv.Allocate(b, b_pos, &cells).ok());
  std::vector<int32_t> b_cells;
  kv.CellsOf(1, &b_cells);
  ASSERT_EQ(b_cells.size(), 3u);
  EXPECT_NE(b_cells[0] / 4, blocks[0]);
  for (int32_t l = 0; l < kLayers; ++l) {
    for (int32_t h = 0; h < kHeads; ++h) {
      for (int32_t i = 0; i < kHeadDim; ++i) {
        kv.k(l, h, b_cells[2])[i] = 7;
        kv.v(l, h, b_cells[2])[i] = 9;
      }
    }
  }
  for (int32_t l = 0; l < kLayers; ++l) {
    for (int32_t h = 0; h < kHeads; ++h) {
      for (int32_t i = 0; i < kHeadDim; ++i) {
        for (int32_t p = 0; p < 2; ++p) {
          ASSERT_EQ(kv.k(l, h, b_cells[p])[i], value(l, h, p, i, 1)) << l << " " << h << " " << p << " " << i;
          ASSERT_EQ(kv.v(l, h, b_cells[p])[i], value(l, h, p, i, 2)) << l << " " << h << " " << p << " " << i;
        }
        for (int32_t p = 0; p < 6; ++p) {  // sequence 0 untouched
          ASSERT_EQ(kv.k(l, h, a_cells[p])[i], value(l, h, p, i, 1)) << l << " " << h << " " << p << " " << i;
          ASSERT_EQ(kv.v(l, h, a_cells[p])[i], value(l, h, p, i, 2)) << l << " " << h << " " << p << " " << i;
        }
      }
    }
  }
}

TEST(KvCacheTest, SharedBlocksAreCountedAndCopiedOnWrite) {
  KvCache kv(/*n_layer=*/1, /*n_ctx=*/8, /*n_embd_kv=*/2, /*block_size=*/2);
  std::vector<int32_t> cells;
  const std::vector<int32_t> a = {0, 0, 0}, a_pos = {0, 1, 2};
  ASSERT_TRUE(kv.Allocate(a, a_pos, &cells).ok());
  for (int32_t c : cells) kv.k(0, 0, c)[0] = static_cast<uint16_t>(100 + c);
  const std::vector<int32_t> prefix(kv.Blocks(0).begin(), kv.Blocks(0).end());
  ASSERT_EQ(prefix.size(), 2u);

  // Sequence 1 shares the first (full) block; the prefix cache also keeps it.
  kv.Retain(prefix[0]);
  ASSERT_TRUE(kv.ShareBlocks(1, std::span<const int32_t>(prefix).first(1)).ok());
  EXPECT_EQ(kv.refs(prefix[0]), 3);
  EXPECT_EQ(kv.SeqLength(1), 2);
  EXPECT_EQ(kv.ShareBlocks(1, std::span<const int32_t>(prefix).first(1)).code(), StatusCode::kInvalidArgument);
  const std::vector<int32_t> b = {1}, b_pos = {2};
  ASSERT_TRUE(kv.Allocate(b, b_pos, &cells).ok());
  EXPECT_NE(cells[0] / 2, prefix[1]);  // its own block, not sequence 0's second one
  kv.CellsOf(1, &cells);
  EXPECT_EQ(kv.k(0, 0, cells[0])[0], kv.k(0, 0, prefix[0] * 2)[0]);

  // Truncating into the shared block and writing there copies it first.
  kv.RemoveFrom(1, 1);
  EXPECT_EQ(kv.refs(prefix[0]), 3);
  const std::vector<int32_t> b_pos1 = {1};
  ASSERT_TRUE(kv.Allocate(b, b_pos1, &cells).ok());
  EXPECT_EQ(kv.refs(prefix[0]), 2);
  EXPECT_NE(cells[0] / 2, prefix[0]);
  std::vector<int32_t> b_cells;
  kv.CellsOf(1, &b_cells);
  EXPECT_EQ(kv.k(0, 0, b_cells[0])[0], 100 + prefix[0] * 2);  // position 0 copied

  kv.Clear();  // the retained block survives the sequences
  EXPECT_EQ(kv.refs(prefix[0]), 1);
  EXPECT_EQ(kv.n_free_blocks(), 3);
  kv.Release(prefix[0]);
  EXPECT_EQ(kv.n_free_blocks(), 4);
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
