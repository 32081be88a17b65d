// End-to-end orchestration on the real engine: the test models of config/test (stories260K as
// primary/fast, tiny-phi3 as thinker, tiny-qwen2 as coder, tiny-llama as a second primary) at
// temperature 0 with small max_tokens. Checks stage sequences, models_used, usage sums, handoff
// accounting measured in each model's own tokens, degraded and error paths, and the
// one-model-at-a-time budget. Skips when ../shared/testdata is absent.
#include <gtest/gtest.h>

#include <filesystem>

#include "orchestration/orchestrator.h"
#include "serving/engine_loader.h"

namespace isv {
namespace {

using json = nlohmann::ordered_json;

const char* kModelsYaml = R"(
models:
  stories260K: {file: stories260K.gguf, context_length: 512, roles: [primary, fast]}
  tiny-llama: {file: tiny-llama-Q8_0.gguf, context_length: 512, roles: [primary]}
  tiny-qwen2: {file: tiny-qwen2-Q8_0.gguf, context_length: 512, roles: [coder]}
  tiny-phi3: {file: tiny-phi3-Q4_K_M.gguf, context_length: 512, roles: [thinker]}
)";

class OrchestrationEngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    models_dir_ = std::string(ISV_SHARED_DIR) + "/testdata/models";
    if (!std::filesystem::exists(models_dir_ + "/stories260K.gguf"))
      GTEST_SKIP() << "../shared/testdata absent";
    StatusOr<Registry> r = Registry::Parse(kModelsYaml, "", models_dir_, models_dir_);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    registry_ = std::make_shared<const Registry>(std::move(*r));
    ASSERT_EQ(registry_->models().size(), 4u);
  }
  std::unique_ptr<ModelManager> Manager(uint64_t budget_bytes = uint64_t{1} << 32) {
    return std::make_unique<ModelManager>(registry_,
                                          std::make_unique<EngineLoader>(EngineOptions{1, 64}),
                                          ModelManagerOptions{budget_bytes, true, 0});
  }
  static OrchestrationResult Run(ModelManager& m, const std::string& mode,
                                 const json& options = json::object(), int max_tokens = 12,
                                 std::string* streamed = nullptr) {
    OrchestrationRequest req;
    req.model = "stories260K";
    req.input.messages = json::array({{{"role", "user"}, {"content", "Once upon a time"}}});
    req.params.sampling.temperature = 0;
    req.params.max_tokens = max_tokens;
    req.options.mode = mode;
    std::string param;
    Status s = ApplyOrchestrationJson(options, true, &req.options, &param);
    EXPECT_TRUE(s.ok()) << s.ToString();
    OrchestrationCallbacks cb;
    cb.on_final_text = [streamed](std::string_view t) {
      if (streamed) streamed->append(t);
      return true;
    };
    Orchestrator orch(m);
    StatusOr<OrchestrationResult> r = orch.Run(req, cb);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? std::move(*r) : OrchestrationResult{};
  }
  static std::vector<std::string> Names(const OrchestrationResult& r) {
    std::vector<std::string> out;
    for (const StageRecord& s : r.stages) out.push_back(s.name + "@" + s.model);
    return out;
  }
  static void ExpectHealthy(const OrchestrationResult& r) {
    int p = 0, c = 0;
    for (const StageRecord& s : r.stages) {
      EXPECT_EQ(s.status, "ok") << s.name << ": " << s.error;
      EXPECT_GT(s.prompt_tokens, 0) << s.name;
      EXPECT_GT(s.completion_tokens, 0) << s.name;
      p += s.prompt_tokens;
      c += s.completion_tokens;
    }
    EXPECT_EQ(r.prompt_tokens, p);
    EXPECT_EQ(r.completion_tokens, c);
    EXPECT_TRUE(r.error.ok()) << r.error.ToString();
    EXPECT_FALSE(r.degraded);
    EXPECT_FALSE(r.text.empty());
  }

  std::string models_dir_;
  std::shared_ptr<const Registry> registry_;
};

