#include "api/request_parser.h"

#include <gtest/gtest.h>

namespace isv {
namespace {

CompletionRequest ParseOk(const std::string& body, bool is_chat = true) {
  auto r = ParseCompletionRequest(body, is_chat);
  if (auto* e = std::get_if<ApiError>(&r)) {
    ADD_FAILURE() << e->message;
    return {};
  }
  return std::get<CompletionRequest>(r);
}

ApiError ParseErr(const std::string& body, bool is_chat = true) {
  auto r = ParseCompletionRequest(body, is_chat);
  if (auto* e = std::get_if<ApiError>(&r)) return *e;
  ADD_FAILURE() << "expected an error for " << body;
  return {};
}

constexpr const char* kMsg = R"("messages":[{"role":"user","content":"hi"}])";

TEST(RequestParser, SeedRequestWithDefaults) {
  CompletionRequest r = ParseOk(std::string(R"({"model":"phi-4",)") + kMsg + "}");
  EXPECT_EQ(r.model, "phi-4");
  EXPECT_TRUE(r.is_chat);
  EXPECT_FALSE(r.stream);
  EXPECT_FLOAT_EQ(r.params.sampling.temperature, 0.7f);
  EXPECT_FLOAT_EQ(r.params.sampling.top_p, 1.0f);
  EXPECT_EQ(r.params.sampling.top_k, 0);
  EXPECT_EQ(r.params.max_tokens, -1);
  ASSERT_EQ(r.input.messages.size(), 1u);
  EXPECT_EQ(r.input.messages[0]["content"], "hi");
}

TEST(RequestParser, AllSeedFields) {
  CompletionRequest r = ParseOk(std::string(R"({"model":"m",)") + kMsg + R"(,
      "temperature":0.2,"max_tokens":64,"stream":true,"top_p":0.9,"stop":["<|endoftext|>","\n\n"],
      "presence_penalty":0.5,"frequency_penalty":-0.5,"seed":7,"orchestration_mode":"single",
      "task_type":"code","priority":2,"stream_options":{"include_usage":true}})");
  EXPECT_FLOAT_EQ(r.params.sampling.temperature, 0.2f);
  EXPECT_EQ(r.params.max_tokens, 64);
  EXPECT_TRUE(r.stream);
  EXPECT_TRUE(r.include_usage);
  EXPECT_FLOAT_EQ(r.params.sampling.top_p, 0.9f);
  EXPECT_EQ(r.params.stop, (std::vector<std::string>{"<|endoftext|>", "\n\n"}));
  EXPECT_FLOAT_EQ(r.params.sampling.presence_penalty, 0.5f);
  EXPECT_FLOAT_EQ(r.params.sampling.frequency_penalty, -0.5f);
  EXPECT_EQ(r.params.sampling.seed, 7u);
  EXPECT_EQ(r.orchestration_mode, "single");
  EXPECT_EQ(r.task_type, "code");
  EXPECT_EQ(r.priority, 2);
}

TEST(RequestParser, UnknownFieldsAreIgnored) {
  CompletionRequest r = ParseOk(std::string(R"({"model":"m",)") + kMsg +
                                R"(,"user":"x","metadata":{"a":1},"store":false})");
  EXPECT_EQ(r.model, "m");
}

TEST(RequestParser, WrongTypesNameTheField) {
  struct Case {
    std::string extra, param;
  };
  for (const Case& c : std::vector<Case>{
           {R"("temperature":"hot")", "temperature"},
           {R"("temperature":3)", "temperature"},
           {R"("max_tokens":1.5)", "max_tokens"},
           {R"("max_tokens":-1)", "max_tokens"},
           {R"("stream":"yes")", "stream"},
           {R"("stop":[1])", "stop"},
           {R"("top_p":2)", "top_p"},
           {R"("seed":"x")", "seed"},
           {R"("n":17)", "n"},
           {R"("n":0)", "n"},
           {R"("tools":{})", "tools"},
           {R"("tools":[{"type":"function"}])", "tools[0]"},
           {R"("tool_choice":"sometimes")", "tool_choice"},
           {R"("stream_options":{"include_usage":1})", "stream_options.include_usage"},
           {R"("orchestration_mode":5)", "orchestration_mode"}}) {
    ApiError e = ParseErr(std::string(R"({"model":"m",)") + kMsg + "," + c.extra + "}");
    EXPECT_EQ(e.http_status, 400) << c.extra;
    EXPECT_EQ(e.param, c.param) << c.extra;
    EXPECT_EQ(e.type, "invalid_request_error");
    EXPECT_NE(e.message.find(c.param.substr(0, c.param.find('['))), std::string::npos) << e.message;
  }
}

TEST(RequestParser, MessagesValidation) {
  EXPECT_EQ(ParseErr(R"({"model":"m"})").param, "messages");
  EXPECT_EQ(ParseErr(R"({"model":"m","messages":[]})").param, "messages");
  EXPECT_EQ(ParseErr(R"({"model":"m","messages":[{"role":"wizard","content":"x"}]})").param,
            "messages[0].role");
  EXPECT_EQ(ParseErr(R"({"model":"m","messages":[{"role":"user"}]})").param, "messages[0].content");
  EXPECT_EQ(ParseErr(R"({"model":"m","messages":[{"role":"user","content":5}]})").param,
            "messages[0].content");
  EXPECT_EQ(ParseErr(R"({"messages":[{"role":"user","content":"x"}]})").param, "model");
  EXPECT_EQ(ParseErr("[1,2]").http_status, 400);
  EXPECT_EQ(ParseErr("{oops").http_status, 400);
}

TEST(RequestParser, MessagesAreNormalisedForTemplates) {
  CompletionRequest r = ParseOk(R"({"model":"m","messages":[
      {"role":"developer","content":[{"type":"text","text":"be "},{"type":"text","text":"brief"}]},
      {"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function",
        "function":{"name":"f","arguments":"{\"x\":1}"}}]},
      {"role":"tool","tool_call_id":"c1","content":"42"}]})");
  EXPECT_EQ(r.input.messages[0]["role"], "system");
  EXPECT_EQ(r.input.messages[0]["content"], "be brief");
  EXPECT_EQ(r.input.messages[1]["tool_calls"][0]["function"]["arguments"]["x"], 1);
}

