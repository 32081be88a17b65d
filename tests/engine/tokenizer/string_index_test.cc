// StringIndex against std::map as the oracle: random keys (with collisions of prefixes, empty and
// binary keys), both duplicate policies, lookups of joined pieces, absent keys, growth from empty.
#include "engine/tokenizer/string_index.h"

#include <map>
#include <random>
#include <string>

#include <gtest/gtest.h>

namespace isv {
namespace {

std::string RandomKey(std::mt19937& rng) {
  std::uniform_int_distribution<int> len(0, 12), byte(0, 5);
  std::string s(static_cast<size_t>(len(rng)), '\0');
  for (char& c : s) c = "ab \n\0\xc4"[byte(rng)];  // few letters: many shared prefixes and repeats
  return s;
}

TEST(StringIndex, MatchesAMapUnderBothDuplicatePolicies) {
  for (StringIndex::OnDuplicate dup : {StringIndex::OnDuplicate::kKeepFirst, StringIndex::OnDuplicate::kKeepLast}) {
    std::mt19937 rng(7);
    StringIndex index;
    std::map<std::string, int32_t> want;
    for (int32_t i = 0; i < 20000; ++i) {  // grows from empty through many rehashes
      const std::string key = RandomKey(rng);
      index.Insert(key, i, dup);
      if (dup == StringIndex::OnDuplicate::kKeepLast || want.count(key) == 0) want[key] = i;
    }
    EXPECT_EQ(index.size(), want.size());
    for (const auto& [key, value] : want) ASSERT_EQ(index.Find(key), value) << '"' << key << '"';
    for (int i = 0; i < 2000; ++i) {
      const std::string probe = RandomKey(rng) + "zz";  // never inserted: no 'z' in keys
      ASSERT_EQ(index.Find(probe), -1);
    }
  }
}

TEST(StringIndex, FindsJoinedPiecesWithoutBuildingThem) {
  StringIndex index;
  index.Reserve(4, 32);
  index.Insert("a b", 0, StringIndex::OnDuplicate::kKeepFirst);
  index.Insert("ab c", 1, StringIndex::OnDuplicate::kKeepFirst);
  index.Insert(" ", 2, StringIndex::OnDuplicate::kKeepFirst);
  index.Insert("", 3, StringIndex::OnDuplicate::kKeepFirst);
  EXPECT_EQ(index.Find("a", ' ', "b"), 0);
  EXPECT_EQ(index.Find("ab", ' ', "c"), 1);
  EXPECT_EQ(index.Find("a", ' ', "bc"), -1);  // same characters, split elsewhere: "a bc"
  EXPECT_EQ(index.Find("", ' ', ""), 2);
  EXPECT_EQ(index.Find("a", '\n', "b"), -1);
  EXPECT_EQ(index.Find(""), 3);
  EXPECT_EQ(index.Find("a b"), 0);
}

TEST(StringIndex, EmptyIndexFindsNothing) {
  const StringIndex index;
  EXPECT_EQ(index.Find("x"), -1);
  EXPECT_EQ(index.Find("x", ' ', "y"), -1);
  EXPECT_EQ(index.size(), 0u);
}

}  // namespace
}  // namespace isv
