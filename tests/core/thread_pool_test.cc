#include "core/thread_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

namespace isv {
namespace {

TEST(ThreadPoolTest, RunsEveryThreadOnceAndReusesThem) {
  ThreadPool pool(3);
  for (int iter = 0; iter < 200; ++iter) {
    std::vector<std::atomic<int>> hits(3);
    pool.Run([&](int ith, int nth) {
      EXPECT_EQ(nth, 3);
      hits[ith].fetch_add(1);
    });
    for (auto& h : hits) ASSERT_EQ(h.load(), 1);
  }
}

TEST(ThreadPoolTest, ParallelForCoversRangeExactlyOnce) {
  ThreadPool pool(4);
  for (int64_t n : {0, 1, 3, 4, 5, 1000}) {
    std::vector<std::atomic<int>> seen(n);
    pool.ParallelFor(n, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) seen[i].fetch_add(1);
    });
    for (int64_t i = 0; i < n; ++i) ASSERT_EQ(seen[i].load(), 1) << "n=" << n << " i=" << i;
  }
}

TEST(ThreadPoolTest, RunChunksRunsEveryChunkExactlyOnce) {
  ThreadPool pool(3);
  for (int iter = 0; iter < 300; ++iter) {
    const int64_t n = iter % 37;
    std::vector<std::atomic<int>> seen(n);
    pool.RunChunks(n, [&](int64_t c) { seen[c].fetch_add(1); });
    for (int64_t i = 0; i < n; ++i) ASSERT_EQ(seen[i].load(), 1) << "iter=" << iter << " chunk=" << i;
  }
}

TEST(ThreadPoolTest, OversubscribedPoolStillCompletesEveryJob) {
  // More threads than cores: workers are often descheduled while the caller runs the job, which
  // exercises the path where the caller claims all chunks itself and sleeping workers are woken.
  ThreadPool pool(2 * ThreadPool::DefaultThreadCount() + 2);
  std::atomic<int64_t> total{0};
  for (int iter = 0; iter < 2000; ++iter) {
    pool.RunChunks(5, [&](int64_t c) { total.fetch_add(c + 1); });
    if (iter % 500 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));  // let workers sleep
  }
  EXPECT_EQ(total.load(), 2000 * 15);
}

}  // namespace
}  // namespace isv
