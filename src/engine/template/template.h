// Template: a parsed Jinja template (our own interpreter for the Jinja2 subset chat templates use),
// rendered with Hugging Face's settings: trim_blocks, lstrip_blocks, no autoescape, the immutable
// sandbox, `tojson` as json.dumps, and `raise_exception` / `strftime_now` globals.
//
//   ISV_ASSIGN_OR_RETURN(jinja::Template t, jinja::Template::Parse(source));
//   ISV_ASSIGN_OR_RETURN(std::string text, t.Render(context_json, {}));
//
// A Template is immutable after Parse; Render may be called concurrently from several threads.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/status.h"

namespace isv::jinja {

struct RenderOptions {
  int year = 2024, month = 7, day = 26;      // the date strftime_now() sees (00:00:00)
  int64_t max_loop_iterations = 1'000'000;   // over all loops of one render
  int max_call_depth = 64;                   // nested macro calls
  size_t max_output_bytes = 16u << 20;       // also bounds any single string built
};

struct ParsedTemplate;  // the syntax tree (internal)

class Template {
 public:
  // Parses `source`. Errors: INVALID_ARGUMENT "TemplateSyntaxError: ... at line L, column C".
  static StatusOr<Template> Parse(std::string_view source);

  // Renders with the top-level variables of `context` (a JSON object). Errors: INVALID_ARGUMENT
  // "<PythonErrorType>: message at line L, column C" (raise_exception gives "TemplateError: ...");
  // RESOURCE_EXHAUSTED when a sandbox limit is hit.
  StatusOr<std::string> Render(const nlohmann::ordered_json& context, const RenderOptions& options) const;

 private:
  std::shared_ptr<const ParsedTemplate> parsed_;
};

}  // namespace isv::jinja
