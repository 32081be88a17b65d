// JSON Schema `pattern` -> GBNF: an expression matching the JSON string literals (quotes included)
// whose decoded value matches a regular expression, for engine/sampling/json_schema_grammar.h.
//
// Regex subset (ECMA-262 syntax, as JSON Schema uses): literals (UTF-8), `.` (any character but
// newline), [classes] with ranges and ^ negation, escapes \d \D \w \W \s \S \n \r \t \f \v \xHH
// \uHHHH and escaped punctuation, groups ( ) and (?: ), alternation |, quantifiers * + ? {m}
// {m,} {m,n} (m, n <= 1000; a lazy `?` suffix is accepted: the language is the same). `^` only
// at the start and `$` only at the end; without them the match may sit anywhere in the string
// (JSON Schema's search semantics). Refused with InvalidArgument: backreferences, lookaround,
// \b, named groups, anchors elsewhere.
//
// The JSON text is constrained, not only the value: `"` and `\` appear escaped, control
// characters as \n \r \t or \u00XX, other characters raw (UTF-8), `/` raw or as \/.
//
// Free function; thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "core/status.h"

namespace isv {

struct RegexGbnf {
  std::string expr;        // GBNF expression for the whole JSON string literal
  bool uses_json_char = false;  // refers to the rule `json-char` (an unanchored end)
};

StatusOr<RegexGbnf> RegexToJsonStringGbnf(std::string_view pattern);

}  // namespace isv
