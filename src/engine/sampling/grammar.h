// Grammar: a compiled GBNF grammar (the notation llama.cpp / llama-server users write) and
// GrammarMatcher, an incremental byte-level acceptor over it, for constrained decoding.
//
//   StatusOr<std::shared_ptr<const Grammar>> g = Grammar::Parse(R"(root ::= "yes" | "no")");
//   GrammarMatcher m(*g);
//   GrammarMatcher probe = m;               // copy per candidate token
//   if (probe.Feed(piece)) { /* token allowed */ }
//   m.Feed(chosen); if (m.done()) stop;     // can_end(): the text so far is a complete sentence
//
// Notation: `name ::= alternatives` rules (the start rule is `root`), `|` alternation, sequences,
// `( ... )` groups, postfix `*` `+` `?` `{m}` `{m,}` `{m,n}`, "literals" and [character classes]
// ([^...] negated, a-z ranges) with escapes \n \r \t \\ \" \[ \] \- \xHH \uHHHH \UHHHHHHHH, `.`
// (any character), `#` comments. Rules may span lines. Literals and classes are Unicode code
// points (UTF-8 in the text); the matcher consumes UTF-8 bytes and accepts a token that ends in
// the middle of a character when that character can still fit.
//
// Validation (Parse errors, InvalidArgument with the rule's name): syntax errors with the line,
// undefined rules, no `root`, left recursion (direct, indirect or through rules that can match
// nothing), repetition counts above kMaxRepeat or repetitions expanding to more than 2^20
// elements in all (so that a short text cannot make a huge grammar).
//
// Matching keeps the set of possible parse stacks (positions still to match, innermost last), as
// a pushdown recogniser. It is bounded: more than kMaxStacks live stacks or a stack deeper than
// kMaxDepth make Feed() fail and set overflowed(), so a pathological grammar costs bounded memory
// and time instead of exploding.
//
// Grammar is immutable after Parse (share it across threads); a GrammarMatcher is a plain value
// owned by one sequence (not synchronised) and must not outlive its Grammar.
#pragma once

#include <bitset>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"

namespace isv {

class Grammar {
 public:
  static constexpr int kMaxRepeat = 1000;  // largest m or n in {m,n}

  // Parses and validates GBNF text.
  static StatusOr<std::shared_ptr<const Grammar>> Parse(std::string_view gbnf);

  // --- compiled form (for the matcher and tests) ---
  enum class Kind : uint8_t { kEnd, kChar, kRule };
  struct Element {
    Kind kind;
    uint32_t value;  // kChar: index into classes(); kRule: rule id; kEnd: unused
  };
  struct CharClass {
    bool negated = false;
    std::vector<std::pair<uint32_t, uint32_t>> ranges;  // inclusive code point ranges
    bool Matches(uint32_t cp) const;
    // Whether some code point in [lo, hi] matches.
    bool MatchesAnyIn(uint32_t lo, uint32_t hi) const;
  };
  // Every alternative of every rule is a run of elements ending with kEnd.
  const std::vector<Element>& elements() const { return elements_; }
  const std::vector<CharClass>& classes() const { return classes_; }
  // Start positions (into elements()) of rule `id`'s alternatives.
  const std::vector<uint32_t>& alternatives(uint32_t id) const { return rules_[id].alts; }
  const std::string& rule_name(uint32_t id) const { return rules_[id].name; }
  uint32_t root() const { return root_; }
  size_t n_rules() const { return rules_.size(); }

 private:
  friend class GrammarBuilder;
  struct Rule {
    std::string name;
    std::vector<uint32_t> alts;
    bool defined = false;
  };
  std::vector<Element> elements_;
  std::vector<CharClass> classes_;
  std::vector<Rule> rules_;
  uint32_t root_ = 0;
};

class GrammarMatcher {
 public:
  static constexpr size_t kMaxStacks = 512;
  static constexpr size_t kMaxDepth = 512;

  // REQUIRES: `grammar` outlives the matcher.
  explicit GrammarMatcher(const Grammar& grammar);

  // Feeds UTF-8 bytes; returns false (state then unspecified) when they cannot continue a
  // sentence of the grammar. An empty text is accepted.
  bool Feed(std::string_view bytes);
  // Whether Feed(bytes) would succeed, without changing this matcher (cheaper than copying it and
  // feeding the copy: only the stacks that accept the first character are copied). Sets
  // *overflowed (when given) if the answer is false because of the bounds.
  bool Accepts(std::string_view bytes, bool* overflowed = nullptr) const;
  // True when the bytes so far form a complete sentence (generation may end here).
  bool can_end() const;
  // True when the sentence is complete and nothing can follow it.
  bool done() const;
  // The bytes that can begin the next Feed() (a cheap filter before probing a candidate token with
  // a copy): for each byte, whether some allowed character starts with it. All bytes while a
  // character is incomplete.
  std::bitset<256> NextByteMask() const;
  // True when a Feed() failed because the stack bounds were exceeded (a grammar too ambiguous or
  // too deeply nested for the bounds), rather than because the text did not fit.
  bool overflowed() const { return overflowed_; }

 private:
  using Stack = std::vector<uint32_t>;  // element positions still to match; next one last
  // Appends to `out` every stack reachable from `stack` by expanding rule references until its
  // top is a character element (or it is empty). False on overflow.
  bool Expand(Stack stack, std::vector<Stack>* out, int depth);
  bool AcceptCodePoint(uint32_t cp);
  // The stacks that follow `from` after code point `cp` go to `to` (deduplicated). False when
  // none does or on overflow.
  bool Advance(const std::vector<Stack>& from, uint32_t cp, std::vector<Stack>* to);
  GrammarMatcher() = default;
  bool PartialFits() const;  // the pending incomplete UTF-8 bytes can start an allowed character

  const Grammar* grammar_ = nullptr;
  std::vector<Stack> stacks_;
  uint32_t partial_cp_ = 0;  // bits of an incomplete UTF-8 character
  uint8_t partial_need_ = 0;  // continuation bytes still expected
  uint8_t partial_have_ = 0;  // continuation bytes seen so far
  bool overflowed_ = false;
};

}  // namespace isv
