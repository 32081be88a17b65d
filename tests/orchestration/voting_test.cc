#include "orchestration/voting.h"

#include <gtest/gtest.h>

#include "orchestration/prompts.h"
#include "orchestration/saga.h"

namespace isv {
namespace {

using Clusters = std::vector<std::vector<int>>;

TEST(Voting, NormalizationMakesShortAnswersEqual) {
  EXPECT_EQ(NormalizeAnswer("  Paris.\n"), "paris");
  EXPECT_EQ(NormalizeAnswer("The  answer: 42!"), "the answer 42");
  VoteResult v = Vote({"Paris.", "paris", "London", "PARIS!"}, {});
  EXPECT_EQ(v.method, "exact");
  EXPECT_EQ(v.outcome, "majority");
  EXPECT_EQ(v.clusters, (Clusters{{0, 1, 3}, {2}}));
  EXPECT_EQ(v.winner_answer(), 0);
}

TEST(Voting, TieGoesToTheClusterOfTheLowestNumberedAnswer) {
  VoteResult v = Vote({"blue", "red", "red", "blue"}, {});
  EXPECT_EQ(v.outcome, "tie");
  EXPECT_EQ(v.clusters, (Clusters{{0, 3}, {1, 2}}));
  EXPECT_EQ(v.tied_clusters, (std::vector<int>{0, 1}));
  EXPECT_EQ(v.winner_answer(), 0);
  // The primary (answer 0) is in the minority here: the larger cluster still wins.
  VoteResult w = Vote({"green", "red", "red", "blue"}, {});
  EXPECT_EQ(w.outcome, "majority");
  EXPECT_EQ(w.winner_answer(), 1);
}

TEST(Voting, AllDifferentIsNoConsensusWithTheFirstAsFallback) {
  VoteResult v = Vote({"one", "two", "three"}, {});
  EXPECT_EQ(v.outcome, "no_consensus");
  EXPECT_EQ(v.clusters.size(), 3u);
  EXPECT_EQ(v.winner_answer(), 0);
  EXPECT_EQ(Vote({"x"}, {}).outcome, "single");
  EXPECT_EQ(Vote({"x", "X."}, {}).outcome, "unanimous");
  EXPECT_EQ(Vote({}, {}).outcome, "none");
}

TEST(Voting, LongAnswersClusterByJaccardSimilarity) {
  // Jaccard of {the cat sat on mat} and {the cat sat on a mat}: 5 / 6.
  EXPECT_NEAR(JaccardSimilarity("The cat sat on the mat.", "the cat sat on a mat"), 5.0 / 6, 1e-12);
  EXPECT_DOUBLE_EQ(JaccardSimilarity("a b", "c d"), 0.0);
  std::vector<std::string> answers = {
      "The capital of France is Paris, a city on the Seine river.",
      "Paris is the capital of France; it lies on the Seine river.",
      "I think the answer is Lyon, the second largest city in France today.",
  };
  VoteResult v = Vote(answers, {.short_answer_words = 8, .similarity_threshold = 0.5});
  EXPECT_EQ(v.method, "similarity");
  EXPECT_EQ(v.clusters, (Clusters{{0, 1}, {2}}));
  EXPECT_EQ(v.outcome, "majority");
  // A threshold of 1 keeps every non-identical answer apart.
  EXPECT_EQ(Vote(answers, {.short_answer_words = 8, .similarity_threshold = 1.0}).outcome,
            "no_consensus");
}

TEST(Prompts, ApprovalProtocol) {
  EXPECT_TRUE(prompts::IsApproval("APPROVED"));
  EXPECT_TRUE(prompts::IsApproval("  **Approved.** Looks right."));
  EXPECT_TRUE(prompts::IsApproval("approved"));
  EXPECT_FALSE(prompts::IsApproval("Not approved: the year is wrong"));
  EXPECT_FALSE(prompts::IsApproval("APPROVEDISH"));
  EXPECT_FALSE(prompts::IsApproval("1. The year is wrong. APPROVED once fixed"));
  EXPECT_FALSE(prompts::IsApproval(""));
}

TEST(Prompts, RefusalsAndCitations) {
  EXPECT_TRUE(prompts::IsRefusal("I'm sorry, but I can't help with that."));
  EXPECT_TRUE(prompts::IsRefusal("  As an AI language model, I cannot"));
  EXPECT_TRUE(prompts::IsRefusal("I cannot answer"));
  EXPECT_FALSE(prompts::IsRefusal("Paris is the capital. I can't stress this enough."));
  EXPECT_FALSE(prompts::IsRefusal("The cannot-fail test"));
  EXPECT_EQ(prompts::CitedAnswer("Following answer 2: Paris", 3), 2);
  EXPECT_EQ(prompts::CitedAnswer("Based on Answer #3, ...", 3), 3);
  EXPECT_EQ(prompts::CitedAnswer("Following answer 7: x", 3), 0);
  EXPECT_EQ(prompts::CitedAnswer("No citation here", 3), 0);
}

TEST(Saga, CompensatesNewestFirstAndRestoresTheLastGoodAnswer) {
  std::vector<std::string> order;
  Saga saga;
  saga.Register(
      "stage_1", [&] { order.push_back("stage_1"); }, "plan");
  saga.Register(
      "stage_2", [&] { order.push_back("stage_2"); }, "draft");
  saga.Register("critique_1", [&] { order.push_back("critique_1"); });
  Saga::Outcome o = saga.Compensate();
  EXPECT_EQ(order, (std::vector<std::string>{"critique_1", "stage_2", "stage_1"}));
  EXPECT_EQ(o.compensated, order);
  ASSERT_TRUE(o.last_good_answer.has_value());
  EXPECT_EQ(*o.last_good_answer, "draft");
  EXPECT_EQ(o.last_good_step, "stage_2");
  EXPECT_EQ(saga.size(), 0u);
  EXPECT_FALSE(saga.Compensate().last_good_answer.has_value());
}

}  // namespace
}  // namespace isv
