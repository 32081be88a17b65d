// TokenSequence: finish reasons and log-probabilities, against independent expectations (a float64
// log-softmax computed here; hand-built logits).
#include "serving/token_sequence.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <random>

#include "engine/gguf/gguf_file.h"

namespace isv {
namespace {

const std::string kStories = std::string(ISV_SHARED_DIR) + "/testdata/models/stories260K.gguf";

class TokenSequenceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(kStories)) GTEST_SKIP() << "stories260K absent";
    StatusOr<std::unique_ptr<GgufFile>> f = GgufFile::Open(kStories);
    ASSERT_TRUE(f.ok());
    file_ = std::move(*f);
    StatusOr<std::unique_ptr<Tokenizer>> t = Tokenizer::FromGguf(*file_);
    ASSERT_TRUE(t.ok());
    tokenizer_ = std::move(*t);
    vocab_ = VocabPieces::For(*tokenizer_);
  }
  std::vector<float> RandomLogits(uint32_t seed) const {
    std::mt19937 rng(seed);
    std::normal_distribution<float> d(0, 3);
    std::vector<float> l(tokenizer_->n_vocab());
    for (float& x : l) x = d(rng);
    return l;
  }

  std::unique_ptr<GgufFile> file_;
  std::unique_ptr<Tokenizer> tokenizer_;
  VocabPieces vocab_;
};

TEST_F(TokenSequenceTest, LogprobsAreTheLogSoftmaxOfTheRawLogits) {
  GenerationParams p;
  p.sampling.temperature = 0;
  p.ignore_eos = true;
  p.top_logprobs = 3;
  const std::vector<int32_t> prompt = {1, 403};
  TokenSequence seq(vocab_, prompt, p, 64);
  for (uint32_t step = 0; step < 4; ++step) {
    std::vector<float> logits = RandomLogits(step);
    double max_l = -1e30;
    for (float l : logits) max_l = std::max<double>(max_l, l);
    double z = 0;
    for (float l : logits) z += std::exp(l - max_l);
    const double log_z = max_l + std::log(z);
    int32_t best = 0;
    for (int32_t i = 1; i < static_cast<int32_t>(logits.size()); ++i)
      if (logits[i] > logits[best]) best = i;

    StatusOr<TokenSequence::Step> s = seq.OnLogits(logits);
    ASSERT_TRUE(s.ok());
    ASSERT_EQ(s->logprobs.size(), 1u);
    const TokenLogprob& lp = s->logprobs[0];
    EXPECT_EQ(lp.token, best);  // greedy
    EXPECT_EQ(s->feed, best);
    EXPECT_NEAR(lp.logprob, logits[best] - log_z, 1e-4);
    EXPECT_EQ(lp.piece, tokenizer_->TokenToPiece(best, false));
    ASSERT_EQ(lp.top.size(), 3u);
    EXPECT_EQ(lp.top[0].first, lp.piece);
    EXPECT_FLOAT_EQ(lp.top[0].second, lp.logprob);
    EXPECT_GE(lp.top[0].second, lp.top[1].second);
    EXPECT_GE(lp.top[1].second, lp.top[2].second);
  }
  p.top_logprobs = -1;  // off: no entries
  TokenSequence off(vocab_, prompt, p, 64);
  StatusOr<TokenSequence::Step> s = off.OnLogits(RandomLogits(9));
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE(s->logprobs.empty());
}

TEST_F(TokenSequenceTest, EndsWithLengthAtMaxTokensAndAtTheContextLimit) {
  GenerationParams p;
  p.sampling.temperature = 0;
  p.ignore_eos = true;
  p.max_tokens = 2;
  const std::vector<int32_t> prompt = {1, 403, 407};
  TokenSequence seq(vocab_, prompt, p, 64);
  std::vector<float> logits = RandomLogits(1);
  ASSERT_GE(seq.OnLogits(logits)->feed, 0);
  StatusOr<TokenSequence::Step> last = seq.OnLogits(logits);
  EXPECT_EQ(last->feed, -1);
  EXPECT_EQ(seq.finish_reason(), "length");
  EXPECT_EQ(seq.completion_tokens(), 2);

  p.max_tokens = -1;
  TokenSequence ctx(vocab_, prompt, p, 4);  // position 3 is the last cell: one token fits
  EXPECT_GE(ctx.OnLogits(logits)->feed, 0);
  EXPECT_EQ(ctx.OnLogits(logits)->feed, -1);  // its successor would need position 4
  EXPECT_EQ(ctx.finish_reason(), "length");
}

}  // namespace
}  // namespace isv
