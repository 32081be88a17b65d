// The orchestration modes over scripted fake models: stage sequences, approval, voting, judge
// citations, saga order under injected faults, deadlines, handoff accounting and the
// one-model-at-a-time budget.
#include "orchestration/orchestrator.h"

#include <gtest/gtest.h>

#include <mutex>

#include "fake_models_testutil.h"
#include "orchestration/prompts.h"

namespace isv {
namespace {

using json = nlohmann::ordered_json;
using testing::FakeModel;
using testing::ScriptedLoader;

bool Has(const std::string& text, std::string_view what) {
  return text.find(what) != std::string::npos;
}

class OrchestratorTest : public ::testing::Test {
 protected:
  OrchestratorTest()
      : dir_(R"(
models:
  gen: {file: gen.gguf, roles: [primary, fast]}
  critic: {file: critic.gguf, roles: [thinker]}
  coder: {file: coder.gguf, roles: [coder]}
  huge: {file: huge.gguf, roles: [longctx]}
)",
             "presets:\n  P: {models: [gen, critic, coder]}\n",
             {"gen", "critic", "coder", "huge"}) {}

  // Every model answers with its script; prompts are recorded per model.
  void Start(uint64_t budget_bytes = 100'000'000) {
    std::map<std::string, FakeModel> m;
    for (const auto& [id, script] : scripts_) {
      FakeModel f = models_[id];
      f.reply = [this, id = id, script = script](const std::string& prompt) {
        {
          std::lock_guard<std::mutex> lock(mu_);
          prompts_[id].push_back(prompt);
        }
        return script(prompt);
      };
      m[id] = f;
    }
    auto loader = std::make_unique<ScriptedLoader>(m);
    loader_ = loader.get();
    manager_ = std::make_unique<ModelManager>(dir_.registry, std::move(loader),
                                              ModelManagerOptions{budget_bytes, true, 0});
    orch_ = std::make_unique<Orchestrator>(*manager_);
  }

  OrchestrationResult Run(const std::string& mode, const json& options = json::object(),
                          std::string model = "gen") {
    OrchestrationRequest req;
    req.model = std::move(model);
    req.input.messages = json::parse(R"([{"role":"user","content":"What is the capital?"}])");
    req.params.max_tokens = 64;
    req.options.mode = mode;
    std::string param;
    Status s = ApplyOrchestrationJson(options, true, &req.options, &param);
    EXPECT_TRUE(s.ok()) << s.ToString();
    streamed_.clear();
    events_.clear();
    OrchestrationCallbacks cb;
    cb.on_final_text = [this](std::string_view t) {
      streamed_ += t;
      return true;
    };
    cb.on_progress = [this](const json& e) { events_.push_back(e); };
    StatusOr<OrchestrationResult> r = orch_->Run(req, cb);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? std::move(*r) : OrchestrationResult{};
  }

  static std::vector<std::string> Names(const OrchestrationResult& r) {
    std::vector<std::string> out;
    for (const StageRecord& s : r.stages) out.push_back(s.name);
    return out;
  }
  static std::vector<std::string> Statuses(const OrchestrationResult& r) {
    std::vector<std::string> out;
    for (const StageRecord& s : r.stages) out.push_back(s.status);
    return out;
  }
  static void ExpectUsageSums(const OrchestrationResult& r) {
    int p = 0, c = 0;
    for (const StageRecord& s : r.stages) {
      p += s.prompt_tokens;
      c += s.completion_tokens;
    }
    EXPECT_EQ(r.prompt_tokens, p);
    EXPECT_EQ(r.completion_tokens, c);
  }

