// ConcurrencyLimit: a counting limit shared by every model's scheduler, bounding the sequences
// running in the whole server (INFERENCE_MAX_RUNNING); each scheduler also has its own limit
// (`parallel`). A scheduler that cannot take a unit leaves its request queued and tries again.
//
// Thread-safe (one atomic counter).
#pragma once

#include <atomic>

namespace isv {

class ConcurrencyLimit {
 public:
  // limit <= 0: unlimited.
  explicit ConcurrencyLimit(int limit) : limit_(limit) {}

  bool TryAcquire() {
    int cur = in_use_.load();
    do {
      if (limit_ > 0 && cur >= limit_) return false;
    } while (!in_use_.compare_exchange_weak(cur, cur + 1));
    return true;
  }
  void Release() { in_use_.fetch_sub(1); }
  int in_use() const { return in_use_.load(); }
  int limit() const { return limit_; }

 private:
  const int limit_;
  std::atomic<int> in_use_{0};
};

}  // namespace isv
