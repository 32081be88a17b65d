// OrchestrationOptions: how one request is orchestrated (mode, participants, rounds, stages,
// failure policy, deadlines, handoff policy), parsed from the request's `orchestration` extension
// object on top of a preset's `orchestration:` defaults (docs/orchestration.md lists every field).
// Also the task_type -> role mapping used to pick models by role.
//
// Plain value types and free functions; thread-safe.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/status.h"

namespace isv {

// One pipeline stage: a model id or a role (one of them), and what the stage must do.
struct StageSpec {
  std::string model;
  std::string role;
  std::string instruction;
};

enum class HandoffPolicy { kDropOldest, kTruncateMiddle, kSummarize };
std::string_view HandoffPolicyName(HandoffPolicy p);  // "drop_oldest" | ...

struct OrchestrationOptions {
  std::string mode = "single";  // single | critique | debate | ensemble | pipeline
  std::string task_type;        // picks the primary model by role when `model` is not a model id
  int rounds = 2;               // critique: review/revise rounds at most
  std::vector<std::string> models;  // debate/ensemble participants (model ids); [] = default set
  std::string critic;               // critique: critic model id ("" = the thinker role)
  std::string judge;                // debate: judge model id ("" = the primary)
  std::vector<StageSpec>
      stages;  // pipeline ([] = thinker plans, coder implements, primary reviews)
  bool degrade_on_failure = true;  // on_failure: "degraded" (true) | "error"
  double stage_timeout_s = 0;      // per-stage deadline; 0 = none
  double timeout_s = 0;            // whole-request deadline; 0 = none
  HandoffPolicy handoff_policy = HandoffPolicy::kTruncateMiddle;
  int handoff_max_tokens = 0;  // cap on a handoff prompt (next model's tokens); 0 = its context
  int stage_max_tokens = 256;  // max_tokens of a stage when the request sets none
  double similarity_threshold = 0.5;  // ensemble: Jaccard similarity that puts answers together
  int short_answer_words = 8;         // ensemble: answers this short are compared exactly
  // TEST HOOK: 1-based index of the stage that fails with an injected error (0 = none). Accepted
  // from requests only when INFERENCE_ORCHESTRATION_TEST_HOOKS=1.
  int fail_stage = 0;
};

// Applies the fields of `obj` (the `orchestration` request object or a preset's defaults) onto
// *options. Unknown fields are errors (a typo must not silently change behaviour). On error,
// *param names the field, e.g. "orchestration.rounds". `allow_test_hooks` gates `fail_stage`.
Status ApplyOrchestrationJson(const nlohmann::ordered_json& obj, bool allow_test_hooks,
                              OrchestrationOptions* options, std::string* param);

// task_type -> role. Defaults: code/coding -> coder, reasoning/math/planning -> thinker,
// quick/fast/summarize -> fast, long/long_context -> longctx, chat/general -> primary.
using TaskRoles = std::map<std::string, std::string>;
TaskRoles DefaultTaskRoles();
// Parses "task=role,task=role" (INFERENCE_TASK_ROLES) over the defaults.
StatusOr<TaskRoles> ParseTaskRoles(const std::string& text);

}  // namespace isv
