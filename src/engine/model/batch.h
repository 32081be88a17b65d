// Batch: the tokens one forward step processes, each with its position, its sequence and whether
// its logits are wanted. A prompt is one batch (prefill, logits for its last token or for all);
// generation then sends one-token batches (decode). Tokens of several sequences may be mixed.
//
//   Batch b;
//   for (size_t i = 0; i < ids.size(); ++i) b.Add(ids[i], i, /*seq=*/0, i + 1 == ids.size());
//
// Plain value type, not synchronised. Clear() keeps the capacity, so a reused Batch does not
// allocate in the decode loop.
#pragma once

#include <cstdint>
#include <vector>

namespace isv {

struct Batch {
  std::vector<int32_t> tokens;
  std::vector<int32_t> positions;
  std::vector<int32_t> seq_ids;
  std::vector<uint8_t> want_logits;  // 1: produce logits for this entry

  void Add(int32_t token, int32_t pos, int32_t seq, bool logits) {
    tokens.push_back(token);
    positions.push_back(pos);
    seq_ids.push_back(seq);
    want_logits.push_back(logits ? 1 : 0);
  }
  void Clear() {
    tokens.clear();
    positions.clear();
    seq_ids.clear();
    want_logits.clear();
  }
  int32_t size() const { return static_cast<int32_t>(tokens.size()); }
};

}  // namespace isv
