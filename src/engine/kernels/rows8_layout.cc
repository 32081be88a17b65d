#include "engine/kernels/rows8_layout.h"

#include <cstring>
#include <iterator>
#include <utility>
#include <vector>

#include "engine/kernels/blocks.h"
#include "engine/kernels/blocks_k.h"

namespace isv {
namespace {

// A run of pieces of a block that the kRows8 form moves (rows8_layout.h): `count` pieces of `bytes`
// bytes, piece k of row r's block at row_at + k * row_step in the block and at group_at + k * group_step +
// bytes * r in the group block (the 8 rows' pieces side by side).
struct PieceRun {
  size_t row_at, group_at, bytes, count = 1, row_step = 0, group_step = 0;
};

// 8-byte pieces of a row's bytes [row_at, row_at + 8 count), side by side for the 8 rows: 64 bytes per piece.
constexpr PieceRun Pieces8(size_t row_at, size_t group_at, size_t count) {
  return {row_at, group_at, 8, count, 8, 8 * kRows8Group};
}
// A row's bytes [row_at, row_at + count) one by one: byte p of row r at group_at + 8 p + r.
constexpr PieceRun Bytes(size_t row_at, size_t group_at, size_t count) {
  return {row_at, group_at, 1, count, 1, kRows8Group};
}

// The runs of each type, in the order of rows8_layout.h.
constexpr PieceRun kQ4_0Runs[] = {{offsetof(BlockQ4_0, d), 0, 2},
                                  Pieces8(offsetof(BlockQ4_0, qs), Rows8WordsOffset(false), 2)};
constexpr PieceRun kIq4NlRuns[] = {{offsetof(BlockIq4Nl, d), 0, 2},
                                   Pieces8(offsetof(BlockIq4Nl, qs), Rows8WordsOffset(false), 2)};
constexpr PieceRun kQ4_1Runs[] = {{offsetof(BlockQ4_1, d), 0, 2},
                                  {offsetof(BlockQ4_1, m), kRows8MinOffset, 2},
                                  Pieces8(offsetof(BlockQ4_1, qs), Rows8WordsOffset(false, true), 2)};
constexpr PieceRun kQ5_0Runs[] = {{offsetof(BlockQ5_0, d), 0, 2},
                                  Bytes(offsetof(BlockQ5_0, qh), Rows8QhOffset(false), 4),
                                  Pieces8(offsetof(BlockQ5_0, qs), Rows8WordsOffset(true), 2)};
constexpr PieceRun kQ5_1Runs[] = {{offsetof(BlockQ5_1, d), 0, 2},
                                  {offsetof(BlockQ5_1, m), kRows8MinOffset, 2},
                                  Bytes(offsetof(BlockQ5_1, qh), Rows8QhOffset(true), 4),
                                  Pieces8(offsetof(BlockQ5_1, qs), Rows8WordsOffset(true, true), 2)};
constexpr PieceRun kQ8_0Runs[] = {{offsetof(BlockQ8_0, d), 0, 2},
                                  Pieces8(offsetof(BlockQ8_0, qs), kRows8Q8QsOffset, 4)};
constexpr PieceRun kQ2KRuns[] = {{offsetof(BlockQ2K, d), 0, 2},
                                 {offsetof(BlockQ2K, dmin), kRows8Q2DminOffset, 2},
                                 Bytes(offsetof(BlockQ2K, scales), kRows8Q2ScalesOffset, sizeof(BlockQ2K::scales)),
                                 Pieces8(offsetof(BlockQ2K, qs), kRows8Q2QsOffset, sizeof(BlockQ2K::qs) / 8)};
constexpr PieceRun kQ3KRuns[] = {{offsetof(BlockQ3K, d), 0, 2},
                                 Bytes(offsetof(BlockQ3K, scales), kRows8Q3ScalesOffset, kKScaleBytes),
                                 Pieces8(offsetof(BlockQ3K, hmask), kRows8Q3HmaskOffset, sizeof(BlockQ3K::hmask) / 8),
                                 Pieces8(offsetof(BlockQ3K, qs), kRows8Q3QsOffset, sizeof(BlockQ3K::qs) / 8)};
constexpr PieceRun kQ4KRuns[] = {{offsetof(BlockQ4K, d), 0, 2},
                                 {offsetof(BlockQ4K, dmin), kRows8KDminOffset, 2},
                                 Bytes(offsetof(BlockQ4K, scales), kRows8KScalesOffset, kKScaleBytes),
                                 Pieces8(offsetof(BlockQ4K, qs), kRows8KQsOffset, sizeof(BlockQ4K::qs) / 8)};
constexpr PieceRun kQ5KRuns[] = {{offsetof(BlockQ5K, d), 0, 2},
                                 {offsetof(BlockQ5K, dmin), kRows8KDminOffset, 2},
                                 Bytes(offsetof(BlockQ5K, scales), kRows8KScalesOffset, kKScaleBytes),
                                 Pieces8(offsetof(BlockQ5K, qh), kRows8K5QhOffset, sizeof(BlockQ5K::qh) / 8),
                                 Pieces8(offsetof(BlockQ5K, qs), kRows8K5QsOffset, sizeof(BlockQ5K::qs) / 8)};
// Q6_K: for half h, m = 0..3 the 192 bytes of (ql 64h + 8m, ql 64h + 32 + 8m, qh 32h + 8m) at 144 + 192 (4h + m).
constexpr PieceRun Q6KRun(size_t row_at, size_t group_at) { return {row_at, group_at, 8, 4, 8, 3 * 8 * kRows8Group}; }
constexpr PieceRun kQ6KRuns[] = {{offsetof(BlockQ6K, d), 0, 2},
                                 Bytes(offsetof(BlockQ6K, scales), kRows8Q6ScalesOffset, sizeof(BlockQ6K::scales)),
                                 Q6KRun(offsetof(BlockQ6K, ql), kRows8Q6QuantsOffset),
                                 Q6KRun(offsetof(BlockQ6K, ql) + 32, kRows8Q6QuantsOffset + 64),
                                 Q6KRun(offsetof(BlockQ6K, qh), kRows8Q6QuantsOffset + 128),
                                 Q6KRun(offsetof(BlockQ6K, ql) + 64, kRows8Q6QuantsOffset + 768),
                                 Q6KRun(offsetof(BlockQ6K, ql) + 96, kRows8Q6QuantsOffset + 768 + 64),
                                 Q6KRun(offsetof(BlockQ6K, qh) + 32, kRows8Q6QuantsOffset + 768 + 128)};
constexpr PieceRun kIq4XsRuns[] = {
    {offsetof(BlockIq4Xs, d), 0, 2},
    Bytes(offsetof(BlockIq4Xs, scales_l), kRows8Iq4XsScalesLOffset, sizeof(BlockIq4Xs::scales_l)),
    Bytes(offsetof(BlockIq4Xs, scales_h), kRows8Iq4XsScalesHOffset, sizeof(BlockIq4Xs::scales_h)),
    Pieces8(offsetof(BlockIq4Xs, qs), kRows8Iq4XsQsOffset, sizeof(BlockIq4Xs::qs) / 8)};

// Every byte of a block in exactly one piece (the runs' offsets are checked by rows8_layout_test.cc).
template <size_t kN>
constexpr size_t RunBytes(const PieceRun (&runs)[kN]) {
  size_t bytes = 0;
  for (const PieceRun& run : runs) bytes += run.bytes * run.count;
  return bytes;
}
static_assert(RunBytes(kQ4_0Runs) == sizeof(BlockQ4_0) && RunBytes(kIq4NlRuns) == sizeof(BlockIq4Nl) &&
              RunBytes(kQ4_1Runs) == sizeof(BlockQ4_1) && RunBytes(kQ5_0Runs) == sizeof(BlockQ5_0) &&
              RunBytes(kQ5_1Runs) == sizeof(BlockQ5_1) && RunBytes(kQ8_0Runs) == sizeof(BlockQ8_0));
static_assert(RunBytes(kQ2KRuns) == sizeof(BlockQ2K) && RunBytes(kQ3KRuns) == sizeof(BlockQ3K) &&
              RunBytes(kQ4KRuns) == sizeof(BlockQ4K) && RunBytes(kQ5KRuns) == sizeof(BlockQ5K) &&
              RunBytes(kQ6KRuns) == sizeof(BlockQ6K) && RunBytes(kIq4XsRuns) == sizeof(BlockIq4Xs));

// Moves the run's pieces of row r in the block at rb / the group block at gb; kToGroup: from the row
// (at `from`) into the group block (at `to`), else back. Fixed sizes, so that the copies compile to plain
// moves.
template <bool kToGroup, size_t kBytes>
inline void MoveRun(const PieceRun& run, int r, const uint8_t* from, uint8_t* to, size_t rb, size_t gb) {
  for (size_t k = 0; k < run.count; ++k) {
    const size_t row_at = rb + run.row_at + k * run.row_step;
    const size_t group_at = gb + run.group_at + k * run.group_step + kBytes * r;
    if constexpr (kToGroup) {
      std::memcpy(to + group_at, from + row_at, kBytes);
    } else {
      std::memcpy(to + row_at, from + group_at, kBytes);
    }
  }
}

// Moves row r's pieces of one block, at rb in `from` / gb in `to` (kToGroup) or the other way round.
// kRuns: a type's runs, known at compile time so that every run unrolls into plain moves.
template <bool kToGroup, const auto& kRuns>
inline void MoveBlock(int r, const uint8_t* from, uint8_t* to, size_t rb, size_t gb) {
  [&]<size_t... kJ>(std::index_sequence<kJ...>) {
    (MoveRun<kToGroup, kRuns[kJ].bytes>(kRuns[kJ], r, from, to, rb, gb), ...);
  }
  (std::make_index_sequence<std::size(kRuns)>{});
}

// Row r of nb blocks between its bytes and the group's: kToGroup, from the row (at `from`) into the
// group's blocks (at `to`); else back.
template <bool kToGroup, const auto& kRuns, size_t kBlockBytes>
void MoveRow(int64_t nb, int r, const uint8_t* from, uint8_t* to) {
  for (int64_t i = 0; i < nb; ++i)
    MoveBlock<kToGroup, kRuns>(r, from, to, i * kBlockBytes, i * kRows8Group * kBlockBytes);
}

// The 8 rows at `rows` (row stride row_bytes) into the group at `group`, block by block (each group block
// written in one go).
template <const auto& kRuns, size_t kBlockBytes>
void PackGroup(int64_t nb, const uint8_t* rows, size_t row_bytes, uint8_t* group) {
  for (int64_t i = 0; i < nb; ++i) {
#pragma GCC unroll 8
    for (int r = 0; r < kRows8Group; ++r) {
      MoveBlock<true, kRuns>(r, rows, group, r * row_bytes + i * kBlockBytes, i * kRows8Group * kBlockBytes);
    }
  }
}

struct Movers {
  void (*pack_group)(int64_t nb, const uint8_t* rows, size_t row_bytes, uint8_t* group) = nullptr;
  void (*unpack_row)(int64_t nb, int r, const uint8_t* group, uint8_t* row) = nullptr;
};
template <const auto& kRuns, size_t kBlockBytes>
constexpr Movers kMovers = {PackGroup<kRuns, kBlockBytes>, MoveRow<false, kRuns, kBlockBytes>};

// The movers of a type with a kRows8 form (nullptr for the others).
Movers MoversOf(GgmlType type) {
  switch (type) {
    case GgmlType::kQ4_0:
      return kMovers<kQ4_0Runs, sizeof(BlockQ4_0)>;
    case GgmlType::kQ4_1:
      return kMovers<kQ4_1Runs, sizeof(BlockQ4_1)>;
    case GgmlType::kQ5_0:
      return kMovers<kQ5_0Runs, sizeof(BlockQ5_0)>;
    case GgmlType::kQ5_1:
      return kMovers<kQ5_1Runs, sizeof(BlockQ5_1)>;
    case GgmlType::kQ8_0:
      return kMovers<kQ8_0Runs, sizeof(BlockQ8_0)>;
    case GgmlType::kIQ4_NL:
      return kMovers<kIq4NlRuns, sizeof(BlockIq4Nl)>;
    case GgmlType::kQ2_K:
      return kMovers<kQ2KRuns, sizeof(BlockQ2K)>;
    case GgmlType::kQ3_K:
      return kMovers<kQ3KRuns, sizeof(BlockQ3K)>;
    case GgmlType::kQ4_K:
      return kMovers<kQ4KRuns, sizeof(BlockQ4K)>;
    case GgmlType::kQ5_K:
      return kMovers<kQ5KRuns, sizeof(BlockQ5K)>;
    case GgmlType::kQ6_K:
      return kMovers<kQ6KRuns, sizeof(BlockQ6K)>;
    case GgmlType::kIQ4_XS:
      return kMovers<kIq4XsRuns, sizeof(BlockIq4Xs)>;
    default:
      return {};
  }
}

}  // namespace

bool HasRows8Layout(GgmlType type) { return MoversOf(type).pack_group != nullptr; }

void RepackRows8(GgmlType type, int64_t n, int64_t n_rows, uint8_t* data) {
  const size_t row_bytes = RowSize(type, n);
  const int64_t nb = n / TypeTraits(type).block_size;
  const Movers movers = MoversOf(type);
  std::vector<uint8_t> rows(kRows8Group * row_bytes);
  for (int64_t r0 = 0; r0 < n_rows; r0 += kRows8Group) {
    uint8_t* group = data + static_cast<size_t>(r0) * row_bytes;
    std::memcpy(rows.data(), group, rows.size());
    movers.pack_group(nb, rows.data(), row_bytes, group);
  }
}

void UnpackRows8(GgmlType type, int64_t n, const uint8_t* group, uint8_t* rows) {
  for (int r = 0; r < kRows8Group; ++r) UnpackRow8(type, n, group, r, rows + r * RowSize(type, n));
}

void UnpackRow8(GgmlType type, int64_t n, const uint8_t* group, int r, uint8_t* row) {
  MoversOf(type).unpack_row(n / TypeTraits(type).block_size, r, group, row);
}

}  // namespace isv
