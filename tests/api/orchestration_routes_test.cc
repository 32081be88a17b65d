// The orchestration routes over scripted models: the response shape of an orchestrated chat
// completion, the SSE shape (progress chunks with an empty delta, the final stage as content), the
// test hook's gate, errors carrying the orchestration object, and routing by preset/task_type.
#include <gtest/gtest.h>
#include <httplib.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "api/server.h"
#include "api/server_testutil.h"

namespace isv {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

// Replies "<id> answer <n>" (n counts its calls), in 3-byte pieces; one token per message.
class EchoGenerator : public Generator {
 public:
  explicit EchoGenerator(std::string id) : id_(std::move(id)) {}
  StatusOr<Prompt> PreparePrompt(const PromptInput& input) const override {
    Prompt p;
    p.tokens.assign(input.is_chat ? input.messages.size() : 1, 1);
    return p;
  }
  StatusOr<GenerationResult> Generate(const Prompt& prompt, const GenerationParams&,
                                      const TextCallback& on_text,
                                      const TokenTimeCallback&) override {
    GenerationResult r;
    r.prompt_tokens = static_cast<int32_t>(prompt.tokens.size());
    r.finish_reason = "stop";
    std::string text = id_ + " answer " + std::to_string(++calls_);
    for (size_t i = 0; i < text.size(); i += 3) {
      ++r.completion_tokens;
      if (!on_text(text.substr(i, 3))) break;
    }
    return r;
  }
  int32_t n_ctx() const override { return 4096; }
  uint64_t memory_bytes() const override { return 1; }

 private:
  std::string id_;
  std::atomic<int> calls_{0};
};

class EchoLoader : public ModelLoader {
 public:
  StatusOr<uint64_t> EstimateBytes(const ModelSpec&) override { return 1; }
  StatusOr<std::shared_ptr<Generator>> Load(const ModelSpec& spec) override {
    return std::shared_ptr<Generator>(std::make_shared<EchoGenerator>(spec.id));
  }
};

class OrchestrationRoutesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<TestServer>("orch_routes", std::vector<std::string>{"gen.gguf", "critic.gguf", "coder.gguf"},
                                           R"(
models:
  gen: {file: gen.gguf, roles: [primary, fast]}
  critic: {file: critic.gguf, roles: [thinker]}
  coder: {file: coder.gguf, roles: [coder]}
)",
                                           R"(
presets:
  P:
    models: [gen, critic, coder]
    orchestration_mode: pipeline
    orchestration: {stages: [{role: thinker, instruction: plan}, {role: primary, instruction: go}]}
)",
                                           std::make_unique<EchoLoader>());
    ASSERT_TRUE(server_->ok()) << server_->error();
  }
  void TearDown() override { ::unsetenv("INFERENCE_ORCHESTRATION_TEST_HOOKS"); }
  httplib::Result Post(json body) {
    body["messages"] = json::array({{{"role", "user"}, {"content", "Q"}}});
    return server_->Post("/v1/chat/completions", body.dump());
  }
  static std::vector<json> Events(const std::string& sse) {
    std::vector<json> out;
    for (const std::string& data : TestServer::SseData(sse))
      out.push_back(data == "[DONE]" ? json("[DONE]") : json::parse(data));
    return out;
  }

  std::unique_ptr<TestServer> server_;
};

TEST_F(OrchestrationRoutesTest, CritiqueIsAChatCompletionWithTheExtension) {
  auto res = Post(
      {{"model", "gen"}, {"orchestration_mode", "critique"}, {"orchestration", {{"rounds", 1}}}});
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  json j = json::parse(res->body);
  EXPECT_EQ(j["object"], "chat.completion");
  EXPECT_EQ(j["model"], "gen");
  EXPECT_EQ(j["choices"][0]["message"]["content"], "gen answer 2");  // the revision
  const json& o = j["orchestration"];
  EXPECT_EQ(o["mode"], "critique");
  EXPECT_EQ(o["models_used"], json({"gen", "critic"}));
  int p = 0, c = 0;
  std::vector<std::string> names;
  for (const json& s : o["stages"]) {
    names.push_back(s["name"]);
    p += s["prompt_tokens"].get<int>();
    c += s["completion_tokens"].get<int>();
  }
  EXPECT_EQ(names, (std::vector<std::string>{"answer", "critique_1", "revise_1"}));
  EXPECT_EQ(j["usage"]["prompt_tokens"], p);
  EXPECT_EQ(j["usage"]["completion_tokens"], c);
  EXPECT_EQ(o["degraded"], false);
}

