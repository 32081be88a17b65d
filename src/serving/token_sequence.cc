#include "serving/token_sequence.h"

#include <algorithm>
#include <array>
#include <bitset>
#include <cmath>
#include <numeric>

namespace isv {

VocabPieces VocabPieces::For(const Tokenizer& tokenizer) {
  VocabPieces v;
  v.tokenizer = &tokenizer;
  v.pieces.resize(tokenizer.n_vocab());
  v.eog.resize(tokenizer.n_vocab());
  for (int32_t id = 0; id < tokenizer.n_vocab(); ++id) {
    v.pieces[id] = tokenizer.TokenToPiece(id, false);
    v.eog[id] = tokenizer.IsEog(id);
    if (v.eog[id]) v.eog_ids.push_back(id);
    if (!v.pieces[id].empty()) v.by_first_byte[static_cast<unsigned char>(v.pieces[id][0])].push_back(id);
  }
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
  for (int32_t t : prompt) {
    if (t >= 0) sampler_.Accept(t);  // image rows (negative pseudo ids) are no tokens to penalise
  }
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

StatusOr<int32_t> TokenSequence::SampleGrammar(std::span<const float> logits) {
  bool overflowed = false;  // some candidate hit the matcher's bounds
  const std::bitset<256> first = grammar_->NextByteMask();
  // Many candidates share their first byte (" the", " of", ...): the state after each ASCII
  // first byte is computed once per step, and its next-byte mask refuses most of them cheaply.
  struct AfterByte {
    bool done = false, ok = false;
    std::optional<GrammarMatcher> m;
    std::bitset<256> next;
  };
  std::array<AfterByte, 128> after;
  const int32_t token = SampleConstrained(
      logits,
      [&](std::string_view piece) {
        const unsigned char b = static_cast<unsigned char>(piece[0]);
        if (b >= 0x80) return grammar_->Accepts(piece, &overflowed);
        AfterByte& a = after[b];
        if (!a.done) {
          a.done = true;
          a.m.emplace(*grammar_);
          a.ok = a.m->Feed(piece.substr(0, 1));
          overflowed = overflowed || a.m->overflowed();
          if (a.ok) a.next = a.m->NextByteMask();
        }
        if (!a.ok) return false;
        if (piece.size() == 1) return true;
        if (!a.next[static_cast<unsigned char>(piece[1])]) return false;
        return a.m->Accepts(piece.substr(1), &overflowed);
      },
      first, grammar_->can_end());
  if (token < 0) {
    return InvalidArgumentError(
        overflowed
            ? "the grammar needs more parse stacks than the matcher allows (too ambiguous or nested too deeply)"
            : "no token of the vocabulary can continue the grammar");
  }
  return token;
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
    ISV_ASSIGN_OR_RETURN(token, SampleGrammar(logits));
  } else if (json) {
    token = SampleConstrained(
        logits, [&](std::string_view piece) { return JsonConstraint(json_).Feed(piece); },
        std::bitset<256>().set(), false);
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
                                         const std::function<bool(std::string_view)>& fits,
                                         const std::bitset<256>& first_bytes, bool allow_eog) {
  // The kKeep best-scoring tokens that fit become the distribution the sampler draws from (a
  // top-k over valid tokens). Candidates are tried best logit first, in growing sorted windows
  // (most steps decide within the first); when the windows hold too few that fit, the rest of the
  // vocabulary is checked unsorted and the best of those that fit are taken.
  constexpr int32_t kWindows[] = {256, 4096};
  constexpr int32_t kKeep = 64;
  const std::vector<std::string>& pieces = vocab_.pieces;
  const int32_t n = static_cast<int32_t>(std::min(logits.size(), pieces.size()));
  auto ok = [&](int32_t id) {
    if (vocab_.eog[id]) return allow_eog;
    const std::string& p = pieces[id];
    return !p.empty() && first_bytes[static_cast<unsigned char>(p[0])] && fits(p);
  };
  auto better = [&](int32_t a, int32_t b) { return logits[a] > logits[b] || (logits[a] == logits[b] && a < b); };
  masked_.assign(logits.size(), -INFINITY);
  // When the first byte already rules out most of the vocabulary, probing every remaining token
  // beats sorting the vocabulary: the result is the same (the kKeep best that fit).
  constexpr size_t kDirectProbeLimit = 4096;
  size_t possible = vocab_.eog_ids.size();
  for (int b = 0; b < 256 && possible <= kDirectProbeLimit; ++b) {
    if (first_bytes[b]) possible += vocab_.by_first_byte[b].size();
  }
  if (possible <= kDirectProbeLimit) {
    order_.clear();
    for (int32_t id : vocab_.eog_ids) {
      if (id < n && allow_eog) order_.push_back(id);
    }
    for (int b = 0; b < 256; ++b) {
      if (!first_bytes[b]) continue;
      for (int32_t id : vocab_.by_first_byte[b]) {
        if (id < n && !vocab_.eog[id] && fits(pieces[id])) order_.push_back(id);
      }
    }
    const size_t take = std::min<size_t>(order_.size(), kKeep);
    std::partial_sort(order_.begin(), order_.begin() + take, order_.end(), better);
    for (size_t i = 0; i < take; ++i) masked_[order_[i]] = logits[order_[i]];
    return take == 0 ? -1 : sampler_.Sample(masked_);
  }
  order_.resize(n);
  std::iota(order_.begin(), order_.end(), 0);
  int32_t kept = 0;
  int32_t window = 0;  // order_[0, window) is sorted and probed
  for (int32_t size : kWindows) {
    if (kept >= kKeep || window >= n) break;
    const int32_t end = std::min(n, size);
    if (end < n) std::nth_element(order_.begin() + window, order_.begin() + end, order_.end(), better);
    std::sort(order_.begin() + window, order_.begin() + end, better);
    for (int32_t i = window; i < end && kept < kKeep; ++i) {
      const int32_t id = order_[i];
      if (ok(id)) {
        masked_[id] = logits[id];
        ++kept;
      }
    }
    window = end;
  }
  if (kept < kKeep && window < n) {
    std::vector<int32_t> rest;  // fitting tokens outside the window (all score below it)
    for (int32_t i = window; i < n; ++i) {
      if (ok(order_[i])) rest.push_back(order_[i]);
    }
    const size_t take = std::min<size_t>(rest.size(), static_cast<size_t>(kKeep - kept));
    std::partial_sort(rest.begin(), rest.begin() + take, rest.end(), better);
    for (size_t i = 0; i < take; ++i) {
      masked_[rest[i]] = logits[rest[i]];
      ++kept;
    }
  }
  return kept == 0 ? -1 : sampler_.Sample(masked_);
}

}  // namespace isv
