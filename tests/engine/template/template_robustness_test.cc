// Robustness: corrupted templates and corrupted model output must give a clean result (a Status
// naming the error class, or plain content), never a crash. Deterministic (fixed seed) mutations of
// the shipped templates and of well-formed tool-call texts.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/template/template.h"
#include "engine/template/tool_calls.h"

namespace isv {
namespace {

namespace fs = std::filesystem;

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string Mutate(const std::string& s, std::mt19937& rng) {
  static const std::string kPieces[] = {"{{", "}}", "{%", "%}", "{#", "#}", "-", "(", ")", "[", "]", "'", "\"",
                                        "|", ".", "endif", "endfor", "if", "for", "\\", "\n", "not", "~"};
  std::string out = s;
  int edits = 1 + static_cast<int>(rng() % 4);
  for (int e = 0; e < edits && !out.empty(); ++e) {
    size_t pos = rng() % out.size();
    switch (rng() % 3) {
      case 0: out.erase(pos, 1 + rng() % 8); break;
      case 1: out.insert(pos, kPieces[rng() % std::size(kPieces)]); break;
      default: out[pos] = static_cast<char>(rng() % 128); break;
    }
  }
  return out;
}

TEST(TemplateRobustnessTest, MutatedTemplatesFailCleanly) {
  const fs::path dir = fs::path(ISV_SHARED_DIR) / "testdata" / "templates";
  if (!fs::exists(dir / "conversations.json")) GTEST_SKIP() << "testdata absent";
  nlohmann::ordered_json convs = nlohmann::ordered_json::parse(ReadFile(dir / "conversations.json"));
  nlohmann::ordered_json ctx = nlohmann::ordered_json::object();
  ctx["messages"] = convs["conversations"]["tool_calling"]["messages"];
  ctx["tools"] = convs["conversations"]["tool_calling"]["tools"];
  ctx["add_generation_prompt"] = true;
  ctx["bos_token"] = "<s>";
  ctx["eos_token"] = "</s>";
  std::mt19937 rng(12345);
  jinja::RenderOptions options;
  options.max_loop_iterations = 100000;
  int parsed = 0, rendered = 0, failed = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() != ".jinja") continue;
    const std::string source = ReadFile(entry.path());
    for (int i = 0; i < 15; ++i) {
      std::string mutated = Mutate(source, rng);
      StatusOr<jinja::Template> t = jinja::Template::Parse(mutated);
      if (!t.ok()) {
        ++failed;
        EXPECT_NE(t.status().message().find("Error: "), std::string::npos) << t.status().ToString();
        continue;
      }
      ++parsed;
      StatusOr<std::string> out = t->Render(ctx, options);
      if (out.ok()) {
        ++rendered;
      } else {
        ++failed;
        EXPECT_NE(out.status().message().find("Error: "), std::string::npos) << out.status().ToString();
        EXPECT_NE(out.status().code(), StatusCode::kInternal) << out.status().ToString();
      }
    }
  }
  EXPECT_GT(parsed, 0);
  EXPECT_GT(failed, 0);
  (void)rendered;
}

TEST(TemplateRobustnessTest, MutatedToolCallTextNeverCrashes) {
  const std::pair<ToolCallFormat, std::string> samples[] = {
      {ToolCallFormat::kHermes, "<tool_call>\n{\"name\": \"f\", \"arguments\": {\"a\": [1, {\"b\": \"}\"}]}}\n</tool_call>"},
      {ToolCallFormat::kLlama3, "<|python_tag|>tool.call(query=\"x, y\", n=2)"},
      {ToolCallFormat::kMistral, "[TOOL_CALLS]f[CALL_ID]abc[ARGS]{\"a\": 1}[TOOL_CALLS][{\"name\": \"g\", \"arguments\": {}}]"},
      {ToolCallFormat::kFunctionaryV31, "<function=f>{\"a\": 1}</function>"},
      {ToolCallFormat::kFunctionaryV32, "all\nhi>>>f\n{\"a\": 1}"},
      {ToolCallFormat::kDeepSeek, "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>f\n```json\n{}\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜>"},
      {ToolCallFormat::kQwen3Coder, "<tool_call>\n<function=f>\n<parameter=a>\n1\n</parameter>\n</function>\n</tool_call>"},
      {ToolCallFormat::kKimiK2, "<|tool_calls_section_begin|><|tool_call_begin|>functions.f:0<|tool_call_argument_begin|>{}<|tool_call_end|><|tool_calls_section_end|>"},
      {ToolCallFormat::kGlm, "<tool_call>f\n<arg_key>a</arg_key>\n<arg_value>1</arg_value>\n</tool_call>"},
      {ToolCallFormat::kMiniMax, "<minimax:tool_call><invoke name=\"f\"><parameter name=\"a\">1</parameter></invoke></minimax:tool_call>"},
  };
  std::mt19937 rng(777);
  for (const auto& [format, text] : samples) {
    ParsedToolCalls clean = ParseToolCalls(text, format);
    EXPECT_FALSE(clean.tool_calls.empty()) << ToolCallFormatName(format);
    for (int i = 0; i < 300; ++i) {
      std::string mutated = text;
      size_t n = 1 + rng() % 3;
      for (size_t k = 0; k < n && !mutated.empty(); ++k) {
        size_t pos = rng() % mutated.size();
        if (rng() % 2) mutated.erase(pos, 1 + rng() % 4);
        else mutated.insert(pos, 1, "{}[]\"<>|=\n,:"[rng() % 12]);
      }
      ParsedToolCalls p = ParseToolCalls(mutated, format);
      for (const ToolCall& c : p.tool_calls) {
        // Every extracted call has a name and arguments that are a JSON object.
        EXPECT_FALSE(c.name.empty());
        nlohmann::json args = nlohmann::json::parse(c.arguments, nullptr, false);
        EXPECT_TRUE(args.is_object()) << c.arguments;
      }
    }
  }
}

}  // namespace
}  // namespace isv