  testing::FakeRegistryDir dir_;
  std::map<std::string, std::function<std::string(const std::string&)>> scripts_ = {
      {"gen", [](const std::string&) { return std::string("Paris"); }},
      {"critic", [](const std::string&) { return std::string("Paris"); }},
      {"coder", [](const std::string&) { return std::string("Paris"); }},
      {"huge", [](const std::string&) { return std::string("Paris"); }},
  };
  std::map<std::string, FakeModel> models_ = {{"huge", Huge()}};
  static FakeModel Huge() {
    FakeModel m;
    m.bytes = 1'000'000'000;
    return m;
  }
  std::mutex mu_;
  std::map<std::string, std::vector<std::string>> prompts_;
  ScriptedLoader* loader_ = nullptr;
  std::unique_ptr<ModelManager> manager_;
  std::unique_ptr<Orchestrator> orch_;
  std::string streamed_;
  std::vector<json> events_;
};

TEST_F(OrchestratorTest, CritiqueStopsWhenTheCriticApproves) {
  scripts_["gen"] = [](const std::string& p) {
    return std::string(Has(p, prompts::kReviseTask) ? "Paris, France" : "Paris");
  };
  scripts_["critic"] = [](const std::string& p) {
    return std::string(Has(p, "Paris, France") ? "APPROVED" : "Name the country too.");
  };
  Start();
  OrchestrationResult r = Run("critique", {{"rounds", 3}});
  EXPECT_EQ(Names(r), (std::vector<std::string>{"answer", "critique_1", "revise_1", "critique_2"}));
  EXPECT_EQ(Statuses(r), (std::vector<std::string>(4, "ok")));
  EXPECT_EQ(r.text, "Paris, France");
  EXPECT_EQ(r.details["approved"], true);
  EXPECT_EQ(r.details["rounds_run"], 2);
  EXPECT_EQ(r.details["critic"], "critic");  // the thinker role
  EXPECT_EQ(r.models_used, (std::vector<std::string>{"gen", "critic"}));
  EXPECT_FALSE(r.final_streamed);  // approval came after a non-final revision
  EXPECT_FALSE(r.degraded);
  ExpectUsageSums(r);
  // The reviser saw its answer and the critic's notes; nothing else was handed on.
  ASSERT_EQ(prompts_["gen"].size(), 2u);
  EXPECT_TRUE(Has(prompts_["gen"][1], "### Your answer\nParis"));
  EXPECT_TRUE(Has(prompts_["gen"][1], "### Reviewer's notes\nName the country too."));
  EXPECT_EQ(r.stages[2].prompt_tokens, static_cast<int>(prompts_["gen"][1].size()));
  EXPECT_EQ(events_.size(), 8u);  // started + finished per stage
}

TEST_F(OrchestratorTest, CritiqueRunsOutOfRoundsAndStreamsTheLastRevision) {
  int n = 0;
  scripts_["gen"] = [&n](const std::string&) { return "draft " + std::to_string(++n); };
  scripts_["critic"] = [](const std::string&) { return std::string("Still wrong."); };
  Start();
  OrchestrationResult r = Run("critique", {{"rounds", 2}});
  EXPECT_EQ(Names(r), (std::vector<std::string>{"answer", "critique_1", "revise_1", "critique_2",
                                                "revise_2"}));
  EXPECT_EQ(r.text, "draft 3");
  EXPECT_TRUE(r.final_streamed);
  EXPECT_EQ(streamed_, "draft 3");
  EXPECT_EQ(r.details["approved"], false);
}

TEST_F(OrchestratorTest, DebateExcludesRefusalsAndTheJudgeCitesAnAnswer) {
  scripts_["gen"] = [](const std::string& p) {
    return std::string(Has(p, prompts::kJudgeTask) ? "Following answer 2: Paris." : "Paris");
  };
  scripts_["critic"] = [](const std::string&) { return std::string("It is Paris."); };
  scripts_["coder"] = [](const std::string&) { return std::string("I'm sorry, I can't help."); };
  Start();
  OrchestrationResult r = Run("debate");
  EXPECT_EQ(Names(r), (std::vector<std::string>{"debater_1", "debater_2", "debater_3", "judge"}));
  EXPECT_EQ(Statuses(r), (std::vector<std::string>{"ok", "ok", "refusal", "ok"}));
  EXPECT_EQ(r.details["parallel"], true);
  EXPECT_EQ(r.details["judge_followed"], "debater_2");
  EXPECT_EQ(r.text, "Following answer 2: Paris.");
  EXPECT_EQ(streamed_, r.text);
  const std::string& judge_prompt = prompts_["gen"].back();
  EXPECT_TRUE(Has(judge_prompt, "### Answer 1\nParis"));
  EXPECT_TRUE(Has(judge_prompt, "### Answer 2\nIt is Paris."));
  EXPECT_FALSE(Has(judge_prompt, "sorry"));  // the refusal is never handed on
  ASSERT_EQ(r.handoffs.size(), 1u);
  EXPECT_EQ(r.handoffs[0].stage, "judge");
  EXPECT_EQ(r.handoffs[0].policy, "none");
  ExpectUsageSums(r);
}

TEST_F(OrchestratorTest, EnsembleVotesMajorityTieAndNoConsensus) {
  std::map<std::string, std::string> answer = {
      {"gen", "Paris"}, {"critic", "paris."}, {"coder", "Lyon"}};
  for (const char* id : {"gen", "critic", "coder"}) {
    scripts_[id] = [&answer, id](const std::string& p) {
      return Has(p, "### ") ? std::string("synthesis") : answer[id];
    };
  }
  Start();
  OrchestrationResult r = Run("ensemble");
  EXPECT_EQ(Names(r), (std::vector<std::string>{"member_1", "member_2", "member_3", "synthesize"}));
  EXPECT_EQ(r.details["vote"]["method"], "exact");
  EXPECT_EQ(r.details["vote"]["outcome"], "majority");
  EXPECT_EQ(r.details["vote"]["winner"], "member_1");
  EXPECT_EQ(r.details["vote"]["clusters"],
            json::parse(R"([["member_1","member_2"],["member_3"]])"));
  EXPECT_TRUE(Has(prompts_["gen"].back(), "### Majority view (2 of 3 answers)\nParis"));
  EXPECT_TRUE(Has(prompts_["gen"].back(), prompts::kSynthesizeMajorityTask));
  EXPECT_EQ(r.text, "synthesis");

  // 2 against 2: the view holding answer 1 (the primary's) wins the tie; both are shown.
  answer = {{"gen", "blue"}, {"critic", "red"}, {"coder", "Blue!"}};
  r = Run("ensemble", {{"models", {"gen", "critic", "coder", "critic"}}});
  EXPECT_EQ(r.details["vote"]["outcome"], "tie");
  EXPECT_EQ(r.details["vote"]["winner"], "member_1");
  EXPECT_TRUE(Has(prompts_["gen"].back(), "### View A (2 answers)\nblue"));
  EXPECT_TRUE(Has(prompts_["gen"].back(), "### View B (2 answers)\nred"));
  EXPECT_TRUE(Has(prompts_["gen"].back(), prompts::kSynthesizeTieTask));

  answer = {{"gen", "one"}, {"critic", "two"}, {"coder", "three"}};
  r = Run("ensemble");
  EXPECT_EQ(r.details["vote"]["outcome"], "no_consensus");
  EXPECT_TRUE(Has(prompts_["gen"].back(), prompts::kSynthesizeNoConsensusTask));
  EXPECT_TRUE(Has(prompts_["gen"].back(), "### Answer 3\nthree"));
}

TEST_F(OrchestratorTest, PipelineFaultAtStageKCompensatesInReverse) {
  scripts_["critic"] = [](const std::string&) { return std::string("plan: look it up"); };
  scripts_["coder"] = [](const std::string&) { return std::string("code: capital()"); };
  Start();
  OrchestrationResult ok = Run("pipeline");
  EXPECT_EQ(Names(ok), (std::vector<std::string>{"stage_1", "stage_2", "stage_3"}));
  EXPECT_EQ(ok.models_used, (std::vector<std::string>{"critic", "coder", "gen"}));
  EXPECT_EQ(ok.stages[0].role, "thinker");
  // Each stage sees every earlier output.
  EXPECT_TRUE(Has(prompts_["gen"].back(), "### Output of stage_1 (thinker)\nplan: look it up"));
  EXPECT_TRUE(Has(prompts_["gen"].back(), "### Output of stage_2 (coder)\ncode: capital()"));
  EXPECT_EQ(ok.handoffs.size(), 2u);

  OrchestrationResult r = Run("pipeline", {{"fail_stage", 3}});
  EXPECT_TRUE(r.degraded);
  EXPECT_TRUE(r.error.ok());
  EXPECT_EQ(r.failed_stage, "stage_3");
  EXPECT_EQ(r.stages[2].status, "error");
  EXPECT_EQ(r.compensations, (std::vector<std::string>{"stage_2", "stage_1"}));
  EXPECT_EQ(r.text, "code: capital()");
  EXPECT_EQ(r.details["restored_from"], "stage_2");
  EXPECT_EQ(OrchestrationJson(r)["failed_stage"], "stage_3");

  r = Run("pipeline", {{"fail_stage", 2}, {"on_failure", "error"}});
  EXPECT_FALSE(r.degraded);
  EXPECT_FALSE(r.error.ok());
  EXPECT_TRUE(Has(r.error.message(), "stage_2")) << r.error.ToString();
  EXPECT_EQ(r.compensations, (std::vector<std::string>{"stage_1"}));
  EXPECT_EQ(Names(r), (std::vector<std::string>{"stage_1", "stage_2"}));  // stage 3 never ran

  r = Run("single", {{"fail_stage", 1}});  // nothing to fall back on: an error, even degraded
  EXPECT_FALSE(r.error.ok());
  EXPECT_FALSE(r.degraded);
}

TEST_F(OrchestratorTest, HandoffsAreFittedAndReported) {
  scripts_["critic"] = [](const std::string&) { return std::string(400, 'p'); };
  scripts_["coder"] = [](const std::string&) { return std::string(400, 'c'); };
  Start();
  OrchestrationResult r = Run("pipeline", {{"handoff_max_tokens", 300}});
  ASSERT_EQ(r.handoffs.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    const HandoffRecord& h = r.handoffs[i];
    EXPECT_EQ(h.stage, "stage_" + std::to_string(i + 2));
    EXPECT_GT(h.tokens_in, 400);
    EXPECT_LE(h.tokens_kept, 300);
    EXPECT_EQ(h.policy, "truncate_middle");
    EXPECT_EQ(r.stages[i + 1].prompt_tokens, h.tokens_kept);  // what the model really got
  }
  // summarize: the fast model (gen) writes the summary, as its own reported stage.
  scripts_["gen"] = [](const std::string& p) {
    return std::string(Has(p, prompts::kSummarizeTask) ? "short notes" : "final");
  };
  Start();
  r = Run("pipeline", {{"handoff_max_tokens", 300}, {"handoff_policy", "summarize"}});
  EXPECT_EQ(Names(r), (std::vector<std::string>{"stage_1", "stage_2", "stage_2_summary", "stage_3",
                                                "stage_3_summary"}));
  EXPECT_EQ(r.stages[2].role, "summarizer");
  EXPECT_EQ(r.stages[2].model, "gen");
  // The summarizer's own input is a handoff too (cut to the same cap), reported before the
  // stage it serves.
  ASSERT_EQ(r.handoffs.size(), 4u);
  EXPECT_EQ(r.handoffs[0].stage, "stage_2_summary");
  EXPECT_EQ(r.handoffs[0].policy, "truncate_middle");
  EXPECT_EQ(r.handoffs[1].stage, "stage_2");
  EXPECT_EQ(r.handoffs[1].policy, "summarize");
  EXPECT_LE(r.handoffs[1].tokens_kept, 300);
  EXPECT_TRUE(Has(prompts_["coder"].back(), "### Summary of earlier stages\nshort notes"));
  EXPECT_EQ(r.text, "final");
}

TEST_F(OrchestratorTest, StageAndRequestDeadlines) {
  scripts_["critic"] = [](const std::string&) { return std::string(200, 'x'); };
  models_["critic"].piece_delay_ms = 20;  // 50 pieces: 1 s
  Start();
  OrchestrationResult r = Run("critique", {{"stage_timeout_s", 0.1}});
  EXPECT_EQ(Statuses(r), (std::vector<std::string>{"ok", "timeout"}));
  EXPECT_LT(r.stages[1].time_ms, 800);
  EXPECT_TRUE(r.degraded);
  EXPECT_EQ(r.text, "Paris");
  EXPECT_EQ(r.compensations, (std::vector<std::string>{"answer"}));
  r = Run("critique", {{"timeout_s", 0.1}, {"on_failure", "error"}});
  EXPECT_EQ(r.error.code(), StatusCode::kDeadlineExceeded);
}

TEST_F(OrchestratorTest, CancellationStopsTheRunBetweenAndWithinStages) {
  scripts_["coder"] = [](const std::string&) { return std::string(400, 'c'); };
  Start();
  OrchestrationRequest req;
  req.model = "gen";
  req.input.messages = json::parse(R"([{"role":"user","content":"Q"}])");
  req.options.mode = "pipeline";
  int pieces = 0;
  bool stop = false;
  OrchestrationCallbacks cb;
  cb.is_cancelled = [&] { return stop || ++pieces > 40; };  // stage_2 is 100 pieces long
  StatusOr<OrchestrationResult> r = orch_->Run(req, cb);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(Statuses(*r), (std::vector<std::string>{"ok", "cancelled"}));
  EXPECT_EQ(r->error.code(), StatusCode::kCancelled);
  EXPECT_FALSE(r->degraded);  // a cancelled request gets no answer at all
  EXPECT_LT(r->stages[1].completion_tokens, 100);
}

TEST_F(OrchestratorTest, OneModelAtATimeBudgetRunsStageByStage) {
  Start(/*budget_bytes=*/15'000'000);  // each model is 10 MB
  OrchestrationResult r = Run("debate");
  EXPECT_EQ(r.details["parallel"], false);
  EXPECT_EQ(Statuses(r), (std::vector<std::string>(4, "ok")));
  EXPECT_EQ(r.models_used, (std::vector<std::string>{"gen", "critic", "coder"}));
  EXPECT_LE(manager_->LoadedIds().size(), 1u);
  EXPECT_EQ(loader_->loads.load(), 4);  // gen, critic, coder, then gen again for the judge
  r = Run("pipeline");
  EXPECT_EQ(Statuses(r), (std::vector<std::string>(3, "ok")));
}

TEST_F(OrchestratorTest, ALoadFailureIsAFailedStage) {
  Start();
  OrchestrationResult r = Run("pipeline", {{"stages", json::parse(R"([
      {"role": "primary", "instruction": "answer"},
      {"model": "huge", "instruction": "check"}])")}});
  EXPECT_EQ(Statuses(r), (std::vector<std::string>{"ok", "error"}));
  EXPECT_TRUE(Has(r.stages[1].error, "budget")) << r.stages[1].error;
  EXPECT_TRUE(r.degraded);
  EXPECT_EQ(r.text, "Paris");
}

TEST_F(OrchestratorTest, RoutingByTaskType) {
  Start();
  EXPECT_EQ(*orch_->ResolvePrimary("gen", "code"), "gen");  // a model id is used as named
  EXPECT_EQ(*orch_->ResolvePrimary("P", "code"), "coder");
  EXPECT_EQ(*orch_->ResolvePrimary("P", "reasoning"), "critic");
  EXPECT_EQ(*orch_->ResolvePrimary("P", ""), "gen");
  EXPECT_EQ(*orch_->ResolvePrimary("auto", "long"), "huge");
  EXPECT_EQ(orch_->ResolvePrimary("auto", "poetry").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(orch_->ResolvePrimary("nope", "").status().code(), StatusCode::kNotFound);
  StatusOr<TaskRoles> roles = ParseTaskRoles("poetry=thinker,code=primary");
  ASSERT_TRUE(roles.ok());
  EXPECT_EQ(roles->at("poetry"), "thinker");
  EXPECT_EQ(roles->at("code"), "primary");
  EXPECT_FALSE(ParseTaskRoles("oops").ok());
}

TEST(OrchestrationOptions, RejectsUnknownFieldsAndGatesTheTestHook) {
  OrchestrationOptions o;
  std::string param;
  EXPECT_FALSE(ApplyOrchestrationJson(json{{"roundz", 2}}, true, &o, &param).ok());
  EXPECT_EQ(param, "orchestration.roundz");
  EXPECT_FALSE(ApplyOrchestrationJson(json{{"rounds", 0}}, true, &o, &param).ok());
  EXPECT_EQ(param, "orchestration.rounds");
  EXPECT_FALSE(ApplyOrchestrationJson(json{{"fail_stage", 1}}, false, &o, &param).ok());
  EXPECT_EQ(param, "orchestration.fail_stage");
  EXPECT_FALSE(
      ApplyOrchestrationJson(json::parse(R"({"stages":[{"instruction":"x"}]})"), true, &o, &param)
          .ok());
  EXPECT_EQ(param, "orchestration.stages[0]");
  ASSERT_TRUE(ApplyOrchestrationJson(json::parse(R"({"rounds":3,"on_failure":"error",
      "handoff_policy":"drop_oldest","stages":[{"role":"coder","instruction":"x"}]})"),
                                     false, &o, &param)
                  .ok());
  EXPECT_EQ(o.rounds, 3);
  EXPECT_FALSE(o.degrade_on_failure);
  EXPECT_EQ(o.handoff_policy, HandoffPolicy::kDropOldest);
  EXPECT_EQ(o.stages.size(), 1u);
}

}  // namespace
}  // namespace isv
