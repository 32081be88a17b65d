#include "engine/kernels/rows8_layout.h"

#include <cstring>
#include <type_traits>
#include <vector>

#include "engine/kernels/blocks.h"
#include "engine/kernels/blocks_k.h"

namespace isv {
namespace {

// Where a block's parts are (all three types: d first, the 16 bytes of nibbles last).
struct BlockParts {
  size_t bytes;  // block size
  bool has_qh;   // Q5_0's 4 bytes of fifth bits at offset 2
  size_t qs;     // offset of the 16 bytes of nibbles
};

BlockParts Parts(GgmlType type) {
  switch (type) {
    case GgmlType::kQ4_0:
      return {sizeof(BlockQ4_0), false, offsetof(BlockQ4_0, qs)};
    case GgmlType::kQ5_0:
      return {sizeof(BlockQ5_0), true, offsetof(BlockQ5_0, qs)};
    default:  // kIQ4_NL
      return {sizeof(BlockIq4Nl), false, offsetof(BlockIq4Nl, qs)};
  }
}

// Block i of the 8 rows at `rows` (row stride row_bytes) into the group block at g (rows8_layout.h).
void PackBlock(const BlockParts& p, const uint8_t* rows, size_t row_bytes, int64_t i, uint8_t* g) {
  auto row_block = [&](int r) { return rows + static_cast<size_t>(r) * row_bytes + static_cast<size_t>(i) * p.bytes; };
  for (int r = 0; r < kRows8Group; ++r) std::memcpy(g + 2 * r, row_block(r), 2);
  if (p.has_qh) {
    for (int r = 0; r < kRows8Group; ++r) std::memcpy(g + kRows8QhOffset + 4 * r, row_block(r) + 2, 4);
  }
  // Row r's nibble bytes 0-7 at 8 r, its bytes 8-15 at 64 + 8 r.
  uint8_t* words = g + Rows8WordsOffset(p.has_qh);
  for (int r = 0; r < kRows8Group; ++r) {
    std::memcpy(words + 8 * r, row_block(r) + p.qs, 8);
    std::memcpy(words + 64 + 8 * r, row_block(r) + p.qs + 8, 8);
  }
}

// Row r's block as the file stores it, from the group block at gb (Block: BlockQ4_0, BlockQ5_0 or
// BlockIq4Nl).
template <typename Block>
Block Rows8Block(const uint8_t* gb, int r) {
  constexpr bool kHasQh = std::is_same_v<Block, BlockQ5_0>;
  Block b;
  std::memcpy(&b.d, gb + 2 * r, 2);
  if constexpr (kHasQh) std::memcpy(b.qh, gb + kRows8QhOffset + 4 * r, 4);
  const uint8_t* words = gb + Rows8WordsOffset(kHasQh);
  std::memcpy(b.qs, words + 8 * r, 8);
  std::memcpy(b.qs + 8, words + 64 + 8 * r, 8);
  return b;
}

// Copies kBytes between row r's block (at row_at) and the group block (at group_at), in the direction
// kToGroup says. Fixed sizes, so that the copies compile to plain moves.
template <bool kToGroup, size_t kBytes>
inline void MovePiece(const uint8_t* from, uint8_t* to, size_t row_at, size_t group_at) {
  if constexpr (kToGroup) {
    std::memcpy(to + group_at, from + row_at, kBytes);
  } else {
    std::memcpy(to + row_at, from + group_at, kBytes);
  }
}

// Q4_K and Q5_K (Block: BlockQ4K or BlockQ5K; rows8_layout.h). kToGroup: row r of a group (at `from`)
// into the group's blocks (at `to`); else the group's blocks (at `from`) back into row r (at `to`).
template <typename Block, bool kToGroup>
void MoveQ4KRow(int64_t nb, int r, const uint8_t* from, uint8_t* to) {
  constexpr bool kQ5 = std::is_same_v<Block, BlockQ5K>;
  constexpr size_t kQs = kQ5 ? kRows8K5QsOffset : kRows8KQsOffset;
  for (int64_t i = 0; i < nb; ++i) {
    const size_t gb = i * kRows8Group * sizeof(Block);
    const size_t rb = i * sizeof(Block);
    MovePiece<kToGroup, 2>(from, to, rb + offsetof(Block, d), gb + 2 * r);
    MovePiece<kToGroup, 2>(from, to, rb + offsetof(Block, dmin), gb + kRows8KDminOffset + 2 * r);
    for (size_t p = 0; p < kKScaleBytes; ++p) {
      MovePiece<kToGroup, 1>(from, to, rb + offsetof(Block, scales) + p,
                             gb + kRows8KScalesOffset + kRows8Group * p + r);
    }
    if constexpr (kQ5) {
      for (size_t m = 0; m < 4; ++m) {
        MovePiece<kToGroup, 8>(from, to, rb + offsetof(BlockQ5K, qh) + 8 * m, gb + kRows8K5QhOffset + 64 * m + 8 * r);
      }
    }
    for (size_t q = 0; q < sizeof(Block::qs); q += 8) {  // chunk c = q / 32, m = q % 32 / 8
      MovePiece<kToGroup, 8>(from, to, rb + offsetof(Block, qs) + q,
                             gb + kQs + 256 * (q / 32) + 64 * (q % 32 / 8) + 8 * r);
    }
  }
}

// Q6_K (rows8_layout.h), as MoveQ4KRow.
template <bool kToGroup>
void MoveQ6KRow(int64_t nb, int r, const uint8_t* from, uint8_t* to) {
  for (int64_t i = 0; i < nb; ++i) {
    const size_t gb = i * kRows8Group * sizeof(BlockQ6K);
    const size_t rb = i * sizeof(BlockQ6K);
    MovePiece<kToGroup, 2>(from, to, rb + offsetof(BlockQ6K, d), gb + 2 * r);
    for (size_t j = 0; j < sizeof(BlockQ6K::scales); ++j) {
      MovePiece<kToGroup, 1>(from, to, rb + offsetof(BlockQ6K, scales) + j,
                             gb + kRows8Q6ScalesOffset + kRows8Group * j + r);
    }
    for (size_t q = 0; q < sizeof(BlockQ6K::ql); q += 8) {  // half q / 64, m = q % 32 / 8, second 32: q % 64 / 32
      MovePiece<kToGroup, 8>(
          from, to, rb + offsetof(BlockQ6K, ql) + q,
          gb + kRows8Q6QuantsOffset + 192 * (4 * (q / 64) + q % 32 / 8) + 64 * (q % 64 / 32) + 8 * r);
    }
    for (size_t q = 0; q < sizeof(BlockQ6K::qh); q += 8) {  // half q / 32, m = q % 32 / 8
      MovePiece<kToGroup, 8>(from, to, rb + offsetof(BlockQ6K, qh) + q,
                             gb + kRows8Q6QuantsOffset + 192 * (4 * (q / 32) + q % 32 / 8) + 128 + 8 * r);
    }
  }
}

// Q8_0 (rows8_layout.h), as MoveQ4KRow; nb 32-element blocks.
template <bool kToGroup>
void MoveQ8_0Row(int64_t nb, int r, const uint8_t* from, uint8_t* to) {
  for (int64_t i = 0; i < nb; ++i) {
    const size_t gb = i * kRows8Group * sizeof(BlockQ8_0);
    const size_t rb = i * sizeof(BlockQ8_0);
    MovePiece<kToGroup, 2>(from, to, rb + offsetof(BlockQ8_0, d), gb + 2 * r);
    for (size_t p = 0; p < 4; ++p) {
      MovePiece<kToGroup, 8>(from, to, rb + offsetof(BlockQ8_0, qs) + 8 * p, gb + kRows8Q8QsOffset + 64 * p + 8 * r);
    }
  }
}

// The mover of a type whose kRows8 form moves each row's pieces (Q8_0 and the K-quants; else nullptr).
using MoveRowFn = void (*)(int64_t nb, int r, const uint8_t* from, uint8_t* to);
MoveRowFn RowMover(GgmlType type, bool to_group) {
  switch (type) {
    case GgmlType::kQ8_0:
      return to_group ? MoveQ8_0Row<true> : MoveQ8_0Row<false>;
    case GgmlType::kQ4_K:
      return to_group ? MoveQ4KRow<BlockQ4K, true> : MoveQ4KRow<BlockQ4K, false>;
    case GgmlType::kQ5_K:
      return to_group ? MoveQ4KRow<BlockQ5K, true> : MoveQ4KRow<BlockQ5K, false>;
    case GgmlType::kQ6_K:
      return to_group ? MoveQ6KRow<true> : MoveQ6KRow<false>;
    default:
      return nullptr;
  }
}

}  // namespace

bool HasRows8Layout(GgmlType type) {
  return type == GgmlType::kQ4_0 || type == GgmlType::kQ5_0 || type == GgmlType::kQ8_0 || type == GgmlType::kIQ4_NL ||
         type == GgmlType::kQ4_K || type == GgmlType::kQ5_K || type == GgmlType::kQ6_K;
}

void RepackRows8(GgmlType type, int64_t n, int64_t n_rows, uint8_t* data) {
  const size_t row_bytes = RowSize(type, n);
  if (const MoveRowFn move = RowMover(type, true)) {
    std::vector<uint8_t> rows(kRows8Group * row_bytes);
    for (int64_t r0 = 0; r0 < n_rows; r0 += kRows8Group) {
      uint8_t* group = data + static_cast<size_t>(r0) * row_bytes;
      std::memcpy(rows.data(), group, rows.size());
      for (int r = 0; r < kRows8Group; ++r)
        move(n / TypeTraits(type).block_size, r, rows.data() + r * row_bytes, group);
    }
    return;
  }
  const BlockParts p = Parts(type);
  const int64_t nb = n / kQK;
  std::vector<uint8_t> rows(kRows8Group * row_bytes);
  for (int64_t r0 = 0; r0 < n_rows; r0 += kRows8Group) {
    uint8_t* group = data + static_cast<size_t>(r0) * row_bytes;
    std::memcpy(rows.data(), group, rows.size());
    for (int64_t i = 0; i < nb; ++i) {
      PackBlock(p, rows.data(), row_bytes, i, group + static_cast<size_t>(i) * kRows8Group * p.bytes);
    }
  }
}

void UnpackRows8(GgmlType type, int64_t n, const uint8_t* group, uint8_t* rows) {
  for (int r = 0; r < kRows8Group; ++r) UnpackRow8(type, n, group, r, rows + r * RowSize(type, n));
}

void UnpackRow8(GgmlType type, int64_t n, const uint8_t* group, int r, uint8_t* row) {
  if (const MoveRowFn move = RowMover(type, false)) return move(n / TypeTraits(type).block_size, r, group, row);
  const int64_t nb = n / kQK;
  auto unpack = [&](auto block) {
    using Block = decltype(block);
    Block* out = reinterpret_cast<Block*>(row);
    for (int64_t i = 0; i < nb; ++i) out[i] = Rows8Block<Block>(group + i * kRows8Group * sizeof(Block), r);
  };
  switch (type) {
    case GgmlType::kQ4_0:
      return unpack(BlockQ4_0{});
    case GgmlType::kQ5_0:
      return unpack(BlockQ5_0{});
    default:  // kIQ4_NL
      return unpack(BlockIq4Nl{});
  }
}

}  // namespace isv
