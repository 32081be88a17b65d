// Chat templates: render a conversation with a model's Jinja chat template, as Hugging Face's
// apply_chat_template does (see jinja::Template for the dialect).
//
//   ISV_ASSIGN_OR_RETURN(std::string tmpl, ChatTemplateFromGguf(*gguf));
//   nlohmann::ordered_json ctx = {{"messages", messages}, {"add_generation_prompt", true}};
//   ISV_ASSIGN_OR_RETURN(std::string prompt, RenderChatTemplate(tmpl, ctx, {}));
//
// Free functions; thread-safe.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

#include "core/status.h"
#include "engine/gguf/gguf_file.h"
#include "engine/template/template.h"

namespace isv {

struct ChatTemplateOptions {
  // The date strftime_now() returns, "YYYY-MM-DD" (time 00:00:00). Empty: today's UTC date.
  std::string now_date;
  int64_t max_loop_iterations = 1'000'000;  // sandbox limits, see jinja::RenderOptions
  int max_call_depth = 64;
  size_t max_output_bytes = 16u << 20;
};

// Renders `template_source` with the top-level variables of `context` (a JSON object): `messages`
// (required, an array), `tools`, `add_generation_prompt`, `bos_token`, `eos_token` and any extra
// keys (e.g. `enable_thinking`). Like Hugging Face, `tools` and `documents` default to null and
// `add_generation_prompt` to false when absent. Errors: INVALID_ARGUMENT for a bad context, a
// template syntax error or a render error (incl. raise_exception), with line and column;
// RESOURCE_EXHAUSTED when a sandbox limit is exceeded.
StatusOr<std::string> RenderChatTemplate(std::string_view template_source, const nlohmann::ordered_json& context,
                                         const ChatTemplateOptions& options);

// The same with a template parsed once (jinja::Template::Parse), for rendering many requests of one
// model without re-parsing. Thread-safe: one Template may be rendered from several threads.
StatusOr<std::string> RenderChatTemplate(const jinja::Template& parsed, const nlohmann::ordered_json& context,
                                         const ChatTemplateOptions& options);

// The template used when a model file carries none: ChatML (`<|im_start|>role\ncontent<|im_end|>\n`
// per message, then `<|im_start|>assistant\n` when add_generation_prompt), llama.cpp's default.
std::string_view ChatmlFallback();

// The file's `tokenizer.chat_template` (or `tokenizer.chat_template.<name>` when name is given).
// NOT_FOUND when absent.
StatusOr<std::string> ChatTemplateFromGguf(const GgufFile& file, std::string_view name = {});

// {"bos_token": ..., "eos_token": ...} with the texts of the file's BOS/EOS tokens (only those the
// vocabulary defines), ready to merge into a render context.
nlohmann::ordered_json SpecialTokensFromGguf(const GgufFile& file);

}  // namespace isv
