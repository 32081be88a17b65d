#include "orchestration/modes.h"

#include <thread>

#include "orchestration/prompts.h"
#include "orchestration/voting.h"

namespace isv {

using json = nlohmann::ordered_json;
using StageCall = RunContext::StageCall;
using StageOutcome = RunContext::StageOutcome;

namespace {

StageCall Call(std::string name, std::string model, std::string role, StagePrompt prompt = {},
               bool final = false) {
  StageCall c;
  c.name = std::move(name);
  c.model = std::move(model);
  c.role = std::move(role);
  c.prompt = std::move(prompt);
  c.final = final;
  return c;
}

// Compensation of a stage whose output entered the handoff: the output is discarded. (Leases are
// held only while a stage runs, so there is nothing else to release.)
void Register(RunContext& ctx, const std::string& stage, std::optional<std::string> answer) {
  HandoffState* state = &ctx.state();
  ctx.saga().Register(
      stage, [state, stage] { state->Discard(stage); }, std::move(answer));
}

// Runs `calls` (reserved slots) in parallel threads when their models fit the budget together,
// else one after the other (each stage releases its model before the next loads).
std::vector<StageOutcome> RunMany(RunContext& ctx, const std::vector<StageCall>& calls) {
  std::vector<std::string> models;
  for (const StageCall& c : calls) models.push_back(c.model);
  std::vector<StageOutcome> out(calls.size());
  const bool parallel = calls.size() > 1 && ctx.FitTogether(models);
  ctx.result().details["parallel"] = parallel;
  if (!parallel) {
    for (size_t i = 0; i < calls.size(); ++i) out[i] = ctx.RunStage(calls[i]);
    return out;
  }
  std::vector<std::thread> threads;
  for (size_t i = 0; i < calls.size(); ++i)
    threads.emplace_back([&, i] { out[i] = ctx.RunStage(calls[i]); });
  for (std::thread& t : threads) t.join();
  return out;
}

// Reserves one slot per participant ("<prefix>_<n>") and answers the question with each.
std::vector<StageOutcome> AnswerWithEach(RunContext& ctx, const std::vector<std::string>& models,
                                         const std::string& prefix, const std::string& role) {
  std::vector<StageCall> calls;
  for (size_t i = 0; i < models.size(); ++i) {
    std::string name = prefix + "_" + std::to_string(i + 1);
    StageCall c = Call(name, models[i], role);
    c.record = static_cast<int>(ctx.Reserve(name));
    calls.push_back(std::move(c));
  }
  return RunMany(ctx, calls);
}

// The first failed outcome (all failed), for Fail().
size_t FirstFailure(const std::vector<StageOutcome>& outs) { return outs.front().record; }

}  // namespace

void RunSingle(RunContext& ctx) {
  StageOutcome o = ctx.RunStage(Call("answer", ctx.primary(), "generator", {}, true));
  if (!o.ok) return ctx.Fail(o.record);
  ctx.Succeed(o.text, o.record);
}

void RunCritique(RunContext& ctx, const std::string& critic) {
  const int rounds = ctx.options().rounds;
  StageOutcome a = ctx.RunStage(Call("answer", ctx.primary(), "generator"));
  if (!a.ok) return ctx.Fail(a.record);
  std::string answer = a.text, answer_stage = "answer";
  size_t answer_record = a.record;
  ctx.state().Add({answer_stage, "Answer", answer});
  Register(ctx, answer_stage, answer);
  json& details = ctx.result().details;
  details["critic"] = critic;
  for (int r = 1; r <= rounds; ++r) {
    const std::string critique_stage = "critique_" + std::to_string(r);
    StageOutcome c = ctx.RunStage(Call(critique_stage, critic, "critic",
                                       {std::string(prompts::kCriticSystem),
                                        {{answer_stage, "Answer", answer}},
                                        std::string(prompts::kCriticTask)}));
    if (!c.ok) return ctx.Fail(c.record);
    details["rounds_run"] = r;
    if (prompts::IsApproval(c.text)) {
      details["approved"] = true;
      return ctx.Succeed(answer, answer_record);
    }
    ctx.state().Add({critique_stage, "Reviewer's notes", c.text});
    Register(ctx, critique_stage, std::nullopt);
    const std::string revise_stage = "revise_" + std::to_string(r);
    StageOutcome v = ctx.RunStage(
        Call(revise_stage, ctx.primary(), "generator",
             {"",
              {{answer_stage, "Your answer", answer}, {critique_stage, "Reviewer's notes", c.text}},
              std::string(prompts::kReviseTask)},
             r == rounds));
    if (!v.ok) return ctx.Fail(v.record);
    answer = v.text;
    answer_stage = revise_stage;
    answer_record = v.record;
    ctx.state().Add({revise_stage, "Answer", answer});
    Register(ctx, revise_stage, answer);
  }
  details["approved"] = false;
  ctx.Succeed(answer, answer_record);
}

void RunDebate(RunContext& ctx, const std::vector<std::string>& debaters,
               const std::string& judge) {
  std::vector<StageOutcome> outs = AnswerWithEach(ctx, debaters, "debater", "debater");
  std::vector<HandoffSection> answers;
  json cited_map = json::array();
  for (const StageOutcome& o : outs) {
    if (!o.ok) continue;  // errors, empty answers and refusals are never handed on
    const StageRecord& rec = ctx.result().stages[o.record];
    answers.push_back({rec.name, "Answer " + std::to_string(answers.size() + 1), o.text});
    cited_map.push_back(rec.name);
    ctx.state().Add(answers.back());
  }
  if (answers.empty()) return ctx.Fail(FirstFailure(outs));
  // Newest first on the way back: registering in reverse makes answer 1 (the first participant's,
  // the primary's by default) the restore point.
  for (auto it = answers.rbegin(); it != answers.rend(); ++it) Register(ctx, it->stage, it->text);
  StageOutcome j = ctx.RunStage(
      Call("judge", judge, "judge",
           {std::string(prompts::kJudgeSystem), answers, std::string(prompts::kJudgeTask)}, true));
  json& details = ctx.result().details;
  details["answers"] = cited_map;
  if (!j.ok) return ctx.Fail(j.record);
  int cited = prompts::CitedAnswer(j.text, static_cast<int>(answers.size()));
  details["judge_followed"] = cited > 0 ? json(cited_map[static_cast<size_t>(cited - 1)]) : json();
  ctx.Succeed(j.text, j.record);
}

void RunEnsemble(RunContext& ctx, const std::vector<std::string>& members) {
  std::vector<StageOutcome> outs = AnswerWithEach(ctx, members, "member", "member");
  std::vector<const StageOutcome*> valid;
  std::vector<std::string> texts;
  for (const StageOutcome& o : outs) {
    if (!o.ok) continue;
    valid.push_back(&o);
    texts.push_back(o.text);
    const StageRecord& rec = ctx.result().stages[o.record];
    ctx.state().Add({rec.name, rec.name, o.text});
    Register(ctx, rec.name, std::nullopt);
  }
  if (valid.empty()) return ctx.Fail(FirstFailure(outs));
  const OrchestrationOptions& opt = ctx.options();
  VoteResult v = Vote(texts, {opt.short_answer_words, opt.similarity_threshold});
  auto stage_of = [&](int i) {
    return ctx.result().stages[valid[static_cast<size_t>(i)]->record].name;
  };
  json clusters = json::array();
  for (const auto& c : v.clusters) {
    json names = json::array();
    for (int i : c) names.push_back(stage_of(i));
    clusters.push_back(names);
  }
  const int win = v.winner_answer();
  ctx.result().details["vote"] = {{"method", v.method},
                                  {"outcome", v.outcome},
                                  {"clusters", clusters},
                                  {"winner", stage_of(win)}};
  ctx.saga().Register("vote", nullptr, texts[static_cast<size_t>(win)]);

  StagePrompt p;
  const auto& winners = v.clusters[static_cast<size_t>(v.winner_cluster)];
  if (v.outcome == "tie") {
    char view = 'A';
    for (int c : v.tied_clusters) {
      const auto& members_of = v.clusters[static_cast<size_t>(c)];
      p.sections.push_back(
          {"vote",
           std::string("View ") + view++ + " (" + std::to_string(members_of.size()) + " answers)",
           texts[static_cast<size_t>(members_of.front())]});
    }
    p.task = prompts::kSynthesizeTieTask;
  } else if (v.outcome == "no_consensus") {
    for (size_t i = 0; i < texts.size(); ++i)
      p.sections.push_back({"vote", "Answer " + std::to_string(i + 1), texts[i]});
    p.task = prompts::kSynthesizeNoConsensusTask;
  } else {
    p.sections.push_back({"vote",
                          "Majority view (" + std::to_string(winners.size()) + " of " +
                              std::to_string(texts.size()) + " answers)",
                          texts[static_cast<size_t>(win)]});
    p.task = prompts::kSynthesizeMajorityTask;
  }
  StageOutcome s = ctx.RunStage(Call("synthesize", ctx.primary(), "synthesizer", p, true));
  if (!s.ok) return ctx.Fail(s.record);
  ctx.Succeed(s.text, s.record);
}

void RunPipeline(RunContext& ctx, const std::vector<StageSpec>& stages) {
  for (size_t i = 0; i < stages.size(); ++i) {
    const std::string name = "stage_" + std::to_string(i + 1);
    const StageSpec& spec = stages[i];
    StageOutcome o =
        ctx.RunStage(Call(name, spec.model, spec.role.empty() ? "stage" : spec.role,
                          {"", ctx.state().sections(), spec.instruction}, i + 1 == stages.size()));
    if (!o.ok) return ctx.Fail(o.record);
    ctx.state().Add(
        {name, "Output of " + name + " (" + (spec.role.empty() ? spec.model : spec.role) + ")",
         o.text});
    Register(ctx, name, o.text);
    if (i + 1 == stages.size()) ctx.Succeed(o.text, o.record);
  }
}

}  // namespace isv