TEST(RequestParser, ToolChoiceNoneDropsTools) {
  std::string tools = R"("tools":[{"type":"function","function":{"name":"f"}}])";
  CompletionRequest on = ParseOk(std::string(R"({"model":"m",)") + kMsg + "," + tools + "}");
  EXPECT_TRUE(on.tools_enabled);
  EXPECT_TRUE(on.input.tools.is_array());
  CompletionRequest off =
      ParseOk(std::string(R"({"model":"m",)") + kMsg + "," + tools + R"(,"tool_choice":"none"})");
  EXPECT_FALSE(off.tools_enabled);
  EXPECT_TRUE(off.input.tools.is_null());
}

TEST(RequestParser, ResponseFormat) {
  EXPECT_TRUE(ParseOk(std::string(R"({"model":"m",)") + kMsg +
                      R"(,"response_format":{"type":"json_object"}})")
                  .params.json_object);
  EXPECT_FALSE(
      ParseOk(std::string(R"({"model":"m",)") + kMsg + R"(,"response_format":{"type":"text"}})")
          .params.json_object);
  ApiError e = ParseErr(std::string(R"({"model":"m",)") + kMsg +
                        R"(,"response_format":{"type":"json_schema"}})");
  EXPECT_EQ(e.http_status, 400);
  EXPECT_EQ(e.param, "response_format.json_schema");
  EXPECT_EQ(
      ParseErr(std::string(R"({"model":"m",)") + kMsg + R"(,"response_format":{"type":"xml"}})")
          .param,
      "response_format");
}

TEST(RequestParser, JsonSchemaAndGrammarCompileIntoParams) {
  const std::string head = std::string(R"({"model":"m",)") + kMsg;
  CompletionRequest r = ParseOk(head + R"(,"response_format":{"type":"json_schema","json_schema":
      {"name":"x","strict":true,"schema":{"type":"object","properties":{"a":{"type":"boolean"}},"required":["a"]}}}})");
  ASSERT_TRUE(r.params.grammar);
  EXPECT_EQ(r.grammar_field, "response_format");
  GrammarMatcher m(*r.params.grammar);
  EXPECT_TRUE(m.Feed(R"({"a": true})") && m.done());
  EXPECT_FALSE(GrammarMatcher(*r.params.grammar).Feed(R"({"b")"));
  // A json_schema without a schema is any JSON object (json_object mode).
  CompletionRequest no_schema = ParseOk(head + R"(,"response_format":{"type":"json_schema","json_schema":{"name":"x"}}})");
  EXPECT_TRUE(no_schema.params.json_object);
  EXPECT_FALSE(no_schema.params.grammar);
  // llama-server extensions, also on /v1/completions.
  CompletionRequest g = ParseOk(R"({"model":"m","prompt":"p","grammar":"root ::= [0-9]+"})", false);
  ASSERT_TRUE(g.params.grammar);
  EXPECT_EQ(g.grammar_field, "grammar");
  EXPECT_TRUE(GrammarMatcher(*g.params.grammar).Feed("123"));
  EXPECT_FALSE(GrammarMatcher(*g.params.grammar).Feed("12a"));
  CompletionRequest js = ParseOk(R"({"model":"m","prompt":"p","json_schema":{"type":"integer"}})", false);
  ASSERT_TRUE(js.params.grammar);
  EXPECT_EQ(js.grammar_field, "json_schema");
  EXPECT_TRUE(GrammarMatcher(*js.params.grammar).Feed("-42"));
  // Errors name the field.
  ApiError bad = ParseErr(head + R"(,"response_format":{"type":"json_schema","json_schema":{"schema":{"type":"integer","multipleOf":3}}}})");
  EXPECT_EQ(bad.http_status, 400);
  EXPECT_EQ(bad.param, "response_format.json_schema.schema");
  EXPECT_NE(bad.message.find("'multipleOf'"), std::string::npos) << bad.message;
  EXPECT_EQ(ParseErr(R"({"model":"m","prompt":"p","grammar":"root ::= x"})", false).param, "grammar");
  EXPECT_EQ(ParseErr(R"({"model":"m","prompt":"p","grammar":3})", false).param, "grammar");
  EXPECT_EQ(ParseErr(R"({"model":"m","prompt":"p","json_schema":{"minimum":1}})", false).param, "json_schema");
  EXPECT_EQ(ParseErr(R"({"model":"m","prompt":"p","grammar":"root ::= \"a\"","json_schema":{}})", false).param,
            "grammar");  // only one constraint
}

