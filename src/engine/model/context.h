// Context: runs a Model forward over batches of tokens, keeping the KV cache of its sequences
// between calls (llama.cpp's llama_context). Prefill a prompt as one batch, then decode one token
// per call; logits of the entries that asked for them are available until the next Forward().
//
//   ISV_ASSIGN_OR_RETURN(auto ctx, Context::Create(*model, {.n_ctx = 512, .n_threads = 4}));
//   Batch b;  /* fill */  ISV_RETURN_IF_ERROR(ctx->Forward(b));
//   std::span<const float> logits = ctx->Logits(ctx->n_outputs() - 1);
//
// Ownership: the Model must outlive the Context. The Context owns its KV cache, scratch buffers
// and (unless one is supplied) its thread pool. Thread-safety: one caller at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <span>

#include "core/status.h"
#include "core/thread_pool.h"
#include "engine/arch/forward_state.h"
#include "engine/kv/kv_cache.h"
#include "engine/model/batch.h"
#include "engine/model/model.h"

namespace isv {

struct ContextOptions {
  int32_t n_ctx = 0;            // KV cells; 0: the model's n_ctx_train
  int32_t n_threads = 0;        // threads of the owned pool; <= 0: all cores
  ThreadPool* pool = nullptr;   // use this pool instead of creating one (must outlive the Context)
  int32_t kv_block_size = KvCache::kDefaultBlockSize;  // cells per KV block (paging granularity)
};

class Context {
 public:
  static StatusOr<std::unique_ptr<Context>> Create(const Model& model, const ContextOptions& options);

  // Runs the batch: stores its keys/values in the KV cache and computes the logits of the entries
  // with want_logits set. Errors (nothing changed): empty batch, token id out of range, negative
  // position or sequence, too few free KV cells (ResourceExhausted), a (seq, pos) already cached,
  // embedding rows (Batch::AddEmbedding) not matching the embedding entries times n_embd.
  Status Forward(const Batch& batch);

  // Number of logit rows the last Forward() produced.
  int32_t n_outputs() const { return static_cast<int32_t>(state_.output_rows.size()); }
  // Logits of the i-th entry (in batch order) that asked for logits; n_vocab floats, valid until
  // the next Forward(). REQUIRES: 0 <= i < n_outputs().
  std::span<const float> Logits(int32_t i) const;

  const Model& model() const { return model_; }
  int32_t n_ctx() const { return kv_.n_ctx(); }
  KvCache& kv_cache() { return kv_; }
  ThreadPool& pool() { return *pool_; }

 private:
  Context(const Model& model, int32_t n_ctx, int32_t kv_block_size, ThreadPool* pool,
          std::unique_ptr<ThreadPool> owned);
  Status Validate(const Batch& batch) const;
  void PrepareSequences(const Batch& batch);

  const Model& model_;
  std::unique_ptr<ThreadPool> owned_pool_;
  ThreadPool* pool_;
  KvCache kv_;
  ForwardState state_;
  const float* rope_factors_;
};

}  // namespace isv
