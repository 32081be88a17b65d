// The tokenizer parts of ../shared/testdata/golden/*.json (llama.cpp b10176 on the shipped models):
// prompt tokens (add_special = true, parse_special = false) and the detokenization of the greedy
// continuations: `text_hex` = Decode(tokens, false, false), `pieces_hex` = concatenated
// TokenToPiece(special = false), `full_hex` = Decode(prompt + tokens, true, false).
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "engine/tokenizer/tokenizer.h"
#include "tokenizer_testutil.h"

namespace isv {
namespace {

TEST(ModelGoldens, PromptTokensAndDetokenization) {
  if (!testing::TestdataPresent()) GTEST_SKIP() << "../shared/testdata absent";
  int n_files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(testing::TestdataPath("golden"))) {
    const std::string path = entry.path().string();
    if (entry.path().extension() != ".json" || entry.path().filename() == "perplexity.json") continue;
    const auto golden = nlohmann::json::parse(testing::ReadFile(path));
    const std::string model = testing::TestdataPath("models/" + golden.at("model_file").get<std::string>());
    auto tok = testing::LoadTokenizer(model);
    ASSERT_NE(tok, nullptr) << model;
    const auto& m = golden.at("model");
    EXPECT_EQ(tok->n_vocab(), m.at("n_vocab").get<int>()) << path;
    EXPECT_EQ(tok->bos(), m.at("bos").get<int>()) << path;
    EXPECT_EQ(tok->eos(), m.at("eos").get<int>()) << path;
    EXPECT_EQ(tok->add_bos(), m.at("add_bos").get<bool>()) << path;
    EXPECT_EQ(tok->add_eos(), m.at("add_eos").get<bool>()) << path;
    std::vector<int32_t> eog;
    for (int32_t id = 0; id < tok->n_vocab(); ++id) {
      if (tok->IsEog(id)) eog.push_back(id);
    }
    EXPECT_EQ(eog, m.at("eog_tokens").get<std::vector<int32_t>>()) << path;
    for (const auto& p : golden.at("prompts")) {
      const std::string prompt = p.at("prompt").get<std::string>();
      const std::vector<int32_t> expected = p.at("tokens").get<std::vector<int32_t>>();
      const std::vector<int32_t> got = tok->Encode(prompt, /*add_special=*/true, /*parse_special=*/false);
      EXPECT_EQ(got, expected) << path << " prompt '" << prompt << "'\n  expected " << testing::IdsToString(expected)
                               << "\n  got      " << testing::IdsToString(got);
      const auto& g = p.at("greedy");
      const std::vector<int32_t> gen = g.at("tokens").get<std::vector<int32_t>>();
      EXPECT_EQ(testing::Hex(tok->Decode(gen, false, false)), g.at("text_hex").get<std::string>()) << path;
      std::string pieces;
      for (int32_t id : gen) pieces += tok->TokenToPiece(id, false);
      EXPECT_EQ(testing::Hex(pieces), g.at("pieces_hex").get<std::string>()) << path;
      std::vector<int32_t> all = expected;
      all.insert(all.end(), gen.begin(), gen.end());
      EXPECT_EQ(testing::Hex(tok->Decode(all, true, false)), g.at("full_hex").get<std::string>()) << path;
    }
    ++n_files;
  }
  EXPECT_GE(n_files, 15);
}

}  // namespace
}  // namespace isv