TEST_F(OrchestrationEngineTest, EveryModeRunsItsStagesOnTheRealModels) {
  auto m = Manager();
  std::string streamed;
  OrchestrationResult r = Run(*m, "critique", {{"rounds", 1}}, 12, &streamed);
  ExpectHealthy(r);
  EXPECT_EQ(Names(r), (std::vector<std::string>{"answer@stories260K", "critique_1@tiny-phi3",
                                                "revise_1@stories260K"}));
  EXPECT_EQ(r.models_used, (std::vector<std::string>{"stories260K", "tiny-phi3"}));
  EXPECT_EQ(r.details["approved"], false);  // random-weight gibberish never approves
  EXPECT_EQ(streamed, r.text);              // the last revision streamed
  EXPECT_EQ(r.text, r.stages[2].output);

  r = Run(*m, "debate");
  ExpectHealthy(r);
  EXPECT_EQ(Names(r), (std::vector<std::string>{"debater_1@stories260K", "debater_2@tiny-phi3",
                                                "debater_3@tiny-qwen2", "judge@stories260K"}));
  EXPECT_EQ(r.details["parallel"], true);
  // The judge's prompt holds the three answers: it is longer than any debater's.
  EXPECT_GT(r.stages[3].prompt_tokens, r.stages[0].prompt_tokens + 3 * 12);

  r = Run(*m, "ensemble", {{"models", {"stories260K", "tiny-llama", "stories260K"}}});
  ExpectHealthy(r);
  EXPECT_EQ(r.models_used, (std::vector<std::string>{"stories260K", "tiny-llama"}));
  // Temperature 0: the same model twice gives the same answer, so members 1 and 3 agree.
  EXPECT_EQ(r.stages[0].output, r.stages[2].output);
  EXPECT_EQ(r.details["vote"]["winner"], "member_1");
  EXPECT_TRUE(r.details["vote"]["outcome"] == "majority" ||
              r.details["vote"]["outcome"] == "unanimous")
      << r.details.dump();

  r = Run(*m, "pipeline");
  ExpectHealthy(r);
  EXPECT_EQ(Names(r), (std::vector<std::string>{"stage_1@tiny-phi3", "stage_2@tiny-qwen2",
                                                "stage_3@stories260K"}));
  ASSERT_EQ(r.handoffs.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(r.handoffs[i].policy, "none");
    EXPECT_EQ(r.handoffs[i].tokens_kept, r.stages[i + 1].prompt_tokens);
  }
  OrchestrationResult again = Run(*m, "pipeline");
  EXPECT_EQ(again.text, r.text);  // deterministic at temperature 0
}

TEST_F(OrchestrationEngineTest, HandoffsFitTheNextModelsTokens) {
  auto m = Manager();
  OrchestrationResult r = Run(*m, "pipeline", {{"handoff_max_tokens", 200}}, 60);
  ExpectHealthy(r);
  ASSERT_EQ(r.handoffs.size(), 2u);
  bool cut = false;
  for (size_t i = 0; i < 2; ++i) {
    const HandoffRecord& h = r.handoffs[i];
    EXPECT_LE(h.tokens_kept, 200) << h.stage;
    EXPECT_GE(h.tokens_in, h.tokens_kept) << h.stage;
    EXPECT_EQ(h.tokens_kept, r.stages[i + 1].prompt_tokens) << h.stage;
    cut = cut || h.policy == "truncate_middle";
  }
  EXPECT_TRUE(cut);
  r = Run(*m, "pipeline", {{"handoff_max_tokens", 200}, {"handoff_policy", "summarize"}}, 60);
  bool summarized = false;
  for (const StageRecord& s : r.stages) summarized |= s.role == "summarizer";
  for (const HandoffRecord& h : r.handoffs) EXPECT_LE(h.tokens_kept, 200) << h.stage;
  EXPECT_TRUE(summarized) << json(Names(r)).dump();
  EXPECT_TRUE(r.error.ok()) << r.error.ToString();
}

TEST_F(OrchestrationEngineTest, DegradedAndErrorPaths) {
  auto m = Manager();
  OrchestrationResult r = Run(*m, "pipeline", {{"fail_stage", 3}});
  EXPECT_TRUE(r.degraded);
  EXPECT_EQ(r.failed_stage, "stage_3");
  EXPECT_EQ(r.compensations, (std::vector<std::string>{"stage_2", "stage_1"}));
  EXPECT_EQ(r.text, r.stages[1].output);  // the last good answer
  EXPECT_EQ(OrchestrationJson(r)["degraded"], true);

  r = Run(*m, "critique", {{"fail_stage", 2}, {"on_failure", "error"}});
  EXPECT_FALSE(r.error.ok());
  EXPECT_FALSE(r.degraded);
  EXPECT_EQ(r.compensations, (std::vector<std::string>{"answer"}));

  r = Run(*m, "debate", {{"stage_timeout_s", 1e-6}});  // every stage misses its deadline
  EXPECT_EQ(r.error.code(), StatusCode::kDeadlineExceeded) << r.error.ToString();
  for (const StageRecord& s : r.stages) EXPECT_EQ(s.status, "timeout") << s.name;
}

TEST_F(OrchestrationEngineTest, OneModelAtATimeBudget) {
  auto big = Manager();
  uint64_t largest = 0;
  for (const ModelSpec& s : registry_->models())
    largest = std::max(largest, *big->EstimateBytes(s.id));
  OrchestrationResult co = Run(*big, "debate");
  ExpectHealthy(co);
  EXPECT_EQ(co.details["parallel"], true);

  auto small = Manager(largest);  // exactly one model fits at a time
  OrchestrationResult r = Run(*small, "debate");
  ExpectHealthy(r);
  EXPECT_EQ(r.details["parallel"], false);
  EXPECT_LE(small->LoadedIds().size(), 1u);
  EXPECT_EQ(r.text, co.text);  // the budget changes the schedule, not the answer
  r = Run(*small, "pipeline");
  ExpectHealthy(r);
  EXPECT_EQ(r.models_used, (std::vector<std::string>{"tiny-phi3", "tiny-qwen2", "stories260K"}));
}

}  // namespace
}  // namespace isv
