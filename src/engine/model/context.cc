#include "engine/model/context.h"

#include <unistd.h>

#include <algorithm>
#include <new>
#include <string>

#include "engine/arch/arch.h"
#include "engine/arch/blocks.h"
#include "engine/kernels/matmul.h"

namespace isv {

StatusOr<std::unique_ptr<Context>> Context::Create(const Model& model, const ContextOptions& options) {
  const int32_t n_ctx = options.n_ctx > 0 ? options.n_ctx : model.params().n_ctx_train;
  if (options.n_ctx < 0) return InvalidArgumentError("context size must be positive");
  if (options.kv_block_size <= 0) return InvalidArgumentError("KV block size must be positive");
  std::unique_ptr<ThreadPool> owned;
  ThreadPool* pool = options.pool;
  if (pool == nullptr) {
    owned = std::make_unique<ThreadPool>(options.n_threads);
    pool = owned.get();
  }
  // The KV cache is the one large allocation whose size comes from outside (a flag, a config
  // file): a size beyond physical memory, or an allocation that fails, is an error for the
  // caller, not a crash.
  const ModelParams& hp = model.params();
  const uint64_t kv_bytes = KvCache::BytesFor(hp.n_layer, n_ctx, hp.n_embd_kv());
  const std::string kv_error = "cannot allocate the KV cache for a context of " + std::to_string(n_ctx) +
                               " tokens (" + std::to_string(kv_bytes >> 20) + " MiB)";
  const long pages = sysconf(_SC_PHYS_PAGES);
  const long page_size = sysconf(_SC_PAGESIZE);
  if (pages > 0 && page_size > 0 && kv_bytes > static_cast<uint64_t>(pages) * static_cast<uint64_t>(page_size)) {
    return ResourceExhaustedError(kv_error + ": more than this machine's physical memory");
  }
  try {
    return std::unique_ptr<Context>(new Context(model, n_ctx, options.kv_block_size, pool, std::move(owned)));
  } catch (const std::bad_alloc&) {
    return ResourceExhaustedError(kv_error);
  }
}

Context::Context(const Model& model, int32_t n_ctx, int32_t kv_block_size, ThreadPool* pool,
                 std::unique_ptr<ThreadPool> owned)
    : model_(model),
      owned_pool_(std::move(owned)),
      pool_(pool),
      kv_(model.params().n_layer, n_ctx, model.params().n_embd_kv(), kv_block_size, model.params().n_head_kv),
      rope_factors_(model.RopeFactors(n_ctx)) {
  state_.model = &model_;
  state_.kv = &kv_;
  state_.pool = pool_;
}

Status Context::Validate(const Batch& batch) const {
  const int32_t n = batch.size();
  if (n == 0) return InvalidArgumentError("empty batch");
  if (static_cast<int32_t>(batch.positions.size()) != n || static_cast<int32_t>(batch.seq_ids.size()) != n ||
      static_cast<int32_t>(batch.want_logits.size()) != n || static_cast<int32_t>(batch.prefill.size()) != n)
    return InvalidArgumentError("batch fields differ in length");
  for (int32_t i = 1; i < n; ++i) {
    if (batch.prefill[i - 1] && !batch.prefill[i])
      return InvalidArgumentError("batch entry " + std::to_string(i) +
                                  " is not a prompt token but follows one (prompt tokens come last)");
  }
  const int32_t n_vocab = model_.params().n_vocab;
  size_t n_rows = 0;
  for (int32_t i = 0; i < n; ++i) {
    if (batch.tokens[i] == Batch::kEmbeddingToken) {
      ++n_rows;
      continue;
    }
    if (batch.tokens[i] < 0 || batch.tokens[i] >= n_vocab)
      return InvalidArgumentError("token id " + std::to_string(batch.tokens[i]) + " out of range [0, " +
                                  std::to_string(n_vocab) + ")");
  }
  const size_t n_embd = static_cast<size_t>(model_.params().n_embd);
  if (batch.embd.size() != n_rows * n_embd)
    return InvalidArgumentError("batch has " + std::to_string(n_rows) + " embedding entries but " +
                                std::to_string(batch.embd.size()) + " embedding floats (n_embd " +
                                std::to_string(n_embd) + ")");
  return OkStatus();
}

void Context::PrepareSequences(const Batch& batch) {
  ForwardState& s = state_;
  // Distinct sequences of the batch, each with its cached cells (including the new ones) by position.
  std::vector<int32_t>& seqs = s.seqs;
  seqs.clear();
  s.seq_slot.resize(batch.size());
  for (int32_t i = 0; i < batch.size(); ++i) {
    int32_t slot = -1;
    for (size_t j = 0; j < seqs.size(); ++j) {
      if (seqs[j] == batch.seq_ids[i]) slot = static_cast<int32_t>(j);
    }
    if (slot < 0) {
      slot = static_cast<int32_t>(seqs.size());
      seqs.push_back(batch.seq_ids[i]);
    }
    s.seq_slot[i] = slot;
  }
  if (s.seq_cells.size() < seqs.size()) s.seq_cells.resize(seqs.size());
  for (size_t j = 0; j < seqs.size(); ++j) kv_.CellsOf(seqs[j], &s.seq_cells[j]);
  // Cells are sorted by position: a token sees the ones up to its own position (causal mask).
  s.n_visible.resize(batch.size());
  for (int32_t i = 0; i < batch.size(); ++i) {
    const std::vector<int32_t>& cells = s.seq_cells[s.seq_slot[i]];
    const auto end = std::partition_point(cells.begin(), cells.end(),
                                          [&](int32_t c) { return kv_.cell_pos(c) <= batch.positions[i]; });
    s.n_visible[i] = static_cast<int32_t>(end - cells.begin());
  }
  s.PlanPromptTiles();
}

Status Context::Forward(const Batch& batch) {
  ISV_RETURN_IF_ERROR(Validate(batch));
  ForwardState& s = state_;
  ISV_RETURN_IF_ERROR(kv_.Allocate(batch.seq_ids, batch.positions, &s.cells));

  const ModelParams& hp = model_.params();
  s.n_tokens = batch.size();
  s.positions.assign(batch.positions.begin(), batch.positions.end());
  s.output_rows.clear();
  s.n_prefill = 0;
  s.n_out_prefill = 0;
  for (int32_t i = 0; i < batch.size(); ++i) {
    if (batch.want_logits[i]) s.output_rows.push_back(i);
    if (batch.prefill[i]) {
      ++s.n_prefill;
      if (batch.want_logits[i]) ++s.n_out_prefill;
    }
  }
  s.Reserve(s.n_tokens, static_cast<int32_t>(s.output_rows.size()));
  PrepareSequences(batch);

  const float* next_row = batch.embd.data();
  for (int32_t t = 0; t < s.n_tokens; ++t) {
    float* x = s.x.data() + static_cast<size_t>(t) * hp.n_embd;
    if (batch.tokens[t] == Batch::kEmbeddingToken) {
      std::copy(next_row, next_row + hp.n_embd, x);
      next_row += hp.n_embd;
    } else {
      DequantizeRow(model_.weights().token_embd, batch.tokens[t], x);
    }
  }
  ComputeRope(hp, rope_factors_, s);

  switch (hp.arch) {
    case Arch::kLlama: ForwardLlama(s); break;
    case Arch::kQwen2: ForwardQwen2(s); break;
    case Arch::kPhi3: ForwardPhi3(s); break;
  }
  return OkStatus();
}

std::span<const float> Context::Logits(int32_t i) const {
  const size_t n_vocab = static_cast<size_t>(model_.params().n_vocab);
  return {state_.logits.data() + static_cast<size_t>(i) * n_vocab, n_vocab};
}

}  // namespace isv
