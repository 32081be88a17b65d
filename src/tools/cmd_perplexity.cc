// `inference-service perplexity MODEL.gguf --file TEXT --ctx N`: perplexity of a text file with
// llama-perplexity's method (see engine/model/perplexity.h). Prints the running PPL after each
// chunk ("[k]value,"), then `ln_ppl`, and last a line `ppl <value>`.
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "engine/model/context.h"
#include "engine/model/model.h"
#include "engine/model/perplexity.h"
#include "engine/tokenizer/tokenizer.h"
#include "tools/cli_common.h"
#include "tools/commands.h"

namespace isv {
namespace {

struct PerplexityOptions {
  std::string model;
  std::string file;
  int32_t ctx = 512;
  int32_t threads = 0;
};

Status Perplexity(const PerplexityOptions& opt) {
  ISV_ASSIGN_OR_RETURN(const std::string text, ReadWholeFile(opt.file));
  ISV_ASSIGN_OR_RETURN(std::unique_ptr<Model> model, Model::Load(opt.model));
  ISV_ASSIGN_OR_RETURN(std::unique_ptr<Tokenizer> tokenizer, Tokenizer::FromGguf(model->file()));
  const std::vector<int32_t> tokens = tokenizer->Encode(text, /*add_special=*/true, /*parse_special=*/false);
  ISV_RETURN_IF_ERROR(CheckContextFits(*model, opt.ctx));
  ISV_ASSIGN_OR_RETURN(std::unique_ptr<Context> ctx,
                       Context::Create(*model, {.n_ctx = opt.ctx, .n_threads = opt.threads}));
  std::fprintf(stderr, "%zu tokens, %zu chunks of %d\n", tokens.size(), tokens.size() / opt.ctx, opt.ctx);
  const int32_t bos = tokenizer->add_bos() ? tokenizer->bos() : -1;
  ISV_ASSIGN_OR_RETURN(PerplexityResult r, ComputePerplexity(*ctx, tokens, opt.ctx, bos, [](const PerplexityChunk& c) {
    std::printf("[%d]%.4f,", c.index + 1, c.running_ppl);
    std::fflush(stdout);
  }));
  std::printf("\nchunks %d, scored tokens %lld, ppl stderr %.6g\n", r.n_chunks, static_cast<long long>(r.n_scored),
              r.ppl_stderr);
  std::printf("ln_ppl %.6f\n", r.ln_ppl);
  std::printf("ppl %.6f\n", r.ppl);
  return OkStatus();
}

}  // namespace

void AddPerplexityCommand(CLI::App& app, int* exit_code) {
  auto opt = std::make_shared<PerplexityOptions>();
  CLI::App* cmd = app.add_subcommand("perplexity", "Perplexity of a text file (llama-perplexity's chunked method)");
  cmd->add_option("model", opt->model, "GGUF model file")->required();
  cmd->add_option("--file,-f", opt->file, "Text file to score")->required();
  cmd->add_option("--ctx,-c", opt->ctx, "Chunk size in tokens; the second half of each chunk is scored")
      ->capture_default_str()->check(CLI::Range(4, 1 << 20));
  AddThreadsOption(cmd, &opt->threads);
  cmd->callback([opt, exit_code] {
    const Status s = Perplexity(*opt);
    if (!s.ok()) std::fprintf(stderr, "error: %s\n", s.message().c_str());
    *exit_code = s.ok() ? 0 : 1;
  });
}

}  // namespace isv
