// Tool calls out: turns a model's generated text into OpenAI-style `tool_calls` plus the remaining
// assistant content, for the tool-call syntaxes of the chat-template families we ship:
//
//   kHermes          <tool_call>{"name": ..., "arguments": {...}}</tool_call>   (Hermes, Qwen2.5/3)
//   kLlama3          {"name": ..., "parameters": {...}}  or  <|python_tag|>{...} / name.call(k=v)
//   kMistral         [TOOL_CALLS][{"name":...,"arguments":{...},"id":...}]  or
//                    [TOOL_CALLS]name[CALL_ID]id[ARGS]{...}
//   kFunctionaryV31  <function=name>{...}</function>
//   kFunctionaryV32  >>>name\n{...}   (>>>all\n text is content; the prompt ends with ">>>")
//   kDeepSeek        <｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>name\n```json\n{...}\n```
//                    <｜tool▁call▁end｜>... (R1) or ...<｜tool▁call▁begin｜>name<｜tool▁sep｜>{...}... (V3.1+)
//   kQwen3Coder      <tool_call><function=name><parameter=k>v</parameter></function></tool_call>
//   kKimiK2          <|tool_call_begin|>functions.name:0<|tool_call_argument_begin|>{...}<|tool_call_end|>
//   kGlm             <tool_call>name<arg_key>k</arg_key><arg_value>v</arg_value></tool_call>
//   kMiniMax         <minimax:tool_call><invoke name="n"><parameter name="k">v</parameter></invoke>...
//
// Malformed output (bad JSON, unterminated markup) is never an error: the whole text is returned
// as plain content with no tool calls. Free functions; thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace isv {

enum class ToolCallFormat {
  kNone,  // no tool-call syntax: everything is content
  kHermes,
  kLlama3,
  kMistral,
  kFunctionaryV31,
  kFunctionaryV32,
  kDeepSeek,
  kQwen3Coder,
  kKimiK2,
  kGlm,
  kMiniMax,
};

struct ToolCall {
  std::string id;         // from the model output when the format carries one, else "call_<hash>"
  std::string name;
  std::string arguments;  // a JSON object, serialised compactly (OpenAI's `arguments` string)
};

struct ParsedToolCalls {
  std::string content;  // text outside the tool-call markup, trimmed
  std::vector<ToolCall> tool_calls;
};

// Guesses the tool-call syntax from a chat template's source (the markers it prints).
ToolCallFormat DetectToolCallFormat(std::string_view template_source);

// Splits `text` into content and tool calls according to `format`.
ParsedToolCalls ParseToolCalls(std::string_view text, ToolCallFormat format);

// "hermes", "llama3", ... (for logs and tests).
std::string_view ToolCallFormatName(ToolCallFormat format);

}  // namespace isv
