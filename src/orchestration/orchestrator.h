// Orchestrator: answers one request with several models working together (docs/orchestration.md).
// Modes: single, critique, debate, ensemble, pipeline. Every stage is one Generate() call on a
// model leased from the ModelManager (by id, or by role through the Registry); a lease is held only
// for its stage, so models stay co-loaded when the budget allows and the manager evicts idle ones
// when it does not (a budget that fits one model at a time works, stage by stage). Debate and
// ensemble answer in parallel threads when their models fit the budget together.
//
// Between stages a HandoffState carries the valid outputs (errors, empty answers and refusals are
// never handed on), fitted into the next model's context (handoff.h). Completed stages register
// saga compensations (saga.h); a failed required stage (error, timeout, load failure) runs them in
// reverse and the result is the last good answer marked degraded, or an error when the request
// says on_failure: "error".
//
//   Orchestrator orch(manager);
//   StatusOr<OrchestrationResult> r = orch.Run(request, {.on_final_text = ..., .on_progress =
//   ...});
//
// Thread-safety: Run() may be called from many threads at once (it keeps no state between runs).
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/status.h"
#include "orchestration/options.h"
#include "serving/generator.h"
#include "serving/model_manager.h"

namespace isv {

struct OrchestrationRequest {
  std::string model;  // the request's `model`: a model id (the primary) or a preset id
  PromptInput input;  // chat messages
  GenerationParams params;
  OrchestrationOptions options;
};

struct StageRecord {
  std::string name;  // "answer", "critique_1", "revise_1", "debater_2", "judge", "stage_3", ...
  std::string model;
  std::string role;  // what the stage did: generator, critic, debater, judge, member, synthesizer,
                     // summarizer, or the pipeline stage's role
  int prompt_tokens = 0;
  int completion_tokens = 0;
  double time_ms = 0;       // lease wait + prompt + generation
  double inference_ms = 0;  // generation only
  std::string status;       // ok | error | timeout | empty | refusal | cancelled | compensated
  std::string error;        // why, when not ok
  std::string finish_reason;
  std::string output;   // the generated text (not reported in JSON)
  bool leased = false;  // the model was obtained (it counts in models_used)
};

struct HandoffRecord {
  std::string stage;
  int tokens_in = 0;
  int tokens_kept = 0;
  std::string policy;
};

struct OrchestrationResult {
  std::string mode;
  std::string model;  // the primary model (the response's `model`)
  std::string text;   // the final answer
  std::string finish_reason;
  std::vector<std::string> models_used;  // in stage order, each once
  double total_inference_time_ms = 0;
  std::vector<StageRecord> stages;
  std::vector<HandoffRecord> handoffs;
  bool degraded = false;
  std::string failed_stage;
  std::string failure;                     // the failed stage's error
  std::vector<std::string> compensations;  // saga steps compensated, in order
  nlohmann::ordered_json details = nlohmann::ordered_json::object();  // per-mode facts (vote, ...)
  int prompt_tokens = 0;                                              // all stages
  int completion_tokens = 0;
  bool final_streamed = false;  // `text` already went out through on_final_text
  // Not OK when the run failed: on_failure "error", no good answer to fall back on, the final
  // stage failed after its text began streaming, or the client went away (Cancelled). The rest of
  // the result still describes what ran.
  Status error;
};

struct OrchestrationCallbacks {
  // The final stage's text as it is generated. Returns false to cancel (client gone).
  TextCallback on_final_text;
  // Progress of every stage: {"event": "stage_started"|"stage_finished", "stage", "index",
  // "model", "role", ...}. May be empty.
  std::function<void(const nlohmann::ordered_json& event)> on_progress;
  TokenTimeCallback on_token;
  // Polled before each stage and at every generated piece of every stage; true stops the run
  // (client gone, server shutting down). May be empty.
  std::function<bool()> is_cancelled;
};

class Orchestrator {
 public:
  explicit Orchestrator(ModelManager& manager, TaskRoles task_roles = DefaultTaskRoles());

  // The model a request names or routes to: `model` itself when it is a model id; else (a preset
  // id, or any other name with a task_type) the model holding the role task_type maps to (or
  // `primary`), searched in the preset named by `model`, then the current preset, then the
  // registry. NotFound when nothing matches.
  StatusOr<std::string> ResolvePrimary(const std::string& model,
                                       const std::string& task_type) const;
  // The first model holding `role`, preferring `pool`, then the registry; "" when none.
  std::string ModelForRole(const std::string& role, const std::vector<std::string>& pool) const;
  // The models a request may draw on: the preset named by `model`, else the current preset when it
  // holds `primary`, else [].
  std::vector<std::string> Pool(const std::string& model, const std::string& primary) const;
  const TaskRoles& task_roles() const { return task_roles_; }

  // Runs the request's mode. Errors: InvalidArgument / NotFound for bad participants or stages,
  // before any stage runs. A failure while running is reported in the result's `error`.
  StatusOr<OrchestrationResult> Run(const OrchestrationRequest& request,
                                    const OrchestrationCallbacks& callbacks);

 private:
  ModelManager& manager_;
  TaskRoles task_roles_;
};

// The response's `orchestration` object: mode, models_used, total_inference_time_ms, stages[],
// handoffs[], degraded (+ failed_stage, error, compensations), and the mode's details.
nlohmann::ordered_json OrchestrationJson(const OrchestrationResult& r);

}  // namespace isv
