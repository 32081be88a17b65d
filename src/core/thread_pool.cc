#include "core/thread_pool.h"

#include <sched.h>

#if defined(__x86_64__)
#include <immintrin.h>
#define ISV_CPU_RELAX() _mm_pause()
#else
#define ISV_CPU_RELAX() std::this_thread::yield()
#endif

namespace isv {
namespace {

// Idle workers: ~tens of microseconds of pause-spinning (back-to-back matmuls of a decode step
// arrive well within that), then a bounded number of sched_yield() calls (which let other
// processes on the core run), then a futex sleep.
constexpr int kSpinIterations = 4096;
constexpr int kYieldIterations = 64;
// The caller waiting for the last chunks: shorter spin, then yield so a descheduled worker that
// holds a chunk can finish it on this core.
constexpr int kWaitSpinIterations = 2048;

// The chunk field while the caller publishes a generation's job: no chunk can be claimed.
constexpr uint64_t kPublishing = 0xFFFFFFFFu;

uint32_t GenerationOf(uint64_t word) { return static_cast<uint32_t>(word >> 32); }
int64_t ChunkOf(uint64_t word) { return static_cast<int64_t>(word & 0xFFFFFFFFu); }

}  // namespace

int ThreadPool::DefaultThreadCount() { return std::max(1u, std::thread::hardware_concurrency()); }

ThreadPool::ThreadPool(int n_threads) : n_threads_(n_threads > 0 ? n_threads : DefaultThreadCount()) {
  workers_.reserve(n_threads_ - 1);
  for (int i = 1; i < n_threads_; ++i) workers_.emplace_back([this] { WorkerLoop(); });
}

ThreadPool::~ThreadPool() {
  stop_.store(true, std::memory_order_seq_cst);
  // A new generation with no chunks releases spinners; the futex bump releases sleepers.
  word_.store(static_cast<uint64_t>(++generation_) << 32, std::memory_order_seq_cst);
  wake_seq_.fetch_add(1, std::memory_order_seq_cst);
  wake_seq_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::RunChunks(int64_t n_chunks, const std::function<void(int64_t)>& fn) {
  if (n_chunks <= 0) return;
  if (n_threads_ == 1 || n_chunks == 1) {
    for (int64_t c = 0; c < n_chunks; ++c) fn(c);
    return;
  }
  // Publish the job. First the new generation with the chunk field kPublishing: from here on no
  // claim of the previous generation can succeed (a worker that read the previous word may still
  // try one, and it must not pair that word with the job and chunk count stored next), and no
  // claim of the new one until the job is in place. No worker can still be inside the previous
  // generation's chunks (the previous call returned only after all of them were done), so the
  // plain stores below are safe; the store of the claimable word publishes them.
  const uint32_t gen = ++generation_;
  word_.store((static_cast<uint64_t>(gen) << 32) | kPublishing, std::memory_order_seq_cst);
  job_.store(&fn, std::memory_order_relaxed);
  n_chunks_.store(n_chunks, std::memory_order_relaxed);
  done_.store(0, std::memory_order_relaxed);
  word_.store(static_cast<uint64_t>(gen) << 32, std::memory_order_seq_cst);
  if (sleepers_.load(std::memory_order_seq_cst) > 0) {
    wake_seq_.fetch_add(1, std::memory_order_seq_cst);
    wake_seq_.notify_all();
  }
  Participate(gen);
  for (int i = 0; done_.load(std::memory_order_acquire) < n_chunks; ++i) {
    if (i < kWaitSpinIterations) {
      ISV_CPU_RELAX();
    } else {
      sched_yield();
    }
  }
}

void ThreadPool::Participate(uint32_t gen) {
  for (;;) {
    uint64_t w = word_.load(std::memory_order_acquire);
    if (GenerationOf(w) != gen) return;
    if (ChunkOf(w) == static_cast<int64_t>(kPublishing)) {  // the caller is storing the job
      ISV_CPU_RELAX();
      continue;
    }
    // Read before the claim: job and count are stored before the first claimable word of `gen`
    // and replaced only after the word left `gen` (RunChunks), so if the CAS below succeeds on a
    // word of `gen`, these are `gen`'s.
    const std::function<void(int64_t)>* job = job_.load(std::memory_order_relaxed);
    const int64_t n = n_chunks_.load(std::memory_order_relaxed);
    if (ChunkOf(w) >= n) return;
    if (!word_.compare_exchange_weak(w, w + 1, std::memory_order_acq_rel, std::memory_order_relaxed)) continue;
    (*job)(ChunkOf(w));
    done_.fetch_add(1, std::memory_order_release);
  }
}

void ThreadPool::Run(const std::function<void(int, int)>& fn) {
  const int nth = n_threads_;
  RunChunks(nth, [&](int64_t c) { fn(static_cast<int>(c), nth); });
}

void ThreadPool::ParallelFor(int64_t n, const std::function<void(int64_t, int64_t)>& fn) {
  const int nth = n_threads_;
  RunChunks(std::min<int64_t>(n, nth), [&](int64_t c) {
    int64_t begin, end;
    SplitRange(n, static_cast<int>(c), static_cast<int>(std::min<int64_t>(n, nth)), &begin, &end);
    if (begin < end) fn(begin, end);
  });
}

void ThreadPool::WorkerLoop() {
  uint32_t seen = 0;
  for (;;) {
    uint32_t gen = GenerationOf(word_.load(std::memory_order_acquire));
    for (int i = 0; gen == seen && i < kSpinIterations + kYieldIterations; ++i) {
      if (i < kSpinIterations) {
        ISV_CPU_RELAX();
      } else {
        sched_yield();
      }
      gen = GenerationOf(word_.load(std::memory_order_acquire));
    }
    while (gen == seen) {
      sleepers_.fetch_add(1, std::memory_order_seq_cst);
      const uint32_t ticket = wake_seq_.load(std::memory_order_seq_cst);
      gen = GenerationOf(word_.load(std::memory_order_seq_cst));
      if (gen == seen) wake_seq_.wait(ticket, std::memory_order_seq_cst);
      sleepers_.fetch_sub(1, std::memory_order_seq_cst);
      gen = GenerationOf(word_.load(std::memory_order_acquire));
    }
    seen = gen;
    if (stop_.load(std::memory_order_acquire)) return;
    Participate(gen);
  }
}

}  // namespace isv
