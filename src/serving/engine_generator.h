// EngineGenerator: a Generator over our own engine for one model: the Model (weights mapped from
// the GGUF), its Tokenizer, its chat template (models.yaml override, else the GGUF's, else ChatML)
// and a Scheduler that runs the model's requests by continuous batching over one Context whose
// paged KV cache is shared by all of them. With an `mmproj` in models.yaml it also holds the vision
// encoder: images of a prompt are encoded in PreparePrompt (on the caller's thread, one image at
// a time per model) and their rows spliced where the template put kImageMarker.
//
// Thread-safety: all methods may be called concurrently.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "engine/model/model.h"
#include "engine/tokenizer/tokenizer.h"
#include "engine/vision/clip_model.h"
#include "serving/concurrency_limit.h"
#include "serving/generator.h"
#include "serving/registry.h"
#include "serving/scheduler.h"
#include "serving/token_sequence.h"

namespace isv {

class Metrics;

struct EngineOptions {
  int threads = 0;              // compute threads; 0 = all cores (models.yaml `threads` overrides)
  int max_queue = 64;           // requests that may wait for the model (INFERENCE_MAX_QUEUE)
  int parallel = 4;             // sequences at once (INFERENCE_PARALLEL; models.yaml `parallel`)
  int32_t step_tokens = 128;    // tokens per scheduler step (INFERENCE_STEP_TOKENS)
  double queue_timeout_s = 0;   // INFERENCE_QUEUE_TIMEOUT_S; 0 = wait as long as it takes
  double aging_s = 10;          // INFERENCE_PRIORITY_AGING_S
  bool prefix_cache = true;     // INFERENCE_PREFIX_CACHE
  bool mmap = false;            // INFERENCE_MMAP: weights in place from the mmap, not in huge pages
  ConcurrencyLimit* global = nullptr;  // INFERENCE_MAX_RUNNING, shared by all models
  Metrics* metrics = nullptr;
};

class EngineGenerator : public Generator {
 public:
  // Loads the model named by `spec` (file, context_length, chat_template, mmproj). Errors name the
  // file; an mmproj whose projector width differs from the model's n_embd is InvalidArgument.
  static StatusOr<std::unique_ptr<EngineGenerator>> Load(const ModelSpec& spec, const EngineOptions& options);

  // Estimated memory of the model without loading it: file size + KV pool (F16 K and V for every
  // layer and cell of the pool) + compute overhead (+ the mmproj file). Reads only the GGUF header.
  static StatusOr<uint64_t> EstimateBytes(const ModelSpec& spec, const EngineOptions& options);

  StatusOr<Prompt> PreparePrompt(const PromptInput& input) const override;
  StatusOr<GenerationResult> Generate(const Prompt& prompt, const GenerationParams& params,
                                      const TextCallback& on_text, const TokenTimeCallback& on_token) override {
    return scheduler_->Generate(prompt, params, on_text, on_token);
  }
  StatusOr<std::unique_ptr<PendingGeneration>> Submit(const Prompt& prompt, const GenerationParams& params) override {
    return scheduler_->Submit(prompt, params);
  }
  int32_t n_ctx() const override { return scheduler_->n_ctx_seq(); }
  bool accepts_images() const override { return vision_ != nullptr; }
  uint64_t memory_bytes() const override { return memory_bytes_; }
  int32_t vocab_size() const { return tokenizer_->n_vocab(); }
  nlohmann::ordered_json Slots() const override { return scheduler_->Snapshot(); }

 private:
  EngineGenerator() = default;
  // Tokenizes the rendered text of `p`, splitting it at kImageMarker and splicing the images'
  // embedding rows. Errors: marker count != images, an image that does not decode (InvalidArgument
  // naming the image's field, with the decoder's message).
  Status TokenizeWithImages(const PromptInput& input, bool add_special, Prompt* p) const;

  std::string id_;
  std::unique_ptr<Model> model_;
  std::unique_ptr<Tokenizer> tokenizer_;
  VocabPieces vocab_;
  std::string chat_template_;
  nlohmann::ordered_json special_tokens_;  // bos_token / eos_token for the template
  ToolCallFormat tool_format_ = ToolCallFormat::kNone;
  uint64_t memory_bytes_ = 0;
  std::unique_ptr<ClipVisionModel> vision_;  // null: text only
  std::unique_ptr<ThreadPool> vision_pool_;
  mutable std::mutex vision_mu_;  // one image encode at a time (the pool is not re-entrant)
  std::unique_ptr<Scheduler> scheduler_;  // last: stopped before the model it runs goes away
};

}  // namespace isv
