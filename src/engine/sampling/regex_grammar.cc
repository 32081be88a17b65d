// Recursive descent over the pattern's code points, emitting GBNF text directly. Each character
// set becomes an alternation of its raw JSON form and the escaped forms of its special members.
#include "engine/sampling/regex_grammar.h"

#include <algorithm>
#include <cstdio>
#include <utility>
#include <vector>

namespace isv {
namespace {

using Ranges = std::vector<std::pair<uint32_t, uint32_t>>;

constexpr int kMaxCount = 1000;
constexpr int kMaxNesting = 64;

struct CharSet {
  bool negated = false;
  Ranges ranges;
  bool Contains(uint32_t c) const {
    bool in = std::any_of(ranges.begin(), ranges.end(), [&](const auto& r) { return c >= r.first && c <= r.second; });
    return in != negated;
  }
};

std::string Hex8(uint32_t c) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "\\U%08X", c);
  return buf;
}

// The GBNF for one character of `set` as it appears inside a JSON string.
std::string CharSetExpr(const CharSet& set) {
  // Raw members: everything but '"', '\' and the controls, which JSON writes escaped.
  std::string raw = set.negated ? "[^" : "[";
  bool any_raw = set.negated;
  for (const auto& [lo, hi] : set.ranges) {
    // Split out the special code points (only relevant for a positive set).
    uint32_t a = lo;
    while (a <= hi) {
      if (!set.negated && (a < 0x20 || a == '"' || a == '\\')) {
        ++a;
        continue;
      }
      uint32_t b = a;
      while (b < hi && (set.negated || !(b + 1 < 0x20 || b + 1 == '"' || b + 1 == '\\'))) ++b;
      raw += Hex8(a) + (b > a ? "-" + Hex8(b) : "");
      any_raw = true;
      if (b == hi) break;
      a = b + 1;
    }
  }
  if (set.negated) raw += Hex8(0) + "-" + Hex8(0x1F) + Hex8('"') + Hex8('\\');
  raw += "]";
  std::vector<std::string> alts;
  if (any_raw) alts.push_back(raw);
  if (set.Contains('"')) alts.push_back(R"("\\\"")");
  if (set.Contains('\\')) alts.push_back(R"("\\\\")");
  if (set.Contains('/')) alts.push_back(R"("\\/")");
  if (set.Contains('\n')) alts.push_back(R"("\\n")");
  if (set.Contains('\r')) alts.push_back(R"("\\r")");
  if (set.Contains('\t')) alts.push_back(R"("\\t")");
  for (uint32_t c = 0; c < 0x20; ++c) {
    if (!set.Contains(c)) continue;
    static const char kHex[] = "0123456789abcdef";
    std::string lit = R"("\\u00)" + std::string(1, kHex[c >> 4]) + "\"";
    const char low = kHex[c & 15];
    lit += low >= 'a' ? std::string(" [") + low + static_cast<char>(low - 32) + "]" : std::string(" \"") + low + "\"";
    alts.push_back("(" + lit + ")");
  }
  if (alts.empty()) return "[^\\U00000000-\\U0010FFFF]";  // matches nothing
  if (alts.size() == 1) return alts[0];
  std::string out;
  for (const std::string& a : alts) out += (out.empty() ? "(" : " | ") + a;
  return out + ")";
}

class RegexParser {
 public:
  explicit RegexParser(std::string_view p) : p_(p) {}

  StatusOr<RegexGbnf> Run() {
    bool anchored_start = false, anchored_end = false;
    if (!p_.empty() && p_[0] == '^') {
      anchored_start = true;
      ++pos_;
    }
    end_ = p_.size();
    if (end_ > pos_ && p_[end_ - 1] == '$' && !(end_ >= 2 && p_[end_ - 2] == '\\')) {
      anchored_end = true;
      --end_;
    }
    ISV_ASSIGN_OR_RETURN(std::string body, Alternation(0));
    if (pos_ != end_) return Error("unexpected ')'");
    RegexGbnf out;
    out.expr = "\"\\\"\" ";
    if (!anchored_start) out.expr += "json-char* ";
    out.expr += "(" + body + ")";
    if (!anchored_end) out.expr += " json-char*";
    out.expr += " \"\\\"\"";
    out.uses_json_char = !anchored_start || !anchored_end;
    return out;
  }

