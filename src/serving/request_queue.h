// RequestQueue: the bounded waiting line of a model's scheduler. Lower priority numbers are more
// urgent (the seed's default is 2); equal priorities are served first come, first served; a
// waiting request gains one priority level per `aging_s` seconds waited, so a low priority is
// never starved by a steady stream of urgent ones.
//
// Times are passed in, so the ordering is testable without sleeping. Not synchronised: the
// scheduler guards it with its own mutex. T is copyable (the scheduler stores shared pointers).
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <functional>
#include <map>
#include <vector>

namespace isv {

template <typename T>
class RequestQueue {
 public:
  using Clock = std::chrono::steady_clock;

  RequestQueue(int max_size, double aging_s) : max_size_(max_size), aging_s_(aging_s) {}

  // Adds an item; false (nothing added) when the queue already holds max_size + slack items
  // (slack: items about to leave at once, e.g. for free slots).
  bool Push(T item, int priority, Clock::time_point now, int slack = 0) {
    if (static_cast<int>(items_.size()) >= max_size_ + std::max(0, slack)) return false;
    items_.push_back({std::move(item), priority, now, next_seq_++});
    return true;
  }

  // Index of the item to serve next at time `now`, or -1 when empty.
  int Best(Clock::time_point now) const {
    int best = -1;
    double best_prio = 0;
    for (int i = 0; i < static_cast<int>(items_.size()); ++i) {
      const double p = EffectivePriority(items_[i], now);
      if (best < 0 || p < best_prio || (p == best_prio && items_[i].seq < items_[best].seq)) {
        best = i;
        best_prio = p;
      }
    }
    return best;
  }
  const T& at(int i) const { return items_[i].item; }
  Clock::time_point enqueued_at(int i) const { return items_[i].enqueued; }
  T Take(int i) {
    T item = std::move(items_[i].item);
    items_.erase(items_.begin() + i);
    return item;
  }

  // Removes the items for which drop(item, enqueued) is true, passing each to `on_drop`.
  void RemoveIf(const std::function<bool(const T&, Clock::time_point)>& drop, const std::function<void(T&)>& on_drop) {
    for (size_t i = 0; i < items_.size();) {
      if (drop(items_[i].item, items_[i].enqueued)) {
        T item = std::move(items_[i].item);
        items_.erase(items_.begin() + static_cast<std::ptrdiff_t>(i));
        on_drop(item);
      } else {
        ++i;
      }
    }
  }

  int size() const { return static_cast<int>(items_.size()); }
  bool empty() const { return items_.empty(); }
  int max_size() const { return max_size_; }
  // Waiting items per (declared) priority.
  std::map<int, int> DepthByPriority() const {
    std::map<int, int> depth;
    for (const Item& it : items_) ++depth[it.priority];
    return depth;
  }

 private:
  struct Item {
    T item;
    int priority;
    Clock::time_point enqueued;
    uint64_t seq;
  };
  double EffectivePriority(const Item& it, Clock::time_point now) const {
    if (aging_s_ <= 0) return it.priority;
    const double waited = std::chrono::duration<double>(now - it.enqueued).count();
    return it.priority - std::floor(waited / aging_s_);
  }

  int max_size_;
  double aging_s_;
  uint64_t next_seq_ = 0;
  std::vector<Item> items_;
};

}  // namespace isv
