// `inference-service eval MODEL.gguf --prompt TEXT --json`: the logits of every prompt position,
// evaluated in one batch — the engine's side of a comparison with llama.cpp's goldens.
#include <cstdio>
#include <limits>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "engine/model/batch.h"
#include "engine/model/context.h"
#include "engine/model/model.h"
#include "engine/tokenizer/tokenizer.h"
#include "tools/cli_common.h"
#include "tools/commands.h"

namespace isv {
namespace {

struct EvalOptions {
  std::string model;
  std::string prompt;
  std::string tokens;  // "1,2,3"
  int32_t top = 10;
  bool full_last = false;
  bool json = false;
  int32_t threads = 0;
};

StatusOr<std::vector<int32_t>> ParseTokenList(const std::string& text) {
  std::vector<int32_t> ids;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    try {
      size_t used = 0;
      const long v = std::stol(item, &used);
      if (used != item.size() || v < 0 || v > INT32_MAX) throw std::invalid_argument(item);
      ids.push_back(static_cast<int32_t>(v));
    } catch (const std::exception&) {
      return InvalidArgumentError("--tokens: '" + item + "' is not a token id");
    }
  }
  if (ids.empty()) return InvalidArgumentError("--tokens: no token ids");
  return ids;
}

// Indices of the k largest logits, by logit descending, ties to the lower id.
std::vector<int32_t> TopK(std::span<const float> logits, int32_t k) {
  std::vector<int32_t> ids(logits.size());
  for (size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<int32_t>(i);
  k = std::min<int32_t>(k, static_cast<int32_t>(ids.size()));
  std::partial_sort(ids.begin(), ids.begin() + k, ids.end(), [&](int32_t a, int32_t b) {
    return logits[a] != logits[b] ? logits[a] > logits[b] : a < b;
  });
  ids.resize(k);
  return ids;
}

Status Eval(const EvalOptions& opt) {
  if (opt.prompt.empty() == opt.tokens.empty()) return InvalidArgumentError("give exactly one of --prompt and --tokens");
  ISV_ASSIGN_OR_RETURN(std::unique_ptr<Model> model, Model::Load(opt.model));
  std::vector<int32_t> tokens;
  if (!opt.tokens.empty()) {
    ISV_ASSIGN_OR_RETURN(tokens, ParseTokenList(opt.tokens));
  } else {
    ISV_ASSIGN_OR_RETURN(std::unique_ptr<Tokenizer> tokenizer, Tokenizer::FromGguf(model->file()));
    tokens = tokenizer->Encode(opt.prompt, /*add_special=*/true, /*parse_special=*/false);
    if (tokens.empty()) return InvalidArgumentError("the prompt has no tokens");
  }
  ISV_RETURN_IF_ERROR(CheckContextFits(*model, static_cast<int64_t>(tokens.size())));
  const int32_t n = static_cast<int32_t>(tokens.size());
  ISV_ASSIGN_OR_RETURN(std::unique_ptr<Context> ctx, Context::Create(*model, {.n_ctx = n, .n_threads = opt.threads}));
  Batch batch;
  for (int32_t i = 0; i < n; ++i) batch.Add(tokens[i], i, 0, true, /*is_prefill=*/true);
  ISV_RETURN_IF_ERROR(ctx->Forward(batch));

  std::string out;
  char buf[64];
  if (opt.json) {
    out += "{\"tokens\":[";
    for (int32_t i = 0; i < n; ++i) out += (i ? "," : "") + std::to_string(tokens[i]);
    out += "],\"positions\":[";
  }
  for (int32_t i = 0; i < n; ++i) {
    std::span<const float> logits = ctx->Logits(i);
    const std::vector<int32_t> top = TopK(logits, opt.top);
    if (opt.json) {
      out += i ? ",{\"top\":[" : "{\"top\":[";
      for (size_t j = 0; j < top.size(); ++j) {
        std::snprintf(buf, sizeof(buf), "%s[%d,%.9g]", j ? "," : "", top[j], logits[top[j]]);
        out += buf;
      }
      out += "]}";
    } else {
      std::snprintf(buf, sizeof(buf), "%4d %6d |", i, tokens[i]);
      out += buf;
      for (int32_t id : top) {
        std::snprintf(buf, sizeof(buf), " %d:%.4f", id, logits[id]);
        out += buf;
      }
      out += "\n";
    }
  }
  if (opt.json) {
    out += "]";
    if (opt.full_last) {
      out += ",\"last_logits\":[";
      std::span<const float> last = ctx->Logits(n - 1);
      for (size_t j = 0; j < last.size(); ++j) {
        std::snprintf(buf, sizeof(buf), "%s%.9g", j ? "," : "", last[j]);
        out += buf;
      }
      out += "]";
    }
    out += "}\n";
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
  return OkStatus();
}

}  // namespace

void AddEvalCommand(CLI::App& app, int* exit_code) {
  auto opt = std::make_shared<EvalOptions>();
  CLI::App* cmd = app.add_subcommand("eval", "Evaluate a prompt in one batch and print the top logits of every position");
  cmd->add_option("model", opt->model, "GGUF model file")->required();
  cmd->add_option("--prompt,-p", opt->prompt, "Prompt text (tokenized with BOS as the metadata says, no special-token parsing)");
  cmd->add_option("--tokens", opt->tokens, "Comma-separated token ids to evaluate instead of --prompt");
  cmd->add_option("--top", opt->top, "Number of (id, logit) pairs per position")
      ->capture_default_str()->check(CLI::Range(1, std::numeric_limits<int32_t>::max()));
  cmd->add_flag("--full-last", opt->full_last, "Also print every logit of the last position (with --json)");
  cmd->add_flag("--json", opt->json,
                "Print {\"tokens\":[...],\"positions\":[{\"top\":[[id,logit],...]},...]} instead of a table");
  AddThreadsOption(cmd, &opt->threads);
  cmd->callback([opt, exit_code] {
    const Status s = Eval(*opt);
    if (!s.ok()) std::fprintf(stderr, "error: %s\n", s.message().c_str());
    *exit_code = s.ok() ? 0 : 1;
  });
}

}  // namespace isv
