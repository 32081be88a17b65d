// llama.cpp's tokenizer test vectors (test-tokenizer-0): every <vocab>.gguf.inp / .out pair in
// ../shared/testdata/vocab, tokenized with add_special = false, parse_special = false.
#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

#include "tokenizer_testutil.h"

namespace isv {
namespace {

using testing::TestdataPath;

std::vector<std::string> SplitInputs(const std::string& inp) {
  const std::string sep = "\n__ggml_vocab_test__\n";
  std::vector<std::string> out;
  size_t pos = 0;
  while (true) {
    size_t hit = inp.find(sep, pos);
    if (hit == std::string::npos) break;
    out.push_back(inp.substr(pos, hit - pos));
    pos = hit + sep.size();
  }
  return out;
}

std::vector<std::vector<int32_t>> ParseOutputs(const std::string& out) {
  std::vector<std::vector<int32_t>> result;
  std::istringstream lines(out);
  std::string line;
  while (std::getline(lines, line)) {
    std::vector<int32_t> ids;
    std::istringstream nums(line);
    int64_t id;
    while (nums >> id) ids.push_back(static_cast<int32_t>(id));
    result.push_back(std::move(ids));
  }
  return result;
}

class VocabVectorsTest : public ::testing::TestWithParam<const char*> {};

TEST_P(VocabVectorsTest, MatchesLlamaCpp) {
  if (!testing::TestdataPresent()) GTEST_SKIP() << "../shared/testdata absent";
  const std::string base = TestdataPath(std::string("vocab/ggml-vocab-") + GetParam() + ".gguf");
  auto tok = testing::LoadTokenizer(base);
  ASSERT_NE(tok, nullptr);
  const std::vector<std::string> inputs = SplitInputs(testing::ReadFile(base + ".inp"));
  const std::vector<std::vector<int32_t>> expected = ParseOutputs(testing::ReadFile(base + ".out"));
  ASSERT_FALSE(inputs.empty());
  ASSERT_EQ(inputs.size(), expected.size());
  int passed = 0;
  for (size_t i = 0; i < inputs.size(); ++i) {
    std::vector<int32_t> got = tok->Encode(inputs[i], /*add_special=*/false, /*parse_special=*/false);
    if (got == expected[i]) {
      ++passed;
    } else {
      ADD_FAILURE() << GetParam() << " case " << i << " '" << testing::Escape(inputs[i]) << "'\n  expected "
                    << testing::IdsToString(expected[i]) << "\n  got      " << testing::IdsToString(got);
    }
  }
  std::printf("[ vocab    ] %s: %d/%zu pass\n", GetParam(), passed, inputs.size());
}

INSTANTIATE_TEST_SUITE_P(AllVocabs, VocabVectorsTest,
                         ::testing::Values("bert-bge", "deepseek-coder", "deepseek-llm", "falcon", "gpt-2",
                                           "llama-bpe", "llama-spm", "mpt", "phi-3", "qwen2", "qwen3", "refact",
                                           "starcoder"),
                         [](const ::testing::TestParamInfo<const char*>& info) {
                           std::string name = info.param;
                           for (char& c : name) {
                             if (c == '-') c = '_';
                           }
                           return name;
                         });

}  // namespace
}  // namespace isv
