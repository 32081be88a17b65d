// Grammar parsing / validation errors and the matcher on hand-derived accept / reject strings.
#include "engine/sampling/grammar.h"

#include <gtest/gtest.h>

namespace isv {
namespace {

std::shared_ptr<const Grammar> Compile(std::string_view gbnf) {
  StatusOr<std::shared_ptr<const Grammar>> g = Grammar::Parse(gbnf);
  EXPECT_TRUE(g.ok()) << g.status().message();
  return g.ok() ? *g : nullptr;
}

// Whole-string match: every byte accepted and the sentence complete.
bool Matches(const Grammar& g, std::string_view text) {
  GrammarMatcher m(g);
  return m.Feed(text) && m.can_end();
}

// Prefix: every byte accepted (the sentence may continue). Accepts() must agree with Feed().
bool IsPrefix(const Grammar& g, std::string_view text) {
  GrammarMatcher m(g);
  const bool accepts = m.Accepts(text);
  const bool fed = m.Feed(text);
  EXPECT_EQ(accepts, fed) << text;
  return fed;
}

std::string ErrorOf(std::string_view gbnf) {
  StatusOr<std::shared_ptr<const Grammar>> g = Grammar::Parse(gbnf);
  return g.ok() ? "" : std::string(g.status().message());
}

TEST(GrammarTest, AlternativesAndSequences) {
  auto g = Compile(R"(root ::= "yes" | "no" | "may" "be")");
  ASSERT_TRUE(g);
  EXPECT_TRUE(Matches(*g, "yes"));
  EXPECT_TRUE(Matches(*g, "no"));
  EXPECT_TRUE(Matches(*g, "maybe"));
  EXPECT_FALSE(Matches(*g, "ye"));
  EXPECT_TRUE(IsPrefix(*g, "ye"));
  EXPECT_FALSE(IsPrefix(*g, "yes!"));
  EXPECT_FALSE(IsPrefix(*g, "x"));
  GrammarMatcher m(*g);
  ASSERT_TRUE(m.Feed("yes"));
  EXPECT_TRUE(m.done());  // nothing can follow "yes"
}

TEST(GrammarTest, RepetitionOperators) {
  auto g = Compile(
      "root ::= a b c d e\n"
      "a ::= \"a\"*\n"
      "b ::= \"b\"+\n"
      "c ::= \"c\"?\n"
      "d ::= \"d\"{2}\n"
      "e ::= \"e\"{1,3} \"f\"{2,}\n");
  ASSERT_TRUE(g);
  EXPECT_TRUE(Matches(*g, "bddeff"));
  EXPECT_TRUE(Matches(*g, "aaabbcddeeefff"));
  EXPECT_FALSE(Matches(*g, "ddeff"));      // b+ needs one b
  EXPECT_FALSE(Matches(*g, "bcceff"));     // c? at most one, and d{2}
  EXPECT_FALSE(Matches(*g, "bdddeff"));    // d{2} exactly two
  EXPECT_FALSE(Matches(*g, "bddeeeeff"));  // e{1,3}
  EXPECT_FALSE(Matches(*g, "bddef"));      // f{2,}
  EXPECT_TRUE(Matches(*g, "bddefffffffff"));
  GrammarMatcher m(*g);
  ASSERT_TRUE(m.Feed("bddeff"));
  EXPECT_TRUE(m.can_end());
  EXPECT_FALSE(m.done());  // more f may follow
}

TEST(GrammarTest, GroupsWithPostfixAndMultiCharLiterals) {
  auto g = Compile(R"(root ::= ("ab" | "c")+ ("xy"){0,2} "!")");
  ASSERT_TRUE(g);
  EXPECT_TRUE(Matches(*g, "abcab!"));
  EXPECT_TRUE(Matches(*g, "cxyxy!"));
  EXPECT_FALSE(Matches(*g, "cxyxyxy!"));
  EXPECT_FALSE(Matches(*g, "a!"));
  EXPECT_FALSE(Matches(*g, "!"));
}

TEST(GrammarTest, CharacterClassesAndDot) {
  auto g = Compile(R"(root ::= [a-c0-9_] [^a-z\n] . [\]\-\\])");
  ASSERT_TRUE(g);
  EXPECT_TRUE(Matches(*g, "bA\n]"));
  EXPECT_TRUE(Matches(*g, "_%x-"));
  EXPECT_TRUE(Matches(*g, "9Zé\\"));  // `.` takes one code point of two bytes
  EXPECT_FALSE(Matches(*g, "dA.]"));  // d outside [a-c0-9_]
  EXPECT_FALSE(Matches(*g, "aa.]"));  // a inside the negated class
  EXPECT_FALSE(Matches(*g, "a\n.]"));
  EXPECT_FALSE(Matches(*g, "aA.x"));
}

TEST(GrammarTest, EscapesAndUtf8) {
  auto g = Compile("root ::= \"\\\"q\\\\\\t\\x41\\u00e9\\U0001F600\" [α-γ] \"日本\"");
  ASSERT_TRUE(g);
  EXPECT_TRUE(Matches(*g, "\"q\\\tAé😀β日本"));
  EXPECT_FALSE(Matches(*g, "\"q\\\tAé😀δ日本"));
  // A token that ends inside a character is accepted when the character can still fit...
  GrammarMatcher m(*g);
  ASSERT_TRUE(m.Feed("\"q\\\tA\xC3"));  // first byte of é
  EXPECT_FALSE(m.can_end());
  ASSERT_TRUE(m.Feed("\xA9\xF0\x9F"));   // é, then half of 😀
  ASSERT_TRUE(m.Feed("\x98\x80"));
  // ...and refused when no allowed character starts with those bytes.
  GrammarMatcher n(*g);
  EXPECT_FALSE(n.Feed("\"q\\\tA\xC4"));  // U+0100.. is not é
  GrammarMatcher bad(*g);
  EXPECT_FALSE(bad.Feed("\"q\\\tA\xFF"));  // not UTF-8
  // Overlong encodings and surrogates are not characters (C0 AF / E0 80 AF would be '/').
  auto slash = Compile(R"(root ::= [/-z] | [\uD000-\uDFFF])");
  ASSERT_TRUE(slash);
  EXPECT_TRUE(IsPrefix(*slash, "/"));
  EXPECT_FALSE(IsPrefix(*slash, "\xC0\xAF"));
  EXPECT_FALSE(IsPrefix(*slash, "\xE0\x80"));
  EXPECT_FALSE(IsPrefix(*slash, "\xF0\x80\x80\xAF"));
  EXPECT_TRUE(IsPrefix(*slash, "\xED\x9F\xBF"));   // U+D7FF
  EXPECT_FALSE(IsPrefix(*slash, "\xED\xA0\x80"));  // U+D800, a surrogate
}

TEST(GrammarTest, NextByteMaskAgreesWithFeed) {
  auto g = Compile(R"(root ::= [a-c] | "é" | [\u4E00-\u4E01] | "x" "y" | [^\x00-\U0010FFFE])");
  ASSERT_TRUE(g);
  GrammarMatcher m(*g);
  std::bitset<256> mask = m.NextByteMask();
  for (int b = 0; b < 256; ++b) {
    // Feed accepts a lone lead byte exactly when some allowed character starts with it.
    GrammarMatcher probe(*g);
    EXPECT_EQ(mask[b], probe.Feed(std::string(1, static_cast<char>(b)))) << b;
  }
  EXPECT_TRUE(mask['a'] && mask['x'] && mask[0xC3] && mask[0xE4] && mask[0xF4]);
  EXPECT_FALSE(mask['d'] || mask['y'] || mask[0xC4] || mask[0xE5] || mask[0xF0]);
  ASSERT_TRUE(m.Feed("x"));
  EXPECT_EQ(m.NextByteMask().count(), 1u);
  EXPECT_TRUE(m.NextByteMask()['y']);
}

TEST(GrammarTest, CommentsMultiLineRulesAndRecursion) {
  auto g = Compile(
      "# balanced parentheses, then a word\n"
      "root ::= parens word  # trailing comment\n"
      "parens ::= \"(\" parens \")\" parens\n"
      "         | \n"
      "word ::= [a-z]+\n");
  ASSERT_TRUE(g);
  EXPECT_TRUE(Matches(*g, "(()())ok"));
  EXPECT_TRUE(Matches(*g, "ok"));
  EXPECT_FALSE(Matches(*g, "(()ok"));
  EXPECT_TRUE(IsPrefix(*g, "((((("));
  EXPECT_FALSE(IsPrefix(*g, "())"));
}

TEST(GrammarTest, ParseErrorsAreClear) {
  auto has = [](std::string_view gbnf, std::string_view want) {
    std::string e = ErrorOf(gbnf);
    EXPECT_NE(e.find(want), std::string::npos) << "grammar: " << gbnf << "\nerror: " << e;
  };
  has("root ::= foo", "rule 'foo' is used but not defined");
  has("start ::= \"a\"", "no 'root' rule");
  has("root ::= \"a\"\nroot ::= \"b\"", "line 2: rule 'root' is defined twice");
  has("root ::= \"abc", "unterminated string literal");
  has("root ::= [abc", "unterminated character class");
  has("root ::= (\"a\"", "expected ')'");
  has("root ::= \"a\"{3,2}", "n < m");
  has("root ::= \"a\"{1,5000}", "repetition count above 1000");
  {
    std::string huge = "root ::=";  // 2000 x 1000 repetitions: refused before it is built
    for (int i = 0; i < 2000; ++i) huge += " \"a\"{1000}";
    has(huge, "expand to more than");
  }
  has("root ::= \"\\q\"", "unknown escape");
  has("root ::= [z-a]", "end before its start");
  has("root ::= \"a\" @", "unexpected '@'");
  has("root ::= \"x\"\n\nfoo = \"a\"", "line 3: unexpected '='");
  has("::= \"a\"", "line 1: expected a rule name");
  // Left recursion: direct, indirect, through a nullable prefix, and an empty loop.
  has("root ::= root \"a\" | \"b\"", "left recursion in rule 'root'");
  has("root ::= a\na ::= b \"x\"\nb ::= a | \"y\"", "left recursion");
  has("root ::= opt root \"a\" | \"b\"\nopt ::= \"c\"?", "left recursion");
  has("root ::= (\"a\"?)*", "left recursion");
  // Right recursion and recursion after a character are fine.
  EXPECT_EQ(ErrorOf("root ::= \"a\" root | \"b\""), "");
}

TEST(GrammarTest, BoundedStackSet) {
  // Ambiguous: after k a's there are k ways to split them between the two repetitions, i.e. k
  // live stacks. Past kMaxStacks the matcher must refuse (overflowed) instead of growing.
  auto g = Compile(R"(root ::= "a"{0,1000} "a"{1000})");
  ASSERT_TRUE(g);
  GrammarMatcher m(*g);
  int fed = 0;
  while (fed < 1000 && m.Feed("a")) ++fed;
  EXPECT_GE(fed, static_cast<int>(GrammarMatcher::kMaxStacks) - 2);
  EXPECT_LT(fed, 1000);
  EXPECT_TRUE(m.overflowed());
  // Deep nesting: each "(" adds a stack entry; past kMaxDepth the matcher refuses.
  auto p = Compile(R"g(root ::= "(" root ")" | "x")g");
  ASSERT_TRUE(p);
  GrammarMatcher d(*p);
  EXPECT_TRUE(d.Feed(std::string(100, '(')));
  EXPECT_FALSE(d.Feed(std::string(GrammarMatcher::kMaxDepth, '(')));
  EXPECT_TRUE(d.overflowed());
}

}  // namespace
}  // namespace isv
