// special-token-goldens.json (llama.cpp b10176 llama-tokenize): strings with special-token text,
// tokenized as a server does with a rendered chat prompt (add_special, parse_special) and raw
// (neither). Checks CONTROL tokens are recognised only with parse_special and USER_DEFINED always.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "engine/tokenizer/tokenizer.h"
#include "tokenizer_testutil.h"

namespace isv {
namespace {

TEST(SpecialTokenGoldens, AllVocabs) {
  if (!testing::TestdataPresent()) GTEST_SKIP() << "../shared/testdata absent";
  const auto goldens = nlohmann::json::parse(testing::ReadFile(testing::TestdataPath("vocab/special-token-goldens.json")));
  int n_files = 0;
  for (const auto& [file, cases] : goldens.at("vocabs").items()) {
    auto tok = testing::LoadTokenizer(testing::TestdataPath("vocab/" + file));
    ASSERT_NE(tok, nullptr) << file;
    int passed = 0, total = 0;
    for (const auto& c : cases) {
      const std::string text = c.at("text").get<std::string>();
      for (bool raw : {false, true}) {
        const std::vector<int32_t> expected = c.at(raw ? "raw" : "default").get<std::vector<int32_t>>();
        const std::vector<int32_t> got = tok->Encode(text, /*add_special=*/!raw, /*parse_special=*/!raw);
        ++total;
        if (got == expected) {
          ++passed;
        } else {
          ADD_FAILURE() << file << " (" << (raw ? "raw" : "default") << ") '" << testing::Escape(text)
                        << "'\n  expected " << testing::IdsToString(expected) << "\n  got      "
                        << testing::IdsToString(got);
        }
      }
    }
    std::printf("[ special  ] %s: %d/%d pass\n", file.c_str(), passed, total);
    ++n_files;
  }
  EXPECT_GE(n_files, 15);
}

// CONTROL tokens are never produced from ordinary text: with parse_special = false the text of
// every control token tokenizes to ordinary tokens only.
TEST(SpecialTokens, ControlTextIsPlainWithoutParseSpecial) {
  if (!testing::TestdataPresent()) GTEST_SKIP() << "../shared/testdata absent";
  for (const char* name : {"qwen3", "llama-bpe", "phi-3", "llama-spm"}) {
    auto tok = testing::LoadTokenizer(testing::TestdataPath(std::string("vocab/ggml-vocab-") + name + ".gguf"));
    ASSERT_NE(tok, nullptr);
    int checked = 0;
    for (int32_t id = 0; id < tok->n_vocab(); ++id) {
      if (tok->token_type(id) != TokenType::kControl) continue;
      const std::string& text = tok->token_text(id);
      for (int32_t t : tok->Encode(text, false, false)) {
        EXPECT_NE(tok->token_type(t), TokenType::kControl) << name << ": '" << text << "' gave control token " << t;
      }
      std::vector<int32_t> parsed = tok->Encode(text, false, true);
      EXPECT_EQ(parsed, std::vector<int32_t>{id}) << name << ": '" << text << "'";
      ++checked;
    }
    EXPECT_GT(checked, 1) << name;
  }
}

TEST(SpecialTokens, EogSets) {
  if (!testing::TestdataPresent()) GTEST_SKIP() << "../shared/testdata absent";
  struct Case {
    const char* vocab;
    std::vector<int32_t> eog;
  };
  // Qwen: <|endoftext|>, <|im_end|> and the ordinary-token "</s>" (128247) that llama.cpp promotes;
  // qwen3 adds <|fim_pad|>, <|repo_name|>, <|file_sep|>. Llama 3: <|end_of_text|>, <|eom_id|>, <|eot_id|>.
  const Case cases[] = {
      {"qwen2", {128247, 151643, 151645}},
      {"qwen3", {128247, 151643, 151645, 151662, 151663, 151664}},
      {"llama-bpe", {128001, 128008, 128009}},
      {"llama-spm", {2}},
      {"gpt-2", {50256}},
  };
  for (const Case& c : cases) {
    auto tok = testing::LoadTokenizer(testing::TestdataPath(std::string("vocab/ggml-vocab-") + c.vocab + ".gguf"));
    ASSERT_NE(tok, nullptr);
    std::vector<int32_t> eog;
    for (int32_t id = 0; id < tok->n_vocab(); ++id) {
      if (tok->IsEog(id)) eog.push_back(id);
    }
    EXPECT_EQ(eog, c.eog) << c.vocab;
  }
}

}  // namespace
}  // namespace isv
