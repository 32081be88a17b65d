// Grammar::Parse: GBNF text -> rules of element runs, then validation (undefined rules, root,
// left recursion). Groups and repetitions become generated rules named "<rule>_<n>".
#include "engine/sampling/grammar.h"

#include <algorithm>
#include <map>

namespace isv {

bool Grammar::CharClass::Matches(uint32_t cp) const {
  bool in = false;
  for (const auto& [lo, hi] : ranges) {
    if (cp >= lo && cp <= hi) {
      in = true;
      break;
    }
  }
  return in != negated;
}

bool Grammar::CharClass::MatchesAnyIn(uint32_t lo, uint32_t hi) const {
  if (!negated) {
    for (const auto& [a, b] : ranges) {
      if (a <= hi && b >= lo) return true;
    }
    return false;
  }
  // Negated: some code point of [lo, hi] lies outside every range.
  uint32_t cp = lo;
  while (true) {
    auto it = std::find_if(ranges.begin(), ranges.end(),
                           [&](const auto& r) { return cp >= r.first && cp <= r.second; });
    if (it == ranges.end()) return true;
    if (it->second >= hi) return false;
    cp = it->second + 1;
  }
}

class GrammarBuilder {
 public:
  explicit GrammarBuilder(std::string_view src) : src_(src) {}

  StatusOr<std::shared_ptr<const Grammar>> Build() {
    ISV_RETURN_IF_ERROR(ParseRules());
    ISV_RETURN_IF_ERROR(Validate());
    auto g = std::make_shared<Grammar>();
    for (size_t id = 0; id < bodies_.size(); ++id) {
      Grammar::Rule rule;
      rule.name = names_[id];
      rule.defined = true;
      for (const std::vector<Grammar::Element>& alt : bodies_[id]) {
        rule.alts.push_back(static_cast<uint32_t>(g->elements_.size()));
        g->elements_.insert(g->elements_.end(), alt.begin(), alt.end());
        g->elements_.push_back({Grammar::Kind::kEnd, 0});
      }
      g->rules_.push_back(std::move(rule));
    }
    g->classes_ = std::move(classes_);
    g->root_ = ids_.at("root");
    return std::shared_ptr<const Grammar>(std::move(g));
  }

 private:
  using Elements = std::vector<Grammar::Element>;
  using Alternatives = std::vector<Elements>;
  static constexpr int kMaxNesting = 64;
  static constexpr size_t kMaxRules = 100000;
  static constexpr size_t kMaxRepeatedElements = 1 << 20;  // elements all {m,n} expand to

  Status Error(const std::string& msg) const {
    int line = 1 + static_cast<int>(std::count(src_.begin(), src_.begin() + pos_, '\n'));
    return InvalidArgumentError("grammar: line " + std::to_string(line) + ": " + msg);
  }
  bool AtEnd() const { return pos_ >= src_.size(); }
  char Peek(size_t ahead = 0) const { return pos_ + ahead < src_.size() ? src_[pos_ + ahead] : '\0'; }
  static bool IsNameChar(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  }

  // Skips blanks, newlines and # comments.
  void SkipSpace() {
    while (!AtEnd()) {
      char c = Peek();
      if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
        ++pos_;
      } else if (c == '#') {
        while (!AtEnd() && Peek() != '\n') ++pos_;
      } else {
        break;
      }
    }
  }

  // Whether the text at pos_ is `name ::=` (the start of the next rule).
  bool AtRuleStart() const {
    size_t p = pos_;
    while (p < src_.size() && IsNameChar(src_[p])) ++p;
    if (p == pos_) return false;
    while (p < src_.size() && (src_[p] == ' ' || src_[p] == '\t')) ++p;
    return src_.substr(p, 3) == "::=";
  }

  std::string ParseName() {
    size_t start = pos_;
    while (!AtEnd() && IsNameChar(Peek())) ++pos_;
    return std::string(src_.substr(start, pos_ - start));
  }

  uint32_t RuleId(const std::string& name) {
    auto [it, inserted] = ids_.emplace(name, static_cast<uint32_t>(names_.size()));
    if (inserted) {
      names_.push_back(name);
      bodies_.emplace_back();
      defined_.push_back(false);
    }
    return it->second;
  }

