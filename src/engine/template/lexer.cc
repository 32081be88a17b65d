#include "engine/template/lexer.h"

#include <cctype>
#include <cstdlib>

#include "engine/template/error.h"
#include "engine/template/value.h"

namespace isv::jinja {
namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }
bool IsNameStart(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool IsNameChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

class Lexer {
 public:
  Lexer(std::string_view src, const LexerOptions& o) : o_(o) {
    // Like Jinja2: every \r\n, \r or \n becomes "\n" before lexing (newline_sequence).
    normalized_.reserve(src.size());
    for (size_t i = 0; i < src.size(); ++i) {
      if (src[i] == '\r') {
        normalized_ += '\n';
        if (i + 1 < src.size() && src[i + 1] == '\n') ++i;
      } else {
        normalized_ += src[i];
      }
    }
    src_ = normalized_;
  }

  std::vector<Token> Run() {
    if (!o_.keep_trailing_newline && !src_.empty() && src_.back() == '\n') src_.remove_suffix(1);
    size_t text_start = 0;
    bool strip_next = false;  // previous tag ended with '-'
    while (true) {
      size_t p = FindTagStart(text_start);
      std::string text(src_.substr(text_start, (p == std::string_view::npos ? src_.size() : p) - text_start));
      if (strip_next) {
        size_t k = 0;
        while (k < text.size() && IsSpace(text[k])) ++k;
        text.erase(0, k);
      }
      if (p == std::string_view::npos) {
        EmitText(text, text_start);
        break;
      }
      char kind = src_[p + 1];  // '{', '%' or '#'
      char mod = p + 2 < src_.size() ? src_[p + 2] : '\0';
      if (mod == '-') {
        size_t k = text.size();
        while (k > 0 && IsSpace(text[k - 1])) --k;
        text.resize(k);
      } else if (kind != '{' && mod != '+' && o_.lstrip_blocks) {
        LStripBlock(text, text_start, p);
      }
      EmitText(text, text_start);
      size_t pos = p + 2 + ((mod == '-' || mod == '+') ? 1 : 0);
      if (kind == '#') {
        size_t end = src_.find("#}", pos);
        if (end == std::string_view::npos) Fail("missing end of comment tag", p);
        strip_next = end > pos && src_[end - 1] == '-';
        text_start = end + 2;
        if (!strip_next) text_start = TrimBlock(text_start);
        continue;
      }
      size_t after = 0;
      strip_next = LexTag(kind, p, pos, &after);
      text_start = after;
      if (!strip_next && kind == '%') text_start = TrimBlock(text_start);
    }
    Token eof;
    eof.type = TokenType::kEof;
    SetPos(eof, src_.size());
    tokens_.push_back(eof);
    return std::move(tokens_);
  }

 private:
  size_t FindTagStart(size_t from) const {
    for (size_t i = src_.find('{', from); i != std::string_view::npos; i = src_.find('{', i + 1)) {
      if (i + 1 < src_.size() && (src_[i + 1] == '{' || src_[i + 1] == '%' || src_[i + 1] == '#')) return i;
    }
    return std::string_view::npos;
  }

  // lstrip_blocks: drop spaces/tabs between the start of the line and the tag.
  void LStripBlock(std::string& text, size_t text_start, size_t tag_pos) const {
    size_t nl = text.rfind('\n');
    size_t from = nl == std::string::npos ? 0 : nl + 1;
    bool line_start = nl != std::string::npos || text_start == 0 || src_[text_start - 1] == '\n';
    if (!line_start) return;
    for (size_t k = from; k < text.size(); ++k) {
      if (!IsSpace(text[k])) return;
    }
    (void)tag_pos;
    text.resize(from);
  }

  size_t TrimBlock(size_t pos) const {
    if (!o_.trim_blocks) return pos;
    if (pos < src_.size() && src_[pos] == '\n') return pos + 1;
    return pos;
  }

  void EmitText(const std::string& text, size_t at) {
    if (text.empty()) return;
    Token t;
    t.type = TokenType::kText;
    t.text = text;
    SetPos(t, at);
    tokens_.push_back(std::move(t));
  }

  // Lexes the inside of `{{`/`{%` starting at `pos`; returns whether the closing tag had '-'.
  bool LexTag(char kind, size_t tag_pos, size_t pos, size_t* after) {
    Token begin;
    begin.type = kind == '{' ? TokenType::kOutputBegin : TokenType::kBlockBegin;
    SetPos(begin, tag_pos);
    tokens_.push_back(begin);
    const char close = kind == '{' ? '}' : '%';
    int depth = 0;  // bracket nesting: `}}` inside a dict literal is not the end
    size_t i = pos;
    while (true) {
      while (i < src_.size() && IsSpace(src_[i])) ++i;
      if (i >= src_.size()) Fail(kind == '{' ? "unexpected end of template, expected '}}'"
                                             : "unexpected end of template, expected '%}'", tag_pos);
      char c = src_[i];
      // End of tag?
      if (depth <= 0 || kind == '%') {
        bool minus = c == '-' && i + 2 < src_.size() && src_[i + 1] == close && src_[i + 2] == '}';
        if (minus || (c == close && i + 1 < src_.size() && src_[i + 1] == '}')) {
          Token end;
          end.type = kind == '{' ? TokenType::kOutputEnd : TokenType::kBlockEnd;
          SetPos(end, i);
          tokens_.push_back(end);
          *after = i + (minus ? 3 : 2);
          return minus;
        }
      }
      Token t;
      SetPos(t, i);
      if (IsNameStart(c)) {
        size_t j = i;
        while (j < src_.size() && IsNameChar(src_[j])) ++j;
        t.type = TokenType::kName;
        t.text = std::string(src_.substr(i, j - i));
        i = j;
      } else if (std::isdigit(static_cast<unsigned char>(c))) {
        i = LexNumber(i, &t);
      } else if (c == '\'' || c == '"') {
        i = LexString(i, &t);
      } else {
        static const char* kOps[] = {"**", "//", "==", "!=", "<=", ">=", "+", "-", "*", "/", "%", "~",
                                     "<", ">", "=", "(", ")", "[", "]", "{", "}", ".", ",", ":", "|"};
        bool found = false;
        for (const char* op : kOps) {
          std::string_view ov(op);
          if (src_.substr(i, ov.size()) == ov) {
            t.type = TokenType::kOp;
            t.text = std::string(ov);
            i += ov.size();
            found = true;
            break;
          }
        }
        if (!found) Fail(std::string("unexpected char '") + c + "'", i);
        if (t.text == "(" || t.text == "[" || t.text == "{") ++depth;
        if (t.text == ")" || t.text == "]" || t.text == "}") --depth;
      }
      tokens_.push_back(std::move(t));
    }
  }

  size_t LexNumber(size_t i, Token* t) {
    size_t j = i;
    auto digits = [&] {
      while (j < src_.size() && (std::isdigit(static_cast<unsigned char>(src_[j])) || src_[j] == '_')) ++j;
    };
    digits();
    bool is_float = false;
    if (j + 1 < src_.size() && src_[j] == '.' && std::isdigit(static_cast<unsigned char>(src_[j + 1]))) {
      is_float = true;
      ++j;
      digits();
    }
    if (j < src_.size() && (src_[j] == 'e' || src_[j] == 'E')) {
      size_t k = j + 1;
      if (k < src_.size() && (src_[k] == '+' || src_[k] == '-')) ++k;
      if (k < src_.size() && std::isdigit(static_cast<unsigned char>(src_[k]))) {
        is_float = true;
        j = k;
        digits();
      }
    }
    std::string num;
    for (size_t k = i; k < j; ++k) {
      if (src_[k] != '_') num += src_[k];
    }
    if (is_float) {
      t->type = TokenType::kFloat;
      t->float_value = std::strtod(num.c_str(), nullptr);
    } else {
      t->type = TokenType::kInt;
      t->int_value = std::strtoll(num.c_str(), nullptr, 10);
    }
    t->text = num;
    return j;
  }

  size_t LexString(size_t i, Token* t) {
    char q = src_[i];
    size_t j = i + 1;
    std::string out;
    while (true) {
      if (j >= src_.size()) Fail("unexpected end of string", i);
      char c = src_[j];
      if (c == q) break;
      if (c == '\\' && j + 1 < src_.size()) {
        char e = src_[j + 1];
        j += 2;
        switch (e) {
          case 'n': out += '\n'; break;
          case 't': out += '\t'; break;
          case 'r': out += '\r'; break;
          case '0': out += '\0'; break;
          case 'b': out += '\b'; break;
          case 'f': out += '\f'; break;
          case 'v': out += '\v'; break;
          case 'a': out += '\a'; break;
          case '\\': out += '\\'; break;
          case '\'': out += '\''; break;
          case '"': out += '"'; break;
          case '\n': break;
          case 'x': case 'u': case 'U': {
            int n = e == 'x' ? 2 : e == 'u' ? 4 : 8;
            if (j + n > src_.size()) Fail("truncated \\" + std::string(1, e) + " escape", j);
            std::string hex(src_.substr(j, n));
            for (char h : hex) {
              if (!std::isxdigit(static_cast<unsigned char>(h))) Fail("bad \\" + std::string(1, e) + " escape", j);
            }
            const unsigned long cp = std::strtoul(hex.c_str(), nullptr, 16);
            if (cp > 0x10FFFF) Fail("illegal Unicode character in \\" + std::string(1, e) + " escape", j);
            AppendUtf8(out, static_cast<char32_t>(cp));
            j += n;
            break;
          }
          default: out += '\\'; out += e; break;  // Python keeps unknown escapes verbatim
        }
        continue;
      }
      out += c;
      ++j;
    }
    t->type = TokenType::kString;
    t->text = std::move(out);
    return j + 1;
  }

  // Line/column of `offset`; positions are mostly requested in increasing order, so the scan
  // continues from the previous one (linear over the template).
  void SetPos(Token& t, size_t offset) const {
    if (offset < cache_offset_) {
      cache_offset_ = 0;
      cache_line_ = 1;
      cache_line_start_ = 0;
    }
    for (size_t k = cache_offset_; k < offset && k < src_.size(); ++k) {
      if (src_[k] == '\n') {
        ++cache_line_;
        cache_line_start_ = k + 1;
      }
    }
    cache_offset_ = offset;
    t.line = cache_line_;
    t.column = static_cast<int>(offset - cache_line_start_) + 1;
  }

  [[noreturn]] void Fail(const std::string& msg, size_t offset) const {
    Token t;
    SetPos(t, offset);
    throw TemplateError{"TemplateSyntaxError", msg, t.line, t.column};
  }

  std::string normalized_;
  std::string_view src_;
  const LexerOptions& o_;
  std::vector<Token> tokens_;
  mutable size_t cache_offset_ = 0;
  mutable int cache_line_ = 1;
  mutable size_t cache_line_start_ = 0;
};

}  // namespace

std::vector<Token> Tokenize(std::string_view source, const LexerOptions& options) {
  return Lexer(source, options).Run();
}

}  // namespace isv::jinja
