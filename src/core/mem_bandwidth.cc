#include "core/mem_bandwidth.h"

#include <algorithm>
#include <chrono>
#include <memory>

namespace isv {

TriadResult MeasureTriadBandwidth(ThreadPool& pool, size_t total_bytes, int passes) {
  passes = std::max(passes, 2);
  const int64_t n = static_cast<int64_t>(total_bytes / (3 * sizeof(float)));
  // Not std::vector: value-initialization would touch every page from this thread.
  std::unique_ptr<float[]> a(new float[n]), b(new float[n]), c(new float[n]);
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
  TriadResult r;
  r.bytes_per_pass = static_cast<size_t>(n) * 3 * sizeof(float);
  r.passes = passes;
  double sum = 0;
  for (int p = 0; p < passes; ++p) {
    const float s = 0.5f + static_cast<float>(p);
    const auto t0 = std::chrono::steady_clock::now();
    pool.ParallelFor(n, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) pa[i] = pb[i] + s * pc[i];
    });
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double gbs = static_cast<double>(r.bytes_per_pass) / secs / 1e9;
    r.best_gb_per_s = std::max(r.best_gb_per_s, gbs);
    if (p > 0) sum += gbs;
  }
  r.mean_gb_per_s = sum / (passes - 1);
  // Keep the stores observable.
  volatile float sink = pa[n / 2];
  (void)sink;
  return r;
}

}  // namespace isv