  StatusOr<uint32_t> NewRule(const std::string& owner, Alternatives alts) {
    if (names_.size() >= kMaxRules) return Error("too many rules (repetition counts too large?)");
    uint32_t id = RuleId(owner + "_" + std::to_string(++generated_));
    bodies_[id] = std::move(alts);
    defined_[id] = true;
    return id;
  }

  Grammar::Element Ref(uint32_t id) { return {Grammar::Kind::kRule, id}; }
  Grammar::Element Char(Grammar::CharClass cls) {
    classes_.push_back(std::move(cls));
    return {Grammar::Kind::kChar, static_cast<uint32_t>(classes_.size() - 1)};
  }

  Status ParseRules() {
    while (true) {
      SkipSpace();
      if (AtEnd()) break;
      std::string name = ParseName();
      if (name.empty()) return Error("expected a rule name");
      while (Peek() == ' ' || Peek() == '\t') ++pos_;
      if (src_.substr(pos_, 3) != "::=") return Error("expected '::=' after '" + name + "'");
      pos_ += 3;
      uint32_t id = RuleId(name);
      if (defined_[id]) return Error("rule '" + name + "' is defined twice");
      ISV_ASSIGN_OR_RETURN(Alternatives alts, ParseAlternatives(name, 0));
      SkipSpace();
      if (!AtEnd() && !AtRuleStart()) return Error(std::string("unexpected '") + Peek() + "'");
      bodies_[id] = std::move(alts);
      defined_[id] = true;
    }
    if (!ids_.count("root")) return InvalidArgumentError("grammar: there is no 'root' rule");
    return OkStatus();
  }

  StatusOr<Alternatives> ParseAlternatives(const std::string& owner, int nesting) {
    if (nesting > kMaxNesting) return Error("groups nested too deeply");
    Alternatives alts;
    while (true) {
      ISV_ASSIGN_OR_RETURN(Elements seq, ParseSequence(owner, nesting));
      alts.push_back(std::move(seq));
      SkipSpace();
      if (Peek() != '|') break;
      ++pos_;
    }
    return alts;
  }

  StatusOr<Elements> ParseSequence(const std::string& owner, int nesting) {
    Elements seq;
    while (true) {
      SkipSpace();
      char c = Peek();
      if (AtEnd() || c == '|' || c == ')' || AtRuleStart()) break;
      ISV_ASSIGN_OR_RETURN(Elements item, ParsePrimary(owner, nesting));
      while (true) {
        while (Peek() == ' ' || Peek() == '\t') ++pos_;
        c = Peek();
        if (c != '*' && c != '+' && c != '?' && c != '{') break;
        ISV_ASSIGN_OR_RETURN(item, ParsePostfix(owner, std::move(item)));
      }
      seq.insert(seq.end(), item.begin(), item.end());
    }
    return seq;
  }

  StatusOr<Elements> ParsePrimary(const std::string& owner, int nesting) {
    char c = Peek();
    if (c == '"') {
      ++pos_;
      Elements out;
      while (true) {
        if (AtEnd() || Peek() == '\n') return Error("unterminated string literal");
        if (Peek() == '"') break;
        ISV_ASSIGN_OR_RETURN(uint32_t cp, ParseChar());
        Grammar::CharClass cls;
        cls.ranges.push_back({cp, cp});
        out.push_back(Char(std::move(cls)));
      }
      ++pos_;
      return out;
    }
    if (c == '[') {
      ++pos_;
      Grammar::CharClass cls;
      if (Peek() == '^') {
        cls.negated = true;
        ++pos_;
      }
      while (true) {
        if (AtEnd() || Peek() == '\n') return Error("unterminated character class");
        if (Peek() == ']') break;
        ISV_ASSIGN_OR_RETURN(uint32_t lo, ParseChar());
        uint32_t hi = lo;
        if (Peek() == '-' && Peek(1) != ']' && Peek(1) != '\0') {
          ++pos_;
          ISV_ASSIGN_OR_RETURN(hi, ParseChar());
          if (hi < lo) return Error("character range with its end before its start");
        }
        cls.ranges.push_back({lo, hi});
      }
      ++pos_;
      return Elements{Char(std::move(cls))};
    }
    if (c == '.') {
      ++pos_;
      Grammar::CharClass any;
      any.negated = true;
      return Elements{Char(std::move(any))};
    }
    if (c == '(') {
      ++pos_;
      ISV_ASSIGN_OR_RETURN(Alternatives alts, ParseAlternatives(owner, nesting + 1));
      SkipSpace();
      if (Peek() != ')') return Error("expected ')'");
      ++pos_;
      if (alts.size() == 1) return std::move(alts[0]);
      ISV_ASSIGN_OR_RETURN(uint32_t id, NewRule(owner, std::move(alts)));
      return Elements{Ref(id)};
    }
    if (IsNameChar(c)) return Elements{Ref(RuleId(ParseName()))};
    return Error(std::string("unexpected '") + c + "'");
  }

