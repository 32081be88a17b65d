// Fuzz-style robustness: random byte strings (valid and invalid UTF-8, pieces of special-token
// text, whitespace runs) through every vocabulary. Encode must never crash and only return ids in
// range; Decode must not crash; StreamDecoder must reproduce the concatenated pieces exactly and,
// whenever the whole stream is valid UTF-8, emit only whole characters in every chunk.
#include <gtest/gtest.h>

#include <random>

#include "engine/tokenizer/tokenizer.h"
#include "engine/tokenizer/unicode.h"
#include "tokenizer_testutil.h"

namespace isv {
namespace {

bool ValidUtf8(const std::string& s) {
  size_t i = 0;
  while (i < s.size()) {
    const uint8_t b = static_cast<uint8_t>(s[i]);
    size_t n = b < 0x80 ? 1 : (b & 0xE0) == 0xC0 ? 2 : (b & 0xF0) == 0xE0 ? 3 : (b & 0xF8) == 0xF0 ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (size_t k = 1; k < n; ++k) {
      if ((static_cast<uint8_t>(s[i + k]) & 0xC0) != 0x80) return false;
    }
    i += n;
  }
  return true;
}

std::string RandomText(std::mt19937& rng, const std::vector<std::string>& specials) {
  static const char* const kPieces[] = {" ", "  ", "\n", "\t", "\r\n", "a", "Z", "7", "42", "'s", "'LL", ".", ",",
                                        "!", "é", "ß", "中", "文", "😀", "🦙", "\u2581", "\u00a0", "\u3000", "\u0301",
                                        "<", "|", ">", "<s>", "</s>", "[", "]", "##"};
  std::uniform_int_distribution<int> len_dist(0, 24), kind(0, 9), byte(0, 255);
  std::string s;
  for (int n = len_dist(rng), i = 0; i < n; ++i) {
    int k = kind(rng);
    if (k <= 2) {
      s.push_back(static_cast<char>(byte(rng)));  // any byte, often invalid UTF-8
    } else if (k <= 7) {
      s += kPieces[rng() % (sizeof(kPieces) / sizeof(kPieces[0]))];
    } else if (!specials.empty()) {
      const std::string& sp = specials[rng() % specials.size()];
      size_t a = rng() % (sp.size() + 1), b = rng() % (sp.size() + 1);
      s += k == 8 ? sp : sp.substr(std::min(a, b), std::max(a, b) - std::min(a, b));  // whole or fragment
    }
  }
  return s;
}

TEST(TokenizerFuzz, RandomBytesEveryVocab) {
  if (!testing::TestdataPresent()) GTEST_SKIP() << "../shared/testdata absent";
  const char* const kVocabs[] = {"baichuan", "bert-bge", "deepseek-coder", "deepseek-llm", "falcon", "gpt-2",
                                 "gpt-neox", "llama-bpe", "llama-spm", "mpt", "phi-3", "qwen2", "qwen3",
                                 "refact", "starcoder"};
  std::mt19937 rng(12345);
  int n_strings = 0;
  for (const char* name : kVocabs) {
    auto tok = testing::LoadTokenizer(testing::TestdataPath(std::string("vocab/ggml-vocab-") + name + ".gguf"));
    ASSERT_NE(tok, nullptr) << name;
    std::vector<std::string> specials;
    for (int32_t id = 0; id < tok->n_vocab(); ++id) {
      TokenType t = tok->token_type(id);
      if (t == TokenType::kControl || t == TokenType::kUserDefined) specials.push_back(tok->token_text(id));
      if (specials.size() >= 64) break;
    }
    for (int iter = 0; iter < 250; ++iter, ++n_strings) {
      const std::string text = RandomText(rng, specials);
      for (bool parse_special : {false, true}) {
        const std::vector<int32_t> ids = tok->Encode(text, iter % 2 == 0, parse_special);
        for (int32_t id : ids) ASSERT_TRUE(id >= 0 && id < tok->n_vocab()) << name << " id " << id;
        (void)tok->Decode(ids, iter % 3 == 0, parse_special);
        std::string pieces, streamed;
        StreamDecoder dec(*tok, parse_special);
        std::vector<std::string> chunks;
        for (int32_t id : ids) {
          pieces += tok->TokenToPiece(id, parse_special);
          chunks.push_back(dec.Push(id));
          streamed += chunks.back();
        }
        streamed += dec.Flush();
        ASSERT_EQ(testing::Hex(streamed), testing::Hex(pieces)) << name << " '" << testing::Escape(text) << "'";
        if (ValidUtf8(pieces)) {
          for (const std::string& c : chunks) {
            ASSERT_TRUE(ValidUtf8(c)) << name << ": chunk " << testing::Hex(c) << " splits a character of '"
                                      << testing::Escape(text) << "'";
          }
        }
      }
    }
  }
  EXPECT_EQ(n_strings, 250 * 15);
}

// Pieces split inside a character (byte-fallback tokens of one emoji) come out whole.
TEST(StreamDecoder, HoldsIncompleteCharacters) {
  if (!testing::TestdataPresent()) GTEST_SKIP() << "../shared/testdata absent";
  auto tok = testing::LoadTokenizer(testing::TestdataPath("models/stories260K.gguf"));
  ASSERT_NE(tok, nullptr);
  const std::string text = "a\xF0\x9F\xA6\x99" "b\xC3\xA9";  // a🦙bé: not in the 512-token vocab -> <0xNN> tokens
  const std::vector<int32_t> ids = tok->Encode(text, false, false);
  ASSERT_GE(ids.size(), 7u);
  StreamDecoder dec(*tok);
  std::vector<std::string> out;
  for (int32_t id : ids) out.push_back(dec.Push(id));
  out.push_back(dec.Flush());
  std::string joined;
  for (const std::string& s : out) {
    EXPECT_TRUE(ValidUtf8(s)) << testing::Hex(s);
    joined += s;
  }
  EXPECT_EQ(joined, " " + text);  // SPM pieces keep the prefix space
  EXPECT_NE(std::find(out.begin(), out.end(), std::string("\xF0\x9F\xA6\x99")), out.end());
  // An incomplete tail is returned by Flush as is.
  StreamDecoder tail(*tok);
  std::string got;
  for (int32_t id : tok->Encode("\xE2\x82", false, false)) got += tail.Push(id);
  EXPECT_EQ(got, " ");
  EXPECT_EQ(tail.Flush(), "\xE2\x82");
}

}  // namespace
}  // namespace isv
