// Process resource figures for benchmarks: peak resident memory and file sizes.
// Thread-safe (reads the kernel's counters).
#pragma once

#include <cstdint>
#include <string>

namespace isv {

// Peak resident set size of this process in bytes (VmHWM from /proc/self/status, else
// getrusage's ru_maxrss); 0 when neither is available.
int64_t PeakRssBytes();

// Size of the file at `path` in bytes, or -1 when it cannot be stat'ed.
int64_t FileSizeBytes(const std::string& path);

}  // namespace isv
