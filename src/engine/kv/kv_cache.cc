#include "engine/kv/kv_cache.h"

#include <algorithm>
#include <string>
#include <utility>

namespace isv {

KvCache::KvCache(int32_t n_layer, int32_t n_ctx, int32_t n_embd_kv, int32_t block_size, int32_t n_head_kv)
    : n_layer_(n_layer),
      n_embd_kv_(n_embd_kv),
      n_head_kv_(std::max(1, n_head_kv)),
      head_dim_(n_embd_kv / n_head_kv_),
      block_size_(std::max(1, block_size)),
      n_blocks_((n_ctx + block_size_ - 1) / block_size_),
      refs_(n_blocks_, 0),
      cell_pos_(static_cast<size_t>(n_blocks_) * block_size_, -1),
      k_(static_cast<size_t>(n_layer) * n_blocks_ * block_size_ * n_embd_kv),
      v_(static_cast<size_t>(n_layer) * n_blocks_ * block_size_ * n_embd_kv) {
  free_.reserve(n_blocks_);
  for (int32_t b = n_blocks_ - 1; b >= 0; --b) free_.push_back(b);  // block 0 is taken first
}

int32_t KvCache::TakeBlock() {
  const int32_t b = free_.back();
  free_.pop_back();
  refs_[b] = 1;
  return b;
}

void KvCache::Retain(int32_t block) { ++refs_[block]; }

void KvCache::Release(int32_t block) {
  if (--refs_[block] == 0) {
    std::fill(cell_pos_.begin() + static_cast<size_t>(block) * block_size_,
              cell_pos_.begin() + static_cast<size_t>(block + 1) * block_size_, -1);
    free_.push_back(block);
  }
}

int32_t KvCache::SeqLength(int32_t seq) const {
  auto it = seqs_.find(seq);
  return it == seqs_.end() ? 0 : it->second.length;
}

std::span<const int32_t> KvCache::Blocks(int32_t seq) const {
  auto it = seqs_.find(seq);
  if (it == seqs_.end()) return {};
  return it->second.blocks;
}

Status KvCache::Allocate(std::span<const int32_t> seq_ids, std::span<const int32_t> positions,
                         std::vector<int32_t>* cells) {
  const size_t n = seq_ids.size();
  if (positions.size() != n) return InvalidArgumentError("kv cache: seq_ids and positions differ in length");
  // Validate every entry and count the blocks needed before changing anything.
  std::vector<std::pair<int32_t, int32_t>> added;  // (seq, new positions so far) of this batch
  for (size_t i = 0; i < n; ++i) {
    if (seq_ids[i] < 0 || positions[i] < 0)
      return InvalidArgumentError("kv cache: negative sequence id or position");
    auto it = std::find_if(added.begin(), added.end(), [&](const auto& a) { return a.first == seq_ids[i]; });
    if (it == added.end()) it = added.insert(added.end(), {seq_ids[i], 0});
    const int32_t expected = SeqLength(seq_ids[i]) + it->second;
    if (positions[i] < expected)
      return InvalidArgumentError("kv cache: sequence " + std::to_string(seq_ids[i]) +
                                  " already has a token at position " + std::to_string(positions[i]));
    if (positions[i] > expected)
      return InvalidArgumentError("kv cache: sequence " + std::to_string(seq_ids[i]) + " continues at position " +
                                  std::to_string(expected) + ", not " + std::to_string(positions[i]));
    ++it->second;
  }
  int64_t need = 0;
  for (const auto& [seq, count] : added) {
    const int32_t len = SeqLength(seq);
    need += (len + count + block_size_ - 1) / block_size_ - (len + block_size_ - 1) / block_size_;
    if (len % block_size_ != 0 && refs_[seqs_.at(seq).blocks.back()] > 1) ++need;  // copy on write
  }
  if (need > n_free_blocks())
    return ResourceExhaustedError("kv cache full: " + std::to_string(n) + " new tokens need " + std::to_string(need) +
                                  " blocks of " + std::to_string(block_size_) + " cells, " +
                                  std::to_string(n_free_blocks()) + " of " + std::to_string(n_blocks_) + " are free");

  cells->resize(n);
  for (size_t i = 0; i < n; ++i) {
    Seq& s = seqs_[seq_ids[i]];
    const int32_t pos = positions[i];
    if (pos % block_size_ == 0) {
      s.blocks.push_back(TakeBlock());
    } else if (refs_[s.blocks.back()] > 1) {
      CopyLastBlock(s);
    }
    const int32_t cell = s.blocks[pos / block_size_] * block_size_ + pos % block_size_;
    cell_pos_[cell] = pos;
    s.length = pos + 1;
    (*cells)[i] = cell;
  }
  return OkStatus();
}

void KvCache::CopyLastBlock(Seq& s) {
  const int32_t from = s.blocks.back();
  const int32_t to = TakeBlock();
  const int32_t used = s.length - (static_cast<int32_t>(s.blocks.size()) - 1) * block_size_;
  const size_t count = static_cast<size_t>(used) * head_dim_;
  for (int32_t layer = 0; layer < n_layer_; ++layer) {
    for (int32_t head = 0; head < n_head_kv_; ++head) {
      const size_t src = Offset(layer, head, from * block_size_), dst = Offset(layer, head, to * block_size_);
      std::copy_n(k_.begin() + src, count, k_.begin() + dst);
      std::copy_n(v_.begin() + src, count, v_.begin() + dst);
    }
  }
  std::copy_n(cell_pos_.begin() + static_cast<size_t>(from) * block_size_, used,
              cell_pos_.begin() + static_cast<size_t>(to) * block_size_);
  Release(from);
  s.blocks.back() = to;
}

void KvCache::RemoveFrom(int32_t seq, int32_t from_pos) {
  auto it = seqs_.find(seq);
  if (it == seqs_.end()) return;
  Seq& s = it->second;
  from_pos = std::max(from_pos, 0);
  if (from_pos >= s.length) return;
  const int32_t keep_blocks = (from_pos + block_size_ - 1) / block_size_;
  while (static_cast<int32_t>(s.blocks.size()) > keep_blocks) {
    Release(s.blocks.back());
    s.blocks.pop_back();
  }
  s.length = from_pos;
  // Cells past the new end in a kept, private block are stale; mark them unwritten.
  if (from_pos % block_size_ != 0 && refs_[s.blocks.back()] == 1) {
    const size_t base = static_cast<size_t>(s.blocks.back()) * block_size_;
    std::fill(cell_pos_.begin() + base + from_pos % block_size_, cell_pos_.begin() + base + block_size_, -1);
  }
  if (s.blocks.empty()) seqs_.erase(it);
}

void KvCache::Clear() {
  std::vector<int32_t> ids;
  ids.reserve(seqs_.size());
  for (const auto& [id, s] : seqs_) ids.push_back(id);
  for (int32_t id : ids) RemoveFrom(id, 0);
}

Status KvCache::ShareBlocks(int32_t seq, std::span<const int32_t> blocks) {
  if (SeqLength(seq) != 0)
    return InvalidArgumentError("kv cache: sequence " + std::to_string(seq) + " is not empty");
  for (int32_t b : blocks) {
    if (b < 0 || b >= n_blocks_ || refs_[b] == 0)
      return InvalidArgumentError("kv cache: block " + std::to_string(b) + " is not allocated");
  }
  if (blocks.empty()) return OkStatus();
  Seq& s = seqs_[seq];
  for (int32_t b : blocks) {
    Retain(b);
    s.blocks.push_back(b);
  }
  s.length = static_cast<int32_t>(blocks.size()) * block_size_;
  return OkStatus();
}

void KvCache::CellsOf(int32_t seq, std::vector<int32_t>* cells) const {
  cells->clear();
  auto it = seqs_.find(seq);
  if (it == seqs_.end()) return;
  const Seq& s = it->second;
  cells->resize(s.length);
  for (int32_t pos = 0; pos < s.length; ++pos)
    (*cells)[pos] = s.blocks[pos / block_size_] * block_size_ + pos % block_size_;
}

}  // namespace isv
