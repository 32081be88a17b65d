// Sampler: picks the next token from a logit vector (llama.cpp's sampler chain semantics).
//
// Order: logit bias -> repetition / presence / frequency penalties over the last `repeat_last_n`
// accepted tokens -> (temperature <= 0: greedy argmax, ties to the lower id) -> top-k -> top-p ->
// min-p -> temperature -> softmax -> draw with a seeded RNG. Same seed + same logits = same tokens.
//
//   Sampler s(params, n_vocab);
//   for (int32_t t : prompt) s.Accept(t);
//   int32_t next = s.Sample(logits);  // then s.Accept(next)
//
// Cost per call: O(n_vocab) for bias, penalties and min-p; top-k selects with a k-entry heap and
// sorts only the k survivors; top-p without top-k sorts only as many tokens as the cumulative
// probability needs (a partial sort that widens when too few were sorted).
//
// Thread-safety: one Sampler per sequence; not shared.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <random>
#include <span>
#include <vector>

#include "core/status.h"

namespace isv {

struct SamplingParams {
  float temperature = 0.8f;      // <= 0: greedy
  int32_t top_k = 40;            // <= 0: off
  float top_p = 0.95f;           // >= 1: off
  float min_p = 0.05f;           // <= 0: off
  float repeat_penalty = 1.0f;   // 1: off (llama.cpp's rule: divide positive, multiply negative logits)
  int32_t repeat_last_n = 64;    // window of accepted tokens the penalties look at; 0: off, < 0: all
  float presence_penalty = 0.0f;
  float frequency_penalty = 0.0f;
  uint64_t seed = 0xFFFFFFFF;    // 0xFFFFFFFF: a random seed
  std::map<int32_t, float> logit_bias;  // added to the logit; -INFINITY bans the token
};

// Returns InvalidArgument naming the first parameter that is NaN or infinite or outside its domain
// (negative top_p or min_p, repeat_penalty <= 0, a logit bias of NaN or +inf). Values with a
// documented meaning, such as temperature <= 0 or top_k <= 0, are accepted.
Status ValidateSamplingParams(const SamplingParams& params);

struct TokenProb {
  int32_t id;
  float p;
};

// Applies the penalties to `logits` (indexed by token id) for the tokens in `window`, as llama.cpp
// does: for each distinct token t occurring c > 0 times in the window,
//   logit[t] = logit[t] > 0 ? logit[t] / repeat_penalty : logit[t] * repeat_penalty;
//   logit[t] -= c * frequency_penalty + presence_penalty;
// Tokens outside [0, logits.size()) are ignored.
void ApplyPenalties(std::span<float> logits, std::span<const int32_t> window, float repeat_penalty,
                    float frequency_penalty, float presence_penalty);

class Sampler {
 public:
  // REQUIRES: n_vocab > 0.
  Sampler(const SamplingParams& params, int32_t n_vocab);
  // Returns the chosen token id. `logits` has n_vocab entries and is not modified.
  int32_t Sample(std::span<const float> logits);
  // The distribution Sample() draws from, after the whole chain: the surviving tokens, most likely
  // first (ties: lower id first), probabilities summing to 1. Greedy mode gives one token with p = 1.
  // Consumes no randomness.
  std::vector<TokenProb> Distribution(std::span<const float> logits);
  // Records a token that became part of the sequence (prompt tokens too, for penalties).
  void Accept(int32_t token);
  const SamplingParams& params() const { return params_; }
  // The seed actually used (drawn from std::random_device when params.seed was 0xFFFFFFFF).
  uint64_t seed() const { return seed_; }

 private:
  struct Candidate {
    int32_t id;
    float logit;
  };
  // Fills cur_ with the candidates left after bias, penalties and truncation (logits not yet
  // divided by the temperature). In greedy mode leaves exactly the argmax.
  void BuildCandidates(std::span<const float> logits);
  void TopK(int32_t k);  // fills cur_ with the k best of work_
  void TopP(float p);
  void MinP(float min_p);
  // Turns cur_ logits into probabilities (stored in probs_) at the given temperature.
  void Softmax(float temperature);

  SamplingParams params_;
  int32_t n_vocab_;
  uint64_t seed_;
  std::mt19937 rng_;
  std::deque<int32_t> history_;  // the last repeat_last_n accepted tokens (all when < 0)
  bool sorted_ = false;          // cur_ is in descending logit order
  std::vector<float> work_;      // scratch logits, n_vocab
  std::vector<Candidate> cur_;
  std::vector<double> probs_;    // parallel to cur_ after Softmax()
};

}  // namespace isv
