#include "engine/sampling/sampler.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <limits>
#include <string>
#include <utility>

namespace isv {
namespace {

constexpr uint64_t kRandomSeed = 0xFFFFFFFF;
constexpr float kNegInf = -std::numeric_limits<float>::infinity();
// Top-p on a long unsorted candidate list sorts only one of this many logit buckets.
constexpr size_t kTopPBuckets = 1024;

// Uniform double in [0, 1) with 53 random bits from two 32-bit draws.
double UniformDouble(std::mt19937& rng) {
  const uint32_t a = rng() >> 5;  // 27 bits
  const uint32_t b = rng() >> 6;  // 26 bits
  return (a * 67108864.0 + b) / 9007199254740992.0;
}

// Strict total order on candidates: higher logit first, ties to the lower id.
constexpr auto kBetter = [](const auto& a, const auto& b) {
  return a.logit > b.logit || (a.logit == b.logit && a.id < b.id);
};

}  // namespace

Status ValidateSamplingParams(const SamplingParams& p) {
  const std::pair<const char*, float> finite[] = {{"temperature", p.temperature},
                                                  {"top_p", p.top_p},
                                                  {"min_p", p.min_p},
                                                  {"repeat_penalty", p.repeat_penalty},
                                                  {"presence_penalty", p.presence_penalty},
                                                  {"frequency_penalty", p.frequency_penalty}};
  for (const auto& [name, value] : finite) {
    if (!std::isfinite(value)) return InvalidArgumentError(std::string(name) + " must be a finite number");
  }
  if (p.top_p < 0.0f) return InvalidArgumentError("top_p must not be negative");
  if (p.min_p < 0.0f) return InvalidArgumentError("min_p must not be negative");
  if (p.repeat_penalty <= 0.0f) return InvalidArgumentError("repeat_penalty must be positive");
  for (const auto& [id, bias] : p.logit_bias) {
    if (std::isnan(bias) || bias == std::numeric_limits<float>::infinity())
      return InvalidArgumentError("logit bias of token " + std::to_string(id) + " must be a number or -inf");
  }
  return OkStatus();
}

void ApplyPenalties(std::span<float> logits, std::span<const int32_t> window, float repeat_penalty,
                    float frequency_penalty, float presence_penalty) {
  if (window.empty() || (repeat_penalty == 1.0f && frequency_penalty == 0.0f && presence_penalty == 0.0f)) return;
  std::vector<int32_t> tokens(window.begin(), window.end());
  std::sort(tokens.begin(), tokens.end());
  for (size_t i = 0; i < tokens.size();) {
    size_t j = i;
    while (j < tokens.size() && tokens[j] == tokens[i]) ++j;
    const int32_t t = tokens[i];
    const size_t count = j - i;
    i = j;
    if (t < 0 || static_cast<size_t>(t) >= logits.size()) continue;
    float& l = logits[t];
    l = l > 0 ? l / repeat_penalty : l * repeat_penalty;
    l -= static_cast<float>(count) * frequency_penalty + presence_penalty;
  }
}

Sampler::Sampler(const SamplingParams& params, int32_t n_vocab) : params_(params), n_vocab_(n_vocab) {
  assert(n_vocab > 0);
  seed_ = params.seed == kRandomSeed ? std::random_device{}() : params.seed;
  if (seed_ <= 0xFFFFFFFFu) {
    rng_.seed(static_cast<uint32_t>(seed_));
  } else {
    std::seed_seq seq{static_cast<uint32_t>(seed_), static_cast<uint32_t>(seed_ >> 32)};
    rng_.seed(seq);
  }
}

void Sampler::Accept(int32_t token) {
  if (params_.repeat_last_n == 0) return;
  history_.push_back(token);
  if (params_.repeat_last_n > 0) {
    while (history_.size() > static_cast<size_t>(params_.repeat_last_n)) history_.pop_front();
  }
}

void Sampler::BuildCandidates(std::span<const float> logits) {
  assert(logits.size() == static_cast<size_t>(n_vocab_));
  const size_t n = logits.size();
  work_.assign(logits.begin(), logits.end());
  for (const auto& [id, bias] : params_.logit_bias) {
    if (id >= 0 && static_cast<size_t>(id) < n) work_[id] += bias;
  }
  if (params_.repeat_last_n != 0) {
    const std::vector<int32_t> window(history_.begin(), history_.end());
    ApplyPenalties(work_, window, params_.repeat_penalty, params_.frequency_penalty, params_.presence_penalty);
  }
  // NaN can never win; +inf is clamped so that differences of logits stay finite.
  for (float& l : work_) {
    if (std::isnan(l)) l = kNegInf;
    l = std::min(l, std::numeric_limits<float>::max());
  }

  cur_.clear();
  sorted_ = false;
  if (params_.temperature <= 0.0f) {
    const size_t best = std::max_element(work_.begin(), work_.end()) - work_.begin();  // first max
    cur_.push_back({static_cast<int32_t>(best), work_[best]});
    sorted_ = true;
    return;
  }
  // Banned tokens (-inf) are dropped here; if every token is banned, token 0 is what remains.
  if (params_.top_k > 0 && static_cast<size_t>(params_.top_k) < n) {
    TopK(params_.top_k);
  } else {
    for (size_t i = 0; i < n; ++i) {
      if (work_[i] != kNegInf) cur_.push_back({static_cast<int32_t>(i), work_[i]});
    }
  }
  if (cur_.empty()) cur_.push_back({0, kNegInf});
  if (params_.top_p < 1.0f) TopP(params_.top_p);
  if (params_.min_p > 0.0f) MinP(params_.min_p);
}

// Selects the k best of work_ into cur_ with a heap whose top is the worst kept candidate, so most
// tokens cost one comparison; then sorts the k.
void Sampler::TopK(int32_t k) {
  cur_.reserve(k);
  const size_t n = work_.size();
  for (size_t i = 0; i < n; ++i) {
    const Candidate c{static_cast<int32_t>(i), work_[i]};
    if (c.logit == kNegInf) continue;
    if (cur_.size() < static_cast<size_t>(k)) {
      cur_.push_back(c);
      std::push_heap(cur_.begin(), cur_.end(), kBetter);
    } else if (kBetter(c, cur_.front())) {
      std::pop_heap(cur_.begin(), cur_.end(), kBetter);
      cur_.back() = c;
      std::push_heap(cur_.begin(), cur_.end(), kBetter);
    }
  }
  std::sort_heap(cur_.begin(), cur_.end(), kBetter);
  sorted_ = true;
}

// Keeps the smallest most-likely prefix whose probability (softmax of the current logits) reaches
// p. A short sorted list (after top-k) is walked directly. A long unsorted one is bucketed by logit
// first: whole buckets above the one where the cumulative mass crosses p are kept unsorted, and
// only that boundary bucket is sorted to find the exact cut.
void Sampler::TopP(float p) {
  const auto [min_it, max_it] = std::minmax_element(
      cur_.begin(), cur_.end(), [](const Candidate& a, const Candidate& b) { return a.logit < b.logit; });
  const float max_logit = max_it->logit;
  const float min_logit = min_it->logit;
  double total = 0.0;
  for (const Candidate& c : cur_) total += std::exp(c.logit - max_logit);
  const double target = static_cast<double>(p) * total;

  auto keep_sorted_prefix = [&](size_t begin, double cum) {
    for (size_t i = begin; i < cur_.size(); ++i) {
      cum += std::exp(cur_[i].logit - max_logit);
      if (cum >= target) {
        cur_.resize(i + 1);
        return;
      }
    }
    // Rounding left the sum just short of p: keep everything.
  };
  const float range = max_logit - min_logit;  // +inf when the logits span more than a float
  if (sorted_ || cur_.size() <= kTopPBuckets || !(range > 0.0f && std::isfinite(range))) {
    if (!sorted_) std::sort(cur_.begin(), cur_.end(), kBetter);
    sorted_ = true;
    keep_sorted_prefix(0, 0.0);
    return;
  }

  // Bucket 0 holds the highest logits; equal logits always share a bucket.
  const float scale = static_cast<float>(kTopPBuckets) / range;
  auto bucket = [&](float logit) {
    return std::min<size_t>(kTopPBuckets - 1, static_cast<size_t>((max_logit - logit) * scale));
  };
  std::vector<double> mass(kTopPBuckets, 0.0);
  for (const Candidate& c : cur_) mass[bucket(c.logit)] += std::exp(c.logit - max_logit);
  size_t edge = 0;
  double above = 0.0;  // mass of the buckets before `edge`
  while (edge + 1 < kTopPBuckets && above + mass[edge] < target) above += mass[edge++];

  // Buckets before the edge first (in any order), then the edge bucket sorted; drop the rest.
  auto mid = std::partition(cur_.begin(), cur_.end(), [&](const Candidate& c) { return bucket(c.logit) < edge; });
  auto end = std::partition(mid, cur_.end(), [&](const Candidate& c) { return bucket(c.logit) == edge; });
  std::sort(mid, end, kBetter);
  cur_.erase(end, cur_.end());
  sorted_ = false;
  keep_sorted_prefix(mid - cur_.begin(), above);
}

// Keeps the tokens whose probability is at least min_p times the largest one, i.e. whose logit is
// at least max_logit + ln(min_p).
void Sampler::MinP(float min_p) {
  const Candidate best = *std::min_element(cur_.begin(), cur_.end(), kBetter);
  if (best.logit == kNegInf) return;
  const float threshold = best.logit + std::log(min_p);
  std::erase_if(cur_, [&](const Candidate& c) { return c.logit < threshold; });
  if (cur_.empty()) cur_.push_back(best);  // min_p > 1: keep the most likely token
}

void Sampler::Softmax(float temperature) {
  probs_.resize(cur_.size());
  if (cur_.size() == 1) {
    probs_[0] = 1.0;
    return;
  }
  float max_logit = kNegInf;
  for (const Candidate& c : cur_) max_logit = std::max(max_logit, c.logit);
  double sum = 0.0;
  for (size_t i = 0; i < cur_.size(); ++i) {
    probs_[i] = std::exp((cur_[i].logit - max_logit) / temperature);
    sum += probs_[i];
  }
  for (double& q : probs_) q /= sum;
}

int32_t Sampler::Sample(std::span<const float> logits) {
  BuildCandidates(logits);
  if (cur_.size() == 1) return cur_[0].id;
  Softmax(params_.temperature);
  const double u = UniformDouble(rng_);
  double cum = 0.0;
  for (size_t i = 0; i < cur_.size(); ++i) {
    cum += probs_[i];
    if (u < cum) return cur_[i].id;
  }
  return cur_.back().id;  // u fell in the rounding gap at the top
}

std::vector<TokenProb> Sampler::Distribution(std::span<const float> logits) {
  BuildCandidates(logits);
  if (!sorted_) std::sort(cur_.begin(), cur_.end(), kBetter);
  Softmax(params_.temperature > 0.0f ? params_.temperature : 1.0f);
  std::vector<TokenProb> out(cur_.size());
  for (size_t i = 0; i < cur_.size(); ++i) out[i] = {cur_[i].id, static_cast<float>(probs_[i])};
  return out;
}

}  // namespace isv
