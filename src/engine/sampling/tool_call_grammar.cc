#include "engine/sampling/tool_call_grammar.h"

#include "engine/sampling/json_schema_grammar.h"

namespace isv {
namespace {

using Json = nlohmann::ordered_json;

// Whether the schema already says what kind of value it is (else arguments default to an object).
bool HasShape(const Json& schema) {
  if (!schema.is_object()) return false;
  for (const char* k : {"type", "properties", "$ref", "anyOf", "oneOf", "allOf", "enum", "const"}) {
    if (schema.contains(k)) return true;
  }
  return false;
}

}  // namespace

StatusOr<std::string> ToolCallGbnf(const Json& tools, const std::string& name, ToolCallFormat format) {
  const char* args_key = nullptr;
  std::string open, close;
  switch (format) {
    case ToolCallFormat::kHermes:
      args_key = "arguments";
      open = "<tool_call>\n";
      close = "\n</tool_call>";
      break;
    case ToolCallFormat::kLlama3:
      args_key = "parameters";
      break;
    case ToolCallFormat::kMistral:
      args_key = "arguments";
      open = "[TOOL_CALLS][";
      close = "]";
      break;
    case ToolCallFormat::kNone:
      return UnimplementedError(
          "this model's chat template has no tool-call syntax (format 'none'), so a tool call cannot be forced");
    default:
      return UnimplementedError("forcing a tool call (tool_choice 'required' or a named function) is not "
                                "implemented for this model's tool-call format '" +
                                std::string(ToolCallFormatName(format)) + "' (hermes, llama3 and mistral are)");
  }
  if (!tools.is_array() || tools.empty()) return InvalidArgumentError("no tools to call");
  JsonSchemaGrammarBuilder b;
  b.Use("ws");
  std::string calls;
  for (size_t i = 0; i < tools.size(); ++i) {
    const Json& tool = tools[i];
    if (!tool.is_object() || !tool.contains("function") || !tool["function"].is_object() ||
        !tool["function"].contains("name") || !tool["function"]["name"].is_string()) {
      return InvalidArgumentError("tools[" + std::to_string(i) + "] has no function name");
    }
    const Json& fn = tool["function"];
    const std::string fname = fn["name"].get<std::string>();
    if (!name.empty() && fname != name) continue;
    std::string args;
    auto params = fn.find("parameters");
    if (params == fn.end() || params->is_null() || !HasShape(*params)) {
      args = b.AnyObject();
    } else {
      StatusOr<std::string> expr = b.Add(*params, "tool" + std::to_string(i));
      if (!expr.ok())
        return InvalidArgumentError("tools[" + std::to_string(i) + "].function.parameters: " +
                                    std::string(expr.status().message()));
      args = *expr;
    }
    const std::string call = "call" + std::to_string(i);
    b.AddRule(call, "\"{\" ws \"\\\"name\\\"\" ws \":\" ws " +
                        JsonSchemaGrammarBuilder::Literal(Json(fname).dump()) + " ws \",\" ws " +
                        JsonSchemaGrammarBuilder::Literal(std::string("\"") + args_key + "\"") +
                        " ws \":\" ws " + args + " ws \"}\"");
    calls += (calls.empty() ? "" : " | ") + call;
  }
  if (calls.empty()) return NotFoundError("tool_choice names the function '" + name + "', which is not in 'tools'");
  std::string root = "(" + calls + ")";
  if (!open.empty()) root = JsonSchemaGrammarBuilder::Literal(open) + " " + root;
  if (!close.empty()) root += " " + JsonSchemaGrammarBuilder::Literal(close);
  b.AddRule("root", root);
  return b.Text();
}

StatusOr<std::shared_ptr<const Grammar>> BuildToolCallGrammar(const Json& tools, const std::string& name,
                                                              ToolCallFormat format) {
  ISV_ASSIGN_OR_RETURN(std::string gbnf, ToolCallGbnf(tools, name, format));
  return Grammar::Parse(gbnf);
}

}  // namespace isv
