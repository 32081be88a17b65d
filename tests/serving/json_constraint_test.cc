#include "serving/json_constraint.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <random>

namespace isv {
namespace {

bool Accepts(std::string_view text) {
  JsonConstraint c;
  return c.Feed(text);
}

bool Complete(std::string_view text) {
  JsonConstraint c;
  return c.Feed(text) && c.done();
}

TEST(JsonConstraint, CompleteObjects) {
  for (const char* s :
       {"{}", R"({"a":1})", R"({"a": [1, -2.5e+3, 0, 0.0, true, false, null, "x\"y\\u00e9"]} )",
        R"({"nested": {"deep": [[], {}, [{"k": "v"}]]}, "n": -0})",
        "{\"utf8\": \"caf\xc3\xa9\"}"}) {
    EXPECT_TRUE(Complete(std::string(s).substr(0, std::string(s).find_last_of('}') + 1))) << s;
  }
}

TEST(JsonConstraint, PrefixesAreAcceptedButNotDone) {
  std::string s = R"({"a": [1, 2.5, {"b": "c"}], "d": true})";
  for (size_t n = 0; n < s.size(); ++n) {
    JsonConstraint c;
    EXPECT_TRUE(c.Feed(s.substr(0, n))) << n;
    EXPECT_FALSE(c.done()) << n;
  }
  EXPECT_TRUE(Complete(s));
}

TEST(JsonConstraint, Rejections) {
  for (const char* s :
       {"[1]", "\"str\"", "1", "{a:1}", "{\"a\" 1}", "{\"a\":}", "{\"a\":1,}", "{\"a\":01}",
        "{\"a\":1.}", "{\"a\":-}", "{\"a\":tru }", "{\"a\":\"\\x\"}", "{\"a\":\"\\u12g4\"}",
        "{\"a\":[1}", "{\"a\":1]", "{}x", "{} {}", "{\"a\":\"line\nbreak\"}", "{,}"}) {
    EXPECT_FALSE(Accepts(s)) << s;
  }
}

TEST(JsonConstraint, NumbersEndAtTheNextByte) {
  EXPECT_TRUE(Complete(R"({"a":12})"));
  EXPECT_TRUE(Complete(R"({"a":[12,3]})"));
  EXPECT_TRUE(Complete("{\"a\":1e5 }"));
  EXPECT_FALSE(Accepts("{\"a\":1e}"));
}

TEST(JsonConstraint, WhitespaceRunsAreBounded) {
  EXPECT_FALSE(Accepts(" {}"));  // the object starts at the first byte
  EXPECT_TRUE(Accepts("{" + std::string(16, ' ')));
  EXPECT_FALSE(Accepts("{" + std::string(17, ' ')));
  EXPECT_TRUE(Accepts("{\"a\": \"" + std::string(100, ' ')));  // inside strings spaces are content
}

TEST(JsonConstraint, DepthIsBounded) {
  std::string deep = "{\"a\":" + std::string(63, '[');
  EXPECT_TRUE(Accepts(deep));
  EXPECT_FALSE(Accepts(deep + "["));
}

TEST(JsonConstraint, AgreesWithNlohmannOnRandomDocuments) {
  // Random objects serialised by nlohmann are accepted and complete; each with one byte changed is
  // accepted only if nlohmann also parses the result as an object (or as a prefix we cannot judge).
  std::mt19937 rng(7);
  auto random_value = [&](auto&& self, int depth) -> nlohmann::json {
    switch (rng() % (depth > 3 ? 4 : 6)) {
      case 0:
        return static_cast<int>(rng() % 2000) - 1000;
      case 1:
        return std::ldexp(static_cast<double>(rng() % 1000), -static_cast<int>(rng() % 8));
      case 2:
        return std::string(rng() % 5, static_cast<char>('a' + rng() % 26));
      case 3:
        return rng() % 2 == 0;
      case 4: {
        nlohmann::json a = nlohmann::json::array();
        for (int i = rng() % 4; i > 0; --i) a.push_back(self(self, depth + 1));
        return a;
      }
      default: {
        nlohmann::json o = nlohmann::json::object();
        for (int i = rng() % 4; i > 0; --i)
          o[std::string(1, static_cast<char>('a' + rng() % 26))] = self(self, depth + 1);
        return o;
      }
    }
  };
  for (int t = 0; t < 300; ++t) {
    nlohmann::json o = nlohmann::json::object();
    for (int i = rng() % 4; i > 0; --i)
      o[std::string(1, static_cast<char>('k' + i))] = random_value(random_value, 0);
    std::string s = o.dump(rng() % 2 == 0 ? -1 : 1);
    ASSERT_TRUE(Complete(s)) << s;
    std::string m = s;
    m[rng() % m.size()] =
        "{}[]\",:0a -."[rng() % 13];  // no "e": grammar-valid 9e99999 overflows nlohmann
    if (Complete(m)) {
      auto parsed = nlohmann::json::parse(m, nullptr, false);
      EXPECT_TRUE(!parsed.is_discarded() && parsed.is_object()) << m;
    }
  }
}

}  // namespace
}  // namespace isv
