// Ensemble voting: groups K answers into clusters of agreeing answers and picks the winning one.
//
// - Short answers (every answer at most `short_answer_words` words once normalized) are compared by
//   normalized exact match: lower-cased, punctuation removed, whitespace collapsed.
// - Longer answers are compared by token overlap: the Jaccard similarity of their sets of
//   normalized words; an answer joins the first cluster holding an answer at least
//   `similarity_threshold` similar to it (single link), else starts a new cluster.
// - Outcome: "unanimous" (one cluster of all K > 1), "majority" (one largest cluster of 2+),
//   "tie" (several largest clusters of 2+ answers: the one holding the lowest-numbered answer,
//   i.e. the primary's when the primary answered, wins), "no_consensus" (K > 1 answers all
//   different: the lowest-numbered answer is the fallback), "single" (K == 1).
//
// Free functions; thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace isv {

struct VoteOptions {
  int short_answer_words = 8;
  double similarity_threshold = 0.5;
};

struct VoteResult {
  std::string method;   // "exact" | "similarity"
  std::string outcome;  // "unanimous" | "majority" | "tie" | "no_consensus" | "single" | "none"
  std::vector<std::vector<int>> clusters;  // answer indices, clusters in order of first member
  int winner_cluster = -1;                 // index into clusters; -1 when there are no answers
  std::vector<int> tied_clusters;          // outcome "tie": the largest clusters
  // The representative answer of the winning cluster (its first member); -1 when none.
  int winner_answer() const {
    return winner_cluster < 0 ? -1 : clusters[static_cast<size_t>(winner_cluster)].front();
  }
};

// Lower-cases ASCII letters, turns ASCII punctuation into spaces, collapses whitespace, trims.
std::string NormalizeAnswer(std::string_view text);
// Jaccard similarity of the two texts' sets of normalized words (1 when both are empty).
double JaccardSimilarity(std::string_view a, std::string_view b);
VoteResult Vote(const std::vector<std::string>& answers, const VoteOptions& options);

}  // namespace isv
