// PrefixCache: remembers which KV blocks hold which token prefixes, so that a request whose prompt
// starts like an earlier one (same model, same tokens, e.g. a shared system prompt) reuses those
// blocks instead of computing them again (vLLM's automatic prefix caching).
//
// A full block is identified by a hash of its tokens chained with its parent block's hash, so a
// block matches only when the whole prefix up to its end matches; the tokens are kept and compared
// too, so a hash collision can never hand out wrong keys and values. The cache holds one reference
// (KvCache::Retain) on every block it lists; a block that only the cache holds is evictable, least
// recently used first (deepest first among equals, so a chain shrinks from its end).
//
// Not synchronised: owned by a model's scheduler thread, like the KvCache it points into.
#pragma once

#include <cstdint>
#include <span>
#include <unordered_map>
#include <vector>

#include "engine/kv/kv_cache.h"

namespace isv {

class PrefixCache {
 public:
  // `kv` must outlive the cache.
  explicit PrefixCache(KvCache* kv) : kv_(kv) {}
  ~PrefixCache();

  // The blocks holding the longest cached prefix of `tokens` in whole blocks, at most max_blocks,
  // in position order; marks them recently used.
  std::vector<int32_t> Match(std::span<const int32_t> tokens, int32_t max_blocks);
  // Lists the full blocks of a sequence: blocks[i] holds tokens [i * block_size, (i + 1) *
  // block_size). Blocks already listed under the same prefix are skipped.
  void Insert(std::span<const int32_t> tokens, std::span<const int32_t> blocks);
  // Drops up to `n` evictable blocks, least recently used first; returns how many were freed.
  int32_t Evict(int32_t n);
  // Blocks that only the cache holds (free for the taking by Evict).
  int32_t evictable() const;
  // How many of `blocks` are evictable now (they stop being so once a sequence shares them).
  int32_t CountEvictable(std::span<const int32_t> blocks) const;
  int32_t size() const { return static_cast<int32_t>(entries_.size()); }

 private:
  struct Entry {
    int32_t block;
    uint64_t parent;
    int32_t depth;  // index of the block in its sequence
    std::vector<int32_t> tokens;
    uint64_t last_used;
  };
  static uint64_t Hash(uint64_t parent, std::span<const int32_t> tokens);
  // The entry for the block after `parent` holding `tokens`, or nullptr.
  Entry* Find(uint64_t hash, uint64_t parent, std::span<const int32_t> tokens);

  KvCache* kv_;
  std::unordered_map<uint64_t, Entry> entries_;
  uint64_t clock_ = 0;
};

}  // namespace isv