  StatusOr<int> ParseCount() {
    size_t start = pos_;
    int64_t v = 0;
    while (Peek() >= '0' && Peek() <= '9') {
      v = v * 10 + (Peek() - '0');
      if (v > Grammar::kMaxRepeat) return Error("repetition count above " + std::to_string(Grammar::kMaxRepeat));
      ++pos_;
    }
    if (pos_ == start) return -1;
    return static_cast<int>(v);
  }

  // Applies one postfix operator to `item` (a run of elements).
  StatusOr<Elements> ParsePostfix(const std::string& owner, Elements item) {
    char op = Peek();
    ++pos_;
    Grammar::Element x = item.size() == 1 ? item[0] : Grammar::Element{};
    if (item.size() != 1) {
      ISV_ASSIGN_OR_RETURN(uint32_t id, NewRule(owner, {item}));
      x = Ref(id);
    }
    auto star = [&]() -> StatusOr<Grammar::Element> {  // R ::= x R |
      ISV_ASSIGN_OR_RETURN(uint32_t id, NewRule(owner, {}));
      bodies_[id] = {{x, Ref(id)}, {}};
      return Ref(id);
    };
    if (op == '*') {
      ISV_ASSIGN_OR_RETURN(Grammar::Element r, star());
      return Elements{r};
    }
    if (op == '+') {
      ISV_ASSIGN_OR_RETURN(Grammar::Element r, star());
      return Elements{x, r};
    }
    if (op == '?') {
      ISV_ASSIGN_OR_RETURN(uint32_t id, NewRule(owner, {{x}, {}}));
      return Elements{Ref(id)};
    }
    // {m}, {m,}, {m,n}
    while (Peek() == ' ') ++pos_;
    ISV_ASSIGN_OR_RETURN(int m, ParseCount());
    if (m < 0) return Error("expected a number after '{'");
    int n = m;
    while (Peek() == ' ') ++pos_;
    if (Peek() == ',') {
      ++pos_;
      while (Peek() == ' ') ++pos_;
      ISV_ASSIGN_OR_RETURN(n, ParseCount());  // -1: unbounded
      while (Peek() == ' ') ++pos_;
    }
    if (Peek() != '}') return Error("expected '}'");
    ++pos_;
    if (n >= 0 && n < m) return Error("repetition {m,n} with n < m");
    repeated_ += static_cast<size_t>(m) + 2 * static_cast<size_t>(n > m ? n - m : 1);
    if (repeated_ > kMaxRepeatedElements)
      return Error("the repetitions expand to more than " + std::to_string(kMaxRepeatedElements) + " elements");
    Elements out(static_cast<size_t>(m), x);
    if (n < 0) {
      ISV_ASSIGN_OR_RETURN(Grammar::Element r, star());
      out.push_back(r);
    } else if (n > m) {
      // O_1 ::= x | ; O_k ::= x O_(k-1) |
      ISV_ASSIGN_OR_RETURN(uint32_t prev, NewRule(owner, {{x}, {}}));
      for (int k = 2; k <= n - m; ++k) {
        ISV_ASSIGN_OR_RETURN(prev, NewRule(owner, {{x, Ref(prev)}, {}}));
      }
      out.push_back(Ref(prev));
    }
    return out;
  }

