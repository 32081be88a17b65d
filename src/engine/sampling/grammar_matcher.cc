// GrammarMatcher: the set of parse stacks, advanced one code point at a time.
//
// A stack lists element positions still to match, innermost last; positions of kEnd are never
// stored (a finished alternative is popped at once, so right recursion such as `R ::= x R |` does
// not grow the stack). After every step each stack's top is a character element, or the stack is
// empty (the sentence can end there).
#include <algorithm>

#include "engine/sampling/grammar.h"

namespace isv {

GrammarMatcher::GrammarMatcher(const Grammar& grammar) : grammar_(&grammar) {
  const std::vector<Grammar::Element>& el = grammar.elements();
  for (uint32_t alt : grammar.alternatives(grammar.root())) {
    Stack s;
    if (el[alt].kind != Grammar::Kind::kEnd) s.push_back(alt);
    if (!Expand(std::move(s), &stacks_, 0)) break;
  }
  std::sort(stacks_.begin(), stacks_.end());
  stacks_.erase(std::unique(stacks_.begin(), stacks_.end()), stacks_.end());
}

bool GrammarMatcher::Expand(Stack stack, std::vector<Stack>* out, int depth) {
  if (depth > static_cast<int>(kMaxDepth) || stack.size() > kMaxDepth || out->size() > 4 * kMaxStacks) {
    overflowed_ = true;
    return false;
  }
  const std::vector<Grammar::Element>& el = grammar_->elements();
  if (stack.empty() || el[stack.back()].kind == Grammar::Kind::kChar) {
    out->push_back(std::move(stack));
    return true;
  }
  const uint32_t pos = stack.back();
  stack.pop_back();
  if (el[pos + 1].kind != Grammar::Kind::kEnd) stack.push_back(pos + 1);
  const std::vector<uint32_t>& alts = grammar_->alternatives(el[pos].value);
  for (size_t i = 0; i < alts.size(); ++i) {
    Stack s = i + 1 == alts.size() ? std::move(stack) : stack;
    if (el[alts[i]].kind != Grammar::Kind::kEnd) s.push_back(alts[i]);
    if (!Expand(std::move(s), out, depth + 1)) return false;
  }
  return true;
}

bool GrammarMatcher::Advance(const std::vector<Stack>& from, uint32_t cp, std::vector<Stack>* to) {
  const std::vector<Grammar::Element>& el = grammar_->elements();
  to->clear();
  for (const Stack& s : from) {
    if (s.empty() || !grammar_->classes()[el[s.back()].value].Matches(cp)) continue;
    Stack t = s;
    const uint32_t pos = t.back();
    t.pop_back();
    if (el[pos + 1].kind != Grammar::Kind::kEnd) t.push_back(pos + 1);
    if (!Expand(std::move(t), to, 0)) return false;
  }
  if (to->size() > 1) {
    std::sort(to->begin(), to->end());
    to->erase(std::unique(to->begin(), to->end()), to->end());
  }
  if (to->size() > kMaxStacks) {
    overflowed_ = true;
    return false;
  }
  return !to->empty();
}

bool GrammarMatcher::AcceptCodePoint(uint32_t cp) {
  std::vector<Stack> next;
  const bool ok = Advance(stacks_, cp, &next);
  stacks_ = std::move(next);
  return ok;
}

bool GrammarMatcher::Accepts(std::string_view bytes, bool* overflowed) const {
  GrammarMatcher probe;
  bool ok;
  const unsigned char b = bytes.empty() ? 0 : static_cast<unsigned char>(bytes[0]);
  if (bytes.empty() || partial_need_ > 0 || b >= 0x80 || overflowed_) {
    probe = *this;  // rare: a multi-byte character first
    ok = probe.Feed(bytes);
  } else {
    probe.grammar_ = grammar_;
    ok = probe.Advance(stacks_, b, &probe.stacks_) && probe.Feed(bytes.substr(1));
  }
  if (!ok && overflowed != nullptr && probe.overflowed_) *overflowed = true;
  return ok;
}

namespace {

// Smallest code point that needs `continuation` continuation bytes (shorter forms are overlong).
uint32_t MinCodePoint(int continuation) { return continuation == 1 ? 0x80 : continuation == 2 ? 0x800 : 0x10000; }

bool ValidCodePoint(uint32_t cp, int continuation) {
  return cp >= MinCodePoint(continuation) && cp <= 0x10FFFF && !(cp >= 0xD800 && cp <= 0xDFFF);
}

}  // namespace

bool GrammarMatcher::PartialFits() const {
  const int missing = partial_need_ - partial_have_;
  const uint32_t lo = std::max(partial_cp_ << (6 * missing), MinCodePoint(partial_need_));
  const uint32_t hi = std::min((partial_cp_ << (6 * missing)) | ((1u << (6 * missing)) - 1), 0x10FFFFu);
  if (lo > hi) return false;  // an overlong or out-of-range encoding
  const std::vector<Grammar::Element>& el = grammar_->elements();
  for (const Stack& s : stacks_) {
    if (!s.empty() && grammar_->classes()[el[s.back()].value].MatchesAnyIn(lo, hi)) return true;
  }
  return false;
}

bool GrammarMatcher::Feed(std::string_view bytes) {
  if (overflowed_ || stacks_.empty()) return false;
  for (unsigned char b : bytes) {
    if (partial_need_ > 0) {
      if ((b & 0xC0) != 0x80) return false;
      partial_cp_ = (partial_cp_ << 6) | (b & 0x3F);
      if (++partial_have_ < partial_need_) continue;
      const int need = partial_need_;
      partial_need_ = 0;
      if (!ValidCodePoint(partial_cp_, need) || !AcceptCodePoint(partial_cp_)) return false;
      continue;
    }
    if (b < 0x80) {
      if (!AcceptCodePoint(b)) return false;
      continue;
    }
    if (b >= 0xC2 && b <= 0xDF) {
      partial_need_ = 1;
      partial_cp_ = b & 0x1F;
    } else if (b >= 0xE0 && b <= 0xEF) {
      partial_need_ = 2;
      partial_cp_ = b & 0x0F;
    } else if (b >= 0xF0 && b <= 0xF4) {
      partial_need_ = 3;
      partial_cp_ = b & 0x07;
    } else {
      return false;
    }
    partial_have_ = 0;
  }
  return partial_need_ == 0 || PartialFits();
}

std::bitset<256> GrammarMatcher::NextByteMask() const {
  std::bitset<256> mask;
  if (partial_need_ > 0) return mask.set();
  const std::vector<Grammar::Element>& el = grammar_->elements();
  std::vector<uint32_t> seen;  // class ids already done
  for (const Stack& s : stacks_) {
    if (s.empty()) continue;
    const uint32_t cls_id = el[s.back()].value;
    if (std::find(seen.begin(), seen.end(), cls_id) != seen.end()) continue;
    seen.push_back(cls_id);
    const Grammar::CharClass& cls = grammar_->classes()[cls_id];
    for (uint32_t b = 0; b < 0x80; ++b) {
      if (!mask[b] && cls.Matches(b)) mask.set(b);
    }
    // Lead bytes: C2..DF start U+0080..U+07FF, E0..EF U+0800..U+FFFF, F0..F4 U+10000..U+10FFFF.
    for (uint32_t b = 0xC2; b <= 0xF4; ++b) {
      if (mask[b]) continue;
      uint32_t lo, hi;
      if (b <= 0xDF) {
        lo = (b & 0x1F) << 6;
        hi = lo | 0x3F;
      } else if (b <= 0xEF) {
        lo = std::max<uint32_t>((b & 0x0F) << 12, 0x800);
        hi = ((b & 0x0F) << 12) | 0xFFF;
      } else {
        lo = std::max<uint32_t>((b & 0x07) << 18, 0x10000);
        hi = std::min<uint32_t>(((b & 0x07) << 18) | 0x3FFFF, 0x10FFFF);
      }
      if (cls.MatchesAnyIn(lo, hi)) mask.set(b);
    }
  }
  return mask;
}

bool GrammarMatcher::can_end() const {
  return partial_need_ == 0 && !stacks_.empty() && stacks_.front().empty();  // sorted: empty first
}

bool GrammarMatcher::done() const { return can_end() && stacks_.size() == 1; }

}  // namespace isv
