// decode(encode(x)) == x where the tokenizer is lossless, on llama.cpp's test strings plus a few
// more. Lossless here means: add_special = false, parse_special = false, x is valid UTF-8 without
// special-token text and without U+2581, and
//   * SPM vocabs (llama-spm, phi-3, baichuan): byte fallback covers every byte; Decode removes
//     exactly the prefix space Encode added;
//   * byte-level BPE vocabs: every byte has a token. Decode is exact where clean_spaces is off
//     (qwen2, qwen3, deepseek-llm, deepseek-coder); where it is on (gpt-2, llama-bpe, mpt, falcon,
//     starcoder, refact, gpt-neox) Decode rewrites " ," / " 's" etc. on purpose, so there the
//     concatenated pieces are checked instead.
// WordPiece (bert) lower-cases, strips accents and drops whitespace: not lossless.
#include <gtest/gtest.h>

#include "engine/tokenizer/tokenizer.h"
#include "tokenizer_testutil.h"

namespace isv {
namespace {

std::vector<std::string> Inputs() {
  std::vector<std::string> inputs = {
      "Hello world", " Hello  world\n\n\tend", "Ça va? Crème brûlée, 你好，世界！🦙🚀👍🏽",
      "int main() {\n    return 0;\n}\n", "Numbers 12345 and 3.14, émigré café — naïve!",
      "can't won't I'm you're they've we'll he'd", "  leading and trailing  ", "\r\n\r\n", "ÀÁÂÃÄÅ ǅ ǈ ﬁ",
      "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 ⅷ ١٢٣ ๑๒๓", "tab\there", "a,b , c . d ! e ?",
  };
  const std::string inp = testing::ReadFile(testing::TestdataPath("vocab/ggml-vocab-llama-spm.gguf.inp"));
  const std::string sep = "\n__ggml_vocab_test__\n";
  for (size_t pos = 0, hit; (hit = inp.find(sep, pos)) != std::string::npos; pos = hit + sep.size()) {
    inputs.push_back(inp.substr(pos, hit - pos));
  }
  return inputs;
}

TEST(RoundTrip, LosslessVocabs) {
  if (!testing::TestdataPresent()) GTEST_SKIP() << "../shared/testdata absent";
  struct Case {
    const char* vocab;
    bool exact_decode;  // else: concatenated pieces
  };
  const Case cases[] = {
      {"llama-spm", true}, {"phi-3", true},     {"baichuan", true},       {"qwen2", true},  {"qwen3", true},
      {"deepseek-llm", true}, {"deepseek-coder", true}, {"gpt-2", false}, {"llama-bpe", false}, {"mpt", false},
      {"falcon", false},  {"starcoder", false}, {"refact", false},       {"gpt-neox", false},
  };
  const std::vector<std::string> inputs = Inputs();
  for (const Case& c : cases) {
    auto tok = testing::LoadTokenizer(testing::TestdataPath(std::string("vocab/ggml-vocab-") + c.vocab + ".gguf"));
    ASSERT_NE(tok, nullptr) << c.vocab;
    int passed = 0;
    for (const std::string& x : inputs) {
      const std::vector<int32_t> ids = tok->Encode(x, false, false);
      std::string back;
      if (c.exact_decode) {
        back = tok->Decode(ids, false, false);
      } else {
        for (int32_t id : ids) back += tok->TokenToPiece(id, false);
      }
      if (back == x) {
        ++passed;
      } else {
        ADD_FAILURE() << c.vocab << ": '" << testing::Escape(x) << "' came back as '" << testing::Escape(back)
                      << "' via " << testing::IdsToString(ids);
      }
    }
    std::printf("[ roundtrip] %s: %d/%zu\n", c.vocab, passed, inputs.size());
  }
}

// SPM byte fallback keeps invalid UTF-8 (as long as a truncated sequence is not followed by a space,
// whose escape U+2581 the sequence would swallow, as in llama.cpp).
TEST(RoundTrip, SpmInvalidUtf8) {
  if (!testing::TestdataPresent()) GTEST_SKIP() << "../shared/testdata absent";
  auto tok = testing::LoadTokenizer(testing::TestdataPath("vocab/ggml-vocab-llama-spm.gguf"));
  ASSERT_NE(tok, nullptr);
  for (const std::string& x : {std::string("\xff\xfe"), std::string("a\xc3"), std::string("\xe2\x82x"),
                              std::string("\x80\x80\x80"), std::string("ok\xf0\x9f\x98")}) {
    EXPECT_EQ(testing::Hex(tok->Decode(tok->Encode(x, false, false), false, false)), testing::Hex(x));
  }
}

}  // namespace
}  // namespace isv
