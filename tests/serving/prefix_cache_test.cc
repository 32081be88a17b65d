// PrefixCache: chained block matching, references held on the KV pool, LRU eviction.
#include "serving/prefix_cache.h"

#include <gtest/gtest.h>

#include <numeric>
#include <vector>

namespace isv {
namespace {

// Allocates `tokens.size()` positions of sequence `seq` and returns its block table.
std::vector<int32_t> Fill(KvCache& kv, int32_t seq, size_t n) {
  std::vector<int32_t> seqs(n, seq), pos(n), cells;
  std::iota(pos.begin(), pos.end(), kv.SeqLength(seq));
  EXPECT_TRUE(kv.Allocate(seqs, pos, &cells).ok());
  return {kv.Blocks(seq).begin(), kv.Blocks(seq).end()};
}

TEST(PrefixCacheTest, MatchesWholeBlocksOfTheSamePrefixOnly) {
  KvCache kv(1, 64, 2, /*block_size=*/4);
  PrefixCache cache(&kv);
  const std::vector<int32_t> a = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  std::vector<int32_t> blocks = Fill(kv, 0, a.size());
  cache.Insert(a, blocks);
  EXPECT_EQ(cache.size(), 2);  // two full blocks; the partial third is not cached
  EXPECT_EQ(kv.refs(blocks[0]), 2);

  EXPECT_EQ(cache.Match(a, 10), (std::vector<int32_t>{blocks[0], blocks[1]}));
  EXPECT_EQ(cache.Match(a, 1), (std::vector<int32_t>{blocks[0]}));
  const std::vector<int32_t> same_start = {1, 2, 3, 4, 5, 6, 0, 8, 9};
  EXPECT_EQ(cache.Match(same_start, 10), (std::vector<int32_t>{blocks[0]}));
  // The second block's tokens after a different first block do not match (chained hash).
  const std::vector<int32_t> other_start = {0, 2, 3, 4, 5, 6, 7, 8};
  EXPECT_TRUE(cache.Match(other_start, 10).empty());

  kv.RemoveFrom(0);
  EXPECT_EQ(cache.evictable(), 2);
  cache.Evict(100);
  EXPECT_EQ(cache.size(), 0);
  EXPECT_EQ(kv.n_free_blocks(), kv.n_blocks());
}

TEST(PrefixCacheTest, EvictsLeastRecentlyUsedAndNeverABlockInUse) {
  KvCache kv(1, 64, 2, 4);
  PrefixCache cache(&kv);
  const std::vector<int32_t> x = {1, 1, 1, 1}, y = {2, 2, 2, 2}, z = {3, 3, 3, 3};
  std::vector<int32_t> bx = Fill(kv, 0, 4), by = Fill(kv, 1, 4), bz = Fill(kv, 2, 4);
  cache.Insert(x, bx);
  cache.Insert(y, by);
  cache.Insert(z, bz);
  kv.RemoveFrom(0);
  kv.RemoveFrom(1);  // z is still used by sequence 2
  EXPECT_EQ(cache.evictable(), 2);
  cache.Match(x, 1);  // x is now more recent than y
  EXPECT_EQ(cache.Evict(1), 1);
  EXPECT_TRUE(cache.Match(y, 1).empty());
  EXPECT_EQ(cache.Match(x, 1).size(), 1u);
  EXPECT_EQ(cache.Evict(5), 1);  // only x; z is in use
  EXPECT_EQ(cache.Match(z, 1).size(), 1u);
}

}  // namespace
}  // namespace isv
