#include "orchestration/voting.h"

#include <algorithm>
#include <cctype>
#include <set>
#include <sstream>

namespace isv {
namespace {

std::set<std::string> Words(std::string_view text) {
  std::istringstream in(NormalizeAnswer(text));
  std::set<std::string> out;
  for (std::string w; in >> w;) out.insert(w);
  return out;
}

size_t WordCount(const std::string& normalized) {
  if (normalized.empty()) return 0;
  return static_cast<size_t>(std::count(normalized.begin(), normalized.end(), ' ')) + 1;
}

}  // namespace

std::string NormalizeAnswer(std::string_view text) {
  std::string out;
  bool space = false;
  for (char ch : text) {
    unsigned char c = static_cast<unsigned char>(ch);
    if (std::isspace(c) || (c < 0x80 && std::ispunct(c))) {
      space = !out.empty();
      continue;
    }
    if (space) out.push_back(' ');
    space = false;
    out.push_back(static_cast<char>(std::tolower(c)));
  }
  return out;
}

double JaccardSimilarity(std::string_view a, std::string_view b) {
  std::set<std::string> wa = Words(a), wb = Words(b);
  if (wa.empty() && wb.empty()) return 1.0;
  size_t common = 0;
  for (const std::string& w : wa) common += wb.count(w);
  return static_cast<double>(common) / static_cast<double>(wa.size() + wb.size() - common);
}

VoteResult Vote(const std::vector<std::string>& answers, const VoteOptions& options) {
  VoteResult r;
  std::vector<std::string> norm;
  bool all_short = true;
  for (const std::string& a : answers) {
    norm.push_back(NormalizeAnswer(a));
    if (WordCount(norm.back()) > static_cast<size_t>(options.short_answer_words)) all_short = false;
  }
  r.method = all_short ? "exact" : "similarity";
  if (answers.empty()) {
    r.outcome = "none";
    return r;
  }
  for (size_t i = 0; i < answers.size(); ++i) {
    bool placed = false;
    for (std::vector<int>& c : r.clusters) {
      for (int j : c) {
        bool same = all_short ? norm[i] == norm[static_cast<size_t>(j)]
                              : JaccardSimilarity(answers[i], answers[static_cast<size_t>(j)]) >=
                                    options.similarity_threshold;
        if (same) {
          c.push_back(static_cast<int>(i));
          placed = true;
          break;
        }
      }
      if (placed) break;
    }
    if (!placed) r.clusters.push_back({static_cast<int>(i)});
  }
  size_t largest = 0;
  for (const auto& c : r.clusters) largest = std::max(largest, c.size());
  for (size_t c = 0; c < r.clusters.size(); ++c) {
    if (r.clusters[c].size() == largest) r.tied_clusters.push_back(static_cast<int>(c));
  }
  // Clusters are ordered by their first member, so the first largest cluster holds the
  // lowest-numbered answer among the largest ones: the tie-break and no-consensus fallback.
  r.winner_cluster = r.tied_clusters.front();
  if (answers.size() == 1) {
    r.outcome = "single";
  } else if (r.clusters.size() == 1) {
    r.outcome = "unanimous";
  } else if (largest == 1) {
    r.outcome = "no_consensus";
  } else if (r.tied_clusters.size() > 1) {
    r.outcome = "tie";
  } else {
    r.outcome = "majority";
  }
  if (r.outcome != "tie") r.tied_clusters.clear();
  return r;
}

}  // namespace isv
