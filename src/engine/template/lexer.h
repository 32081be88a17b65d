// Lexer: Jinja template source -> token stream, applying Jinja2's whitespace rules.
//
// Text between tags becomes kText tokens; `{{ ... }}` and `{% ... %}` become begin/end tokens with
// expression tokens in between; `{# ... #}` comments vanish. Whitespace control follows Jinja2:
// `{%-`/`{{-`/`{#-` strip all whitespace before the tag, `-%}`/`-}}`/`-#}` all whitespace after;
// with trim_blocks the first newline after a block or comment tag is dropped; with lstrip_blocks
// spaces and tabs between a line start and a block or comment tag are dropped (`{%+` opts out).
// Line endings (\r\n, \r) are normalised to "\n" first; keep_trailing_newline=false then drops one
// trailing newline of the source.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace isv::jinja {

enum class TokenType {
  kText, kOutputBegin, kOutputEnd, kBlockBegin, kBlockEnd,
  kName, kString, kInt, kFloat, kOp, kEof,
};

struct Token {
  TokenType type = TokenType::kEof;
  std::string text;  // text, name, string contents (unescaped) or operator
  int64_t int_value = 0;
  double float_value = 0;
  int line = 1;
  int column = 1;
};

struct LexerOptions {
  bool trim_blocks = true;
  bool lstrip_blocks = true;
  bool keep_trailing_newline = false;
};

// Returns the tokens, ending with kEof. Throws TemplateError("TemplateSyntaxError") on bad input
// (unclosed tag, unterminated string, unknown character).
std::vector<Token> Tokenize(std::string_view source, const LexerOptions& options);

}  // namespace isv::jinja
