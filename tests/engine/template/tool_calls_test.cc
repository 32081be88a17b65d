// Tool-call parsing of generated text, one family at a time, on text written in each family's
// format (as the family's chat template renders an assistant tool call), plus malformed output.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "engine/template/tool_calls.h"

namespace isv {
namespace {

constexpr char kArgs[] = R"({"location":"Paris, France","unit":"celsius"})";

void ExpectOneCall(const ParsedToolCalls& p, const std::string& content, const std::string& name,
                   const std::string& args) {
  EXPECT_EQ(p.content, content);
  ASSERT_EQ(p.tool_calls.size(), 1u);
  EXPECT_EQ(p.tool_calls[0].name, name);
  EXPECT_EQ(p.tool_calls[0].arguments, args);
  EXPECT_FALSE(p.tool_calls[0].id.empty());
}

TEST(ToolCallsTest, Hermes) {
  ParsedToolCalls p = ParseToolCalls(
      "Let me check.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"location\": \"Paris, France\", "
      "\"unit\": \"celsius\"}}\n</tool_call>",
      ToolCallFormat::kHermes);
  ExpectOneCall(p, "Let me check.", "get_weather", kArgs);
  EXPECT_EQ(p.tool_calls[0].id.rfind("call_", 0), 0u);
}

TEST(ToolCallsTest, HermesSeveralCallsAndUnclosedLast) {
  ParsedToolCalls p = ParseToolCalls(
      "<tool_call>{\"name\": \"a\", \"arguments\": {}}</tool_call>\n<tool_call>{\"name\": \"b\", \"arguments\": {\"x\": 1}}",
      ToolCallFormat::kHermes);
  EXPECT_EQ(p.content, "");
  ASSERT_EQ(p.tool_calls.size(), 2u);
  EXPECT_EQ(p.tool_calls[0].name, "a");
  EXPECT_EQ(p.tool_calls[0].arguments, "{}");
  EXPECT_EQ(p.tool_calls[1].arguments, R"({"x":1})");
  EXPECT_NE(p.tool_calls[0].id, p.tool_calls[1].id);
}

TEST(ToolCallsTest, HermesArgumentsAsJsonString) {
  ParsedToolCalls p = ParseToolCalls(
      R"(<tool_call>{"name": "get_weather", "arguments": "{\"location\": \"Paris, France\", \"unit\": \"celsius\"}"}</tool_call>)",
      ToolCallFormat::kHermes);
  ExpectOneCall(p, "", "get_weather", kArgs);
}

TEST(ToolCallsTest, Llama3Json) {
  ParsedToolCalls p = ParseToolCalls(
      R"({"name": "get_weather", "parameters": {"location": "Paris, France", "unit": "celsius"}})", ToolCallFormat::kLlama3);
  ExpectOneCall(p, "", "get_weather", kArgs);
}

TEST(ToolCallsTest, Llama3PythonTag) {
  ParsedToolCalls p = ParseToolCalls(
      R"(<|python_tag|>{"name": "get_weather", "parameters": {"location": "Paris, France", "unit": "celsius"}}<|eom_id|>)",
      ToolCallFormat::kLlama3);
  ExpectOneCall(p, "", "get_weather", kArgs);
  p = ParseToolCalls(R"(<|python_tag|>brave_search.call(query="weather in Paris", count=3))", ToolCallFormat::kLlama3);
  ExpectOneCall(p, "", "brave_search", R"({"query":"weather in Paris","count":3})");
}

TEST(ToolCallsTest, Llama3PlainTextIsContent) {
  ParsedToolCalls p = ParseToolCalls("The weather is {probably} nice.", ToolCallFormat::kLlama3);
  EXPECT_EQ(p.content, "The weather is {probably} nice.");
  EXPECT_TRUE(p.tool_calls.empty());
  p = ParseToolCalls(R"({"answer": 42})", ToolCallFormat::kLlama3);  // JSON, but not a call
  EXPECT_TRUE(p.tool_calls.empty());
  EXPECT_EQ(p.content, R"({"answer": 42})");
}

TEST(ToolCallsTest, MistralJsonArray) {
  ParsedToolCalls p = ParseToolCalls(
      R"([TOOL_CALLS][{"name": "get_weather", "arguments": {"location": "Paris, France", "unit": "celsius"}, "id": "abc123XYZ"}])",
      ToolCallFormat::kMistral);
  ExpectOneCall(p, "", "get_weather", kArgs);
  EXPECT_EQ(p.tool_calls[0].id, "abc123XYZ");
}

TEST(ToolCallsTest, MistralArgsForm) {
  ParsedToolCalls p = ParseToolCalls(
      R"(Sure.[TOOL_CALLS]get_weather[CALL_ID]call00001[ARGS]{"location": "Paris, France", "unit": "celsius"}[TOOL_CALLS]other[ARGS]{})",
      ToolCallFormat::kMistral);
  EXPECT_EQ(p.content, "Sure.");
  ASSERT_EQ(p.tool_calls.size(), 2u);
  EXPECT_EQ(p.tool_calls[0].id, "call00001");
  EXPECT_EQ(p.tool_calls[0].arguments, kArgs);
  EXPECT_EQ(p.tool_calls[1].name, "other");
}

TEST(ToolCallsTest, FunctionaryV31) {
  ParsedToolCalls p = ParseToolCalls(
      R"(<function=get_weather>{"location": "Paris, France", "unit": "celsius"}</function>)",
      ToolCallFormat::kFunctionaryV31);
  ExpectOneCall(p, "", "get_weather", kArgs);
}

TEST(ToolCallsTest, FunctionaryV32) {
  // The prompt ends with ">>>", so generation starts with the recipient name.
  ParsedToolCalls p = ParseToolCalls(
      "all\nChecking.>>>get_weather\n{\"location\": \"Paris, France\", \"unit\": \"celsius\"}",
      ToolCallFormat::kFunctionaryV32);
  ExpectOneCall(p, "Checking.", "get_weather", kArgs);
  p = ParseToolCalls("all\nJust text.", ToolCallFormat::kFunctionaryV32);
  EXPECT_EQ(p.content, "Just text.");
  EXPECT_TRUE(p.tool_calls.empty());
}

TEST(ToolCallsTest, DeepSeekR1) {
  ParsedToolCalls p = ParseToolCalls(
      "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather\n```json\n"
      "{\"location\": \"Paris, France\", \"unit\": \"celsius\"}\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜>",
      ToolCallFormat::kDeepSeek);
  ExpectOneCall(p, "", "get_weather", kArgs);
}

TEST(ToolCallsTest, DeepSeekV31) {
  ParsedToolCalls p = ParseToolCalls(
      "Looking.<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>get_weather<｜tool▁sep｜>{\"location\": \"Paris, France\", "
      "\"unit\": \"celsius\"}<｜tool▁call▁end｜><｜tool▁calls▁end｜>",
      ToolCallFormat::kDeepSeek);
  ExpectOneCall(p, "Looking.", "get_weather", kArgs);
}

TEST(ToolCallsTest, Qwen3CoderXml) {
  ParsedToolCalls p = ParseToolCalls(
      "<tool_call>\n<function=get_weather>\n<parameter=location>\nParis, France\n</parameter>\n"
      "<parameter=unit>\ncelsius\n</parameter>\n<parameter=days>\n3\n</parameter>\n</function>\n</tool_call>",
      ToolCallFormat::kQwen3Coder);
  ExpectOneCall(p, "", "get_weather", R"({"location":"Paris, France","unit":"celsius","days":3})");
}

TEST(ToolCallsTest, KimiK2) {
  ParsedToolCalls p = ParseToolCalls(
      "<|tool_calls_section_begin|><|tool_call_begin|>functions.get_weather:0<|tool_call_argument_begin|>"
      "{\"location\": \"Paris, France\", \"unit\": \"celsius\"}<|tool_call_end|><|tool_calls_section_end|>",
      ToolCallFormat::kKimiK2);
  ExpectOneCall(p, "", "get_weather", kArgs);
  EXPECT_EQ(p.tool_calls[0].id, "functions.get_weather:0");
}

TEST(ToolCallsTest, Glm) {
  ParsedToolCalls p = ParseToolCalls(
      "<tool_call>get_weather\n<arg_key>location</arg_key>\n<arg_value>Paris, France</arg_value>\n"
      "<arg_key>unit</arg_key>\n<arg_value>celsius</arg_value>\n</tool_call>",
      ToolCallFormat::kGlm);
  ExpectOneCall(p, "", "get_weather", kArgs);
}

TEST(ToolCallsTest, MiniMax) {
  ParsedToolCalls p = ParseToolCalls(
      "<minimax:tool_call>\n<invoke name=\"get_weather\">\n<parameter name=\"location\">Paris, France</parameter>\n"
      "<parameter name=\"unit\">celsius</parameter>\n</invoke>\n</minimax:tool_call>",
      ToolCallFormat::kMiniMax);
  ExpectOneCall(p, "", "get_weather", kArgs);
}

TEST(ToolCallsTest, MalformedOutputIsPlainContent) {
  struct Case {
    ToolCallFormat format;
    const char* text;
  };
  const Case cases[] = {
      {ToolCallFormat::kHermes, "<tool_call>{\"name\": \"get_weather\", \"arguments\": {\"loc</tool_call>"},
      {ToolCallFormat::kHermes, "<tool_call>not json at all"},
      {ToolCallFormat::kHermes, "<tool_call>{\"arguments\": {}}</tool_call>"},  // no name
      {ToolCallFormat::kLlama3, "{\"name\": \"get_weather\", \"parameters\": {"},
      {ToolCallFormat::kMistral, "[TOOL_CALLS][{\"name\": \"x\", \"arguments\": {]"},
      {ToolCallFormat::kMistral, "[TOOL_CALLS]name_without_args"},
      {ToolCallFormat::kFunctionaryV31, "<function=get_weather>{oops}</function>"},
      {ToolCallFormat::kFunctionaryV32, "get_weather\n{\"a\":"},
      {ToolCallFormat::kDeepSeek, "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>nosep<｜tool▁call▁end｜>"},
      {ToolCallFormat::kQwen3Coder, "<tool_call><function=f><parameter=a>1</tool_call>"},
      {ToolCallFormat::kKimiK2, "<|tool_calls_section_begin|><|tool_call_begin|>functions.f:0{}"},
      {ToolCallFormat::kGlm, "<tool_call>f<arg_key>a</arg_key></tool_call>"},
      {ToolCallFormat::kMiniMax, "<minimax:tool_call><invoke name=\"f\"></minimax:tool_call>"},
  };
  for (const Case& c : cases) {
    ParsedToolCalls p = ParseToolCalls(c.text, c.format);
    EXPECT_TRUE(p.tool_calls.empty()) << ToolCallFormatName(c.format) << ": " << c.text;
    EXPECT_EQ(p.content, c.text) << ToolCallFormatName(c.format);
  }
}

TEST(ToolCallsTest, NoToolSyntaxKeepsContent) {
  ParsedToolCalls p = ParseToolCalls("  Hello there!  ", ToolCallFormat::kHermes);
  EXPECT_EQ(p.content, "Hello there!");
  EXPECT_TRUE(p.tool_calls.empty());
  p = ParseToolCalls("<tool_call>{\"name\": \"x\", \"arguments\": {}}</tool_call>", ToolCallFormat::kNone);
  EXPECT_TRUE(p.tool_calls.empty());
}

std::string ReadTemplate(const std::string& name) {
  std::ifstream in(std::string(ISV_SHARED_DIR) + "/testdata/templates/" + name + ".jinja", std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(ToolCallsTest, DetectsFamiliesOfShippedTemplates) {
  if (ReadTemplate("Qwen-Qwen2.5-7B-Instruct").empty()) GTEST_SKIP() << "testdata absent";
  const std::pair<const char*, ToolCallFormat> expected[] = {
      {"Qwen-Qwen2.5-7B-Instruct", ToolCallFormat::kHermes},
      {"NousResearch-Hermes-3-Llama-3.1-8B-tool_use", ToolCallFormat::kHermes},
      {"meta-llama-Llama-3.1-8B-Instruct", ToolCallFormat::kLlama3},
      {"mistralai-Mistral-Nemo-Instruct-2407", ToolCallFormat::kMistral},
      {"Mistral-Small-3.2-24B-Instruct-2506", ToolCallFormat::kMistral},
      {"meetkai-functionary-medium-v3.1", ToolCallFormat::kFunctionaryV31},
      {"meetkai-functionary-medium-v3.2", ToolCallFormat::kFunctionaryV32},
      {"deepseek-ai-DeepSeek-R1-Distill-Qwen-32B", ToolCallFormat::kDeepSeek},
      {"deepseek-ai-DeepSeek-V3.1", ToolCallFormat::kDeepSeek},
      {"Qwen3-Coder", ToolCallFormat::kQwen3Coder},
      {"moonshotai-Kimi-K2", ToolCallFormat::kKimiK2},
      {"GLM-4.6", ToolCallFormat::kGlm},
      {"MiniMax-M2", ToolCallFormat::kMiniMax},
  };
  for (const auto& [name, format] : expected) {
    EXPECT_EQ(ToolCallFormatName(DetectToolCallFormat(ReadTemplate(name))), ToolCallFormatName(format)) << name;
  }
}

}  // namespace
}  // namespace isv
