// The run / eval / perplexity subcommands end to end: the built binary on stories260K against
// llama.cpp's goldens (greedy text, top logits, perplexity), plus usage errors.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

namespace isv {
namespace {

std::string Testdata() { return std::string(ISV_SHARED_DIR) + "/testdata"; }

struct Result {
  int exit_code = -1;
  std::string out;  // stdout only
};

Result RunBinary(const std::string& args) {
  Result r;
  const std::string cmd = std::string(ISV_BINARY) + " " + args + " 2>/dev/null";
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return r;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
  const int status = pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

nlohmann::json Golden(const std::string& name) {
  std::ifstream in(Testdata() + "/golden/" + name);
  return nlohmann::json::parse(in);
}

class ForwardCommandsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(Testdata() + "/models/stories260K.gguf")) GTEST_SKIP() << "../shared/testdata absent";
  }
  std::string model_ = Testdata() + "/models/stories260K.gguf";
};

TEST_F(ForwardCommandsTest, RunGreedyPrintsTheGoldenContinuation) {
  const nlohmann::json g = Golden("stories260K.json").at("prompts")[0];
  const Result r = RunBinary("run " + model_ + " --prompt 'Once upon a time' --temperature 0 --max-tokens 32 -t 2");
  ASSERT_EQ(r.exit_code, 0);
  // Streaming piece by piece gives pieces_text (the SPM leading space of the first piece kept).
  EXPECT_EQ(r.out, g.at("greedy").at("pieces_text").get<std::string>() + "\n");
}

TEST_F(ForwardCommandsTest, EvalJsonMatchesGoldenTopLogits) {
  const nlohmann::json g = Golden("stories260K.json").at("prompts")[1];
  const Result r = RunBinary("eval " + model_ + " --prompt '" + g.at("prompt").get<std::string>() +
                             "' --top 5 --full-last --json -t 2");
  ASSERT_EQ(r.exit_code, 0);
  const nlohmann::json out = nlohmann::json::parse(r.out);
  EXPECT_EQ(out.at("tokens"), g.at("tokens"));
  ASSERT_EQ(out.at("positions").size(), g.at("top10").size());
  for (size_t pos = 0; pos < g.at("top10").size(); ++pos) {
    const auto& ours = out.at("positions")[pos].at("top");
    ASSERT_EQ(ours.size(), 5u);
    for (size_t j = 0; j + 1 < ours.size(); ++j) EXPECT_GE(ours[j][1].get<float>(), ours[j + 1][1].get<float>());
    const auto& want = g.at("top10")[pos][0];
    if (want[1].get<float>() - g.at("top10")[pos][1][1].get<float>() >= 0.1f) {
      EXPECT_EQ(ours[0][0], want[0]) << "position " << pos;
    }
    EXPECT_NEAR(ours[0][1].get<float>(), want[1].get<float>(), 0.1) << "position " << pos;
  }
  ASSERT_EQ(out.at("last_logits").size(), g.at("last_logits").size());
  for (size_t i = 0; i < g.at("last_logits").size(); ++i)
    EXPECT_NEAR(out.at("last_logits")[i].get<float>(), g.at("last_logits")[i].get<float>(), 0.1) << i;
}

TEST_F(ForwardCommandsTest, EvalAcceptsTokenIds) {
  const Result r = RunBinary("eval " + model_ + " --tokens 1,403,407 --top 2 --json -t 1");
  ASSERT_EQ(r.exit_code, 0);
  const nlohmann::json out = nlohmann::json::parse(r.out);
  EXPECT_EQ(out.at("tokens"), nlohmann::json::parse("[1,403,407]"));
  EXPECT_EQ(out.at("positions").size(), 3u);
  EXPECT_FALSE(out.contains("last_logits"));
}

TEST_F(ForwardCommandsTest, PerplexityMatchesLlamaPerplexity) {
  const nlohmann::json g = Golden("perplexity.json").at("runs").at("stories260K.gguf");
  const Result r = RunBinary("perplexity " + model_ + " --file " + Testdata() + "/golden/story.txt --ctx 128 -t 1");
  ASSERT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("[1]"), std::string::npos);
  EXPECT_NE(r.out.find("[69]"), std::string::npos);
  const size_t at = r.out.rfind("\nppl ");
  ASSERT_NE(at, std::string::npos) << r.out;
  const double ppl = std::stod(r.out.substr(at + 5));
  EXPECT_NEAR(std::log(ppl), g.at("default").at("final_ln_ppl").get<double>(), 0.001);
}

TEST_F(ForwardCommandsTest, BadInputsExitWithOne) {
  EXPECT_EQ(RunBinary("eval " + model_ + " --tokens 1,99999 --json").exit_code, 1);  // id out of range
  EXPECT_EQ(RunBinary("eval " + model_ + " --tokens 1,x --json").exit_code, 1);
  EXPECT_EQ(RunBinary("run /nonexistent.gguf --prompt hi").exit_code, 1);
  EXPECT_EQ(RunBinary("perplexity " + model_ + " --file /nonexistent.txt").exit_code, 1);
}

}  // namespace
}  // namespace isv
