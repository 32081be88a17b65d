#include "orchestration/run_context.h"

#include <algorithm>

#include "orchestration/prompts.h"

namespace isv {

using json = nlohmann::ordered_json;

namespace {

double MsSince(RunContext::Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(RunContext::Clock::now() - t0).count();
}

std::string Trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

}  // namespace

RunContext::RunContext(ModelManager& manager, const Orchestrator& orchestrator,
                       const OrchestrationRequest& request, const OrchestrationCallbacks& callbacks,
                       std::string primary, std::vector<std::string> pool)
    : manager_(manager),
      orchestrator_(orchestrator),
      request_(request),
      callbacks_(callbacks),
      primary_(std::move(primary)),
      pool_(std::move(pool)),
      state_(request.input.messages) {
  if (request.options.timeout_s > 0) {
    deadline_ = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                   std::chrono::duration<double>(request.options.timeout_s));
  }
  result_.mode = request.options.mode;
  result_.model = primary_;
}

size_t RunContext::Reserve(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  result_.stages.emplace_back();
  result_.stages.back().name = name;
  return result_.stages.size() - 1;
}

void RunContext::Progress(json event) {
  if (callbacks_.on_progress) callbacks_.on_progress(event);
}

bool RunContext::FitTogether(const std::vector<std::string>& ids) const {
  std::vector<std::string> distinct;
  for (const std::string& id : ids) {
    if (std::find(distinct.begin(), distinct.end(), id) == distinct.end()) distinct.push_back(id);
  }
  uint64_t need = 0;
  for (const std::string& id : distinct) {
    StatusOr<uint64_t> bytes = manager_.EstimateBytes(id);
    if (!bytes.ok()) return false;
    need += *bytes;
  }
  return need <= manager_.budget_bytes();
}

std::string RunContext::ModelForRole(const std::string& role) const {
  return orchestrator_.ModelForRole(role, pool_);
}

StatusOr<FitResult> RunContext::Fit(const StageCall& call, ModelManager::Lease* lease, int limit) {
  const HandoffPolicy policy = call.policy.value_or(options().handoff_policy);
  std::optional<std::pair<std::string, int>> wanted;  // the summary FitHandoff asked for
  std::optional<std::string> summary;
  Summarizer summarizer = [&](const std::string& notes, int max_tokens) -> StatusOr<std::string> {
    if (summary) {
      if (summary->empty()) return UnavailableError("the summary stage failed");
      return *summary;
    }
    wanted.emplace(notes, max_tokens);
    return UnavailableError("summary deferred");
  };
  StatusOr<FitResult> fit = FitHandoff(**lease, state_, call.prompt, limit, policy, summarizer);
  if (!wanted) return fit;
  // Summarize with the fast model. The stage's lease is released first so that a budget holding
  // one model at a time can load the summarizer.
  *lease = ModelManager::Lease();
  StageCall s;
  s.name = call.name + "_summary";
  s.model = ModelForRole("fast");
  s.role = "summarizer";
  s.prompt = {std::string(prompts::kSummarizeSystem),
              {{"", "Notes", wanted->first}},
              std::string(prompts::kSummarizeTask)};
  s.max_tokens = wanted->second;
  s.policy = HandoffPolicy::kTruncateMiddle;
  StageOutcome o = RunStage(s);
  summary = o.ok ? o.text : "";
  StatusOr<ModelManager::Lease> again = manager_.Acquire(call.model);
  if (!again.ok()) return again.status();
  *lease = std::move(*again);
  return FitHandoff(**lease, state_, call.prompt, limit, policy, summarizer);
}

// One stage's state while it runs.
struct RunContext::StageRun {
  StageRecord rec;
  std::string text;
  GenerationResult gen;
  std::optional<Clock::time_point> deadline;
  bool timed_out = false;
  bool client_gone = false;
  bool PastDeadline() const { return deadline && Clock::now() >= *deadline; }
  void Fail(std::string status, std::string error) {
    rec.status = std::move(status);
    rec.error = std::move(error);
  }
};

bool RunContext::StopRequested() const {
  return callbacks_.is_cancelled && callbacks_.is_cancelled();
}

RunContext::StageOutcome RunContext::RunStage(const StageCall& call) {
  const size_t slot = call.record >= 0 ? static_cast<size_t>(call.record) : Reserve(call.name);
  const auto t0 = Clock::now();
  StageRun run;
  run.rec.name = call.name;
  run.rec.model = call.model;
  run.rec.role = call.role;
  {
    std::lock_guard<std::mutex> lock(mu_);
    Progress({{"event", "stage_started"},
              {"stage", call.name},
              {"index", slot + 1},
              {"model", call.model},
              {"role", call.role}});
  }
  run.deadline = deadline_;
  if (options().stage_timeout_s > 0) {
    auto d = t0 + std::chrono::duration_cast<Clock::duration>(
                      std::chrono::duration<double>(options().stage_timeout_s));
    run.deadline = run.deadline ? std::min(*run.deadline, d) : d;
  }
  if (StopRequested()) {
    run.client_gone = true;
    run.Fail("cancelled", "the request was cancelled");
  } else if (static_cast<size_t>(options().fail_stage) == slot + 1) {
    run.Fail("error", "injected fault (test hook fail_stage=" + std::to_string(slot + 1) + ")");
  } else if (run.PastDeadline()) {
    run.Fail("timeout", "the deadline passed before the stage started");
  } else if (StatusOr<ModelManager::Lease> lease = manager_.Acquire(call.model); !lease.ok()) {
    run.Fail("error", lease.status().message());
  } else {
    run.rec.leased = true;
    RunOnModel(call, &*lease, &run);
  }
  StageRecord& rec = run.rec;
  rec.prompt_tokens = run.gen.prompt_tokens;
  rec.completion_tokens = run.gen.completion_tokens;
  rec.inference_ms = run.gen.inference_ms;
  rec.time_ms = MsSince(t0);
  rec.output = run.text;
  StageOutcome out{rec.status == "ok", run.text, slot};
  std::lock_guard<std::mutex> lock(mu_);
  if (run.client_gone) cancelled_ = true;
  result_.prompt_tokens += rec.prompt_tokens;
  result_.completion_tokens += rec.completion_tokens;
  result_.total_inference_time_ms += rec.inference_ms;
  json done = {{"event", "stage_finished"},
               {"stage", rec.name},
               {"index", slot + 1},
               {"model", rec.model},
               {"role", rec.role},
               {"status", rec.status},
               {"completion_tokens", rec.completion_tokens},
               {"time_ms", rec.time_ms}};
  if (!rec.error.empty()) done["error"] = rec.error;
  result_.stages[slot] = std::move(rec);
  Progress(done);
  return out;
}

