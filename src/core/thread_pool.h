// ThreadPool: a persistent set of worker threads for the engine's parallel loops.
//
// Threads are created once and reused for every operation (no per-op thread creation). Work is
// handed out as numbered chunks that any thread claims from one shared counter (RunChunks); the
// caller's own thread takes part. Because chunks are claimed dynamically, a worker that the OS has
// not scheduled (other processes on the cores) simply gets no chunks: the caller does the work and
// returns without waiting for it, so `-t 2` on a busy machine degrades towards `-t 1` instead of
// stalling on a barrier. Idle workers spin briefly, then yield, then sleep on a futex (the caller
// only pays for a wake-up syscall when a worker actually sleeps).
//
// Thread-safety: Run()/RunChunks()/ParallelFor() must not be called concurrently from two threads,
// nor from inside a job.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <functional>
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

  // Calls fn(chunk) exactly once for every chunk in [0, n_chunks), on any of the pool's threads
  // (the caller included); returns when all calls have returned. REQUIRES: n_chunks < 2^32 - 1.
  void RunChunks(int64_t n_chunks, const std::function<void(int64_t chunk)>& fn);

  // Runs fn(ith, nth) once for each ith in [0, nth), nth = size(); returns when all are done.
  // Each ith runs exactly once, but not necessarily on a distinct thread (use ith to pick
  // per-slot scratch memory, never thread-local state).
  void Run(const std::function<void(int ith, int nth)>& fn);

  // Splits [0, n) into size() contiguous ranges and calls fn(begin, end) for each non-empty one.
  void ParallelFor(int64_t n, const std::function<void(int64_t begin, int64_t end)>& fn);

  // Number of cores the OS reports online (at least 1).
  static int DefaultThreadCount();

 private:
  void WorkerLoop();
  // Claims and runs chunks of job generation `gen` until none is left or the job has moved on.
  void Participate(uint32_t gen);

  int n_threads_;
  std::vector<std::thread> workers_;
  uint32_t generation_ = 0;  // written by the caller only
  // (generation << 32) | next unclaimed chunk. Its own cache line: every claim writes it.
  alignas(64) std::atomic<uint64_t> word_{0};
  alignas(64) std::atomic<int64_t> done_{0};  // chunks finished in the current generation
  alignas(64) std::atomic<const std::function<void(int64_t)>*> job_{nullptr};
  std::atomic<int64_t> n_chunks_{0};
  std::atomic<bool> stop_{false};
  std::atomic<int> sleepers_{0};
  std::atomic<uint32_t> wake_seq_{0};
};

// Returns the range [begin, end) of [0, n) that thread ith of nth should handle.
inline void SplitRange(int64_t n, int ith, int nth, int64_t* begin, int64_t* end) {
  const int64_t per = (n + nth - 1) / nth;
  *begin = std::min<int64_t>(n, per * ith);
  *end = std::min<int64_t>(n, *begin + per);
}

}  // namespace isv
