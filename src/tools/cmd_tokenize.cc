// `inference-service tokenize MODEL.gguf (--text TEXT | --file F)`: the token ids of a text as the
// model's tokenizer produces them (same as llama.cpp's llama-tokenize). Works on vocab-only files.
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/gguf/gguf_file.h"
#include "engine/tokenizer/tokenizer.h"
#include "tools/cli_common.h"
#include "tools/commands.h"

namespace isv {
namespace {

struct TokenizeOptions {
  std::string model;
  std::string text;
  std::string file;
  bool no_bos = false;
  bool parse_special = false;
  bool pieces = false;
  bool json = false;
};

// A JSON string must be valid UTF-8: invalid bytes become U+FFFD.
std::string ValidUtf8(const std::string& s) {
  return nlohmann::json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

int RunTokenize(const TokenizeOptions& opt) {
  std::string text = opt.text;
  if (!opt.file.empty()) {
    StatusOr<std::string> bytes = ReadWholeFile(opt.file);
    if (!bytes.ok()) {
      std::fprintf(stderr, "error: %s\n", bytes.status().message().c_str());
      return 1;
    }
    text = std::move(*bytes);
  }
  auto file = GgufFile::Open(opt.model);
  if (!file.ok()) {
    std::fprintf(stderr, "error: %s\n", file.status().message().c_str());
    return 1;
  }
  auto tok = Tokenizer::FromGguf(**file);
  if (!tok.ok()) {
    std::fprintf(stderr, "error: %s: %s\n", opt.model.c_str(), tok.status().message().c_str());
    return 1;
  }
  const Tokenizer& t = **tok;
  const std::vector<int32_t> ids = t.Encode(text, /*add_special=*/!opt.no_bos, opt.parse_special);
  if (opt.json) {
    std::string out = "{\"tokens\":[";
    for (size_t i = 0; i < ids.size(); ++i) out += (i ? "," : "") + std::to_string(ids[i]);
    out += "]";
    if (opt.pieces) {
      out += ",\"pieces\":[";
      for (size_t i = 0; i < ids.size(); ++i) out += (i ? "," : "") + ValidUtf8(t.TokenToPiece(ids[i], true));
      out += "]";
    }
    std::printf("%s}\n", out.c_str());
    return 0;
  }
  for (int32_t id : ids) {
    if (opt.pieces) {
      std::printf("%d '%s'\n", id, t.TokenToPiece(id, true).c_str());
    } else {
      std::printf("%d\n", id);
    }
  }
  return 0;
}

}  // namespace

void AddTokenizeCommand(CLI::App& app, int* exit_code) {
  auto opt = std::make_shared<TokenizeOptions>();
  CLI::App* cmd = app.add_subcommand("tokenize", "Print the token ids of a text (like llama.cpp's llama-tokenize)");
  cmd->add_option("model", opt->model, "GGUF file (a full model or a vocab-only file)")->required();
  auto* text = cmd->add_option("--text", opt->text, "Text to tokenize");
  auto* file = cmd->add_option("--file", opt->file, "Read the text to tokenize from this file (bytes as is)");
  text->excludes(file);
  file->excludes(text);
  cmd->add_flag("--no-bos", opt->no_bos, "Do not add BOS/EOS (add_special = false)");
  cmd->add_flag("--parse-special", opt->parse_special,
                "Recognise control tokens written in the text (e.g. <|im_start|>); user-defined tokens always are");
  cmd->add_flag("--pieces", opt->pieces, "Also print each token's text (JSON: a \"pieces\" array)");
  cmd->add_flag("--json", opt->json, "Print {\"tokens\":[...]} instead of one id per line");
  cmd->callback([opt, exit_code, text, file]() {
    if (text->count() == 0 && file->count() == 0) {
      std::fprintf(stderr, "error: tokenize needs --text or --file\n");
      *exit_code = 2;
      return;
    }
    *exit_code = RunTokenize(*opt);
  });
}

}  // namespace isv
