// `inference-service info MODEL.gguf`: what a GGUF file holds, without loading the model.
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "engine/gguf/gguf_file.h"
#include "tools/commands.h"

namespace isv {
namespace {

struct InfoOptions {
  std::string model;
  bool metadata = false;
};

std::string MetaOr(const GgufFile& f, const std::string& key, const std::string& fallback) {
  const GgufValue* v = f.Find(key);
  return v == nullptr ? fallback : v->ToDisplayString();
}

int RunInfo(const InfoOptions& opt) {
  StatusOr<std::unique_ptr<GgufFile>> opened = GgufFile::Open(opt.model);
  if (!opened.ok()) {
    std::fprintf(stderr, "error: %s\n", opened.status().message().c_str());
    return 1;
  }
  const GgufFile& f = **opened;
  const std::string arch = f.architecture();
  std::map<std::string, int> type_counts;
  int64_t n_params = 0;
  for (const GgufTensorInfo& t : f.tensor_infos()) {
    ++type_counts[std::string(TypeName(t.type))];
    n_params += t.ne[0] * t.ne[1] * t.ne[2] * t.ne[3];
  }
  std::printf("file:            %s\n", f.path().c_str());
  std::printf("gguf version:    %u (alignment %llu, %zu bytes)\n", f.version(),
              static_cast<unsigned long long>(f.alignment()), f.file_size());
  std::printf("name:            %s\n", MetaOr(f, "general.name", "-").c_str());
  std::printf("architecture:    %s\n", arch.empty() ? "-" : arch.c_str());
  std::printf("parameters:      %lld (%.2f M)\n", static_cast<long long>(n_params), n_params / 1e6);
  std::printf("tensors:         %zu", f.tensor_infos().size());
  const char* sep = " (";
  for (const auto& [name, count] : type_counts) {
    std::printf("%s%s: %d", sep, name.c_str(), count);
    sep = ", ";
  }
  std::printf("%s\n", type_counts.empty() ? "" : ")");
  std::printf("file type:       %s\n", MetaOr(f, "general.file_type", "-").c_str());
  std::printf("context length:  %s\n", MetaOr(f, arch + ".context_length", "-").c_str());
  std::printf("embedding:       %s\n", MetaOr(f, arch + ".embedding_length", "-").c_str());
  std::printf("layers:          %s\n", MetaOr(f, arch + ".block_count", "-").c_str());
  std::printf("heads (kv):      %s (%s)\n", MetaOr(f, arch + ".attention.head_count", "-").c_str(),
              MetaOr(f, arch + ".attention.head_count_kv", "-").c_str());
  const GgufValue* tokens = f.Find("tokenizer.ggml.tokens");
  std::printf("tokenizer:       %s (pre %s)\n", MetaOr(f, "tokenizer.ggml.model", "-").c_str(),
              MetaOr(f, "tokenizer.ggml.pre", "-").c_str());
  std::printf("vocabulary:      %zu tokens\n", tokens != nullptr && tokens->is_array() ? tokens->AsArray().size() : 0);
  for (const char* id : {"bos", "eos", "eot", "eom", "unknown", "padding", "seperator"}) {
    const std::string key = std::string("tokenizer.ggml.") + id + "_token_id";
    const GgufValue* v = f.Find(key);
    if (v == nullptr || !v->is_integer()) continue;
    std::string piece = "(none: not a token id)";  // e.g. 0xFFFFFFFF for "no padding token"
    if (tokens != nullptr && tokens->is_array() && tokens->AsArray().element_type() == GgufType::kString &&
        v->AsUint() < tokens->AsArray().size())
      piece = "'" + std::string(tokens->AsArray().string_at(v->AsUint())) + "'";
    // The GGUF key keeps llama.cpp's spelling "seperator"; the label is spelled right.
    const std::string label = std::string_view(id) == "seperator" ? "separator" : id;
    std::printf("  %-13s  %lld %s\n", label.c_str(), static_cast<long long>(v->AsInt()), piece.c_str());
  }
  std::printf("add bos/eos:     %s / %s\n", MetaOr(f, "tokenizer.ggml.add_bos_token", "-").c_str(),
              MetaOr(f, "tokenizer.ggml.add_eos_token", "-").c_str());
  std::printf("chat template:   %s\n", f.Find("tokenizer.chat_template") != nullptr ? "yes" : "no");
  if (opt.metadata) {
    std::printf("metadata:\n");
    for (const auto& [key, value] : f.metadata()) std::printf("  %s = %s\n", key.c_str(), value.ToDisplayString().c_str());
  }
  return 0;
}

}  // namespace

void AddInfoCommand(CLI::App& app, int* exit_code) {
  auto opt = std::make_shared<InfoOptions>();
  CLI::App* cmd = app.add_subcommand("info", "Show what a GGUF file holds: architecture, sizes, types, tokenizer");
  cmd->add_option("model", opt->model, "GGUF file")->required();
  cmd->add_flag("--metadata", opt->metadata, "Also print every metadata key and value");
  cmd->callback([opt, exit_code] { *exit_code = RunInfo(*opt); });
}

}  // namespace isv
