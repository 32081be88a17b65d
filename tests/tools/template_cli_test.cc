// `inference-service template`: renders a shipped template with a context file exactly like the
// Hugging Face reference rendering, and exits 1 with the message on stderr on a template error.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "engine/gguf/gguf_writer.h"

namespace {

namespace fs = std::filesystem;

const std::string kTemplates = std::string(ISV_SHARED_DIR) + "/testdata/templates";

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteFile(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

RunResult RunCli(const std::string& args, const fs::path& dir) {
  const fs::path out = dir / "stdout.txt", err = dir / "stderr.txt";
  std::string cmd = std::string("'") + ISV_BINARY + "' " + args + " >'" + out.string() + "' 2>'" + err.string() + "'";
  int status = std::system(cmd.c_str());
  RunResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = ReadFile(out);
  r.err = ReadFile(err);
  return r;
}

class TemplateCliTest : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("isv_template_cli_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(TemplateCliTest, RendersLikeTheReference) {
  const std::string name = "meta-llama-Llama-3.1-8B-Instruct";
  if (!fs::exists(kTemplates + "/" + name + ".jinja")) GTEST_SKIP() << "testdata absent";
  nlohmann::ordered_json expected = nlohmann::ordered_json::parse(ReadFile(kTemplates + "/expected/" + name + ".json"));
  for (const auto& c : expected["cases"]) {
    if (c["id"] != "tool_calling") continue;
    nlohmann::ordered_json ctx = nlohmann::ordered_json::object();
    ctx["messages"] = c["messages"];
    ctx["tools"] = c["tools"];
    ctx["add_generation_prompt"] = c["add_generation_prompt"];
    for (const auto& [k, v] : expected["special_tokens"].items()) ctx[k] = v;
    WriteFile(dir_ / "ctx.json", ctx.dump());
    RunResult r = RunCli("template '" + kTemplates + "/" + name + ".jinja' --context '" + (dir_ / "ctx.json").string() +
                          "' --now 2024-07-26",
                      dir_);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, c["output"].get<std::string>());
    EXPECT_EQ(r.err, "");
    return;
  }
  FAIL() << "case tool_calling not found";
}

TEST_F(TemplateCliTest, NowFlagReachesStrftimeNow) {
  WriteFile(dir_ / "t.jinja", "{{ strftime_now('%d %b %Y') }}|{{ messages[0].content }}\n");
  WriteFile(dir_ / "ctx.json", R"({"messages": [{"role": "user", "content": "hi"}]})");
  RunResult r = RunCli("template '" + (dir_ / "t.jinja").string() + "' --context '" + (dir_ / "ctx.json").string() +
                        "' --now 2023-03-05",
                    dir_);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "05 Mar 2023|hi");  // exactly the rendering: the template's trailing newline is dropped
}

TEST_F(TemplateCliTest, TemplateErrorExitsOne) {
  WriteFile(dir_ / "t.jinja", "{{ raise_exception('System role not supported') }}");
  WriteFile(dir_ / "ctx.json", R"({"messages": []})");
  RunResult r = RunCli("template '" + (dir_ / "t.jinja").string() + "' --context '" + (dir_ / "ctx.json").string() + "'",
                    dir_);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("TemplateError: System role not supported"), std::string::npos) << r.err;
}

TEST_F(TemplateCliTest, ReadsTemplateAndSpecialTokensFromGguf) {
  isv::GgufWriter w;
  w.AddString("general.architecture", "llama");
  w.AddString("tokenizer.chat_template", "{{ bos_token }}[{{ messages[0].content }}]{{ eos_token }}");
  w.AddStringArray("tokenizer.ggml.tokens", {"<unk>", "<s>", "</s>"});
  w.AddUint32("tokenizer.ggml.bos_token_id", 1);
  w.AddUint32("tokenizer.ggml.eos_token_id", 2);
  ASSERT_TRUE(w.WriteFile((dir_ / "m.gguf").string()).ok());
  // The context's eos_token wins over the file's; bos_token comes from the file.
  WriteFile(dir_ / "ctx.json", R"({"messages": [{"role": "user", "content": "hi"}], "eos_token": "<E>"})");
  RunResult r = RunCli("template '" + (dir_ / "m.gguf").string() + "' --context '" + (dir_ / "ctx.json").string() + "'",
                       dir_);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "<s>[hi]<E>");
}

TEST_F(TemplateCliTest, BadContextExitsOne) {
  WriteFile(dir_ / "t.jinja", "x");
  WriteFile(dir_ / "ctx.json", "not json");
  RunResult r = RunCli("template '" + (dir_ / "t.jinja").string() + "' --context '" + (dir_ / "ctx.json").string() + "'",
                    dir_);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("error:"), std::string::npos);
}

}  // namespace
