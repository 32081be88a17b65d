#include "engine/sampling/sampler.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <limits>

namespace isv {
namespace {

constexpr uint64_t kRandomSeed = 0xFFFFFFFF;
constexpr float kNegInf = -std::numeric_limits<float>::infinity();
// First slice that top-p without top-k sorts; widened by kTopPGrowth while too little mass is sorted.
constexpr size_t kTopPFirstSlice = 256;
constexpr size_t kTopPGrowth = 8;

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
  if (params_.temperature <= 0.0f) {
    size_t best = 0;
    for (size_t i = 1; i < n; ++i) {
      if (work_[i] > work_[best]) best = i;
    }
    cur_.push_back({static_cast<int32_t>(best), work_[best]});
    sorted_ = true;
    return;
  }
  // Banned tokens (-inf) are dropped here; if every token is banned, token 0 is what remains.
  for (size_t i = 0; i < n; ++i) {
    if (work_[i] != kNegInf) cur_.push_back({static_cast<int32_t>(i), work_[i]});
  }
  if (cur_.empty()) cur_.push_back({0, kNegInf});
  sorted_ = false;
  if (params_.top_k > 0 && static_cast<size_t>(params_.top_k) < cur_.size()) TopK(params_.top_k);
  if (params_.top_p < 1.0f) TopP(params_.top_p);
  if (params_.min_p > 0.0f) MinP(params_.min_p);
}

void Sampler::TopK(int32_t k) {
  std::nth_element(cur_.begin(), cur_.begin() + (k - 1), cur_.end(), kBetter);
  cur_.resize(k);
  std::sort(cur_.begin(), cur_.end(), kBetter);
  sorted_ = true;
}

// Keeps the smallest most-likely prefix whose probability (softmax of the current logits) reaches p.
void Sampler::TopP(float p) {
  float max_logit = kNegInf;
  for (const Candidate& c : cur_) max_logit = std::max(max_logit, c.logit);
  double total = 0.0;
  for (const Candidate& c : cur_) total += std::exp(static_cast<double>(c.logit) - max_logit);
  const double target = static_cast<double>(p) * total;

  double cum = 0.0;
  size_t done = 0;  // cur_[0, done) are in final order and summed into cum
  size_t slice = sorted_ ? cur_.size() : std::min(cur_.size(), kTopPFirstSlice);
  while (true) {
    if (!sorted_) {
      std::partial_sort(cur_.begin() + done, cur_.begin() + slice, cur_.end(), kBetter);
    }
    for (; done < slice; ++done) {
      cum += std::exp(static_cast<double>(cur_[done].logit) - max_logit);
      if (cum >= target) {
        cur_.resize(done + 1);
        sorted_ = true;
        return;
      }
    }
    if (slice == cur_.size()) break;  // rounding left the sum just short of p: keep everything
    slice = std::min(cur_.size(), slice * kTopPGrowth);
  }
  sorted_ = true;
}

// Keeps the tokens whose probability is at least min_p times the largest one.
void Sampler::MinP(float min_p) {
  float max_logit = kNegInf;
  for (const Candidate& c : cur_) max_logit = std::max(max_logit, c.logit);
  if (max_logit == kNegInf) return;
  std::erase_if(cur_, [&](const Candidate& c) {
    return std::exp(static_cast<double>(c.logit) - max_logit) < static_cast<double>(min_p);
  });
  if (cur_.empty()) {  // min_p > 1: keep the most likely token
    cur_.push_back({0, max_logit});
  }
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
    probs_[i] = std::exp((static_cast<double>(cur_[i].logit) - max_logit) / temperature);
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
  Softmax(params_.temperature > 0.0f ? params_.temperature : 1.0f);
  std::vector<TokenProb> out(cur_.size());
  for (size_t i = 0; i < cur_.size(); ++i) out[i] = {cur_[i].id, static_cast<float>(probs_[i])};
  std::sort(out.begin(), out.end(), [](const TokenProb& a, const TokenProb& b) {
    return a.p > b.p || (a.p == b.p && a.id < b.id);
  });
  return out;
}

}  // namespace isv
