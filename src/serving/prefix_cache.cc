#include "serving/prefix_cache.h"

#include <algorithm>

namespace isv {

PrefixCache::~PrefixCache() {
  for (const auto& [hash, e] : entries_) kv_->Release(e.block);
}

uint64_t PrefixCache::Hash(uint64_t parent, std::span<const int32_t> tokens) {
  // FNV-1a over the parent hash and the token ids, then a splitmix finaliser.
  uint64_t h = 1469598103934665603ull ^ parent;
  for (int32_t t : tokens) {
    h ^= static_cast<uint32_t>(t);
    h *= 1099511628211ull;
  }
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ull;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebull;
  h ^= h >> 31;
  return h == 0 ? 1 : h;  // 0 is the root's "parent"
}

PrefixCache::Entry* PrefixCache::Find(uint64_t hash, uint64_t parent, std::span<const int32_t> tokens) {
  auto it = entries_.find(hash);
  if (it == entries_.end() || it->second.parent != parent ||
      !std::equal(tokens.begin(), tokens.end(), it->second.tokens.begin(), it->second.tokens.end()))
    return nullptr;
  return &it->second;
}

std::vector<int32_t> PrefixCache::Match(std::span<const int32_t> tokens, int32_t max_blocks) {
  const int32_t bs = kv_->block_size();
  const int32_t n_full = std::min<int32_t>(max_blocks, static_cast<int32_t>(tokens.size()) / bs);
  std::vector<int32_t> blocks;
  uint64_t parent = 0;
  ++clock_;
  for (int32_t i = 0; i < n_full; ++i) {
    std::span<const int32_t> part = tokens.subspan(static_cast<size_t>(i) * bs, bs);
    const uint64_t h = Hash(parent, part);
    Entry* e = Find(h, parent, part);
    if (e == nullptr) break;
    e->last_used = clock_;
    blocks.push_back(e->block);
    parent = h;
  }
  return blocks;
}

void PrefixCache::Insert(std::span<const int32_t> tokens, std::span<const int32_t> blocks) {
  const int32_t bs = kv_->block_size();
  const int32_t n_full = std::min<int32_t>(static_cast<int32_t>(blocks.size()), static_cast<int32_t>(tokens.size()) / bs);
  uint64_t parent = 0;
  ++clock_;
  for (int32_t i = 0; i < n_full; ++i) {
    std::span<const int32_t> part = tokens.subspan(static_cast<size_t>(i) * bs, bs);
    const uint64_t h = Hash(parent, part);
    if (Entry* e = Find(h, parent, part)) {
      e->last_used = clock_;
    } else if (entries_.count(h) != 0) {
      break;  // a hash collision with another prefix: leave both chains as they are
    } else {
      kv_->Retain(blocks[i]);
      entries_.emplace(h, Entry{blocks[i], parent, i, std::vector<int32_t>(part.begin(), part.end()), clock_});
    }
    parent = h;
  }
}

int32_t PrefixCache::Evict(int32_t n) {
  if (n <= 0) return 0;
  std::vector<std::pair<uint64_t, const Entry*>> candidates;
  for (const auto& [hash, e] : entries_) {
    if (kv_->refs(e.block) == 1) candidates.emplace_back(hash, &e);
  }
  std::sort(candidates.begin(), candidates.end(), [](const auto& a, const auto& b) {
    if (a.second->last_used != b.second->last_used) return a.second->last_used < b.second->last_used;
    return a.second->depth > b.second->depth;
  });
  int32_t freed = 0;
  for (const auto& [hash, e] : candidates) {
    if (freed == n) break;
    kv_->Release(e->block);
    entries_.erase(hash);
    ++freed;
  }
  return freed;
}

int32_t PrefixCache::evictable() const {
  int32_t n = 0;
  for (const auto& [hash, e] : entries_) n += kv_->refs(e.block) == 1 ? 1 : 0;
  return n;
}

int32_t PrefixCache::CountEvictable(std::span<const int32_t> blocks) const {
  int32_t n = 0;
  for (int32_t b : blocks) n += kv_->refs(b) == 1 ? 1 : 0;
  return n;
}

}  // namespace isv
