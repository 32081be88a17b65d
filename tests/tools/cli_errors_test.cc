// Every subcommand against bad input: --help works, a missing / non-GGUF / truncated / directory /
// vocab-only file and absurd option values give a clear message and exit code 1 (runtime error) or
// 2 (usage error) — never a crash, a hang or a silent fallback.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "tools/tools_testutil.h"

namespace isv {
namespace {

using ::isv::testing::RunBinary;
using ::isv::testing::TempDir;
using ::isv::testing::TestdataFile;

constexpr const char* kCommands[] = {"info", "tokenize", "template", "run", "eval",
                                     "perplexity", "quantize", "synth", "bench"};

TEST(CliErrorsTest, EveryCommandHasHelp) {
  for (const char* c : kCommands) {
    std::string out;
    EXPECT_EQ(RunBinary(std::string(c) + " --help", &out), 0) << c;
    EXPECT_NE(out.find("Usage"), std::string::npos) << c << ": " << out;
  }
}

TEST(CliErrorsTest, MissingArgumentsAreUsageErrors) {
  for (const char* c : kCommands) {
    std::string out;
    EXPECT_EQ(RunBinary(c, &out), 2) << c << ": " << out;
    EXPECT_NE(out.find("is required"), std::string::npos) << c << ": " << out;
  }
}

class BadFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    model_ = TestdataFile("models/stories260K.gguf");
    if (model_.empty()) GTEST_SKIP() << "../shared/testdata absent";
    text_ = dir_.File("text.txt");
    std::ofstream(text_) << "hello";
    ctx_ = dir_.File("ctx.json");
    std::ofstream(ctx_) << R"({"messages":[{"role":"user","content":"hi"}],"add_generation_prompt":true})";
    // The first 100000 bytes of a real model: header and directory intact, tensor data cut off.
    truncated_ = dir_.File("truncated.gguf");
    std::ifstream in(model_, std::ios::binary);
    std::string head(100000, '\0');
    in.read(head.data(), static_cast<std::streamsize>(head.size()));
    std::ofstream(truncated_, std::ios::binary) << head;
  }
  // Runs each model-taking subcommand on `file`; each must exit 1 with `file` in the message.
  void ExpectEveryCommandRefuses(const std::string& file) {
    const std::string cmds[] = {"info " + file,
                                "tokenize " + file + " --text hi",
                                "run " + file + " -p hi -n 1",
                                "eval " + file + " -p hi",
                                "perplexity " + file + " -f " + text_,
                                "quantize " + file + " " + dir_.File("out.gguf") + " q8_0",
                                "bench " + file + " -p 4 -n 1 -r 1 --bw-gib 0",
                                "template " + file + " --context " + ctx_};
    for (const std::string& c : cmds) {
      std::string out;
      EXPECT_EQ(RunBinary(c, &out), 1) << c << ": " << out;
      EXPECT_NE(out.find("error: " + file), std::string::npos) << c << ": " << out;
    }
  }
  TempDir dir_;
  std::string model_, text_, ctx_, truncated_;
};

TEST_F(BadFileTest, MissingFile) { ExpectEveryCommandRefuses(dir_.File("absent.gguf")); }
TEST_F(BadFileTest, Directory) { ExpectEveryCommandRefuses(dir_.path()); }
TEST_F(BadFileTest, TruncatedModel) { ExpectEveryCommandRefuses(truncated_); }

TEST_F(BadFileTest, NotGguf) {
  // (template renders a non-GGUF file as a Jinja template, so it is not in this list.)
  for (const std::string& c : {"info " + text_, "run " + text_ + " -p hi", "eval " + text_ + " -p hi"}) {
    std::string out;
    EXPECT_EQ(RunBinary(c, &out), 1) << c;
    EXPECT_NE(out.find("not a GGUF file"), std::string::npos) << c << ": " << out;
  }
}

TEST_F(BadFileTest, VocabOnlyFileWhereAModelIsNeeded) {
  const std::string vocab = TestdataFile("vocab/ggml-vocab-llama-bpe.gguf");
  if (vocab.empty()) GTEST_SKIP() << "vocab testdata absent";
  for (const std::string& c : {"run " + vocab + " -p hi", "eval " + vocab + " -p hi",
                               "perplexity " + vocab + " -f " + text_, "bench " + vocab + " -r 1",
                               "quantize " + vocab + " " + dir_.File("out.gguf") + " q8_0"}) {
    std::string out;
    EXPECT_EQ(RunBinary(c, &out), 1) << c;
    EXPECT_NE(out.find("vocabulary-only file"), std::string::npos) << c << ": " << out;
  }
  std::string out;
  EXPECT_EQ(RunBinary("tokenize " + vocab + " --text hi", &out), 0) << out;  // vocab-only works here
}

TEST_F(BadFileTest, DirectoryAsTextInput) {
  std::string out;
  EXPECT_EQ(RunBinary("perplexity " + model_ + " -f " + dir_.path(), &out), 1);
  EXPECT_NE(out.find("not a regular file"), std::string::npos) << out;
  EXPECT_EQ(RunBinary("tokenize " + model_ + " --file " + dir_.path(), &out), 1);
  EXPECT_NE(out.find("not a regular file"), std::string::npos) << out;
  EXPECT_EQ(RunBinary("template " + model_ + " --context " + dir_.path(), &out), 1);
  EXPECT_NE(out.find("not a regular file"), std::string::npos) << out;
}

TEST_F(BadFileTest, AbsurdOptionValuesAreUsageErrors) {
  const std::string run = "run " + model_ + " -p hi ";
  for (const std::string& args : {run + "--max-tokens -1", run + "--ctx -5", run + "--ctx 100000000",
                                  run + "--threads -5", run + "--threads 10000", run + "--seed -2",
                                  "eval " + model_ + " -p hi --top 0", "eval " + model_ + " -p hi -t -1",
                                  "perplexity " + model_ + " -f " + text_ + " --ctx 0",
                                  "bench " + model_ + " -t 100000", "bench " + model_ + " --bw-gib 1e30"}) {
    std::string out;
    EXPECT_EQ(RunBinary(args, &out), 2) << args << ": " << out;
    EXPECT_NE(out.find("not in range"), std::string::npos) << args << ": " << out;
  }
}

TEST_F(BadFileTest, NonFiniteSamplingValuesAreRefused) {
  for (const char* opt : {"--temperature nan", "--temperature inf", "--top-p nan", "--min-p -1",
                          "--repeat-penalty 0"}) {
    std::string out;
    EXPECT_EQ(RunBinary("run " + model_ + " -p hi -n 1 " + opt, &out), 1) << opt << ": " << out;
    EXPECT_NE(out.find("error: "), std::string::npos) << opt << ": " << out;
  }
}

TEST_F(BadFileTest, PromptLongerThanTheContext) {
  std::string prompt;
  for (int i = 0; i < 40; ++i) prompt += "once upon a time ";
  std::string out;
  EXPECT_EQ(RunBinary("run " + model_ + " -p '" + prompt + "' --ctx 16 -n 1", &out), 1);
  EXPECT_NE(out.find("the context holds 16"), std::string::npos) << out;
}

}  // namespace
}  // namespace isv
