#include "core/mem_bandwidth.h"

#include <sys/mman.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <new>

namespace isv {
namespace {

// n floats in anonymous memory, untouched (not std::vector: value-initialization would touch every
// page from this thread), optionally advised for transparent huge pages.
class FloatArray {
 public:
  FloatArray(int64_t n, bool huge_pages) : bytes_(static_cast<size_t>(n) * sizeof(float)) {
    void* p = mmap(nullptr, bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::bad_alloc();
    if (huge_pages) madvise(p, bytes_, MADV_HUGEPAGE);
    data_ = static_cast<float*>(p);
  }
  ~FloatArray() { munmap(data_, bytes_); }
  FloatArray(const FloatArray&) = delete;
  FloatArray& operator=(const FloatArray&) = delete;
  float* get() const { return data_; }

 private:
  size_t bytes_;
  float* data_;
};

// Runs pass(p) for p < passes (at least 2) and times each: best over all, mean over all but the first.
template <typename Pass>
TriadResult TimePasses(int passes, size_t bytes_per_pass, Pass pass) {
  passes = std::max(passes, 2);
  TriadResult r;
  r.bytes_per_pass = bytes_per_pass;
  r.passes = passes;
  double sum = 0;
  for (int p = 0; p < passes; ++p) {
    const auto t0 = std::chrono::steady_clock::now();
    pass(p);
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double gbs = static_cast<double>(bytes_per_pass) / secs / 1e9;
    r.best_gb_per_s = std::max(r.best_gb_per_s, gbs);
    if (p > 0) sum += gbs;
  }
  r.mean_gb_per_s = sum / (passes - 1);
  return r;
}

// The threads sum the n_words 32-bit words at w (n_words % 4 == 0).
void ReadPass(ThreadPool& pool, const uint32_t* w, int64_t n_words) {
  std::atomic<uint32_t> sink{0};
  pool.ParallelFor(n_words / 4, [&](int64_t begin, int64_t end) {
    // Four independent integer chains over the bit patterns: the loop is bound by loads, not adds.
    uint32_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (int64_t i = begin; i < end; ++i) {
      s0 += w[4 * i];
      s1 += w[4 * i + 1];
      s2 += w[4 * i + 2];
      s3 += w[4 * i + 3];
    }
    sink.fetch_add(s0 ^ s1 ^ s2 ^ s3, std::memory_order_relaxed);
  });
}

}  // namespace

TriadResult MeasureTriadBandwidth(ThreadPool& pool, size_t total_bytes, int passes, bool huge_pages) {
  const int64_t n = std::max<int64_t>(1, static_cast<int64_t>(total_bytes / (3 * sizeof(float))));
  FloatArray a(n, huge_pages), b(n, huge_pages), c(n, huge_pages);
  float* pa = a.get();
  float* pb = b.get();
  float* pc = c.get();
  pool.ParallelFor(n, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      pa[i] = 0.0f;
      pb[i] = 1.0f;
      pc[i] = 2.0f;
    }
  });
  const TriadResult r = TimePasses(passes, static_cast<size_t>(n) * 3 * sizeof(float), [&](int p) {
    const float s = 0.5f + static_cast<float>(p);
    pool.ParallelFor(n, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) pa[i] = pb[i] + s * pc[i];
    });
  });
  // Keep the stores observable.
  volatile float sink = pa[n / 2];
  (void)sink;
  return r;
}

TriadResult MeasureReadBandwidth(ThreadPool& pool, size_t total_bytes, int passes, bool huge_pages) {
  const int64_t n = std::max<int64_t>(4, static_cast<int64_t>(total_bytes / sizeof(float))) / 4 * 4;
  FloatArray a(n, huge_pages);
  float* pa = a.get();
  pool.ParallelFor(n, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) pa[i] = static_cast<float>(i & 7);
  });
  return TimePasses(passes, static_cast<size_t>(n) * sizeof(float),
                    [&](int) { ReadPass(pool, reinterpret_cast<const uint32_t*>(pa), n); });
}

double ReadPassGbPerS(ThreadPool& pool, const void* data, size_t bytes) {
  const auto t0 = std::chrono::steady_clock::now();
  // Whole 16-byte groups of words from the first 4-byte boundary (the tail is left out of the count).
  const uintptr_t start = (reinterpret_cast<uintptr_t>(data) + 3) & ~uintptr_t{3};
  const int64_t n_words = static_cast<int64_t>((bytes - (start - reinterpret_cast<uintptr_t>(data))) / 16 * 4);
  ReadPass(pool, reinterpret_cast<const uint32_t*>(start), n_words);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return static_cast<double>(n_words) * 4 / secs / 1e9;
}

}  // namespace isv
