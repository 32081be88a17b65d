// MeasureTriadBandwidth: a STREAM-like triad (a[i] = b[i] + s * c[i]) over large float arrays
// with the thread pool, the memory-bandwidth figure `bench` relates decode speed to (token
// generation reads every weight once per token, so bandwidth / model bytes is its roofline).
//
//   TriadResult r = MeasureTriadBandwidth(pool, size_t{1} << 30, 5);
//   printf("%.1f GB/s\n", r.best_gb_per_s);
//
// Counts 3 * array bytes per pass (two reads, one write), as STREAM does. The arrays are touched
// first by the threads that use them. Thread-safety: uses the pool (one caller at a time).
#pragma once

#include <cstddef>

#include "core/thread_pool.h"

namespace isv {

struct TriadResult {
  double best_gb_per_s = 0;  // fastest pass, 1e9 bytes per second
  double mean_gb_per_s = 0;  // mean over the passes after the first
  size_t bytes_per_pass = 0;
  int passes = 0;
};

// total_bytes: the three arrays together (rounded down to whole floats); passes >= 2 (the first
// one warms up and only counts towards best). huge_pages: advise the arrays for transparent huge
// pages, as the model's weights are by default (GgufMemory::kHugePages), so that the roofline is
// measured on the same kind of memory the weights stream from.
TriadResult MeasureTriadBandwidth(ThreadPool& pool, size_t total_bytes, int passes, bool huge_pages = false);

// Read-only bandwidth: the threads sum one array of total_bytes (bytes_per_pass = the array). Decode
// only reads the weights, and reads alone run faster than the triad's two reads and a write (on the
// development EPYC 38-44 vs 35-40 GB/s), so `bench` reports the tg roofline against both.
TriadResult MeasureReadBandwidth(ThreadPool& pool, size_t total_bytes, int passes, bool huge_pages = false);

// One read-only pass, as MeasureReadBandwidth's, over `bytes` of memory the caller holds (e.g. a model's
// weights): GB/s (1e9 bytes per second). `bench` runs it between its tg repetitions, so that the roofline
// is the bus's pace in the same seconds and over the same pages as the decode's.
double ReadPassGbPerS(ThreadPool& pool, const void* data, size_t bytes);

}  // namespace isv
