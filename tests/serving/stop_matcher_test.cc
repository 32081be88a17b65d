#include "serving/stop_matcher.h"

#include <gtest/gtest.h>

namespace isv {
namespace {

// Feeds `pieces` and returns everything emitted (incl. the final flush).
std::string Feed(StopMatcher& m, const std::vector<std::string>& pieces) {
  std::string out;
  for (const std::string& p : pieces) {
    out += m.Push(p);
    if (m.stopped()) return out;
  }
  return out + m.Flush();
}

TEST(StopMatcher, NoStopsPassesEverythingThrough) {
  StopMatcher m({});
  EXPECT_EQ(m.Push("hello "), "hello ");
  EXPECT_EQ(m.Push("world"), "world");
  EXPECT_FALSE(m.stopped());
  EXPECT_EQ(m.Flush(), "");
}

TEST(StopMatcher, StopInsideOnePieceCutsBeforeIt) {
  StopMatcher m({"END"});
  EXPECT_EQ(m.Push("abcENDxyz"), "abc");
  EXPECT_TRUE(m.stopped());
  EXPECT_EQ(m.Push("more"), "");
  EXPECT_EQ(m.Flush(), "");
}

TEST(StopMatcher, StopSplitAcrossPiecesIsHeldBackThenDropped) {
  StopMatcher m({"</s>"});
  EXPECT_EQ(m.Push("Hello <"), "Hello ");  // "<" may start the stop string
  EXPECT_EQ(m.Push("/"), "");
  EXPECT_EQ(m.Push("s> tail"), "");
  EXPECT_TRUE(m.stopped());
}

TEST(StopMatcher, FalseStartIsReleased) {
  StopMatcher m({"</s>"});
  EXPECT_EQ(m.Push("a <"), "a ");
  EXPECT_EQ(m.Push("b"), "<b");
  EXPECT_FALSE(m.stopped());
}

TEST(StopMatcher, HeldTextIsFlushedAtTheEnd) {
  StopMatcher m({"\n\n"});
  EXPECT_EQ(Feed(m, {"line one", "\n"}), "line one\n");
  EXPECT_FALSE(m.stopped());
}

TEST(StopMatcher, EarliestOfSeveralStopsWins) {
  StopMatcher m({"world", "lo w"});
  EXPECT_EQ(Feed(m, {"hel", "lo ", "world"}), "hel");
  EXPECT_TRUE(m.stopped());
}

TEST(StopMatcher, LongestPossiblePrefixIsHeld) {
  // "aab" ends with "aa"/"a"... only "ab" is a prefix of "abc": hold 2 bytes.
  StopMatcher m({"abc"});
  EXPECT_EQ(m.Push("xxab"), "xx");
  EXPECT_EQ(m.Push("d"), "abd");
}

TEST(StopMatcher, EmptyStopStringsAreIgnored) {
  StopMatcher m({"", "zz"});
  EXPECT_EQ(Feed(m, {"abc"}), "abc");
  EXPECT_FALSE(m.stopped());
}

TEST(StopMatcher, MultiByteStopStrings) {
  StopMatcher m({"。"});  // 3 UTF-8 bytes arriving one at a time
  std::string s = "。";
  EXPECT_EQ(m.Push("文"), "文");
  EXPECT_EQ(m.Push(s.substr(0, 1)), "");
  EXPECT_EQ(m.Push(s.substr(1, 1)), "");
  EXPECT_EQ(m.Push(s.substr(2, 1)), "");
  EXPECT_TRUE(m.stopped());
}

}  // namespace
}  // namespace isv
