// Parser: token stream -> syntax tree (statements and expressions of the Jinja subset).
#pragma once

#include <vector>

#include "engine/template/ast.h"
#include "engine/template/lexer.h"

namespace isv::jinja {

// Parses the whole template. Throws TemplateError("TemplateSyntaxError") with line/column on
// malformed input (unknown tag, unbalanced block, bad expression, nesting deeper than 256).
NodeList ParseTemplate(const std::vector<Token>& tokens);

}  // namespace isv::jinja
