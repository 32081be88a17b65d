#include "core/mem_bandwidth.h"

#include <vector>

#include <gtest/gtest.h>

#include "core/process_stats.h"

namespace isv {
namespace {

TEST(MemBandwidthTest, TriadReportsPlausibleBandwidth) {
  ThreadPool pool(2);
  for (bool huge_pages : {false, true}) {
    const TriadResult r = MeasureTriadBandwidth(pool, size_t{48} << 20, 3, huge_pages);
    EXPECT_EQ(r.passes, 3);
    EXPECT_EQ(r.bytes_per_pass, (size_t{48} << 20) / 12 * 12);
    // Any machine this runs on moves between 0.1 and 10000 GB/s.
    EXPECT_GT(r.best_gb_per_s, 0.1) << huge_pages;
    EXPECT_LT(r.best_gb_per_s, 10000.0) << huge_pages;
    EXPECT_LE(r.mean_gb_per_s, r.best_gb_per_s * 1.0000001) << huge_pages;
    const TriadResult read = MeasureReadBandwidth(pool, size_t{48} << 20, 3, huge_pages);
    EXPECT_EQ(read.passes, 3);
    EXPECT_EQ(read.bytes_per_pass, size_t{48} << 20);
    EXPECT_GT(read.best_gb_per_s, 0.1) << huge_pages;
    EXPECT_LT(read.best_gb_per_s, 10000.0) << huge_pages;
    EXPECT_LE(read.mean_gb_per_s, read.best_gb_per_s * 1.0000001) << huge_pages;
  }
}

TEST(ProcessStatsTest, PeakRssGrowsWithTouchedMemory) {
  const int64_t before = PeakRssBytes();
  ASSERT_GT(before, 0);
  std::vector<char> big(size_t{64} << 20, 1);
  volatile char sink = big[big.size() / 2];
  (void)sink;
  // The peak is at least what is resident now, and that includes the 64 MiB just written.
  EXPECT_GE(PeakRssBytes(), int64_t{64} << 20);
  EXPECT_GE(PeakRssBytes(), before);
  EXPECT_EQ(FileSizeBytes("/nonexistent/file"), -1);
}

}  // namespace
}  // namespace isv
