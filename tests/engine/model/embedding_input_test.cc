// Batch entries that carry an input embedding row instead of a token id (Batch::AddEmbedding).
// Independent expectation: a row equal to a token's embedding must give bit-identical logits to the
// token itself, alone, in mixed batches, and across two sequences.
#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <vector>

#include "engine/kernels/matmul.h"
#include "engine/model/context.h"
#include "engine/model/golden_testutil.h"
#include "engine/model/model.h"

namespace isv {
namespace {

using golden::TestdataDir;
using golden::TestdataPresent;

const std::vector<int32_t> kTokens = {1, 403, 29, 77, 258, 9, 131, 64};

std::vector<float> EmbeddingOf(const Model& model, int32_t token) {
  std::vector<float> row(static_cast<size_t>(model.params().n_embd));
  DequantizeRow(model.weights().token_embd, token, row.data());
  return row;
}

// Logits of every entry of `batch` run on a fresh context.
std::vector<std::vector<float>> RunAll(const Model& model, const Batch& batch) {
  auto ctx = Context::Create(model, {.n_ctx = 64, .n_threads = 1});
  EXPECT_TRUE(ctx.ok()) << ctx.status().ToString();
  Status s = (*ctx)->Forward(batch);
  EXPECT_TRUE(s.ok()) << s.ToString();
  std::vector<std::vector<float>> out;
  for (int32_t i = 0; i < (*ctx)->n_outputs(); ++i) {
    std::span<const float> l = (*ctx)->Logits(i);
    out.emplace_back(l.begin(), l.end());
  }
  return out;
}

class EmbeddingInput : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!TestdataPresent()) GTEST_SKIP() << "../shared/testdata absent";
    auto m = Model::Load(TestdataDir() + "/models/stories260K.gguf");
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    model_ = std::move(*m);
  }
  std::unique_ptr<Model> model_;
};

void ExpectBitIdentical(const std::vector<std::vector<float>>& a, const std::vector<std::vector<float>>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    ASSERT_EQ(a[i].size(), b[i].size());
    EXPECT_EQ(std::memcmp(a[i].data(), b[i].data(), a[i].size() * sizeof(float)), 0) << "row " << i;
  }
}

TEST_F(EmbeddingInput, RowsEqualToTokenEmbeddingsGiveIdenticalLogits) {
  const int32_t n_embd = model_->params().n_embd;
  Batch tokens, rows;
  for (size_t i = 0; i < kTokens.size(); ++i) {
    tokens.Add(kTokens[i], static_cast<int32_t>(i), 0, true);
    const std::vector<float> e = EmbeddingOf(*model_, kTokens[i]);
    rows.AddEmbedding(e.data(), n_embd, static_cast<int32_t>(i), 0, true);
  }
  ExpectBitIdentical(RunAll(*model_, tokens), RunAll(*model_, rows));
}

TEST_F(EmbeddingInput, MixedBatchAndTwoSequences) {
  const int32_t n_embd = model_->params().n_embd;
  Batch tokens, mixed;
  for (int32_t seq = 0; seq < 2; ++seq) {
    for (size_t i = 0; i < kTokens.size(); ++i) {
      const int32_t t = kTokens[(i + seq) % kTokens.size()];
      tokens.Add(t, static_cast<int32_t>(i), seq, true);
      if ((i + seq) % 3 == 1) {  // every third entry, at different places in the two sequences
        const std::vector<float> e = EmbeddingOf(*model_, t);
        mixed.AddEmbedding(e.data(), n_embd, static_cast<int32_t>(i), seq, true);
      } else {
        mixed.Add(t, static_cast<int32_t>(i), seq, true);
      }
    }
  }
  ExpectBitIdentical(RunAll(*model_, tokens), RunAll(*model_, mixed));
}

TEST_F(EmbeddingInput, DifferentRowChangesLogits) {
  // The row is really used: a scaled embedding gives other logits than the token.
  const int32_t n_embd = model_->params().n_embd;
  Batch tokens, rows;
  tokens.Add(kTokens[1], 0, 0, true);
  std::vector<float> e = EmbeddingOf(*model_, kTokens[1]);
  for (float& v : e) v *= -2.0f;
  rows.AddEmbedding(e.data(), n_embd, 0, 0, true);
  auto a = RunAll(*model_, tokens), b = RunAll(*model_, rows);
  ASSERT_EQ(a.size(), 1u);
  ASSERT_EQ(b.size(), 1u);
  EXPECT_NE(a[0], b[0]);
}

TEST_F(EmbeddingInput, RowCountMismatchIsInvalid) {
  Batch b;
  b.Add(Batch::kEmbeddingToken, 0, 0, true);  // no row
  auto ctx = Context::Create(*model_, {.n_ctx = 16, .n_threads = 1});
  ASSERT_TRUE(ctx.ok());
  Status s = (*ctx)->Forward(b);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("embedding"), std::string::npos) << s.message();
  // Still usable afterwards.
  const std::vector<float> e = EmbeddingOf(*model_, 5);
  Batch ok;
  ok.AddEmbedding(e.data(), model_->params().n_embd, 0, 0, true);
  EXPECT_TRUE((*ctx)->Forward(ok).ok());
}

}  // namespace
}  // namespace isv
