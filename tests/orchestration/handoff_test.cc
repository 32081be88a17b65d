#include "orchestration/handoff.h"

#include <gtest/gtest.h>

#include "fake_models_testutil.h"

namespace isv {
namespace {

using json = nlohmann::ordered_json;
using testing::FakeModel;
using testing::RenderFake;
using testing::ScriptedGenerator;

class HandoffTest : public ::testing::Test {
 protected:
  ScriptedGenerator gen_{FakeModel::Replying([](const std::string&) { return std::string(); })};
  const std::string a_ = std::string(300, 'a');
  const std::string b_ = std::string(300, 'b');
  StagePrompt Prompt() const { return {"", {{"s1", "A", a_}, {"s2", "B", b_}}, "T"}; }
  // The fake's rendering, written out by hand: the independent expectation of token counts.
  static int Expected(const std::string& sections) {
    return static_cast<int>(std::string("<system>\nS\n<user>\nQ?" + sections + "\n\nT\n").size());
  }
};

TEST_F(HandoffTest, ComposesSectionsAfterTheQuestion) {
  HandoffState st(
      json::parse(R"([{"role":"system","content":"S"},{"role":"user","content":"Q?"}])"));
  StatusOr<FitResult> r = FitHandoff(gen_, st, Prompt(), 4000, HandoffPolicy::kDropOldest, {});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->policy, "none");
  EXPECT_EQ(r->tokens_in, Expected("\n\n### A\n" + a_ + "\n\n### B\n" + b_));
  EXPECT_EQ(r->tokens_kept, r->tokens_in);
}

TEST_F(HandoffTest, TruncateMiddleKeepsBothEndsWithinTheLimit) {
  HandoffState st(
      json::parse(R"([{"role":"system","content":"S"},{"role":"user","content":"Q?"}])"));
  const int full = Expected("\n\n### A\n" + a_ + "\n\n### B\n" + b_);
  const int limit = full - 200;
  StatusOr<FitResult> r = FitHandoff(gen_, st, Prompt(), limit, HandoffPolicy::kTruncateMiddle, {});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->policy, "truncate_middle");
  EXPECT_EQ(r->tokens_in, full);
  EXPECT_LE(r->tokens_kept, limit);
  EXPECT_GE(r->tokens_kept, limit - 1);  // the largest cut that fits, to the byte
  std::string user = r->messages.back()["content"];
  EXPECT_NE(user.find("\n[...]\n"), std::string::npos);
  EXPECT_NE(user.find("### A\naaaa"), std::string::npos);  // the head survives
  EXPECT_NE(user.find("bbbb\n\nT"), std::string::npos);    // and the tail
  EXPECT_EQ(static_cast<int>(RenderFake(r->messages).size()), r->tokens_kept);
}

TEST_F(HandoffTest, WhenNoSectionTextFitsTheSectionIsEmptied) {
  HandoffState st(
      json::parse(R"([{"role":"system","content":"S"},{"role":"user","content":"Q?"}])"));
  const int limit = Expected("\n\n### Earlier stages (shortened)\n");  // no room for "[...]"
  StatusOr<FitResult> r = FitHandoff(gen_, st, Prompt(), limit, HandoffPolicy::kTruncateMiddle, {});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->tokens_kept, limit);
}

TEST_F(HandoffTest, DropOldestDropsHistoryThenOldSections) {
  HandoffState st(json::parse(R"([{"role":"system","content":"S"},{"role":"user","content":"old"},
      {"role":"assistant","content":"older reply"},{"role":"user","content":"Q?"}])"));
  EXPECT_EQ(st.history().size(), 2u);
  const int without_a = Expected("\n\n### B\n" + b_);
  StatusOr<FitResult> r = FitHandoff(gen_, st, Prompt(), without_a, HandoffPolicy::kDropOldest, {});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->policy, "drop_oldest");
  EXPECT_EQ(r->tokens_kept, without_a);
  EXPECT_EQ(r->messages.size(), 2u);  // system + the question: both history turns went first
  std::string user = r->messages.back()["content"];
  EXPECT_EQ(user.find("### A"), std::string::npos);
  EXPECT_NE(user.find(b_), std::string::npos);
}

TEST_F(HandoffTest, SummarizeReplacesTheSections) {
  HandoffState st(
      json::parse(R"([{"role":"system","content":"S"},{"role":"user","content":"Q?"}])"));
  std::string notes_seen;
  int max_seen = 0;
  Summarizer sum = [&](const std::string& notes, int max_tokens) -> StatusOr<std::string> {
    notes_seen = notes;
    max_seen = max_tokens;
    return std::string("SUMMARY");
  };
  StatusOr<FitResult> r = FitHandoff(gen_, st, Prompt(), 200, HandoffPolicy::kSummarize, sum);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->policy, "summarize");
  EXPECT_EQ(notes_seen, "### A\n" + a_ + "\n\n### B\n" + b_);
  EXPECT_EQ(max_seen, 200 - Expected("\n\n### Summary of earlier stages\n"));
  EXPECT_EQ(r->tokens_kept, Expected("\n\n### Summary of earlier stages\nSUMMARY"));
  // A failing summarizer falls back to truncation, and says so.
  Summarizer broken = [](const std::string&, int) -> StatusOr<std::string> {
    return UnavailableError("fast model down");
  };
  r = FitHandoff(gen_, st, Prompt(), 200, HandoffPolicy::kSummarize, broken);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->policy, "summarize_failed+truncate_middle");
  EXPECT_LE(r->tokens_kept, 200);
}

TEST_F(HandoffTest, OverlongPromptsAreCountedPiecewiseAndAQuestionTooLongFails) {
  const std::string huge(6000, 'q');  // longer than the 4096-token context
  json messages = json::array({{{"role", "user"}, {"content", huge}}});
  StatusOr<int> n = CountPromptTokens(gen_, messages);
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(*n, static_cast<int>(RenderFake(messages).size()));
  HandoffState st(messages);
  StatusOr<FitResult> r = FitHandoff(gen_, st, Prompt(), 1000, HandoffPolicy::kTruncateMiddle, {});
  EXPECT_EQ(r.status().code(), StatusCode::kOutOfRange);
}

}  // namespace
}  // namespace isv
