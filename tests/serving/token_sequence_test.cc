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


// Runs `seq` on fresh random logits (with `eog_logit` on every end-of-generation token) until it
// ends; returns the visible text. Every sampled token is checked by the caller's grammar below.
std::string RunToEnd(TokenSequence& seq, const Tokenizer& tok, float eog_logit, int max_steps) {
  std::string text;
  std::mt19937 rng(42);
  std::normal_distribution<float> d(0, 3);
  for (int i = 0; i < max_steps && !seq.finished(); ++i) {
    std::vector<float> l(tok.n_vocab());
    for (float& x : l) x = d(rng);
    for (int32_t id = 0; id < tok.n_vocab(); ++id)
      if (tok.IsEog(id)) l[id] = eog_logit;
    StatusOr<TokenSequence::Step> s = seq.OnLogits(l);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    if (!s.ok()) break;
    text += s->text;
  }
  return text;
}

TEST_F(TokenSequenceTest, GrammarConstrainsTokensAndStopsWhenNothingCanFollow) {
  StatusOr<std::shared_ptr<const Grammar>> g = Grammar::Parse(R"(root ::= [a-e ]{1,12} "!")");
  ASSERT_TRUE(g.ok());
  for (float temperature : {0.0f, 1.0f}) {
    GenerationParams p;
    p.sampling.temperature = temperature;
    p.sampling.seed = 9;
    p.grammar = *g;
    TokenSequence seq(vocab_, std::vector<int32_t>{1}, p, 64);
    std::string text = RunToEnd(seq, *tokenizer_, -100, 40);
    EXPECT_EQ(seq.finish_reason(), "stop") << text;
    ASSERT_GE(text.size(), 2u) << text;
    ASSERT_LE(text.size(), 13u) << text;
    EXPECT_EQ(text.back(), '!');
    for (size_t i = 0; i + 1 < text.size(); ++i)
      EXPECT_TRUE((text[i] >= 'a' && text[i] <= 'e') || text[i] == ' ') << text;
  }
}

TEST_F(TokenSequenceTest, GrammarAllowsEndTokensOnlyWhereTheSentenceMayEnd) {
  // "a" may end the sentence, but more may follow: an end token with the highest logit is refused
  // at the start and taken as soon as the text is a complete sentence.
  StatusOr<std::shared_ptr<const Grammar>> g = Grammar::Parse(R"(root ::= "a" [a-z]*)");
  ASSERT_TRUE(g.ok());
  GenerationParams p;
  p.sampling.temperature = 0;
  p.grammar = *g;
  TokenSequence seq(vocab_, std::vector<int32_t>{1}, p, 64);
  std::string text = RunToEnd(seq, *tokenizer_, 100, 40);
  EXPECT_EQ(seq.finish_reason(), "stop");
  EXPECT_EQ(seq.completion_tokens(), 1) << text;  // one token starting with "a", then the end token
  ASSERT_FALSE(text.empty());
  EXPECT_EQ(text[0], 'a');
}

TEST_F(TokenSequenceTest, GrammarBeyondTheMatcherBoundsIsAnInvalidArgument) {
  // Every "(" nests one level deeper (no sentence is finite); past GrammarMatcher::kMaxDepth no
  // token fits.
  StatusOr<std::shared_ptr<const Grammar>> g = Grammar::Parse(R"g(root ::= "(" root ")")g");
  ASSERT_TRUE(g.ok());
  GenerationParams p;
  p.sampling.temperature = 0;
  p.grammar = *g;
  TokenSequence seq(vocab_, std::vector<int32_t>{1}, p, 4096);
  Status error;
  int steps = 0;
  for (; steps < 1500 && error.ok() && !seq.finished(); ++steps) {
    StatusOr<TokenSequence::Step> s = seq.OnLogits(RandomLogits(steps));
    if (!s.ok()) error = s.status();
  }
  EXPECT_EQ(error.code(), StatusCode::kInvalidArgument) << steps;
  EXPECT_NE(error.message().find("parse stacks"), std::string::npos) << error.ToString();
}

}  // namespace
}  // namespace isv