TEST_F(OrchestrationRoutesTest, StreamingShowsProgressThenTheFinalStageAsContent) {
  auto res = Post({{"model", "gen"},
                   {"orchestration_mode", "pipeline"},
                   {"stream", true},
                   {"stream_options", {{"include_usage", true}}}});
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200);
  std::vector<json> ev = Events(res->body);
  ASSERT_GE(ev.size(), 4u);
  EXPECT_EQ(ev.front()["choices"][0]["delta"], json({{"role", "assistant"}, {"content", ""}}));
  EXPECT_EQ(ev.back(), "[DONE]");
  std::string content;
  std::vector<std::string> progress;
  json finish;
  for (size_t i = 1; i + 1 < ev.size(); ++i) {
    const json& e = ev[i];
    EXPECT_EQ(e["object"], "chat.completion.chunk");
    if (e["choices"].empty()) {
      EXPECT_TRUE(e.contains("usage"));  // the include_usage chunk
      continue;
    }
    const json& ch = e["choices"][0];
    if (e.contains("orchestration") && e["orchestration"].contains("event")) {
      EXPECT_EQ(ch["delta"], json::object());  // progress rides outside the delta
      progress.push_back(e["orchestration"]["event"].get<std::string>() + ":" +
                         e["orchestration"]["stage"].get<std::string>());
    }
    if (ch["delta"].contains("content")) content += ch["delta"]["content"].get<std::string>();
    if (!ch["finish_reason"].is_null()) finish = e;
  }
  EXPECT_EQ(content, "gen answer 1");  // stage_3 (the primary reviews)
  EXPECT_EQ(progress,
            (std::vector<std::string>{"stage_started:stage_1", "stage_finished:stage_1",
                                      "stage_started:stage_2", "stage_finished:stage_2",
                                      "stage_started:stage_3", "stage_finished:stage_3"}));
  ASSERT_TRUE(finish.is_object());
  EXPECT_EQ(finish["choices"][0]["finish_reason"], "stop");
  EXPECT_EQ(finish["orchestration"]["mode"], "pipeline");
}

TEST_F(OrchestrationRoutesTest, TestHookIsGatedAndErrorsCarryTheOrchestration) {
  auto res = Post({{"model", "gen"},
                   {"orchestration_mode", "pipeline"},
                   {"orchestration", {{"fail_stage", 2}}}});
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
  EXPECT_EQ(json::parse(res->body)["error"]["param"], "orchestration.fail_stage");

  ::setenv("INFERENCE_ORCHESTRATION_TEST_HOOKS", "1", 1);
  res = Post({{"model", "gen"},
              {"orchestration_mode", "pipeline"},
              {"orchestration", {{"fail_stage", 2}}}});
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  json j = json::parse(res->body);
  EXPECT_EQ(j["orchestration"]["degraded"], true);
  EXPECT_EQ(j["orchestration"]["failed_stage"], "stage_2");
  EXPECT_EQ(j["choices"][0]["message"]["content"], "critic answer 1");  // stage_1, the plan

  res = Post({{"model", "gen"},
              {"orchestration_mode", "pipeline"},
              {"orchestration", {{"fail_stage", 2}, {"on_failure", "error"}}}});
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 502);
  j = json::parse(res->body);
  EXPECT_EQ(j["error"]["code"], "orchestration_stage_failed");
  EXPECT_EQ(j["orchestration"]["compensations"], json({"stage_1"}));
}

TEST_F(OrchestrationRoutesTest, BadRequestsAndRouting) {
  auto res = Post({{"model", "gen"}, {"orchestration_mode", "vote"}});
  EXPECT_EQ(res->status, 400);
  res = Post({{"model", "gen"},
              {"orchestration_mode", "debate"},
              {"tools", json::parse(R"([{"type":"function","function":{"name":"f"}}])")}});
  EXPECT_EQ(res->status, 400);
  EXPECT_EQ(json::parse(res->body)["error"]["param"], "tools");
  res = Post({{"model", "gen"},
              {"orchestration_mode", "debate"},
              {"orchestration", {{"models", {"gen", "ghost"}}}}});
  EXPECT_EQ(res->status, 404);
  EXPECT_EQ(json::parse(res->body)["error"]["param"], "model");
  // A preset with a task_type, single mode: routed to the coder, answered on the plain path.
  res = Post({{"model", "P"}, {"orchestration_mode", "single"}, {"task_type", "code"}});
  ASSERT_EQ(res->status, 200) << res->body;
  EXPECT_EQ(json::parse(res->body)["model"], "coder");
  // The preset's own mode and stages.
  res = Post({{"model", "P"}});
  ASSERT_EQ(res->status, 200) << res->body;
  json j = json::parse(res->body);
  EXPECT_EQ(j["orchestration"]["mode"], "pipeline");
  EXPECT_EQ(j["orchestration"]["models_used"], json({"critic", "gen"}));
}

}  // namespace
}  // namespace isv
