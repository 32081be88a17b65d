#include "engine/template/template.h"

#include <exception>

#include "engine/template/error.h"
#include "engine/template/interpreter.h"
#include "engine/template/lexer.h"
#include "engine/template/parser.h"
#include "engine/template/value_json.h"

namespace isv::jinja {

struct ParsedTemplate {
  NodeList root;
};

namespace {

Status ToStatus(const TemplateError& e) {
  std::string msg = e.type + ": " + e.message;
  if (e.line > 0) msg += " (at line " + std::to_string(e.line) + ", column " + std::to_string(e.column) + ")";
  if (e.type == "SecurityError" && e.message.find("unsafe") == std::string::npos) {
    return ResourceExhaustedError(std::move(msg));
  }
  return InvalidArgumentError(std::move(msg));
}

}  // namespace

StatusOr<Template> Template::Parse(std::string_view source) {
  try {
    auto parsed = std::make_shared<ParsedTemplate>();
    parsed->root = ParseTemplate(Tokenize(source, LexerOptions{}));
    Template t;
    t.parsed_ = std::move(parsed);
    return t;
  } catch (const TemplateError& e) {
    return ToStatus(e);
  } catch (const std::exception& e) {
    return InternalError(std::string("template parse failed: ") + e.what());
  }
}

StatusOr<std::string> Template::Render(const nlohmann::ordered_json& context, const RenderOptions& options) const {
  if (!parsed_) return FailedPreconditionError("Render on a Template that was not parsed");
  if (!context.is_object()) return InvalidArgumentError("template context must be a JSON object");
  try {
    BuiltinContext b;
    b.year = options.year;
    b.month = options.month;
    b.day = options.day;
    b.max_sequence = options.max_loop_iterations;
    b.max_string = options.max_output_bytes;
    InterpreterLimits limits;
    limits.max_loop_iterations = options.max_loop_iterations;
    limits.max_call_depth = options.max_call_depth;
    limits.max_output_bytes = options.max_output_bytes;
    Value ctx = ValueFromJson(context);
    Interpreter interp(b, limits);
    return interp.Render(parsed_->root, ctx.dict());
  } catch (const TemplateError& e) {
    return ToStatus(e);
  } catch (const std::exception& e) {
    return InternalError(std::string("template render failed: ") + e.what());
  }
}

}  // namespace isv::jinja