 private:
  Status Error(const std::string& msg) const {
    return InvalidArgumentError("'pattern' " + std::string(p_) + ": " + msg + " (at offset " + std::to_string(pos_) + ")");
  }
  bool AtEnd() const { return pos_ >= end_; }
  char Peek() const { return AtEnd() ? '\0' : p_[pos_]; }

  StatusOr<std::string> Alternation(int nesting) {
    if (nesting > kMaxNesting) return Error("groups nested too deeply");
    std::string out;
    while (true) {
      ISV_ASSIGN_OR_RETURN(std::string seq, Sequence(nesting));
      out += (out.empty() ? "" : " | ") + (seq.empty() ? std::string("\"\"") : seq);
      if (Peek() != '|') break;
      ++pos_;
    }
    return out;
  }

  StatusOr<std::string> Sequence(int nesting) {
    std::string out;
    while (!AtEnd() && Peek() != '|' && Peek() != ')') {
      ISV_ASSIGN_OR_RETURN(std::string atom, Atom(nesting));
      ISV_ASSIGN_OR_RETURN(atom, Quantified(std::move(atom)));
      out += (out.empty() ? "" : " ") + atom;
    }
    return out;
  }

  StatusOr<std::string> Quantified(std::string atom) {
    char q = Peek();
    if (q != '*' && q != '+' && q != '?' && q != '{') return atom;
    ++pos_;
    std::string suffix(1, q);
    if (q == '{') {
      size_t close = p_.find('}', pos_);
      if (close == std::string_view::npos || close >= end_) return Error("unterminated {m,n}");
      std::string inner(p_.substr(pos_, close - pos_));
      int m = -1, n = -1;
      char extra;
      if (std::sscanf(inner.c_str(), "%d,%d%c", &m, &n, &extra) == 2) {
      } else if (!inner.empty() && inner.back() == ',' && std::sscanf(inner.c_str(), "%d,%c", &m, &extra) == 1) {
        n = -1;
      } else if (std::sscanf(inner.c_str(), "%d%c", &m, &extra) == 1) {
        n = m;
      } else {
        return Error("bad repetition {" + inner + "}");
      }
      if (m < 0 || m > kMaxCount || n > kMaxCount || (n >= 0 && n < m))
        return Error("repetition {" + inner + "} out of range (0..1000)");
      suffix = "{" + std::to_string(m) + "," + (n >= 0 ? std::to_string(n) : "") + "}";
      pos_ = close + 1;
    }
    if (Peek() == '?') ++pos_;  // lazy: same language
    if (Peek() == '*' || Peek() == '+' || Peek() == '{') return Error("a quantifier cannot follow a quantifier");
    return "(" + atom + ")" + suffix;
  }

  StatusOr<uint32_t> CodePoint() {
    unsigned char c = static_cast<unsigned char>(p_[pos_]);
    int len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (len == 0 || pos_ + len > end_) return Error("invalid UTF-8");
    uint32_t cp = len == 1 ? c : c & (0xFF >> (len + 1));
    for (int i = 1; i < len; ++i) cp = (cp << 6) | (static_cast<unsigned char>(p_[pos_ + i]) & 0x3F);
    pos_ += len;
    return cp;
  }

  StatusOr<uint32_t> Hex(int digits) {
    uint32_t v = 0;
    for (int i = 0; i < digits; ++i) {
      char h = Peek();
      int d = h >= '0' && h <= '9' ? h - '0' : h >= 'a' && h <= 'f' ? h - 'a' + 10 : h >= 'A' && h <= 'F' ? h - 'A' + 10 : -1;
      if (d < 0) return Error("bad hex escape");
      v = v * 16 + static_cast<uint32_t>(d);
      ++pos_;
    }
    return v;
  }

