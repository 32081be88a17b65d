// ThreadPool: a persistent set of worker threads for the engine's parallel loops.
//
// Threads are created once and reused for every operation (no per-op thread creation). Run() hands
// one function to all threads, ggml-style: each call gets its thread index `ith` in [0, nth) and
// the caller's own thread takes part as ith == 0. Run() returns when every thread has finished.
// Workers spin briefly before sleeping so that back-to-back operations (one per matmul) stay cheap.
//
// Thread-safety: Run() must not be called concurrently from two threads, nor from inside fn.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace isv {

class ThreadPool {
 public:
  // n_threads: total threads including the caller; <= 0 means the number of online cores.
  explicit ThreadPool(int n_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return n_threads_; }

  // Runs fn(ith, nth) once on each of the nth = size() threads; returns when all are done.
  void Run(const std::function<void(int ith, int nth)>& fn);

  // Splits [0, n) into size() contiguous ranges and calls fn(begin, end) for each non-empty one.
  void ParallelFor(int64_t n, const std::function<void(int64_t begin, int64_t end)>& fn);

  // Number of cores the OS reports online (at least 1).
  static int DefaultThreadCount();

 private:
  void WorkerLoop(int ith);

  int n_threads_;
  std::vector<std::thread> workers_;
  const std::function<void(int, int)>* job_ = nullptr;
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> pending_{0};
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::condition_variable wake_;
  std::condition_variable done_;
};

// Returns the range [begin, end) of [0, n) that thread ith of nth should handle.
inline void SplitRange(int64_t n, int ith, int nth, int64_t* begin, int64_t* end) {
  const int64_t per = (n + nth - 1) / nth;
  *begin = std::min<int64_t>(n, per * ith);
  *end = std::min<int64_t>(n, *begin + per);
}

}  // namespace isv
