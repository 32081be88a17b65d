// `inference-service template (FILE.jinja | MODEL.gguf) --context CTX.json [--now YYYY-MM-DD]`:
// renders a chat template and prints exactly the rendering (nothing added) to stdout.
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "engine/gguf/gguf_file.h"
#include "engine/template/chat_template.h"
#include "tools/cli_common.h"
#include "tools/commands.h"

namespace isv {
namespace {

struct TemplateOptions {
  std::string source;
  std::string context_path;
  std::string now;
  std::string name;
  bool fallback = false;
};

// True when the file starts with the GGUF magic (only the first 4 bytes are read).
bool IsGguf(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char magic[4] = {};
  return in.read(magic, 4) && std::string_view(magic, 4) == "GGUF";
}

int RunTemplate(const TemplateOptions& opt) {
  StatusOr<std::string> ctx_text = ReadWholeFile(opt.context_path);
  if (!ctx_text.ok()) return ReportError(ctx_text.status());
  nlohmann::ordered_json ctx = nlohmann::ordered_json::parse(*ctx_text, nullptr, false);
  if (ctx.is_discarded() || !ctx.is_object()) {
    return ReportError(InvalidArgumentError(opt.context_path + ": not a JSON object"));
  }
  std::string tmpl;
  if (IsGguf(opt.source)) {
    StatusOr<std::unique_ptr<GgufFile>> f = GgufFile::Open(opt.source);
    if (!f.ok()) return ReportError(f.status());
    StatusOr<std::string> t = ChatTemplateFromGguf(**f, opt.name);
    if (t.ok()) {
      tmpl = *t;
    } else if (opt.fallback && t.status().code() == StatusCode::kNotFound) {
      tmpl = std::string(ChatmlFallback());
    } else {
      return ReportError(t.status());
    }
    // The file's own BOS/EOS texts, unless the context sets them.
    const nlohmann::ordered_json tokens = SpecialTokensFromGguf(**f);
    for (const auto& [k, v] : tokens.items()) {
      if (!ctx.contains(k)) ctx[k] = v;
    }
  } else {
    StatusOr<std::string> text = ReadWholeFile(opt.source);
    if (!text.ok()) return ReportError(text.status());
    tmpl = std::move(*text);
  }
  ChatTemplateOptions options;
  options.now_date = opt.now;
  StatusOr<std::string> out = RenderChatTemplate(tmpl, ctx, options);
  if (!out.ok()) return ReportError(out.status());
  std::fwrite(out->data(), 1, out->size(), stdout);
  std::fflush(stdout);
  return 0;
}

}  // namespace

void AddTemplateCommand(CLI::App& app, int* exit_code) {
  auto opt = std::make_shared<TemplateOptions>();
  CLI::App* cmd = app.add_subcommand(
      "template", "Render a chat template (a .jinja file or a GGUF's tokenizer.chat_template) to stdout");
  cmd->add_option("source", opt->source, "Template file (.jinja) or GGUF model file")->required();
  cmd->add_option("--context", opt->context_path,
                  "JSON object of template variables: messages, tools, add_generation_prompt, bos_token, "
                  "eos_token and any extra keys (e.g. enable_thinking). For a GGUF, bos_token/eos_token "
                  "default to the file's own tokens")
      ->required();
  cmd->add_option("--now", opt->now, "Date strftime_now() sees, YYYY-MM-DD (default: today, UTC)");
  cmd->add_option("--name", opt->name, "GGUF only: use tokenizer.chat_template.<NAME> (e.g. tool_use)");
  cmd->add_flag("--fallback", opt->fallback, "GGUF only: use the ChatML template when the file has none");
  cmd->callback([opt, exit_code] { *exit_code = RunTemplate(*opt); });
}

}  // namespace isv
