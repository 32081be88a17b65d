// Unicode helpers: category flags (from PCRE2's tables), llama.cpp-style UTF-8 decoding, the GPT-2
// byte map, NFD bases, lower-casing and the complete-character prefix used by StreamDecoder.
#include "engine/tokenizer/unicode.h"

#include <gtest/gtest.h>

#include <thread>

#include "engine/tokenizer/tokenizer.h"
#include "tokenizer_testutil.h"

namespace isv::unicode {
namespace {

TEST(Unicode, CategoryFlags) {
  EXPECT_EQ(Flags('A'), kLetter);
  EXPECT_EQ(Flags('5'), kNumber);
  EXPECT_EQ(Flags(' '), kSeparator | kWhitespace);
  EXPECT_EQ(Flags('\n'), kControl | kWhitespace);
  EXPECT_EQ(Flags('!'), kPunctuation);
  EXPECT_EQ(Flags('$'), kSymbol);
  EXPECT_EQ(Flags(0x85), kControl | kWhitespace);    // NEL
  EXPECT_EQ(Flags(0xA0), kSeparator | kWhitespace);  // NBSP
  EXPECT_EQ(Flags(0x301), kMark);                    // combining acute
  EXPECT_EQ(Flags(0x4E2D), kLetter);                 // 中
  EXPECT_EQ(Flags(0x2167), kNumber);                 // Ⅷ (Nl)
  EXPECT_EQ(Flags(0xFF01), kPunctuation);            // ！
  EXPECT_EQ(Flags(0x1F600), kSymbol);                // 😀
  EXPECT_EQ(Flags(0x200D), kControl);                // ZWJ (Cf)
  EXPECT_EQ(Flags(0xE000), kControl);                // private use
  EXPECT_EQ(Flags(0xD800), kControl);                // surrogate
  EXPECT_EQ(Flags(0x0378), kUndefined);              // unassigned
  EXPECT_EQ(Flags(0x3000), kSeparator | kWhitespace);
  EXPECT_EQ(Flags(0x110000), 0);
}

TEST(Unicode, DecodeLikeLlamaCpp) {
  EXPECT_EQ(DecodeUtf8("a\xC3\xA9"), (std::vector<uint32_t>{'a', 0xE9}));
  EXPECT_EQ(DecodeUtf8("\xC3"), (std::vector<uint32_t>{kReplacement}));               // truncated
  EXPECT_EQ(DecodeUtf8("\x80x"), (std::vector<uint32_t>{kReplacement, 'x'}));         // stray continuation
  EXPECT_EQ(DecodeUtf8("\xE2\x82x"), (std::vector<uint32_t>{kReplacement, kReplacement, 'x'}));
  EXPECT_EQ(DecodeUtf8("\xF0\x9F\x98\x80"), (std::vector<uint32_t>{0x1F600}));
  EXPECT_EQ(DecodeUtf8("\xFF"), (std::vector<uint32_t>{kReplacement}));
  EXPECT_EQ(EncodeUtf8({0x1F600, 'a', 0xE9}), "\xF0\x9F\x98\x80" "a\xC3\xA9");
}

TEST(Unicode, Gpt2ByteMap) {
  EXPECT_EQ(ByteToUnicode(' '), "\xC4\xA0");   // Ġ
  EXPECT_EQ(ByteToUnicode('\n'), "\xC4\x8A");  // Ċ
  EXPECT_EQ(ByteToUnicode('a'), "a");
  EXPECT_EQ(ByteToUnicode(0xAD), "\xC5\x83");  // the last unprintable byte maps to U+0143
  for (int b = 0; b < 256; ++b) {
    std::vector<uint32_t> cps = DecodeUtf8(ByteToUnicode(static_cast<uint8_t>(b)));
    ASSERT_EQ(cps.size(), 1u);
    EXPECT_EQ(UnicodeToByte(cps[0]), b);
  }
  EXPECT_EQ(UnicodeToByte(0x4E2D), -1);
}

TEST(Unicode, NfdAndLower) {
  EXPECT_EQ(NfdBase(0xC4), 'A');     // Ä
  EXPECT_EQ(NfdBase(0x439), 0x438);  // й -> и
  EXPECT_EQ(NfdBase(0xAC00), 0x1100);  // 가 -> ᄀ
  EXPECT_EQ(NfdBase('x'), 'x');
  EXPECT_EQ(ToLower('A'), 'a');
  EXPECT_EQ(ToLower(0xC4), 0xE4u);
  EXPECT_EQ(ToLower(0x411), 0x431u);  // Б -> б
  EXPECT_EQ(ToLower(0x130), 'i');     // İ -> i (simple mapping)
}

TEST(Unicode, CompleteUtf8Prefix) {
  EXPECT_EQ(CompleteUtf8Prefix("abc"), 3u);
  EXPECT_EQ(CompleteUtf8Prefix("a\xC3"), 1u);
  EXPECT_EQ(CompleteUtf8Prefix("a\xF0\x9F\x98"), 1u);
  EXPECT_EQ(CompleteUtf8Prefix("a\xF0\x9F\x98\x80"), 5u);
  EXPECT_EQ(CompleteUtf8Prefix("\x80\x80"), 2u);  // no lead byte: nothing to wait for
  EXPECT_EQ(CompleteUtf8Prefix("\xC3" "a"), 2u);  // broken sequence: emitted as is
}

// One tokenizer shared by several threads gives the same ids as a single thread.
TEST(Tokenizer, ConcurrentEncode) {
  if (!testing::TestdataPresent()) GTEST_SKIP() << "../shared/testdata absent";
  auto tok = testing::LoadTokenizer(testing::TestdataPath("vocab/ggml-vocab-qwen3.gguf"));
  ASSERT_NE(tok, nullptr);
  const std::string text = "Ça va? 你好，世界！🦙 <think>x</think> 12345 can't";
  const std::vector<int32_t> expected = tok->Encode(text, true, true);
  std::vector<std::thread> threads;
  std::vector<int> ok(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) ok[t] += tok->Encode(text, true, true) == expected;
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < 4; ++t) EXPECT_EQ(ok[t], 200);
}

}  // namespace
}  // namespace isv::unicode
