// Request parsing: OpenAI-style JSON bodies -> validated request structs. Unknown fields are
// ignored (OpenAI clients send many); a known field with the wrong type or range is an ApiError
// 400 whose `param` names the field. Messages are normalised for chat templates: text content parts
// are joined, tool-call `arguments` strings are parsed into objects. Constrained decoding requests
// (response_format json_schema, the `grammar` / `json_schema` extensions) are compiled here into
// params.grammar, so that a bad schema or grammar is a 400 naming the field.
//
// Free functions; thread-safe.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <variant>

#include "api/api_error.h"
#include "serving/generator.h"

namespace isv {

// Most choices one request may ask for (`n`): each is a sequence in the scheduler.
inline constexpr int kMaxChoices = 16;

struct CompletionRequest {
  bool is_chat = true;
  std::string model;
  PromptInput input;  // messages + tools, or the raw prompt
  GenerationParams params;
  bool stream = false;
  bool include_usage = false;      // stream_options.include_usage
  bool tools_enabled = false;      // tools given and tool_choice != "none"
  // tool_choice "required" ("*": any of the tools) or a named function (its name): the call is
  // forced by a grammar built once the model's tool-call format is known (after PreparePrompt).
  std::string forced_tool;
  // The field that set params.grammar ("response_format", "json_schema" or "grammar"), for errors.
  std::string grammar_field;
  std::string orchestration_mode;  // "" = the configured default
  std::string task_type;           // extension: routes by role (orchestration/options.h)
  nlohmann::ordered_json orchestration;  // extension object, validated by the orchestration layer
  int priority = 2;                // extension: lower = more urgent (copied into params.priority)
  int n = 1;                       // choices to generate (OpenAI `n`), 1..kMaxChoices
};

// Parses a /v1/chat/completions (is_chat) or /v1/completions body.
std::variant<CompletionRequest, ApiError> ParseCompletionRequest(const std::string& body,
                                                                 bool is_chat);

}  // namespace isv
