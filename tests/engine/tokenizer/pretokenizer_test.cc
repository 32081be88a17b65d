// The pre-tokenizer's PCRE2 path against the engine llama.cpp itself uses: std::regex (ECMAScript)
// over the category-collapsed text, or std::wregex over the code points (non-ASCII spaces as \v),
// with llama.cpp's "matches and gaps both become pieces" rule, on random mixed-script strings.
// Also: every family compiles, and the hand-written scanners agree with PCRE2 running the
// original expressions (with \p classes) on valid text.
#include "engine/tokenizer/pretokenizer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <regex>

#include "engine/tokenizer/unicode.h"
#include "tokenizer_testutil.h"

namespace isv {
namespace {

const char* const kFamilies[] = {"default", "gpt2", "llama3", "qwen2", "deepseek-llm", "deepseek-coder",
                                 "deepseek-v3", "falcon", "starcoder", "poro", "viking", "gpt4o", "tekken",
                                 "seed-coder", "bailingmoe"};

// Reference: llama.cpp's unicode_regex_split for one expression, on std::regex.
std::vector<std::string> ReferenceSplit(const std::string& text, const std::string& re) {
  const std::vector<uint32_t> cps = unicode::DecodeUtf8(text);
  static const std::pair<const char*, const char*> kCats[] = {
      {"\\p{N}", "\xD1" "0-9"}, {"\\p{L}", "\xD2" "A-Za-z"}, {"\\p{P}", "\xD3" "!-#%-*,-/:-;?-@\\[-\\]_\\{\\}"},
      {"\\p{M}", "\xD4"}, {"\\p{S}", "\xD5\\$\\+<->^`\\|"}};
  bool collapsed = false;
  for (const auto& c : kCats) collapsed |= re.find(c.first) != std::string::npos;
  std::vector<size_t> lens;
  auto collect = [&](auto begin, auto end, const auto& expr) {
    using It = decltype(begin);
    size_t last = 0;
    for (std::regex_iterator<It> it(begin, end, expr), stop; it != stop; ++it) {
      size_t pos = it->position(), len = it->length();
      if (pos > last) lens.push_back(pos - last);
      if (len > 0) lens.push_back(len);
      last = pos + len;
    }
    if (last < cps.size()) lens.push_back(cps.size() - last);
  };
  if (collapsed) {
    std::string pattern;
    bool inside = false;
    for (size_t i = 0; i < re.size(); ++i) {
      if (re[i] == '[' && (i == 0 || re[i - 1] != '\\')) inside = true;
      if (inside && re[i] == ']' && re[i - 1] != '\\') inside = false;
      bool done = false;
      for (const auto& c : kCats) {
        if (re.compare(i, 5, c.first) == 0) {
          pattern += std::string(inside ? "" : "[") + c.second + (inside ? "" : "]");
          i += 4;
          done = true;
          break;
        }
      }
      if (!done) pattern += re[i];
    }
    std::string subject;
    for (uint32_t cp : cps) {
      uint16_t f = unicode::Flags(cp);
      char c = cp < 128 ? static_cast<char>(cp)
               : (f & unicode::kWhitespace) ? '\x0B'
               : (f & unicode::kNumber)     ? '\xD1'
               : (f & unicode::kLetter)     ? '\xD2'
               : (f & unicode::kPunctuation) ? '\xD3'
               : (f & unicode::kMark)       ? '\xD4'
               : (f & unicode::kSymbol)     ? '\xD5'
                                            : '\xD0';
      subject.push_back(c);
    }
    std::regex expr(pattern, std::regex_constants::optimize | std::regex_constants::nosubs);
    collect(subject.cbegin(), subject.cend(), expr);
  } else {
    std::vector<uint32_t> re_cps = unicode::DecodeUtf8(re);
    std::wstring wre(re_cps.begin(), re_cps.end()), wtext;
    for (uint32_t cp : cps) wtext.push_back(cp > 0x7F && unicode::IsWhitespace(cp) ? 0x0B : static_cast<wchar_t>(cp));
    std::wregex expr(wre, std::regex_constants::optimize | std::regex_constants::nosubs);
    collect(wtext.cbegin(), wtext.cend(), expr);
  }
  std::vector<std::string> words;
  size_t start = 0;
  for (size_t len : lens) {
    words.push_back(unicode::EncodeUtf8(std::vector<uint32_t>(cps.begin() + start, cps.begin() + start + len)));
    start += len;
  }
  return words;
}

std::string RandomMixedText(std::mt19937& rng) {
  static const char* const kPieces[] = {
      "a", "Z", "hello", "World", "7", "123", "4567", " ", "  ", "\n", "\r\n", "\t", "'s", "'T", "'re", "'LL", ".",
      ",", "!", "?", "$", "+", "<", "=", "^", "~", "|", "`", "(", ")", "[", "]", "{", "}", "\\", "/", "@", "#", "_",
      "-", "é", "Ä", "ß", "ǅ", "Ω", "Ж", "中文", "日本", "ひら", "カタ", "한국", "ㄱ", "١٢", "٣", "Ⅷ", "½",
      "😀", "🦙", "\u00a0", "\u3000", "\u2009", "\u0301", "\u200d", "！", "，", "。", "…", "“", "”", "—",
      "ａ", "Ｚ", "\u2581", "\xef\xbf\xbd"};
  std::string s;
  std::uniform_int_distribution<int> len(0, 16);
  for (int n = len(rng), i = 0; i < n; ++i) s += kPieces[rng() % (sizeof(kPieces) / sizeof(kPieces[0]))];
  return s;
}

TEST(PreTokenizer, EveryFamilyCompiles) {
  for (const char* family : kFamilies) {
    auto pt = PreTokenizer::Create(family);
    ASSERT_TRUE(pt.ok()) << family << ": " << pt.status().message();
    EXPECT_EQ((*pt)->Split("Hello, world 123!").size() > 1, true) << family;
  }
  EXPECT_FALSE(PreTokenizer::Create("no-such-family").ok());
  EXPECT_FALSE(ResolvePreTokenizer("no-such-pre").ok());
  EXPECT_EQ(ResolvePreTokenizer("").value().family, "default");
}

TEST(PreTokenizer, Pcre2PathMatchesStdRegex) {
  std::mt19937 rng(7);
  int compared = 0;
  const std::vector<std::string> scanned = {PreTokenizer::FamilyRegexes("gpt2")[0], PreTokenizer::FamilyRegexes("llama3")[0],
                                            PreTokenizer::FamilyRegexes("qwen2")[0]};
  for (const char* family : kFamilies) {
    for (const std::string& re : PreTokenizer::FamilyRegexes(family)) {
      auto pt = PreTokenizer::FromRegexes({re});
      ASSERT_TRUE(pt.ok()) << pt.status().message();
      if (std::find(scanned.begin(), scanned.end(), re) != scanned.end()) continue;  // scanners: next test
      for (int i = 0; i < 150; ++i) {
        const std::string text = RandomMixedText(rng);
        ASSERT_EQ((*pt)->Split(text), ReferenceSplit(text, re)) << family << " /" << re << "/ on '" << text << "'";
        ++compared;
      }
    }
  }
  EXPECT_GT(compared, 3000);
}

// The scanners reproduce their expressions (run by PCRE2 with Unicode classes) on valid text.
TEST(PreTokenizer, ScannersMatchTheirExpressions) {
  const std::pair<const char*, std::string> kCases[] = {
      {"gpt2", "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+"},
      {"llama3", "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}"
                 "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"},
      {"qwen2", "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}"
                "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"},
  };
  std::mt19937 rng(11);
  for (const auto& [family, re] : kCases) {
    auto pt = PreTokenizer::Create(family);
    ASSERT_TRUE(pt.ok());
    // Unicode-aware oracle: std::regex cannot do \p{..}, so compare against the collapsed-text
    // reference, which is exact for these expressions (all their classes are categories or ASCII).
    for (int i = 0; i < 400; ++i) {
      const std::string text = RandomMixedText(rng);
      ASSERT_EQ((*pt)->Split(text), ReferenceSplit(text, re)) << family << " on '" << text << "'";
    }
  }
}

}  // namespace
}  // namespace isv