  // After a backslash: a class escape (\d \w \s and negations) into *set, or one code point.
  // Returns true in *is_class for class escapes.
  Status Escape(CharSet* set, bool* is_class, uint32_t* cp) {
    if (AtEnd()) return Error("trailing backslash");
    char e = Peek();
    ++pos_;
    *is_class = true;
    switch (e) {
      case 'd': case 'D': set->ranges = {{'0', '9'}}; set->negated = e == 'D'; return OkStatus();
      case 'w': case 'W': set->ranges = {{'0', '9'}, {'A', 'Z'}, {'_', '_'}, {'a', 'z'}}; set->negated = e == 'W'; return OkStatus();
      case 's': case 'S': set->ranges = {{0x09, 0x0D}, {0x20, 0x20}, {0xA0, 0xA0}, {0x2028, 0x2029}, {0xFEFF, 0xFEFF}}; set->negated = e == 'S'; return OkStatus();
      default: break;
    }
    *is_class = false;
    switch (e) {
      case 'n': *cp = '\n'; return OkStatus();
      case 'r': *cp = '\r'; return OkStatus();
      case 't': *cp = '\t'; return OkStatus();
      case 'f': *cp = '\f'; return OkStatus();
      case 'v': *cp = '\v'; return OkStatus();
      case 'x': { ISV_ASSIGN_OR_RETURN(*cp, Hex(2)); return OkStatus(); }
      case 'u': { ISV_ASSIGN_OR_RETURN(*cp, Hex(4)); return OkStatus(); }
      default: break;
    }
    if ((e >= 'a' && e <= 'z') || (e >= 'A' && e <= 'Z') || (e >= '0' && e <= '9'))
      return Error(std::string("escape \\") + e + " is not supported");
    *cp = static_cast<unsigned char>(e);
    return OkStatus();
  }

  StatusOr<std::string> Atom(int nesting) {
    char c = Peek();
    if (c == '(') {
      ++pos_;
      if (Peek() == '?') {
        if (p_.substr(pos_, 2) != "?:") return Error("lookaround and named groups are not supported");
        pos_ += 2;
      }
      ISV_ASSIGN_OR_RETURN(std::string inner, Alternation(nesting + 1));
      if (Peek() != ')') return Error("missing ')'");
      ++pos_;
      return "(" + inner + ")";
    }
    if (c == '[') return Class();
    if (c == '.') {
      ++pos_;
      CharSet any;
      any.negated = true;
      any.ranges = {{'\n', '\n'}, {'\r', '\r'}, {0x2028, 0x2029}};
      return CharSetExpr(any);
    }
    if (c == '^' || c == '$') return Error("anchors are supported only at the start and the end");
    if (c == '*' || c == '+' || c == '?' || c == '{') return Error("nothing to repeat");
    CharSet set;
    if (c == '\\') {
      ++pos_;
      bool is_class;
      uint32_t cp = 0;
      ISV_RETURN_IF_ERROR(Escape(&set, &is_class, &cp));
      if (!is_class) set.ranges = {{cp, cp}};
      return CharSetExpr(set);
    }
    ISV_ASSIGN_OR_RETURN(uint32_t cp, CodePoint());
    set.ranges = {{cp, cp}};
    return CharSetExpr(set);
  }

  StatusOr<std::string> Class() {
    ++pos_;  // '['
    CharSet set;
    if (Peek() == '^') {
      set.negated = true;
      ++pos_;
    }
    bool first = true;
    while (true) {
      if (AtEnd()) return Error("unterminated character class");
      if (Peek() == ']' && !first) break;
      first = false;
      uint32_t lo;
      if (Peek() == '\\') {
        ++pos_;
        CharSet inner;
        bool is_class;
        ISV_RETURN_IF_ERROR(Escape(&inner, &is_class, &lo));
        if (is_class) {
          if (inner.negated) return Error("\\D \\W \\S inside a class are not supported");
          set.ranges.insert(set.ranges.end(), inner.ranges.begin(), inner.ranges.end());
          continue;
        }
      } else {
        ISV_ASSIGN_OR_RETURN(lo, CodePoint());
      }
      uint32_t hi = lo;
      if (Peek() == '-' && pos_ + 1 < end_ && p_[pos_ + 1] != ']') {
        ++pos_;
        if (Peek() == '\\') {
          ++pos_;
          CharSet inner;
          bool is_class;
          ISV_RETURN_IF_ERROR(Escape(&inner, &is_class, &hi));
          if (is_class) return Error("a class escape cannot end a range");
        } else {
          ISV_ASSIGN_OR_RETURN(hi, CodePoint());
        }
        if (hi < lo) return Error("range out of order");
      }
      set.ranges.push_back({lo, hi});
    }
    ++pos_;  // ']'
    return CharSetExpr(set);
  }

  std::string_view p_;
  size_t pos_ = 0;
  size_t end_ = 0;
};

}  // namespace

StatusOr<RegexGbnf> RegexToJsonStringGbnf(std::string_view pattern) { return RegexParser(pattern).Run(); }

}  // namespace isv
