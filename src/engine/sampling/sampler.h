// Sampler: picks the next token from a logit vector (llama.cpp's sampler chain semantics).
//
// Order: logit bias -> repetition / presence / frequency penalties over the last `repeat_last_n`
// accepted tokens -> (temperature <= 0: greedy argmax, ties to the lower id) -> top-k -> top-p ->
// min-p -> temperature -> softmax -> draw with a seeded RNG. Same seed + same logits = same tokens.
//
// Thread-safety: one Sampler per sequence; not shared.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <vector>

namespace isv {

struct SamplingParams {
  float temperature = 0.8f;      // <= 0: greedy
  int32_t top_k = 40;            // <= 0: off
  float top_p = 0.95f;           // >= 1: off
  float min_p = 0.05f;           // <= 0: off
  float repeat_penalty = 1.0f;   // 1: off (llama.cpp's rule: divide positive, multiply negative logits)
  int32_t repeat_last_n = 64;    // window of accepted tokens the penalties look at
  float presence_penalty = 0.0f;
  float frequency_penalty = 0.0f;
  uint64_t seed = 0xFFFFFFFF;    // 0xFFFFFFFF: a random seed
  std::map<int32_t, float> logit_bias;
};

class Sampler {
 public:
  Sampler(const SamplingParams& params, int32_t n_vocab);
  // Returns the chosen token id. `logits` has n_vocab entries and is not modified.
  int32_t Sample(std::span<const float> logits);
  // Records a token that became part of the sequence (prompt tokens too, for penalties).
  void Accept(int32_t token);
  const SamplingParams& params() const { return params_; }

 private:
  SamplingParams params_;
  int32_t n_vocab_;
  std::vector<int32_t> history_;
  uint64_t rng_state_;
};

}  // namespace isv
