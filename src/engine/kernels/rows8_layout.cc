#include "engine/kernels/rows8_layout.h"

#include <cstring>
#include <type_traits>
#include <vector>

#include "engine/kernels/blocks.h"
#include "engine/kernels/blocks_k.h"

namespace isv {
namespace {

// The nibble types' blocks (BlockQ4_0, BlockQ4_1, BlockQ5_0, BlockQ5_1, BlockIq4Nl): d first, then the
// min m (Q4_1, Q5_1) and the 4 bytes of fifth bits qh (Q5_0, Q5_1), the 16 bytes of nibbles qs last.
template <typename Block>
constexpr bool kBlockHasMin = requires(Block b) {
  b.m;
};
template <typename Block>
constexpr bool kBlockHasQh = requires(Block b) {
  b.qh;
};

// Block i of the 8 rows at `rows` (row stride row_bytes) into the group block at g (rows8_layout.h).
template <typename Block>
void PackBlock(const uint8_t* rows, size_t row_bytes, int64_t i, uint8_t* g) {
  constexpr bool kMin = kBlockHasMin<Block>, kQh = kBlockHasQh<Block>;
  for (int r = 0; r < kRows8Group; ++r) {
    Block b;
    std::memcpy(&b, rows + static_cast<size_t>(r) * row_bytes + static_cast<size_t>(i) * sizeof(Block), sizeof(b));
    std::memcpy(g + 2 * r, &b.d, 2);
    if constexpr (kMin) std::memcpy(g + kRows8MinOffset + 2 * r, &b.m, 2);
    if constexpr (kQh) std::memcpy(g + Rows8QhOffset(kMin) + 4 * r, b.qh, 4);
    // Row r's nibble bytes 0-7 at 8 r, its bytes 8-15 at 64 + 8 r.
    uint8_t* words = g + Rows8WordsOffset(kQh, kMin);
    std::memcpy(words + 8 * r, b.qs, 8);
    std::memcpy(words + 64 + 8 * r, b.qs + 8, 8);
  }
}

// Row r's block as the file stores it, from the group block at gb.
template <typename Block>
Block Rows8Block(const uint8_t* gb, int r) {
  constexpr bool kMin = kBlockHasMin<Block>, kQh = kBlockHasQh<Block>;
  Block b;
  std::memcpy(&b.d, gb + 2 * r, 2);
  if constexpr (kMin) std::memcpy(&b.m, gb + kRows8MinOffset + 2 * r, 2);
  if constexpr (kQh) std::memcpy(b.qh, gb + Rows8QhOffset(kMin) + 4 * r, 4);
  const uint8_t* words = gb + Rows8WordsOffset(kQh, kMin);
  std::memcpy(b.qs, words + 8 * r, 8);
  std::memcpy(b.qs + 8, words + 64 + 8 * r, 8);
  return b;
}

// fn(Block{}) with the block type of a nibble type.
template <typename Fn>
void WithNibbleBlock(GgmlType type, Fn&& fn) {
  switch (type) {
    case GgmlType::kQ4_0:
      return fn(BlockQ4_0{});
    case GgmlType::kQ4_1:
      return fn(BlockQ4_1{});
    case GgmlType::kQ5_0:
      return fn(BlockQ5_0{});
    case GgmlType::kQ5_1:
      return fn(BlockQ5_1{});
    default:  // kIQ4_NL
      return fn(BlockIq4Nl{});
  }
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

// Q2_K (rows8_layout.h), as MoveQ4KRow.
template <bool kToGroup>
void MoveQ2KRow(int64_t nb, int r, const uint8_t* from, uint8_t* to) {
  for (int64_t i = 0; i < nb; ++i) {
    const size_t gb = i * kRows8Group * sizeof(BlockQ2K);
    const size_t rb = i * sizeof(BlockQ2K);
    MovePiece<kToGroup, 2>(from, to, rb + offsetof(BlockQ2K, d), gb + 2 * r);
    MovePiece<kToGroup, 2>(from, to, rb + offsetof(BlockQ2K, dmin), gb + kRows8Q2DminOffset + 2 * r);
    for (size_t j = 0; j < sizeof(BlockQ2K::scales); ++j) {
      MovePiece<kToGroup, 1>(from, to, rb + offsetof(BlockQ2K, scales) + j,
                             gb + kRows8Q2ScalesOffset + kRows8Group * j + r);
    }
    for (size_t q = 0; q < sizeof(BlockQ2K::qs); q += 8) {  // h = q / 32, m = q % 32 / 8
      MovePiece<kToGroup, 8>(from, to, rb + offsetof(BlockQ2K, qs) + q, gb + kRows8Q2QsOffset + 8 * q + 8 * r);
    }
  }
}

// Q3_K (rows8_layout.h), as MoveQ4KRow.
template <bool kToGroup>
void MoveQ3KRow(int64_t nb, int r, const uint8_t* from, uint8_t* to) {
  for (int64_t i = 0; i < nb; ++i) {
    const size_t gb = i * kRows8Group * sizeof(BlockQ3K);
    const size_t rb = i * sizeof(BlockQ3K);
    MovePiece<kToGroup, 2>(from, to, rb + offsetof(BlockQ3K, d), gb + 2 * r);
    for (size_t p = 0; p < kKScaleBytes; ++p) {
      MovePiece<kToGroup, 1>(from, to, rb + offsetof(BlockQ3K, scales) + p,
                             gb + kRows8Q3ScalesOffset + kRows8Group * p + r);
    }
    for (size_t q = 0; q < sizeof(BlockQ3K::hmask); q += 8) {  // m = q / 8
      MovePiece<kToGroup, 8>(from, to, rb + offsetof(BlockQ3K, hmask) + q, gb + kRows8Q3HmaskOffset + 8 * q + 8 * r);
    }
    for (size_t q = 0; q < sizeof(BlockQ3K::qs); q += 8) {  // h = q / 32, m = q % 32 / 8
      MovePiece<kToGroup, 8>(from, to, rb + offsetof(BlockQ3K, qs) + q, gb + kRows8Q3QsOffset + 8 * q + 8 * r);
    }
  }
}

// IQ4_XS (rows8_layout.h), as MoveQ4KRow.
template <bool kToGroup>
void MoveIq4XsRow(int64_t nb, int r, const uint8_t* from, uint8_t* to) {
  for (int64_t i = 0; i < nb; ++i) {
    const size_t gb = i * kRows8Group * sizeof(BlockIq4Xs);
    const size_t rb = i * sizeof(BlockIq4Xs);
    MovePiece<kToGroup, 2>(from, to, rb + offsetof(BlockIq4Xs, d), gb + 2 * r);
    for (size_t q = 0; q < sizeof(BlockIq4Xs::scales_l); ++q) {
      MovePiece<kToGroup, 1>(from, to, rb + offsetof(BlockIq4Xs, scales_l) + q,
                             gb + kRows8Iq4XsScalesLOffset + kRows8Group * q + r);
    }
    for (size_t p = 0; p < sizeof(BlockIq4Xs::scales_h); ++p) {
      MovePiece<kToGroup, 1>(from, to, rb + offsetof(BlockIq4Xs, scales_h) + p,
                             gb + kRows8Iq4XsScalesHOffset + kRows8Group * p + r);
    }
    for (size_t q = 0; q < sizeof(BlockIq4Xs::qs); q += 8) {  // sub-block q / 16, m = q % 16 / 8
      MovePiece<kToGroup, 8>(from, to, rb + offsetof(BlockIq4Xs, qs) + q, gb + kRows8Iq4XsQsOffset + 8 * q + 8 * r);
    }
  }
}

// The mover of a type whose kRows8 form moves each row's pieces (Q8_0, the K-quants and IQ4_XS; else
// nullptr).
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
    case GgmlType::kIQ4_XS:
      return to_group ? MoveIq4XsRow<true> : MoveIq4XsRow<false>;
    case GgmlType::kQ3_K:
      return to_group ? MoveQ3KRow<true> : MoveQ3KRow<false>;
    case GgmlType::kQ2_K:
      return to_group ? MoveQ2KRow<true> : MoveQ2KRow<false>;
    default:
      return nullptr;
  }
}

}  // namespace