TEST(RequestParser, ForcedToolChoice) {
  const std::string tools =
      R"("tools":[{"type":"function","function":{"name":"get_weather","parameters":{}}}])";
  const std::string head = std::string(R"({"model":"m",)") + kMsg + "," + tools;
  CompletionRequest req = ParseOk(head + R"(,"tool_choice":"required"})");
  EXPECT_EQ(req.forced_tool, "*");
  EXPECT_TRUE(req.tools_enabled);
  CompletionRequest named = ParseOk(head + R"(,"tool_choice":{"type":"function","function":{"name":"get_weather"}}})");
  EXPECT_EQ(named.forced_tool, "get_weather");
  EXPECT_EQ(ParseOk(head + R"(,"tool_choice":"auto"})").forced_tool, "");
  ApiError unknown = ParseErr(head + R"(,"tool_choice":{"type":"function","function":{"name":"other"}}})");
  EXPECT_EQ(unknown.http_status, 400);
  EXPECT_EQ(unknown.param, "tool_choice");
  EXPECT_EQ(ParseErr(std::string(R"({"model":"m",)") + kMsg + R"(,"tools":[],"tool_choice":"required"})").param,
            "tool_choice");
  EXPECT_EQ(ParseErr(head + R"(,"tool_choice":"required","response_format":{"type":"json_object"}})").param,
            "tool_choice");
}

TEST(RequestParser, Completions) {
  CompletionRequest r = ParseOk(R"({"model":"m","prompt":"Once"})", false);
  EXPECT_FALSE(r.is_chat);
  EXPECT_EQ(r.input.prompt, "Once");
  EXPECT_EQ(r.params.max_tokens, 16);  // OpenAI's default for completions
  EXPECT_EQ(ParseOk(R"({"model":"m","prompt":["Twice"]})", false).input.prompt, "Twice");
  EXPECT_EQ(ParseErr(R"({"model":"m"})", false).param, "prompt");
  EXPECT_EQ(ParseErr(R"({"model":"m","prompt":3})", false).param, "prompt");
}

TEST(RequestParser, SchedulerAndLogprobFields) {
  CompletionRequest d = ParseOk(std::string(R"({"model":"m",)") + kMsg + "}");
  EXPECT_EQ(d.params.priority, 2);  // the seed's default
  EXPECT_EQ(d.params.top_logprobs, -1);
  CompletionRequest r = ParseOk(std::string(R"({"model":"m",)") + kMsg +
                                R"(,"priority":0,"queue_timeout_s":1.5,"logprobs":true,"top_logprobs":4})");
  EXPECT_EQ(r.params.priority, 0);
  EXPECT_DOUBLE_EQ(r.params.queue_timeout_s, 1.5);
  EXPECT_EQ(r.params.top_logprobs, 4);
  EXPECT_EQ(ParseOk(std::string(R"({"model":"m",)") + kMsg + R"(,"logprobs":true})").params.top_logprobs, 0);
  EXPECT_EQ(ParseErr(std::string(R"({"model":"m",)") + kMsg + R"(,"top_logprobs":2})").param, "top_logprobs");
  EXPECT_EQ(ParseErr(std::string(R"({"model":"m",)") + kMsg + R"(,"top_logprobs":21,"logprobs":true})").param,
            "top_logprobs");
  EXPECT_EQ(ParseErr(std::string(R"({"model":"m",)") + kMsg + R"(,"logprobs":3})").param, "logprobs");
  EXPECT_EQ(ParseErr(std::string(R"({"model":"m",)") + kMsg + R"(,"queue_timeout_s":"x"})").param,
            "queue_timeout_s");
  // Completions: logprobs is the number of alternatives.
  EXPECT_EQ(ParseOk(R"({"model":"m","prompt":"a","logprobs":2})", false).params.top_logprobs, 2);
  EXPECT_EQ(ParseErr(R"({"model":"m","prompt":"a","logprobs":6})", false).param, "logprobs");
}

TEST(RequestParser, LogitBias) {
  CompletionRequest r =
      ParseOk(std::string(R"({"model":"m",)") + kMsg + R"(,"logit_bias":{"13":-100,"7":5}})");
  EXPECT_FLOAT_EQ(r.params.sampling.logit_bias.at(13), -100);
  EXPECT_FLOAT_EQ(r.params.sampling.logit_bias.at(7), 5);
  EXPECT_EQ(ParseErr(std::string(R"({"model":"m",)") + kMsg + R"(,"logit_bias":{"x":1}})").param,
            "logit_bias");
}

}  // namespace
}  // namespace isv
