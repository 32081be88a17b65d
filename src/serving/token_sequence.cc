#include "serving/token_sequence.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace isv {

VocabPieces VocabPieces::For(const Tokenizer& tokenizer) {
  VocabPieces v;
  v.tokenizer = &tokenizer;
  v.pieces.resize(tokenizer.n_vocab());
  for (int32_t id = 0; id < tokenizer.n_vocab(); ++id) v.pieces[id] = tokenizer.TokenToPiece(id, false);
  return v;
}

TokenSequence::TokenSequence(const VocabPieces& vocab, std::span<const int32_t> prompt,
                             const GenerationParams& params, int32_t n_ctx)
    : vocab_(vocab),
      params_(params),
      n_ctx_(n_ctx),
      next_pos_(static_cast<int32_t>(prompt.size())),
      sampler_(params.sampling, vocab.tokenizer->n_vocab()),
      decoder_(*vocab.tokenizer),
      stop_(params.stop) {
  for (int32_t t : prompt) sampler_.Accept(t);
  if (params_.grammar) grammar_.emplace(*params_.grammar);
}

void TokenSequence::Finish(const std::string& reason, std::string* out) {
  finish_reason_ = reason;
  if (stop_.stopped()) return;
  *out += stop_.Push(decoder_.Flush());
  if (!stop_.stopped()) *out += stop_.Flush();
  if (stop_.stopped()) finish_reason_ = "stop";
}

void TokenSequence::Cancel() {
  if (!finished()) finish_reason_ = "cancelled";
}

StatusOr<TokenSequence::Step> TokenSequence::OnLogits(std::span<const float> logits) {
  Step out;
  if (finished()) return out;
  const bool json = params_.json_object && !grammar_;
  if (params_.max_tokens >= 0 && completion_tokens_ >= params_.max_tokens) {
    Finish("length", &out.text);
    return out;
  }
  int32_t token;
  if (grammar_) {
    bool overflowed = false;  // some candidate hit the matcher's bounds
    token = SampleConstrained(
        logits,
        [&](std::string_view piece) {
          GrammarMatcher probe(*grammar_);
          const bool fits = probe.Feed(piece);
          overflowed = overflowed || probe.overflowed();
          return fits;
        },
        grammar_->can_end());
    if (token < 0) {
      return InvalidArgumentError(
          overflowed
              ? "the grammar needs more parse stacks than the matcher allows (too ambiguous or nested too deeply)"
              : "no token of the vocabulary can continue the grammar");
    }
  } else if (json) {
    token = SampleConstrained(
        logits, [&](std::string_view piece) { return JsonConstraint(json_).Feed(piece); }, false);
    if (token < 0) return InternalError("no token of the vocabulary can continue the JSON object");
  } else {
    token = sampler_.Sample(logits);
  }
  sampler_.Accept(token);
  if ((!params_.ignore_eos || grammar_) && vocab_.tokenizer->IsEog(token)) {
    Finish("stop", &out.text);
    return out;
  }
  ++completion_tokens_;
  generated_.push_back(token);
  if (params_.top_logprobs >= 0) out.logprobs.push_back(Logprob(logits, token));
  out.text += stop_.Push(decoder_.Push(token));
  if (stop_.stopped()) {
    finish_reason_ = "stop";
  } else if (json && json_.Feed(vocab_.pieces[token]) && json_.done()) {
    Finish("stop", &out.text);
  } else if (grammar_ && grammar_->Feed(vocab_.pieces[token]) && grammar_->done()) {
    Finish("stop", &out.text);
  } else if (next_pos_ >= n_ctx_) {
    Finish("length", &out.text);  // no KV cell left for this token
  } else if (params_.max_tokens >= 0 && completion_tokens_ >= params_.max_tokens) {
    Finish("length", &out.text);
  } else {
    out.feed = token;
    ++next_pos_;
  }
  return out;
}

TokenLogprob TokenSequence::Logprob(std::span<const float> logits, int32_t token) {
  float max_logit = -INFINITY;
  for (float l : logits) max_logit = std::max(max_logit, l);
  double sum = 0;
  for (float l : logits) sum += std::exp(static_cast<double>(l) - max_logit);
  const double log_z = max_logit + std::log(sum);
  TokenLogprob lp;
  lp.token = token;
  lp.piece = vocab_.pieces[token];
  lp.logprob = static_cast<float>(logits[token] - log_z);
  const int32_t k = std::min<int32_t>(params_.top_logprobs, static_cast<int32_t>(logits.size()));
  if (k > 0) {
    order_.resize(logits.size());
    std::iota(order_.begin(), order_.end(), 0);
    std::partial_sort(order_.begin(), order_.begin() + k, order_.end(), [&](int32_t a, int32_t b) {
      return logits[a] > logits[b] || (logits[a] == logits[b] && a < b);
    });
    for (int32_t i = 0; i < k; ++i)
      lp.top.emplace_back(vocab_.pieces[order_[i]], static_cast<float>(logits[order_[i]] - log_z));
  }
  return lp;
}

int32_t TokenSequence::SampleConstrained(std::span<const float> logits,
                                         const std::function<bool(std::string_view)>& fits, bool allow_eog) {
  // Candidates are tried best logit first; the first kKeep that fit become the distribution the
  // sampler draws from (a top-k over valid tokens). Most steps decide within the first window.
  constexpr int32_t kWindow = 4096;
  constexpr int32_t kKeep = 64;
  const std::vector<std::string>& pieces = vocab_.pieces;
  const int32_t n = static_cast<int32_t>(std::min(logits.size(), pieces.size()));
  order_.resize(n);
  std::iota(order_.begin(), order_.end(), 0);
  auto better = [&](int32_t a, int32_t b) { return logits[a] > logits[b] || (logits[a] == logits[b] && a < b); };
  const int32_t window = std::min(n, kWindow);
  std::partial_sort(order_.begin(), order_.begin() + window, order_.end(), better);
  masked_.assign(logits.size(), -INFINITY);
  int32_t kept = 0;
  for (int32_t i = 0; i < n && kept < kKeep; ++i) {
    if (i == window) std::sort(order_.begin() + window, order_.end(), better);
    const int32_t id = order_[i];
    const bool ok = vocab_.tokenizer->IsEog(id) ? allow_eog : !pieces[id].empty() && fits(pieces[id]);
    if (ok) {
      masked_[id] = logits[id];
      ++kept;
    }
  }
  return kept == 0 ? -1 : sampler_.Sample(masked_);
}

}  // namespace isv
