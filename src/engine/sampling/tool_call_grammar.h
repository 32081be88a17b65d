// Tool-call grammars: for OpenAI's tool_choice "required" or {"type": "function", "function":
// {"name": ...}}, a grammar (engine/sampling/grammar.h) whose sentences are exactly one call written
// in the model's tool-call syntax (engine/template/tool_calls.h), with the arguments constrained by
// the tool's `parameters` JSON schema (engine/sampling/json_schema_grammar.h):
//
//   kHermes   <tool_call>\n{"name": "NAME", "arguments": ARGS}\n</tool_call>
//   kLlama3   {"name": "NAME", "parameters": ARGS}
//   kMistral  [TOOL_CALLS][{"name": "NAME", "arguments": ARGS}]
//
// (whitespace between JSON tokens is bounded as in json_schema_grammar.h). A tool without
// `parameters`, or whose schema does not say it is something else, takes any JSON object.
//
// Free function; thread-safe.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "core/status.h"
#include "engine/sampling/grammar.h"
#include "engine/template/tool_calls.h"

namespace isv {

// `tools`: the OpenAI tools array; `name`: the function to force, or "" for any of the tools.
// Errors: Unimplemented (a format without a grammar yet, named in the message), NotFound (`name`
// is not among the tools), InvalidArgument ("tools[i].function.parameters: ..." for a schema the
// converter does not support).
StatusOr<std::shared_ptr<const Grammar>> BuildToolCallGrammar(const nlohmann::ordered_json& tools,
                                                              const std::string& name,
                                                              ToolCallFormat format);

// The GBNF text behind BuildToolCallGrammar (for tests and debugging).
StatusOr<std::string> ToolCallGbnf(const nlohmann::ordered_json& tools, const std::string& name,
                                   ToolCallFormat format);

}  // namespace isv
