// `inference-service run MODEL.gguf --prompt TEXT`: one-shot raw completion on the terminal.
// The prompt is tokenized (BOS as the model's metadata says), evaluated as one batch, then tokens
// are sampled one at a time and streamed to stdout as they come; a stats line goes to stderr.
#include <chrono>
#include <cstdio>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "engine/model/batch.h"
#include "engine/model/context.h"
#include "engine/model/model.h"
#include "engine/sampling/sampler.h"
#include "engine/tokenizer/tokenizer.h"
#include "tools/cli_common.h"
#include "tools/commands.h"

namespace isv {
namespace {

struct RunOptions {
  std::string model;
  std::string prompt;
  int32_t max_tokens = 128;
  int32_t threads = 0;
  int32_t ctx = 0;
  int64_t seed = -1;  // -1: random (like llama.cpp's --seed -1)
  SamplingParams sampling;
};

double SecondsSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

Status Run(RunOptions opt) {
  if (opt.seed >= 0) opt.sampling.seed = static_cast<uint64_t>(opt.seed);
  ISV_RETURN_IF_ERROR(ValidateSamplingParams(opt.sampling));
  ISV_ASSIGN_OR_RETURN(std::unique_ptr<Model> model, Model::Load(opt.model));
  ISV_ASSIGN_OR_RETURN(std::unique_ptr<Tokenizer> tokenizer, Tokenizer::FromGguf(model->file()));
  const int32_t n_ctx = opt.ctx > 0 ? opt.ctx : std::min(model->params().n_ctx_train, 4096);
  ISV_RETURN_IF_ERROR(CheckContextFits(*model, n_ctx));
  ISV_ASSIGN_OR_RETURN(std::unique_ptr<Context> ctx,
                       Context::Create(*model, {.n_ctx = n_ctx, .n_threads = opt.threads}));

  const std::vector<int32_t> prompt = tokenizer->Encode(opt.prompt, /*add_special=*/true, /*parse_special=*/true);
  if (prompt.empty()) return InvalidArgumentError("the prompt has no tokens");
  if (static_cast<int32_t>(prompt.size()) >= n_ctx)
    return ResourceExhaustedError("the prompt has " + std::to_string(prompt.size()) + " tokens; the context holds " +
                                  std::to_string(n_ctx) + " (use --ctx)");

  Sampler sampler(opt.sampling, model->params().n_vocab);
  for (int32_t t : prompt) sampler.Accept(t);
  StreamDecoder decoder(*tokenizer);

  const auto t_prompt = std::chrono::steady_clock::now();
  Batch batch;
  for (size_t i = 0; i < prompt.size(); ++i)
    batch.Add(prompt[i], static_cast<int32_t>(i), 0, i + 1 == prompt.size(), /*is_prefill=*/true);
  ISV_RETURN_IF_ERROR(ctx->Forward(batch));
  const double prompt_s = SecondsSince(t_prompt);

  const auto t_gen = std::chrono::steady_clock::now();
  int32_t n_gen = 0;
  int32_t pos = static_cast<int32_t>(prompt.size());
  std::string stop = "max tokens";
  while (n_gen < opt.max_tokens) {
    const int32_t token = sampler.Sample(ctx->Logits(ctx->n_outputs() - 1));
    if (tokenizer->IsEog(token)) {
      stop = "end of generation";
      break;
    }
    sampler.Accept(token);
    ++n_gen;
    const std::string text = decoder.Push(token);
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fflush(stdout);
    if (n_gen == opt.max_tokens) break;
    if (pos >= n_ctx) {
      stop = "context full";
      break;
    }
    batch.Clear();
    batch.Add(token, pos++, 0, true);
    ISV_RETURN_IF_ERROR(ctx->Forward(batch));
  }
  const std::string tail = decoder.Flush();
  std::fwrite(tail.data(), 1, tail.size(), stdout);
  std::fputc('\n', stdout);
  std::fflush(stdout);
  const double gen_s = SecondsSince(t_gen);
  std::fprintf(stderr, "prompt: %zu tokens, %.1f t/s | generated: %d tokens, %.1f t/s | stop: %s | threads %d\n",
               prompt.size(), prompt.size() / std::max(prompt_s, 1e-9), n_gen, n_gen / std::max(gen_s, 1e-9),
               stop.c_str(), ctx->pool().size());
  return OkStatus();
}

}  // namespace

void AddRunCommand(CLI::App& app, int* exit_code) {
  auto opt = std::make_shared<RunOptions>();
  CLI::App* cmd = app.add_subcommand("run", "Generate a raw completion of a prompt, streaming tokens to stdout");
  cmd->add_option("model", opt->model, "GGUF model file")->required();
  cmd->add_option("--prompt,-p", opt->prompt, "Prompt text (BOS added as the model's metadata says)")->required();
  cmd->add_option("--max-tokens,-n", opt->max_tokens, "Maximum number of tokens to generate")
      ->capture_default_str()->check(CLI::Range(0, std::numeric_limits<int32_t>::max()));
  cmd->add_option("--temperature", opt->sampling.temperature, "Sampling temperature; <= 0 picks the most likely token")
      ->capture_default_str();
  cmd->add_option("--top-k", opt->sampling.top_k, "Keep the k most likely tokens (<= 0: off)")->capture_default_str();
  cmd->add_option("--top-p", opt->sampling.top_p, "Nucleus sampling: keep tokens up to this probability mass (1: off)")
      ->capture_default_str();
  cmd->add_option("--min-p", opt->sampling.min_p, "Drop tokens below min-p times the top probability (0: off)")
      ->capture_default_str();
  cmd->add_option("--repeat-penalty", opt->sampling.repeat_penalty,
                  "Penalty for tokens among the last 64 (1: off)")->capture_default_str();
  cmd->add_option("--seed", opt->seed, "Random seed (-1, the default: a random one)")
      ->check(CLI::Range(int64_t{-1}, std::numeric_limits<int64_t>::max()));
  AddThreadsOption(cmd, &opt->threads);
  cmd->add_option("--ctx,-c", opt->ctx, "Context size in tokens (0, the default: the model's, at most 4096)")
      ->check(CLI::Range(0, kMaxContext));
  cmd->callback([opt, exit_code] {
    const Status s = Run(*opt);
    if (!s.ok()) std::fprintf(stderr, "error: %s\n", s.message().c_str());
    *exit_code = s.ok() ? 0 : 1;
  });
}

}  // namespace isv
