// RunContext: the state of one orchestration run, shared by the mode implementations
// (orchestrator.cc, modes.cc): the request, the HandoffState, the saga, the deadlines and the
// result being built; RunStage() runs one stage (lease, handoff fitting, generation, output
// checks). Internal to the orchestration library.
//
// Thread-safety: RunStage() may be called from several threads at once (debate, ensemble); the
// result's stage records and the progress callback are guarded by one mutex. Everything else
// belongs to the thread that drives the run.
#pragma once

#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "orchestration/handoff.h"
#include "orchestration/orchestrator.h"
#include "orchestration/saga.h"

namespace isv {

class RunContext {
 public:
  using Clock = std::chrono::steady_clock;

  RunContext(ModelManager& manager, const Orchestrator& orchestrator,
             const OrchestrationRequest& request, const OrchestrationCallbacks& callbacks,
             std::string primary, std::vector<std::string> pool);

  struct StageCall {
    std::string name;
    std::string model;
    std::string role;
    StagePrompt prompt;
    bool final = false;  // its text streams to the client as the answer
    int max_tokens = 0;  // 0: the request's max_tokens, else the options' stage_max_tokens
    std::optional<HandoffPolicy> policy;  // overrides the options' handoff policy
    int record = -1;                      // a slot from Reserve(), or -1 to take the next one
  };
  struct StageOutcome {
    bool ok = false;
    std::string text;
    size_t record = 0;  // index into result().stages
  };

  // Takes the next stage slot (its 1-based number is the fault-injection index).
  size_t Reserve(const std::string& name);
  StageOutcome RunStage(const StageCall& call);

  // The run failed at stage record `failed`: compensates, then either the last good answer
  // (degraded) or result().error.
  void Fail(size_t failed);
  // The run succeeded with `text` from stage record `from`.
  void Succeed(const std::string& text, size_t from);
  // True when the stage's output already went to the client.
  bool streamed_final() const { return streamed_bytes_ > 0; }
  bool cancelled() const { return cancelled_; }

  // True when the models' memory estimates fit the manager's budget together.
  bool FitTogether(const std::vector<std::string>& ids) const;
  std::string ModelForRole(const std::string& role) const;

  const OrchestrationRequest& request() const { return request_; }
  const OrchestrationOptions& options() const { return request_.options; }
  const std::string& primary() const { return primary_; }
  const std::vector<std::string>& pool() const { return pool_; }
  HandoffState& state() { return state_; }
  Saga& saga() { return saga_; }
  OrchestrationResult& result() { return result_; }

 private:
  // Fits the stage's prompt into the leased model (running a summary stage when the policy asks),
  // re-acquiring the lease if it had to be released for the summarizer.
  StatusOr<FitResult> Fit(const StageCall& call, ModelManager::Lease* lease, int limit);
  void Progress(nlohmann::ordered_json event);
  struct StageRun;
  // Fits, prepares and generates the stage on its leased model, classifying the output.
  void RunOnModel(const StageCall& call, ModelManager::Lease* lease, StageRun* run);
  bool StopRequested() const;

  ModelManager& manager_;
  const Orchestrator& orchestrator_;
  const OrchestrationRequest& request_;
  const OrchestrationCallbacks& callbacks_;
  std::string primary_;
  std::vector<std::string> pool_;
  std::optional<Clock::time_point> deadline_;
  HandoffState state_;
  Saga saga_;

  std::mutex mu_;  // guards result_.stages, models_used, totals, handoffs and the callbacks
  OrchestrationResult result_;
  size_t streamed_bytes_ = 0;
  bool cancelled_ = false;
};

}  // namespace isv
