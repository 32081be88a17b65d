// RequestQueue ordering: priority (lower first), FIFO within a priority, aging, bound, removal.
#include "serving/request_queue.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace isv {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::seconds;

std::vector<std::string> Drain(RequestQueue<std::string>& q, Clock::time_point now) {
  std::vector<std::string> out;
  while (!q.empty()) out.push_back(q.Take(q.Best(now)));
  return out;
}

TEST(RequestQueueTest, PriorityThenArrivalOrder) {
  RequestQueue<std::string> q(10, /*aging_s=*/0);
  const Clock::time_point t0 = Clock::now();
  q.Push("a2", 2, t0);
  q.Push("b5", 5, t0);
  q.Push("c2", 2, t0);
  q.Push("d0", 0, t0);
  EXPECT_EQ(q.DepthByPriority(), (std::map<int, int>{{0, 1}, {2, 2}, {5, 1}}));
  EXPECT_EQ(Drain(q, t0), (std::vector<std::string>{"d0", "a2", "c2", "b5"}));
}

TEST(RequestQueueTest, AgingLetsAnOldLowPriorityRequestThrough) {
  RequestQueue<std::string> q(10, /*aging_s=*/10);
  const Clock::time_point t0 = Clock::now();
  q.Push("old-low", 5, t0);
  // 45 s later an urgent request arrives: the old one has gained 4 levels (effective 1), not 5.
  q.Push("new-urgent", 0, t0 + seconds(45));
  EXPECT_EQ(q.at(q.Best(t0 + seconds(45))), "new-urgent");
  // At 50 s it has gained 5 levels (effective 0) and arrived first: it goes first.
  EXPECT_EQ(q.at(q.Best(t0 + seconds(50))), "old-low");
}

TEST(RequestQueueTest, BoundAndRemoval) {
  RequestQueue<std::string> q(2, 0);
  const Clock::time_point t0 = Clock::now();
  EXPECT_TRUE(q.Push("a", 1, t0));
  EXPECT_TRUE(q.Push("b", 1, t0));
  EXPECT_FALSE(q.Push("c", 1, t0));
  std::vector<std::string> dropped;
  q.RemoveIf([](const std::string& s, Clock::time_point) { return s == "a"; },
             [&](std::string& s) { dropped.push_back(s); });
  EXPECT_EQ(dropped, (std::vector<std::string>{"a"}));
  EXPECT_EQ(q.size(), 1);
  EXPECT_TRUE(q.Push("c", 1, t0));
}

}  // namespace
}  // namespace isv
