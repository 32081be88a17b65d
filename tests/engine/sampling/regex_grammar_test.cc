// JSON Schema `pattern`: the grammar accepts a JSON string literal exactly when std::regex
// (ECMAScript, the oracle) finds the pattern in its decoded value; over random ASCII strings that
// include the characters JSON must escape. UTF-8 and the refused constructs by hand.
#include "engine/sampling/regex_grammar.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <random>
#include <regex>

#include "engine/sampling/grammar.h"
#include "engine/sampling/json_schema_grammar.h"

namespace isv {
namespace {

using Json = nlohmann::ordered_json;

std::shared_ptr<const Grammar> PatternGrammar(const std::string& pattern) {
  StatusOr<std::string> gbnf = JsonSchemaToGbnf(Json{{"type", "string"}, {"pattern", pattern}});
  EXPECT_TRUE(gbnf.ok()) << gbnf.status().message();
  if (!gbnf.ok()) return nullptr;
  StatusOr<std::shared_ptr<const Grammar>> g = Grammar::Parse(*gbnf);
  EXPECT_TRUE(g.ok()) << g.status().message() << "\n" << *gbnf;
  return g.ok() ? *g : nullptr;
}

bool Accepts(const Grammar& g, const std::string& text) {
  GrammarMatcher m(g);
  return m.Feed(text) && m.can_end();
}

TEST(RegexGrammarTest, AgreesWithStdRegexOnRandomStrings) {
  const std::string alphabet = "abcx019.-_@ \"\\\n\t/";
  std::mt19937 rng(7);
  for (const char* pattern :
       {"^[a-c]+$", "^\\d{2,3}-[0-9]$", "ab|c", "^(ab|c)*$", "^[^a]\\w?$", "^a.b$", "^\"x", "^\\\\+$",
        "^[\\s/]+$", "x{2}$", "^$", "^[a-z0-9._-]{1,4}@[a-c]+\\.c$", "^(?:a|b\\.)+?x$", "[\"\\\\]", "^\\x41?\\u0062"}) {
    auto g = PatternGrammar(pattern);
    ASSERT_TRUE(g) << pattern;
    const std::regex re(pattern, std::regex::ECMAScript);
    int matched = 0;
    for (int i = 0; i < 3000; ++i) {
      std::string value;
      const int len = static_cast<int>(rng() % 8);
      for (int k = 0; k < len; ++k) value += alphabet[rng() % alphabet.size()];
      if (i % 3 == 0) value = std::string(i % 2 ? "ab" : "x") + value;  // more near-matches
      const bool want = std::regex_search(value, re);
      matched += want;
      EXPECT_EQ(Accepts(*g, Json(value).dump()), want) << pattern << " on " << Json(value).dump();
    }
    for (const char* value : {"a1@bc.c", "a_.-@a.c", "abcde@a.c", "ab.x", "aab.x", "b.x", "b.", "", "x",
                              "xx", "12-3", "123-45", "\\\\", "Ab", "b", "\"x1", " /\t"}) {
      const bool want = std::regex_search(std::string(value), re);
      matched += want;
      EXPECT_EQ(Accepts(*g, Json(value).dump()), want) << pattern << " on " << Json(value).dump();
    }
    EXPECT_GT(matched, 0) << pattern << ": the sample never matches; the test would prove little";
  }
}

TEST(RegexGrammarTest, JsonEscapesAndUtf8) {
  auto g = PatternGrammar("^[é-ë]\\/\"$");
  ASSERT_TRUE(g);
  EXPECT_TRUE(Accepts(*g, R"("ê/\"")"));
  EXPECT_TRUE(Accepts(*g, R"("é\/\"")"));   // "/" may be written escaped
  EXPECT_FALSE(Accepts(*g, R"("e/\"")"));
  EXPECT_FALSE(Accepts(*g, "\"ê/\"\""));    // an unescaped quote ends the string
  auto c = PatternGrammar("^\\x01$");
  ASSERT_TRUE(c);
  EXPECT_TRUE(Accepts(*c, R"("\u0001")"));
}

TEST(RegexGrammarTest, RefusedConstructsAreNamed) {
  for (const char* p : {"(?=a)", "\\bword", "(a)\\1", "a^b", "[a-", "(ab", "a{2,1}", "a**", "*a", "a{5000}"}) {
    StatusOr<RegexGbnf> r = RegexToJsonStringGbnf(p);
    EXPECT_FALSE(r.ok()) << p;
    if (!r.ok()) EXPECT_NE(r.status().message().find("'pattern'"), std::string::npos) << r.status().message();
  }
  StatusOr<std::string> both = JsonSchemaToGbnf(Json::parse(R"({"type": "string", "pattern": "a", "maxLength": 3})"));
  EXPECT_FALSE(both.ok());
}

}  // namespace
}  // namespace isv
