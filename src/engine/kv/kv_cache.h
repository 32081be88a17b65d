// KvCache: the attention keys and values of every layer, stored as F16 (as llama.cpp does by
// default) in a pool of fixed-size blocks shared by all sequences of a model (vLLM's paged KV
// cache). A block holds `block_size` consecutive positions of one sequence; each sequence owns a
// block table (its blocks in position order), so the cell of (seq, pos) is
// table[pos / block_size] * block_size + pos % block_size.
//
// A sequence grows by appending positions in order (Allocate); a new block is taken from the free
// list when it crosses a block boundary. Blocks are reference counted so that several sequences
// can share a computed prefix (ShareBlocks) and a prefix cache can keep blocks alive after their
// sequence ends (Retain/Release); a block returns to the free list when its last reference goes.
// Writing into a shared, partly filled block copies it first, so sharing never changes what
// another sequence sees.
//
// Layout: per layer and KV head, the head's rows of all cells one after another (cell c at c *
// head_dim), so that attention, which reads one KV head's rows of many cells, reads contiguous
// memory: with the heads of a cell side by side instead, each head's rows were short pieces of
// long rows, which the hardware prefetchers do not follow (decode attention over a long context
// ran at a third of the speed of the same work on contiguous rows).
//
// Memory: 2 * n_layer * n_ctx * n_embd_kv * 2 bytes, allocated once in the constructor.
// Thread-safety: not synchronised. Concurrent reads of K/V rows (attention) and writes to
// distinct cells from worker threads are fine; allocation and removal need external ordering.
#pragma once

#include <cstdint>
#include <span>
#include <unordered_map>
#include <vector>

#include "core/status.h"

namespace isv {

class KvCache {
 public:
  static constexpr int32_t kDefaultBlockSize = 16;

  // n_ctx cells, rounded up to a whole number of blocks; n_embd_kv values per cell and layer in
  // n_head_kv heads. REQUIRES: n_embd_kv % n_head_kv == 0.
  KvCache(int32_t n_layer, int32_t n_ctx, int32_t n_embd_kv, int32_t block_size = kDefaultBlockSize,
          int32_t n_head_kv = 1);
  // Bytes of K and V the constructor allocates for these sizes (64-bit: no overflow for any
  // int32 arguments).
  static uint64_t BytesFor(int64_t n_layer, int64_t n_ctx, int64_t n_embd_kv) {
    return 2 * static_cast<uint64_t>(n_layer) * static_cast<uint64_t>(n_ctx) * static_cast<uint64_t>(n_embd_kv) *
           sizeof(uint16_t);
  }

  int32_t n_ctx() const { return n_blocks_ * block_size_; }  // cells in the pool
  int32_t n_embd_kv() const { return n_embd_kv_; }
  int32_t n_head_kv() const { return n_head_kv_; }
  int32_t head_dim() const { return head_dim_; }
  int32_t block_size() const { return block_size_; }
  int32_t n_blocks() const { return n_blocks_; }
  int32_t n_free_blocks() const { return static_cast<int32_t>(free_.size()); }

  // Appends one cell per entry of (seq_ids[i], positions[i]) and writes their indices to `cells`
  // (resized). Each sequence's positions must continue it in order: the first new position of a
  // sequence is its current length, the next one more, and so on. Errors, with nothing changed:
  // InvalidArgument for a negative id, a position already stored or a gap; ResourceExhausted when
  // the free blocks do not suffice.
  Status Allocate(std::span<const int32_t> seq_ids, std::span<const int32_t> positions,
                  std::vector<int32_t>* cells);

  // Drops the positions >= from_pos of `seq` (from_pos 0: the whole sequence) and releases the
  // blocks it no longer uses.
  void RemoveFrom(int32_t seq, int32_t from_pos = 0);
  // Drops every sequence. Blocks retained by other holders (Retain) stay allocated.
  void Clear();

  // Makes the empty sequence `seq` start with `blocks` (full blocks, in position order, e.g. a
  // cached prefix): its length becomes blocks.size() * block_size and each block gains a
  // reference. InvalidArgument when `seq` is not empty or a block is not allocated.
  Status ShareBlocks(int32_t seq, std::span<const int32_t> blocks);
  // Adds / drops one reference to an allocated block (a prefix cache keeping it). A block whose
  // last reference is dropped returns to the free list.
  void Retain(int32_t block);
  void Release(int32_t block);
  int32_t refs(int32_t block) const { return refs_[block]; }

  // Positions stored for `seq` (0 when it has none); they are 0 .. length - 1.
  int32_t SeqLength(int32_t seq) const;
  // Largest position stored for `seq`, or -1 when it has none.
  int32_t MaxPosition(int32_t seq) const { return SeqLength(seq) - 1; }
  // The block table of `seq` (empty when it has none); valid until the next change to the cache.
  std::span<const int32_t> Blocks(int32_t seq) const;
  // Cells of sequence `seq` in increasing position order, written to `cells` (resized).
  void CellsOf(int32_t seq, std::vector<int32_t>* cells) const;

  int32_t cell_pos(int32_t cell) const { return cell_pos_[cell]; }  // -1 when never written

  // The head_dim F16 values of K / V of KV head `head` of `layer` at `cell`; the next cell's follow
  // (the rows of one head are head_dim apart).
  uint16_t* k(int32_t layer, int32_t head, int32_t cell) { return k_.data() + Offset(layer, head, cell); }
  uint16_t* v(int32_t layer, int32_t head, int32_t cell) { return v_.data() + Offset(layer, head, cell); }
  const uint16_t* k(int32_t layer, int32_t head, int32_t cell) const { return k_.data() + Offset(layer, head, cell); }
  const uint16_t* v(int32_t layer, int32_t head, int32_t cell) const { return v_.data() + Offset(layer, head, cell); }

 private:
  struct Seq {
    std::vector<int32_t> blocks;
    int32_t length = 0;
  };

  size_t Offset(int32_t layer, int32_t head, int32_t cell) const {
    return ((static_cast<size_t>(layer) * n_head_kv_ + head) * n_ctx() + cell) * head_dim_;
  }
  int32_t TakeBlock();
  // Gives `seq` a private copy of its last block (which is partly filled and shared).
  void CopyLastBlock(Seq& seq);

  int32_t n_layer_, n_embd_kv_, n_head_kv_, head_dim_, block_size_, n_blocks_;
  std::vector<int32_t> refs_;      // [n_blocks] references (0: free)
  std::vector<int32_t> free_;      // free blocks, next one at the back
  std::vector<int32_t> cell_pos_;  // [n_ctx] position stored in each cell
  std::unordered_map<int32_t, Seq> seqs_;
  std::vector<uint16_t> k_;
  std::vector<uint16_t> v_;
};

}  // namespace isv
