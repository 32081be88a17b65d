// The HTTP layer over a fake Generator: tool-call responses (plain and streamed), an error after
// the first SSE byte, and busy/unknown-model statuses, without depending on model weights.
#include "api/server.h"
#include "api/server_testutil.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <filesystem>
#include <fstream>
#include <thread>

namespace isv {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

// Emits `text` in pieces of 3 bytes; optionally fails after the first piece.
class ScriptedGenerator : public Generator {
 public:
  ScriptedGenerator(std::string text, ToolCallFormat format, Status fail_after_first)
      : text_(std::move(text)), format_(format), fail_(std::move(fail_after_first)) {}
  StatusOr<Prompt> PreparePrompt(const PromptInput& input) const override {
    Prompt p;
    p.tokens = {1, 2, 3};
    p.tool_format = format_;
    return p;
  }
  StatusOr<GenerationResult> Generate(const Prompt& prompt, const GenerationParams&,
                                      const TextCallback& on_text,
                                      const TokenTimeCallback&) override {
    GenerationResult r;
    r.prompt_tokens = static_cast<int32_t>(prompt.tokens.size());
    r.finish_reason = "stop";
    for (size_t i = 0; i < text_.size(); i += 3) {
      ++r.completion_tokens;
      if (!on_text(text_.substr(i, 3))) return r;
      if (!fail_.ok()) return fail_;
    }
    return r;
  }
  int32_t n_ctx() const override { return 64; }
  uint64_t memory_bytes() const override { return 1; }

 private:
  std::string text_;
  ToolCallFormat format_;
  Status fail_;
};

class ScriptedLoader : public ModelLoader {
 public:
  StatusOr<uint64_t> EstimateBytes(const ModelSpec&) override { return 1; }
  StatusOr<std::shared_ptr<Generator>> Load(const ModelSpec& spec) override {
    if (spec.id == "tools") {
      return std::shared_ptr<Generator>(std::make_shared<ScriptedGenerator>(
          "Let me check.<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": "
          "\"Paris\"}}\n</tool_call>",
          ToolCallFormat::kHermes, OkStatus()));
    }
    return std::shared_ptr<Generator>(std::make_shared<ScriptedGenerator>(
        "Hello world, this is text.", ToolCallFormat::kNone,
        spec.id == "broken" ? InternalError("kernel exploded") : OkStatus()));
  }
};

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<TestServer>(
        "server_test", std::vector<std::string>{"tools.gguf", "plain.gguf", "broken.gguf"},
        "models:\n  tools: {file: tools.gguf}\n  plain: {file: plain.gguf}\n  broken: {file: broken.gguf}\n", "",
        std::make_unique<ScriptedLoader>());
    ASSERT_TRUE(server_->ok()) << server_->error();
  }
  httplib::Result Post(const std::string& path, const json& body) { return server_->Post(path, body.dump()); }
  static std::vector<std::string> Events(const std::string& sse) { return TestServer::SseData(sse); }

  std::unique_ptr<TestServer> server_;
  const json tools_ =
      json::parse(R"([{"type":"function","function":{"name":"get_weather","parameters":{}}}])");
};

TEST_F(ServerTest, ToolCallsInAPlainResponse) {
  auto res = Post("/v1/chat/completions", {{"model", "tools"},
                                           {"messages", {{{"role", "user"}, {"content", "w?"}}}},
                                           {"tools", tools_}});
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  json j = json::parse(res->body);
  const json& choice = j["choices"][0];
  EXPECT_EQ(choice["finish_reason"], "tool_calls");
  EXPECT_EQ(choice["message"]["content"], "Let me check.");
  ASSERT_EQ(choice["message"]["tool_calls"].size(), 1u);
  const json& call = choice["message"]["tool_calls"][0];
  EXPECT_EQ(call["type"], "function");
  EXPECT_EQ(call["function"]["name"], "get_weather");
  EXPECT_EQ(json::parse(call["function"]["arguments"].get<std::string>()),
            json({{"city", "Paris"}}));
  EXPECT_FALSE(call["id"].get<std::string>().empty());
}

