// `inference-service tokenize` end to end: runs the built binary (ISV_BINARY) on vocab-only GGUF
// files and checks its JSON against llama.cpp's ids (special-token-goldens.json / test vectors).
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

namespace {

std::string Vocab(const std::string& name) {
  return std::string(ISV_SHARED_DIR) + "/testdata/vocab/ggml-vocab-" + name + ".gguf";
}

// Runs the binary with `args`; returns stdout and sets *status to the exit code.
std::string RunCli(const std::string& args, int* status) {
  const std::string cmd = std::string(ISV_BINARY) + " " + args + " 2>/dev/null";
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  if (p == nullptr) return out;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  int rc = pclose(p);
  *status = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  return out;
}

bool Present() { return std::filesystem::exists(Vocab("qwen3")); }

TEST(TokenizeCli, JsonMatchesLlamaCpp) {
  if (!Present()) GTEST_SKIP() << "../shared/testdata absent";
  int status = -1;
  // special-token-goldens.json, qwen3 "<|im_start|>user\nHi there<|im_end|>\n<|im_start|>assistant\n".
  std::string out = RunCli("tokenize " + Vocab("qwen3") + " --text '<|im_start|>user\nHi there<|im_end|>\n<|im_start|>assistant\n'"
                        " --parse-special --json",
                        &status);
  ASSERT_EQ(status, 0);
  auto j = nlohmann::json::parse(out);
  const std::vector<int> expected = {151644, 872, 198, 13048, 1052, 151645, 198, 151644, 77091, 198};
  EXPECT_EQ(j.at("tokens").get<std::vector<int>>(), expected) << out;
  EXPECT_FALSE(j.contains("pieces"));
}

TEST(TokenizeCli, BosPiecesAndFile) {
  if (!Present()) GTEST_SKIP() << "../shared/testdata absent";
  const std::string path = std::filesystem::temp_directory_path() / "isv_tokenize_cli_test.txt";
  {
    std::ofstream f(path, std::ios::binary);
    f << "Hello world";
  }
  int status = -1;
  // llama-spm: BOS 1 by default; "Hello world" -> 15043 3186 (test vectors).
  auto j = nlohmann::json::parse(RunCli("tokenize " + Vocab("llama-spm") + " --file " + path + " --json --pieces", &status));
  ASSERT_EQ(status, 0);
  EXPECT_EQ(j.at("tokens").get<std::vector<int>>(), (std::vector<int>{1, 15043, 3186}));
  EXPECT_EQ(j.at("pieces").get<std::vector<std::string>>(), (std::vector<std::string>{"<s>", " Hello", " world"}));
  j = nlohmann::json::parse(RunCli("tokenize " + Vocab("llama-spm") + " --file " + path + " --json --no-bos", &status));
  EXPECT_EQ(j.at("tokens").get<std::vector<int>>(), (std::vector<int>{15043, 3186}));
  // Plain output: one id per line.
  EXPECT_EQ(RunCli("tokenize " + Vocab("llama-spm") + " --text 'Hello world' --no-bos", &status), "15043\n3186\n");
  std::filesystem::remove(path);
}

TEST(TokenizeCli, Errors) {
  int status = -1;
  RunCli("tokenize /nonexistent.gguf --text hi", &status);
  EXPECT_EQ(status, 1);
  if (!Present()) return;
  RunCli("tokenize " + Vocab("qwen3"), &status);  // neither --text nor --file
  EXPECT_NE(status, 0);
}

}  // namespace