bool HasRows8Layout(GgmlType type) {
  switch (type) {
    case GgmlType::kQ4_0:
    case GgmlType::kQ4_1:
    case GgmlType::kQ5_0:
    case GgmlType::kQ5_1:
    case GgmlType::kQ8_0:
    case GgmlType::kIQ4_NL:
    case GgmlType::kQ4_K:
    case GgmlType::kQ5_K:
    case GgmlType::kQ2_K:
    case GgmlType::kQ3_K:
    case GgmlType::kQ6_K:
    case GgmlType::kIQ4_XS:
      return true;
    default:
      return false;
  }
}

void RepackRows8(GgmlType type, int64_t n, int64_t n_rows, uint8_t* data) {
  const size_t row_bytes = RowSize(type, n);
  const int64_t nb = n / TypeTraits(type).block_size;
  std::vector<uint8_t> rows(kRows8Group * row_bytes);
  const MoveRowFn move = RowMover(type, true);
  for (int64_t r0 = 0; r0 < n_rows; r0 += kRows8Group) {
    uint8_t* group = data + static_cast<size_t>(r0) * row_bytes;
    std::memcpy(rows.data(), group, rows.size());
    if (move != nullptr) {
      for (int r = 0; r < kRows8Group; ++r) move(nb, r, rows.data() + r * row_bytes, group);
      continue;
    }
    WithNibbleBlock(type, [&](auto block) {
      using Block = decltype(block);
      for (int64_t i = 0; i < nb; ++i) {
        PackBlock<Block>(rows.data(), row_bytes, i, group + static_cast<size_t>(i) * kRows8Group * sizeof(Block));
      }
    });
  }
}

void UnpackRows8(GgmlType type, int64_t n, const uint8_t* group, uint8_t* rows) {
  for (int r = 0; r < kRows8Group; ++r) UnpackRow8(type, n, group, r, rows + r * RowSize(type, n));
}

void UnpackRow8(GgmlType type, int64_t n, const uint8_t* group, int r, uint8_t* row) {
  const int64_t nb = n / TypeTraits(type).block_size;
  if (const MoveRowFn move = RowMover(type, false)) return move(nb, r, group, row);
  WithNibbleBlock(type, [&](auto block) {
    using Block = decltype(block);
    Block* out = reinterpret_cast<Block*>(row);
    for (int64_t i = 0; i < nb; ++i) out[i] = Rows8Block<Block>(group + i * kRows8Group * sizeof(Block), r);
  });
}

}  // namespace isv
