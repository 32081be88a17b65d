// KvCache: the attention keys and values of every layer for up to n_ctx token cells, stored as
// F16 (as llama.cpp does by default). A cell holds one token of one sequence: (seq id, position).
// Several sequences can share the cache; a token attends to the cells of its own sequence whose
// position is <= its own. The scheduler will later grow this into a paged cache of fixed-size
// blocks, so the interface speaks only of (seq, position) cells.
//
// Memory: 2 * n_layer * n_ctx * n_embd_kv * 2 bytes, allocated once in the constructor.
// Thread-safety: not synchronised. Concurrent reads of K/V rows (attention) and writes to
// distinct cells from worker threads are fine; allocation and removal need external ordering.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/status.h"

namespace isv {

class KvCache {
 public:
  KvCache(int32_t n_layer, int32_t n_ctx, int32_t n_embd_kv);
  // Bytes of K and V the constructor allocates for these sizes (64-bit: no overflow for any
  // int32 arguments).
  static uint64_t BytesFor(int64_t n_layer, int64_t n_ctx, int64_t n_embd_kv) {
    return 2 * static_cast<uint64_t>(n_layer) * static_cast<uint64_t>(n_ctx) * static_cast<uint64_t>(n_embd_kv) *
           sizeof(uint16_t);
  }

  int32_t n_ctx() const { return n_ctx_; }
  int32_t n_embd_kv() const { return n_embd_kv_; }
  int32_t n_used() const { return n_used_; }

  // Reserves one free cell per entry of (seq_ids[i], positions[i]) and writes their indices to
  // `cells` (resized). Returns ResourceExhausted when too few cells are free (nothing reserved) and
  // InvalidArgument when a sequence already holds a cell at that position.
  Status Allocate(std::span<const int32_t> seq_ids, std::span<const int32_t> positions,
                  std::vector<int32_t>* cells);

  // Frees every cell of sequence `seq` with position >= from_pos (from_pos 0: the whole sequence).
  void RemoveFrom(int32_t seq, int32_t from_pos = 0);
  // Frees every cell.
  void Clear();

  // Cells of sequence `seq` in increasing position order, written to `cells` (resized).
  void CellsOf(int32_t seq, std::vector<int32_t>* cells) const;
  // Largest position stored for `seq`, or -1 when it has none.
  int32_t MaxPosition(int32_t seq) const;

  int32_t cell_seq(int32_t cell) const { return cell_seq_[cell]; }  // -1 when free
  int32_t cell_pos(int32_t cell) const { return cell_pos_[cell]; }

  // The n_embd_kv F16 values of K / V of `layer` at `cell` (heads one after another).
  uint16_t* k(int32_t layer, int32_t cell) { return k_.data() + Offset(layer, cell); }
  uint16_t* v(int32_t layer, int32_t cell) { return v_.data() + Offset(layer, cell); }
  const uint16_t* k(int32_t layer, int32_t cell) const { return k_.data() + Offset(layer, cell); }
  const uint16_t* v(int32_t layer, int32_t cell) const { return v_.data() + Offset(layer, cell); }

 private:
  size_t Offset(int32_t layer, int32_t cell) const {
    return (static_cast<size_t>(layer) * n_ctx_ + cell) * n_embd_kv_;
  }

  int32_t n_layer_, n_ctx_, n_embd_kv_;
  int32_t n_used_ = 0;
  std::vector<int32_t> cell_seq_;
  std::vector<int32_t> cell_pos_;
  std::vector<uint16_t> k_;
  std::vector<uint16_t> v_;
};

}  // namespace isv
