// Perplexity on golden/story.txt with 128-token chunks against llama-perplexity's numbers in
// golden/perplexity.json (stories260K: ln PPL within 0.001; tiny-llama Q8_0 / Q4_K_M: within 0.02).
#include "engine/model/perplexity.h"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "engine/model/context.h"
#include "engine/model/golden_testutil.h"
#include "engine/model/model.h"
#include "engine/tokenizer/tokenizer.h"

namespace isv::golden {
namespace {

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class PerplexityTest : public ::testing::TestWithParam<std::string> {};

TEST_P(PerplexityTest, MatchesLlamaPerplexity) {
  if (!TestdataPresent()) GTEST_SKIP() << "../shared/testdata absent";
  const std::string file = GetParam() + ".gguf";
  StatusOr<std::unique_ptr<Model>> model = Model::Load(TestdataDir() + "/models/" + file);
  if (!model.ok() && model.status().code() == StatusCode::kUnimplemented)
    GTEST_SKIP() << "kernel missing: " << model.status().message();
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  StatusOr<std::unique_ptr<Tokenizer>> tokenizer = Tokenizer::FromGguf((*model)->file());
  ASSERT_TRUE(tokenizer.ok()) << tokenizer.status().ToString();

  const nlohmann::json golden = nlohmann::json::parse(ReadAll(TestdataDir() + "/golden/perplexity.json"));
  const nlohmann::json& run = golden.at("runs").at(file);
  const int32_t n_chunk = run.at("n_ctx").get<int32_t>();
  const std::vector<int32_t> tokens =
      (*tokenizer)->Encode(ReadAll(TestdataDir() + "/golden/story.txt"), /*add_special=*/true, /*parse_special=*/false);
  ASSERT_EQ(static_cast<int64_t>(tokens.size()), run.at("n_tokens").get<int64_t>());
  const std::vector<int32_t> first = run.at("first_tokens").get<std::vector<int32_t>>();
  ASSERT_EQ(std::vector<int32_t>(tokens.begin(), tokens.begin() + first.size()), first);

  StatusOr<std::unique_ptr<Context>> ctx = Context::Create(**model, {.n_ctx = n_chunk, .n_threads = 2});
  ASSERT_TRUE(ctx.ok());
  const int32_t bos = (*tokenizer)->add_bos() ? (*tokenizer)->bos() : -1;
  StatusOr<PerplexityResult> r = ComputePerplexity(**ctx, tokens, n_chunk, bos, nullptr);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->n_chunks, run.at("n_chunks").get<int32_t>());
  EXPECT_EQ(r->n_scored, static_cast<int64_t>(r->n_chunks) * run.at("scored_tokens_per_chunk").get<int64_t>());

  const double golden_ln = run.at("default").at("final_ln_ppl").get<double>();
  const double tol = GetParam() == "stories260K" ? 0.001 : 0.02;
  EXPECT_NEAR(r->ln_ppl, golden_ln, tol);
  std::printf("%s: ln PPL %.6f, llama-perplexity %.6f (-b 128: %.6f), diff %.6f\n", file.c_str(), r->ln_ppl, golden_ln,
              run.at("b128").at("final_ln_ppl").get<double>(), r->ln_ppl - golden_ln);
}

INSTANTIATE_TEST_SUITE_P(Story, PerplexityTest,
                         ::testing::Values("stories260K", "tiny-llama-Q8_0", "tiny-llama-Q4_K_M"),
                         [](const auto& info) {
                           std::string s = info.param;
                           for (char& c : s) c = std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
                           return s;
                         });

}  // namespace
}  // namespace isv::golden
