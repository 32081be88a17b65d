// EngineGenerator: a Generator over our own engine for one model: the Model (weights mapped from
// the GGUF), its Tokenizer, its chat template (models.yaml override, else the GGUF's, else ChatML)
// and one Context whose KV cache holds one sequence at a time.
//
// Requests take turns in arrival order (a ticket lock); at most `max_queue` may wait, more get
// Unavailable (HTTP 503 + Retry-After). This is the stand-in for issue 5's continuous-batching
// scheduler, which will implement the same Generator interface.
//
// Thread-safety: all methods may be called concurrently; generation itself is serialised.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "engine/model/context.h"
#include "engine/model/model.h"
#include "engine/tokenizer/tokenizer.h"
#include "serving/generator.h"
#include "serving/registry.h"

namespace isv {

class JsonConstraint;

struct EngineOptions {
  int threads = 0;     // compute threads; 0 = all cores
  int max_queue = 64;  // requests that may wait for the model
};

class EngineGenerator : public Generator {
 public:
  // Loads the model named by `spec` (file, context_length, chat_template). Errors name the file.
  static StatusOr<std::unique_ptr<EngineGenerator>> Load(const ModelSpec& spec,
                                                         const EngineOptions& options);

  // Estimated memory of the model without loading it: file size + KV cache (F16 K and V for every
  // layer and context cell) + compute overhead. Reads only the GGUF header.
  static StatusOr<uint64_t> EstimateBytes(const ModelSpec& spec);

  StatusOr<Prompt> PreparePrompt(const PromptInput& input) const override;
  StatusOr<GenerationResult> Generate(const Prompt& prompt, const GenerationParams& params,
                                      const TextCallback& on_text,
                                      const TokenTimeCallback& on_token) override;
  int32_t n_ctx() const override { return context_->n_ctx(); }
  uint64_t memory_bytes() const override { return memory_bytes_; }

 private:
  EngineGenerator() = default;
  // The next token among the best-scoring ones whose text keeps `json` a valid JSON-object prefix
  // (-1 when none can). Scratch vectors are reused between steps.
  int32_t SampleJson(Sampler& sampler, std::span<const float> logits, const JsonConstraint& json,
                     std::vector<float>* masked, std::vector<int32_t>* order) const;
  Status RunLocked(const Prompt& prompt, const GenerationParams& params,
                   const TextCallback& on_text, const TokenTimeCallback& on_token,
                   GenerationResult* result);

  std::string id_;
  std::unique_ptr<Model> model_;
  std::unique_ptr<Tokenizer> tokenizer_;
  std::unique_ptr<Context> context_;
  std::vector<std::string> pieces_;  // text of every token id (JSON-constrained sampling)
  std::string chat_template_;
  nlohmann::ordered_json special_tokens_;  // bos_token / eos_token for the template
  ToolCallFormat tool_format_ = ToolCallFormat::kNone;
  uint64_t memory_bytes_ = 0;
  int max_queue_ = 64;

  // Ticket lock: requests are served in arrival order.
  std::mutex mu_;
  std::condition_variable cv_;
  uint64_t next_ticket_ = 0;
  uint64_t serving_ = 0;
};

}  // namespace isv
