// TemplateError: the interpreter's internal error, carried as a C++ exception inside the template
// module only (lexer, parser, evaluator are deeply recursive; unwinding keeps them readable). Every
// public entry point (Template::Parse, Template::Render) catches it and returns a Status, so no
// exception ever leaves src/engine/template/.
#pragma once

#include <string>
#include <utility>

namespace isv::jinja {

struct TemplateError {
  std::string type;     // Python-like class: "TypeError", "UndefinedError", "TemplateError", ...
  std::string message;  // str(exception)
  int line = 0;         // 1-based; 0 = not known yet (filled in by the statement that ran it)
  int column = 0;
};

[[noreturn]] inline void ThrowError(std::string type, std::string message) {
  throw TemplateError{std::move(type), std::move(message)};
}

}  // namespace isv::jinja