void RunContext::RunOnModel(const StageCall& call, ModelManager::Lease* lease, StageRun* run) {
  const int32_t n_ctx = (**lease).n_ctx();  // the lease may be re-taken by Fit()
  GenerationParams params = request_.params;
  params.max_tokens = call.max_tokens > 0               ? call.max_tokens
                      : request_.params.max_tokens >= 0 ? request_.params.max_tokens
                                                        : options().stage_max_tokens;
  int limit = n_ctx - 1 - std::min<int>(params.max_tokens, n_ctx / 2);
  if (options().handoff_max_tokens > 0) limit = std::min(limit, options().handoff_max_tokens);
  StatusOr<FitResult> fit = Fit(call, lease, limit);
  Status prep_error = fit.status();
  Prompt prompt;
  if (fit.ok()) {
    if (!call.prompt.sections.empty()) {
      std::lock_guard<std::mutex> lock(mu_);
      result_.handoffs.push_back({call.name, fit->tokens_in, fit->tokens_kept, fit->policy});
    }
    PromptInput in;
    in.messages = fit->messages;
    StatusOr<Prompt> p = (**lease).PreparePrompt(in);
    if (p.ok()) {
      prompt = std::move(*p);
    } else {
      prep_error = p.status();
    }
  }
  if (run->PastDeadline())
    return run->Fail("timeout", "the deadline passed while the model was loading");
  if (!prep_error.ok()) return run->Fail("error", prep_error.message());
  auto on_text = [&](std::string_view piece) {
    if (run->PastDeadline()) {
      run->timed_out = true;
      return false;
    }
    if (StopRequested()) {
      run->client_gone = true;
      return false;
    }
    run->text.append(piece);
    if (call.final && callbacks_.on_final_text) {
      streamed_bytes_ += piece.size();
      if (!callbacks_.on_final_text(piece)) {
        run->client_gone = true;
        return false;
      }
    }
    return true;
  };
  // The scheduler polls this while the stage waits in the model's queue and while it runs, so a
  // deadline or a client that left ends the stage even before its first token.
  params.cancelled = [this, run, client_gone = request_.params.cancelled] {
    return run->PastDeadline() || StopRequested() || (client_gone && client_gone());
  };
  StatusOr<GenerationResult> r = (**lease).Generate(prompt, params, on_text, callbacks_.on_token);
  if (!r.ok()) return run->Fail("error", r.status().message());
  if (r->finish_reason == "cancelled" && !run->timed_out && !run->client_gone) {
    if (run->PastDeadline()) {
      run->timed_out = true;
    } else {
      run->client_gone = true;
    }
  }
  run->gen = *r;
  run->rec.finish_reason = r->finish_reason;
  if (run->client_gone) {
    run->Fail("cancelled", "the request was cancelled (client gone or server stopping)");
  } else if (run->timed_out) {
    run->Fail("timeout", "the stage deadline passed during generation");
  } else if (Trim(run->text).empty()) {
    run->Fail("empty", "the model produced no text");
  } else if (prompts::IsRefusal(run->text)) {
    run->Fail("refusal", "the model refused: '" + run->text.substr(0, 80) + "'");
  } else {
    run->rec.status = "ok";
  }
}

void RunContext::Fail(size_t failed) {
  const StageRecord& rec = result_.stages[failed];
  result_.failed_stage = rec.name;
  result_.failure = rec.error;
  Saga::Outcome o = saga_.Compensate();
  result_.compensations = o.compensated;
  const std::string what = "orchestration stage '" + rec.name + "' (model " + rec.model +
                           ") failed (" + rec.status + "): " + rec.error;
  if (cancelled_) {
    result_.error = CancelledError("the request was cancelled (client gone or server stopping)");
  } else if (streamed_bytes_ > 0) {
    result_.error = InternalError(what + "; its answer had already begun streaming");
  } else if (!options().degrade_on_failure) {
    result_.error = rec.status == "timeout" ? DeadlineExceededError(what) : InternalError(what);
  } else if (!o.last_good_answer) {
    result_.error = (rec.status == "timeout" ? DeadlineExceededError(what) : InternalError(what));
    result_.error = Status(result_.error.code(), what +
                                                     "; no earlier stage produced an answer "
                                                     "to fall back on");
  } else {
    result_.degraded = true;
    result_.text = *o.last_good_answer;
    result_.finish_reason = "stop";
    result_.details["restored_from"] = o.last_good_step;
  }
}

void RunContext::Succeed(const std::string& text, size_t from) {
  result_.text = text;
  result_.finish_reason = result_.stages[from].finish_reason;
  result_.final_streamed = streamed_bytes_ > 0;
}

}  // namespace isv
