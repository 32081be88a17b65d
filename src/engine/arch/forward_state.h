// ForwardState: everything one forward pass of a batch works on — the model, the KV cache, the
// thread pool and the scratch activations — handed to the architecture's layer loop
// (arch/llama.cc, qwen2.cc, phi3.cc). Owned by a Context and reused for every batch: buffers only
// grow, so decode steps do not allocate once warmed up.
//
// Layout: activation buffers hold n_tokens rows, one per batch entry, row-major.
// Thread-safety: used by one forward pass at a time (the pool's workers write disjoint ranges).
#pragma once

#include <cstdint>
#include <vector>

#include "core/thread_pool.h"
#include "engine/kernels/matmul.h"
#include "engine/kv/kv_cache.h"
#include "engine/model/model.h"

namespace isv {

struct ForwardState {
  const Model* model = nullptr;
  KvCache* kv = nullptr;
  ThreadPool* pool = nullptr;
  MatMulScratch matmul;

  int32_t n_tokens = 0;
  int32_t n_prefill = 0;      // the last n_prefill tokens are prompt tokens (Batch::prefill)
  int32_t n_out_prefill = 0;  // ... and the last n_out_prefill output rows
  std::vector<int32_t> positions;    // [n_tokens]
  std::vector<int32_t> cells;        // [n_tokens] KV cell of each token
  std::vector<int32_t> seq_slot;     // [n_tokens] index into seq_cells
  std::vector<int32_t> seqs;         // the distinct sequence ids of the batch
  std::vector<std::vector<int32_t>> seq_cells;  // per distinct sequence: its cells by position
  std::vector<int32_t> n_visible;    // [n_tokens] how many of its sequence's cells a token attends to
                                     // (the first ones: positions <= its own)
  // Prompt tokens (the last n_prefill) in tiles [first, end): consecutive tokens of one sequence
  // whose attention scores (widest = their largest n_visible) fit one worker's share of `scores`
  // together (blocks.cc, Attention).
  struct PromptTile {
    int32_t first, end, widest;
  };
  std::vector<PromptTile> prompt_tiles;
  std::vector<float> rope_cs;        // [n_tokens, n_rot] (cos, sin) pairs, one pair per rotated dim pair
  std::vector<int32_t> output_rows;  // batch entries whose logits are wanted, in order

  std::vector<float> x;       // [n_tokens, n_embd] residual stream
  std::vector<float> xn;      // [n_tokens, n_embd] normalised input of a sub-layer
  std::vector<float> q;       // [n_tokens, n_embd_q]
  std::vector<float> k;       // [n_tokens, n_embd_kv]
  std::vector<float> v;       // [n_tokens, n_embd_kv]
  std::vector<float> qkv;     // [n_tokens, n_embd_q + 2 n_embd_kv] (phi3's fused projection)
  std::vector<float> attn;    // [n_tokens, n_embd_q] attention output before attn_output
  std::vector<float> proj;    // [n_tokens, n_embd] output of attn_output / ffn_down
  std::vector<float> gate;    // [n_tokens, n_ff] (phi3: [n_tokens, 2 n_ff] gate|up)
  std::vector<float> up;      // [n_tokens, n_ff] (not phi3)
  std::vector<float> scores;  // [n_threads, ScoresPerWorker()] attention scores per worker
  std::vector<float> out_x;   // [n_outputs, n_embd] final hidden states of the output rows
  std::vector<float> logits;  // [n_outputs, n_vocab]

  // Sizes every buffer for n_tokens rows and n_outputs output rows (grows only).
  void Reserve(int32_t n_tokens, int32_t n_outputs);

  // Floats of `scores` per worker: one token's query heads of a KV head over the whole cache, and
  // at least 1 MiB for prompt tiles.
  size_t ScoresPerWorker() const;

  // Fills prompt_tiles for the last n_prefill tokens (after seq_slot and n_visible): up to 16
  // consecutive tokens of one sequence per tile, fewer where their n_gqa x cells scores would not
  // fit ScoresPerWorker().
  void PlanPromptTiles();
};

}  // namespace isv