TEST_F(ServerTest, WithoutToolsTheMarkupIsPlainContent) {
  auto res = Post("/v1/chat/completions",
                  {{"model", "tools"}, {"messages", {{{"role", "user"}, {"content", "w?"}}}}});
  ASSERT_EQ(res->status, 200);
  json j = json::parse(res->body);
  EXPECT_EQ(j["choices"][0]["finish_reason"], "stop");
  EXPECT_NE(j["choices"][0]["message"]["content"].get<std::string>().find("<tool_call>"),
            std::string::npos);
}

TEST_F(ServerTest, ToolCallsStreamedAsOneDelta) {
  auto res = Post("/v1/chat/completions", {{"model", "tools"},
                                           {"stream", true},
                                           {"tools", tools_},
                                           {"messages", {{{"role", "user"}, {"content", "w?"}}}}});
  ASSERT_EQ(res->status, 200);
  std::vector<std::string> ev = Events(res->body);
  ASSERT_GE(ev.size(), 4u) << res->body;
  EXPECT_EQ(ev.back(), "[DONE]");
  std::string content, name, finish;
  for (size_t i = 0; i + 1 < ev.size(); ++i) {
    json c = json::parse(ev[i]);
    const json& d = c["choices"][0]["delta"];
    if (d.contains("content")) content += d["content"].get<std::string>();
    if (d.contains("tool_calls")) {
      EXPECT_EQ(d["tool_calls"][0]["index"], 0);
      name = d["tool_calls"][0]["function"]["name"];
    }
    if (!c["choices"][0]["finish_reason"].is_null()) finish = c["choices"][0]["finish_reason"];
  }
  EXPECT_EQ(content, "Let me check.");
  EXPECT_EQ(name, "get_weather");
  EXPECT_EQ(finish, "tool_calls");
}

TEST_F(ServerTest, ErrorAfterFirstByteIsAnErrorEventThenDone) {
  auto res = Post("/v1/chat/completions", {{"model", "broken"},
                                           {"stream", true},
                                           {"messages", {{{"role", "user"}, {"content", "x"}}}}});
  ASSERT_EQ(res->status, 200);  // headers were already out
  std::vector<std::string> ev = Events(res->body);
  ASSERT_GE(ev.size(), 3u) << res->body;
  EXPECT_EQ(ev.back(), "[DONE]");
  json err = json::parse(ev[ev.size() - 2]);
  EXPECT_EQ(err["error"]["message"], "kernel exploded");
  EXPECT_EQ(err["error"]["code"], "internal_error");
  EXPECT_EQ(err["error"]["retriable"], false);
  // Non-streaming, the same failure is a plain 500 with the schema.
  auto plain = Post("/v1/chat/completions",
                    {{"model", "broken"}, {"messages", {{{"role", "user"}, {"content", "x"}}}}});
  EXPECT_EQ(plain->status, 500);
  EXPECT_EQ(json::parse(plain->body)["error"]["code"], "internal_error");
}

TEST_F(ServerTest, StreamedTextCompletion) {
  auto res = Post("/v1/completions", {{"model", "plain"},
                                      {"prompt", "x"},
                                      {"stream", true},
                                      {"stream_options", {{"include_usage", true}}}});
  ASSERT_EQ(res->status, 200);
  std::vector<std::string> ev = Events(res->body);
  std::string text;
  json usage;
  for (size_t i = 0; i + 1 < ev.size(); ++i) {
    json c = json::parse(ev[i]);
    EXPECT_EQ(c["object"], "text_completion");
    if (c.contains("usage")) usage = c["usage"];
    if (!c["choices"].empty()) text += c["choices"][0]["text"].get<std::string>();
  }
  EXPECT_EQ(text, "Hello world, this is text.");
  EXPECT_EQ(usage["prompt_tokens"], 3);
  EXPECT_EQ(usage["completion_tokens"], 9);
  EXPECT_EQ(usage["total_tokens"], 12);
}

TEST_F(ServerTest, MetricsCountRequests) {
  Post("/v1/completions", {{"model", "plain"}, {"prompt", "x"}});
  auto res = server_->client().Get("/metrics");
  ASSERT_EQ(res->status, 200);
  EXPECT_NE(res->body.find("inference_requests_total{route=\"/v1/completions\",status=\"200\"} 1"),
            std::string::npos)
      << res->body;
  EXPECT_NE(res->body.find("inference_completion_tokens_total{model=\"plain\"} 9"),
            std::string::npos);
}

}  // namespace
}  // namespace isv
