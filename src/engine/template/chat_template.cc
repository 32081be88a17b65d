#include "engine/template/chat_template.h"

#include <cstdio>
#include <ctime>

#include "engine/template/template.h"

namespace isv {

std::string_view ChatmlFallback() {
  static constexpr std::string_view kChatml =
      "{%- for message in messages -%}\n"
      "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] | string + '<|im_end|>\\n' -}}\n"
      "{%- endfor -%}\n"
      "{%- if add_generation_prompt -%}\n"
      "{{- '<|im_start|>assistant\\n' -}}\n"
      "{%- endif -%}\n";
  return kChatml;
}

StatusOr<std::string> RenderChatTemplate(std::string_view template_source, const nlohmann::ordered_json& context,
                                         const ChatTemplateOptions& options) {
  ISV_ASSIGN_OR_RETURN(jinja::Template t, jinja::Template::Parse(template_source));
  return RenderChatTemplate(t, context, options);
}

StatusOr<std::string> RenderChatTemplate(const jinja::Template& parsed, const nlohmann::ordered_json& context,
                                         const ChatTemplateOptions& options) {
  if (!context.is_object()) return InvalidArgumentError("chat template context must be a JSON object");
  if (!context.contains("messages") || !context["messages"].is_array()) {
    return InvalidArgumentError("chat template context needs a 'messages' array");
  }
  jinja::RenderOptions ro;
  if (options.now_date.empty()) {
    std::time_t now = std::time(nullptr);
    std::tm utc{};
    gmtime_r(&now, &utc);
    ro.year = utc.tm_year + 1900;
    ro.month = utc.tm_mon + 1;
    ro.day = utc.tm_mday;
  } else {
    int y = 0, m = 0, d = 0;
    char extra = 0;
    if (std::sscanf(options.now_date.c_str(), "%4d-%2d-%2d%c", &y, &m, &d, &extra) != 3 || m < 1 || m > 12 ||
        d < 1 || d > 31) {
      return InvalidArgumentError("now date must be YYYY-MM-DD, got '" + options.now_date + "'");
    }
    ro.year = y;
    ro.month = m;
    ro.day = d;
  }
  ro.max_loop_iterations = options.max_loop_iterations;
  ro.max_call_depth = options.max_call_depth;
  ro.max_output_bytes = options.max_output_bytes;

  nlohmann::ordered_json ctx = context;
  if (!ctx.contains("tools")) ctx["tools"] = nullptr;
  if (!ctx.contains("documents")) ctx["documents"] = nullptr;
  if (!ctx.contains("add_generation_prompt")) ctx["add_generation_prompt"] = false;

  return parsed.Render(ctx, ro);
}

StatusOr<std::string> ChatTemplateFromGguf(const GgufFile& file, std::string_view name) {
  std::string key = "tokenizer.chat_template";
  if (!name.empty()) key += "." + std::string(name);
  const GgufValue* v = file.Find(key);
  if (v == nullptr) return NotFoundError(file.path() + ": no " + key);
  if (!v->is_string()) return InvalidArgumentError(file.path() + ": " + key + " is not a string");
  return v->AsString();
}

nlohmann::ordered_json SpecialTokensFromGguf(const GgufFile& file) {
  nlohmann::ordered_json out = nlohmann::ordered_json::object();
  const GgufValue* tokens = file.Find("tokenizer.ggml.tokens");
  if (tokens == nullptr || !tokens->is_array()) return out;
  const GgufArray& items = tokens->AsArray();
  if (items.element_type() != GgufType::kString) return out;
  for (const char* which : {"bos", "eos"}) {
    const GgufValue* id = file.Find(std::string("tokenizer.ggml.") + which + "_token_id");
    if (id == nullptr || !id->is_integer() || id->AsUint() >= items.size()) continue;
    out[std::string(which) + "_token"] = items.string_at(id->AsUint());
  }
  return out;
}

}  // namespace isv
