#include "engine/kernels/rows8_layout.h"

#include <cstring>
#include <vector>

#include "engine/kernels/blocks.h"

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

// The row and nibble word of group word j (rows8_layout.h).
constexpr int WordRow(int j) { return j % kRows8Group; }
constexpr int WordOfRow(int j) { return 2 * (j / 16) + (j / 8) % 2; }

// Copies between block i of the 8 rows at `rows` (row stride row_bytes) and the group block at `g`:
// into g where kToGroup, else into the rows (the other side is only read).
template <bool kToGroup>
void CopyBlock(const BlockParts& p, uint8_t* rows, size_t row_bytes, int64_t i, uint8_t* g) {
  auto row_block = [&](int r) { return rows + static_cast<size_t>(r) * row_bytes + static_cast<size_t>(i) * p.bytes; };
  auto copy = [](uint8_t* group_part, uint8_t* row_part, size_t n) {
    if (kToGroup) {
      std::memcpy(group_part, row_part, n);
    } else {
      std::memcpy(row_part, group_part, n);
    }
  };
  uint8_t* at = g;
  for (int r = 0; r < kRows8Group; ++r) copy(at + 2 * r, row_block(r), 2);
  at += 2 * kRows8Group;
  if (p.has_qh) {
    for (int r = 0; r < kRows8Group; ++r) copy(at + 4 * r, row_block(r) + 2, 4);
    at += 4 * kRows8Group;
  }
  for (int j = 0; j < 4 * kRows8Group; ++j) copy(at + 4 * j, row_block(WordRow(j)) + p.qs + 4 * WordOfRow(j), 4);
}

}  // namespace

bool HasRows8Layout(GgmlType type) {
  return type == GgmlType::kQ4_0 || type == GgmlType::kQ5_0 || type == GgmlType::kIQ4_NL;
}

void RepackRows8(GgmlType type, int64_t n, int64_t n_rows, uint8_t* data) {
  const BlockParts p = Parts(type);
  const size_t row_bytes = RowSize(type, n);
  const int64_t nb = n / kQK;
  std::vector<uint8_t> rows(kRows8Group * row_bytes);
  for (int64_t r0 = 0; r0 < n_rows; r0 += kRows8Group) {
    uint8_t* group = data + static_cast<size_t>(r0) * row_bytes;
    std::memcpy(rows.data(), group, rows.size());
    for (int64_t i = 0; i < nb; ++i) {
      CopyBlock<true>(p, rows.data(), row_bytes, i, group + static_cast<size_t>(i) * kRows8Group * p.bytes);
    }
  }
}

void UnpackRows8(GgmlType type, int64_t n, const uint8_t* group, uint8_t* rows) {
  const BlockParts p = Parts(type);
  const size_t row_bytes = RowSize(type, n);
  const int64_t nb = n / kQK;
  for (int64_t i = 0; i < nb; ++i) {
    // CopyBlock<false> only reads the group block.
    CopyBlock<false>(p, rows, row_bytes, i,
                     const_cast<uint8_t*>(group) + static_cast<size_t>(i) * kRows8Group * p.bytes);
  }
}

}  // namespace isv
