#include "engine/kv/kv_cache.h"

#include <algorithm>
#include <string>

namespace isv {

KvCache::KvCache(int32_t n_layer, int32_t n_ctx, int32_t n_embd_kv)
    : n_layer_(n_layer), n_ctx_(n_ctx), n_embd_kv_(n_embd_kv), cell_seq_(n_ctx, -1), cell_pos_(n_ctx, -1),
      k_(static_cast<size_t>(n_layer) * n_ctx * n_embd_kv), v_(static_cast<size_t>(n_layer) * n_ctx * n_embd_kv) {}

Status KvCache::Allocate(std::span<const int32_t> seq_ids, std::span<const int32_t> positions,
                         std::vector<int32_t>* cells) {
  const size_t n = seq_ids.size();
  if (positions.size() != n) return InvalidArgumentError("kv cache: seq_ids and positions differ in length");
  if (static_cast<int64_t>(n) > n_ctx_ - n_used_)
    return ResourceExhaustedError("kv cache full: " + std::to_string(n) + " new tokens, " +
                                  std::to_string(n_ctx_ - n_used_) + " of " + std::to_string(n_ctx_) +
                                  " cells free");
  for (size_t i = 0; i < n; ++i) {
    if (seq_ids[i] < 0 || positions[i] < 0)
      return InvalidArgumentError("kv cache: negative sequence id or position");
  }
  // Duplicate (seq, pos) check against the cache (the batch itself is checked by the caller).
  for (int32_t c = 0; c < n_ctx_; ++c) {
    if (cell_seq_[c] < 0) continue;
    for (size_t i = 0; i < n; ++i) {
      if (cell_seq_[c] == seq_ids[i] && cell_pos_[c] == positions[i])
        return InvalidArgumentError("kv cache: sequence " + std::to_string(seq_ids[i]) +
                                    " already has a token at position " + std::to_string(positions[i]));
    }
  }
  cells->resize(n);
  int32_t c = 0;
  for (size_t i = 0; i < n; ++i) {
    while (cell_seq_[c] >= 0) ++c;
    cell_seq_[c] = seq_ids[i];
    cell_pos_[c] = positions[i];
    (*cells)[i] = c;
  }
  n_used_ += static_cast<int32_t>(n);
  return OkStatus();
}

void KvCache::RemoveFrom(int32_t seq, int32_t from_pos) {
  for (int32_t c = 0; c < n_ctx_; ++c) {
    if (cell_seq_[c] == seq && cell_pos_[c] >= from_pos) {
      cell_seq_[c] = -1;
      cell_pos_[c] = -1;
      --n_used_;
    }
  }
}

void KvCache::Clear() {
  std::fill(cell_seq_.begin(), cell_seq_.end(), -1);
  std::fill(cell_pos_.begin(), cell_pos_.end(), -1);
  n_used_ = 0;
}

void KvCache::CellsOf(int32_t seq, std::vector<int32_t>* cells) const {
  cells->clear();
  for (int32_t c = 0; c < n_ctx_; ++c) {
    if (cell_seq_[c] == seq) cells->push_back(c);
  }
  std::sort(cells->begin(), cells->end(), [this](int32_t a, int32_t b) { return cell_pos_[a] < cell_pos_[b]; });
}

int32_t KvCache::MaxPosition(int32_t seq) const {
  int32_t best = -1;
  for (int32_t c = 0; c < n_ctx_; ++c) {
    if (cell_seq_[c] == seq) best = std::max(best, cell_pos_[c]);
  }
  return best;
}

}  // namespace isv