  // One character of a literal or class: an escape or a UTF-8 encoded code point.
  StatusOr<uint32_t> ParseChar() {
    unsigned char c = static_cast<unsigned char>(Peek());
    if (c == '\\') {
      ++pos_;
      char e = Peek();
      ++pos_;
      switch (e) {
        case 'n': return 0x0Au;
        case 'r': return 0x0Du;
        case 't': return 0x09u;
        case '\\': case '"': case '\'': case '[': case ']': case '-': case '/': case '^': case '.':
          return static_cast<uint32_t>(e);
        case 'x': return ParseHex(2);
        case 'u': return ParseHex(4);
        case 'U': return ParseHex(8);
        default: return Error(std::string("unknown escape '\\") + e + "'");
      }
    }
    int len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (len == 0 || pos_ + len > src_.size()) return Error("invalid UTF-8");
    uint32_t cp = len == 1 ? c : c & (0xFF >> (len + 1));
    for (int i = 1; i < len; ++i) {
      unsigned char cc = static_cast<unsigned char>(src_[pos_ + i]);
      if ((cc & 0xC0) != 0x80) return Error("invalid UTF-8");
      cp = (cp << 6) | (cc & 0x3F);
    }
    pos_ += len;
    return cp;
  }

  StatusOr<uint32_t> ParseHex(int digits) {
    uint32_t v = 0;
    for (int i = 0; i < digits; ++i) {
      char h = Peek();
      int d = h >= '0' && h <= '9' ? h - '0' : h >= 'a' && h <= 'f' ? h - 'a' + 10 : h >= 'A' && h <= 'F' ? h - 'A' + 10 : -1;
      if (d < 0) return Error("expected " + std::to_string(digits) + " hex digits in an escape");
      v = v * 16 + static_cast<uint32_t>(d);
      ++pos_;
    }
    if (v > 0x10FFFF) return Error("escape beyond U+10FFFF");
    return v;
  }

  Status Validate() {
    for (size_t id = 0; id < names_.size(); ++id) {
      if (!defined_[id]) return InvalidArgumentError("grammar: rule '" + names_[id] + "' is used but not defined");
    }
    // Nullable rules (can match the empty string), to a fixpoint.
    std::vector<bool> nullable(names_.size(), false);
    for (bool changed = true; changed;) {
      changed = false;
      for (size_t id = 0; id < names_.size(); ++id) {
        if (nullable[id]) continue;
        for (const Elements& alt : bodies_[id]) {
          if (std::all_of(alt.begin(), alt.end(), [&](const Grammar::Element& e) {
                return e.kind == Grammar::Kind::kRule && nullable[e.value];
              })) {
            nullable[id] = changed = true;
            break;
          }
        }
      }
    }
    // Left edges: A -> B when B can be the first thing A matches.
    std::vector<std::vector<uint32_t>> left(names_.size());
    for (size_t id = 0; id < names_.size(); ++id) {
      for (const Elements& alt : bodies_[id]) {
        for (const Grammar::Element& e : alt) {
          if (e.kind != Grammar::Kind::kRule) break;
          left[id].push_back(e.value);
          if (!nullable[e.value]) break;
        }
      }
    }
    std::vector<uint8_t> color(names_.size(), 0);  // 0 new, 1 on the path, 2 done
    for (size_t start = 0; start < names_.size(); ++start) {
      if (color[start]) continue;
      std::vector<std::pair<uint32_t, size_t>> path{{static_cast<uint32_t>(start), 0}};
      color[start] = 1;
      while (!path.empty()) {
        auto& [id, next] = path.back();
        if (next == left[id].size()) {
          color[id] = 2;
          path.pop_back();
          continue;
        }
        uint32_t to = left[id][next++];
        if (color[to] == 1) {
          return InvalidArgumentError("grammar: left recursion in rule '" + names_[to] +
                                      "' (a rule that can reach itself without consuming a character, "
                                      "e.g. a repetition of something that can match nothing)");
        }
        if (color[to] == 0) {
          color[to] = 1;
          path.push_back({to, 0});
        }
      }
    }
    return OkStatus();
  }

  std::string_view src_;
  size_t pos_ = 0;
  int generated_ = 0;
  size_t repeated_ = 0;
  std::map<std::string, uint32_t> ids_;
  std::vector<std::string> names_;
  std::vector<Alternatives> bodies_;
  std::vector<bool> defined_;
  std::vector<Grammar::CharClass> classes_;
};

StatusOr<std::shared_ptr<const Grammar>> Grammar::Parse(std::string_view gbnf) {
  return GrammarBuilder(gbnf).Build();
}

}  // namespace isv
