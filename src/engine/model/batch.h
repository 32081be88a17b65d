// Batch: the tokens one forward step processes, each with its position, its sequence and whether
// its logits are wanted. A prompt is one batch (prefill, logits for its last token or for all);
// generation then sends one-token batches (decode). Tokens of several sequences may be mixed.
//
//   Batch b;
//   for (size_t i = 0; i < ids.size(); ++i) b.Add(ids[i], i, /*seq=*/0, i + 1 == ids.size());
//
// An entry may carry an input embedding row instead of a token id (an image's rows spliced into a
// prompt, llama.cpp's llama_batch.embd): AddEmbedding() stores kEmbeddingToken as its token and
// appends the n_embd floats to `embd`; the forward pass uses the row where it would look up the
// token embedding. Rows are kept in entry order (the k-th embedding entry owns row k).
//
// An entry flagged `prefill` is a prompt token: the forward pass may compute it with the prefill
// kernels (kernels/prefill.h), whose float summation order differs from the decode kernels'. A token
// must be flagged the same way whatever else is in its batch (the scheduler flags every prompt token
// and no generated one), so that its results never depend on the batch. Prefill entries come after
// all other entries of a batch (Context::Forward rejects other orders).
//
// Plain value type, not synchronised. Clear() keeps the capacity, so a reused Batch does not
// allocate in the decode loop.
#pragma once

#include <cstdint>
#include <vector>

namespace isv {

struct Batch {
  static constexpr int32_t kEmbeddingToken = -1;  // tokens[i] of an embedding-row entry

  std::vector<int32_t> tokens;  // token id, or kEmbeddingToken
  std::vector<float> embd;      // rows of the embedding entries, in entry order, n_embd floats each
  std::vector<int32_t> positions;
  std::vector<int32_t> seq_ids;
  std::vector<uint8_t> want_logits;  // 1: produce logits for this entry
  std::vector<uint8_t> prefill;      // 1: a prompt token (see above)

  void Add(int32_t token, int32_t pos, int32_t seq, bool logits, bool is_prefill = false) {
    tokens.push_back(token);
    positions.push_back(pos);
    seq_ids.push_back(seq);
    want_logits.push_back(logits ? 1 : 0);
    prefill.push_back(is_prefill ? 1 : 0);
  }
  // Appends an entry whose input is `row` (the model's n_embd floats) instead of a token embedding.
  void AddEmbedding(const float* row, int32_t n_embd, int32_t pos, int32_t seq, bool logits,
                    bool is_prefill = false) {
    embd.insert(embd.end(), row, row + n_embd);
    Add(kEmbeddingToken, pos, seq, logits, is_prefill);
  }
  void Clear() {
    tokens.clear();
    embd.clear();
    positions.clear();
    seq_ids.clear();
    want_logits.clear();
    prefill.clear();
  }
  int32_t size() const { return static_cast<int32_t>(tokens.size()); }
};

}  // namespace isv
