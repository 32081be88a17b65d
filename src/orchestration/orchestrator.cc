#include "orchestration/orchestrator.h"

#include <algorithm>

#include "orchestration/modes.h"
#include "orchestration/prompts.h"
#include "orchestration/run_context.h"

namespace isv {

using json = nlohmann::ordered_json;

namespace {

bool HasRole(const ModelSpec& m, const std::string& role) {
  return std::find(m.roles.begin(), m.roles.end(), role) != m.roles.end();
}

void AddDistinct(std::vector<std::string>* v, const std::string& id) {
  if (!id.empty() && std::find(v->begin(), v->end(), id) == v->end()) v->push_back(id);
}

}  // namespace

Orchestrator::Orchestrator(ModelManager& manager, TaskRoles task_roles)
    : manager_(manager), task_roles_(std::move(task_roles)) {}

std::string Orchestrator::ModelForRole(const std::string& role,
                                       const std::vector<std::string>& pool) const {
  const Registry& reg = manager_.registry();
  for (const std::string& id : pool) {
    const ModelSpec* m = reg.FindModel(id);
    if (m && HasRole(*m, role)) return id;
  }
  for (const ModelSpec& m : reg.models()) {
    if (HasRole(m, role)) return m.id;
  }
  return "";
}

std::vector<std::string> Orchestrator::Pool(const std::string& model,
                                            const std::string& primary) const {
  const Registry& reg = manager_.registry();
  if (const PresetSpec* p = reg.FindPreset(model)) return p->models;
  if (const PresetSpec* p = reg.FindPreset(manager_.current_preset())) {
    if (std::find(p->models.begin(), p->models.end(), primary) != p->models.end()) return p->models;
  }
  return {};
}

StatusOr<std::string> Orchestrator::ResolvePrimary(const std::string& model,
                                                   const std::string& task_type) const {
  const Registry& reg = manager_.registry();
  if (reg.FindModel(model)) return model;
  if (std::string why = reg.DisabledReason(model); !why.empty()) return NotFoundError(why);
  const bool preset = reg.FindPreset(model) != nullptr;
  if (!preset && task_type.empty()) {
    return NotFoundError("model '" + model +
                         "' does not exist (see GET /v1/models); name a model, a preset, or send "
                         "a task_type to route by role");
  }
  std::string role = "primary";
  if (!task_type.empty()) {
    auto it = task_roles_.find(task_type);
    if (it == task_roles_.end()) {
      std::string known;
      for (const auto& [t, r] : task_roles_) known += (known.empty() ? "" : ", ") + t;
      return InvalidArgumentError("task_type '" + task_type + "' is not one of: " + known);
    }
    role = it->second;
  }
  std::vector<std::string> pool = Pool(model, "");
  if (pool.empty()) {
    if (const PresetSpec* p = reg.FindPreset(manager_.current_preset())) pool = p->models;
  }
  std::string id = ModelForRole(role, pool);
  if (id.empty()) id = ModelForRole("primary", pool);
  if (id.empty() && preset) id = pool.front();
  if (id.empty()) return NotFoundError("no configured model holds the role '" + role + "'");
  return id;
}

StatusOr<OrchestrationResult> Orchestrator::Run(const OrchestrationRequest& request,
                                                const OrchestrationCallbacks& callbacks) {
  const OrchestrationOptions& o = request.options;
  if (!request.input.is_chat)
    return InvalidArgumentError("orchestration needs chat messages (/v1/chat/completions)");
  ISV_ASSIGN_OR_RETURN(std::string primary, ResolvePrimary(request.model, o.task_type));
  std::vector<std::string> pool = Pool(request.model, primary);
  const Registry& reg = manager_.registry();
  auto check = [&](const std::string& id, const std::string& param) -> Status {
    if (reg.FindModel(id)) return OkStatus();
    std::string why = reg.DisabledReason(id);
    return NotFoundError(
        param + ": " +
        (why.empty() ? "model '" + id + "' does not exist (see GET /v1/models)" : why));
  };
  RunContext ctx(manager_, *this, request, callbacks, primary, pool);
  if (o.mode == "single") {
    RunSingle(ctx);
  } else if (o.mode == "critique") {
    std::string critic = o.critic;
    if (critic.empty()) critic = ModelForRole("thinker", pool);
    if (critic.empty() || critic == primary) {
      for (const std::string& id : pool) {
        if (id != primary && reg.FindModel(id)) critic = id;
      }
    }
    if (critic.empty()) critic = primary;  // self-critique: the only model reviews itself
    ISV_RETURN_IF_ERROR(check(critic, "orchestration.critic"));
    RunCritique(ctx, critic);
  } else if (o.mode == "debate" || o.mode == "ensemble") {
    std::vector<std::string> members = o.models;
    if (members.empty()) {
      AddDistinct(&members, primary);
      for (const std::string& id : pool) AddDistinct(&members, id);
      if (pool.empty()) {
        AddDistinct(&members, ModelForRole("thinker", pool));
        AddDistinct(&members, ModelForRole("coder", pool));
      }
    }
    for (size_t i = 0; i < members.size(); ++i)
      ISV_RETURN_IF_ERROR(check(members[i], "orchestration.models[" + std::to_string(i) + "]"));
    if (o.mode == "debate") {
      std::string judge = o.judge.empty() ? primary : o.judge;
      ISV_RETURN_IF_ERROR(check(judge, "orchestration.judge"));
      RunDebate(ctx, members, judge);
    } else {
      RunEnsemble(ctx, members);
    }
  } else if (o.mode == "pipeline") {
    std::vector<StageSpec> stages = o.stages;
    if (stages.empty()) {
      stages = {{"", "thinker", std::string(prompts::kPlanInstruction)},
                {"", "coder", std::string(prompts::kImplementInstruction)},
                {"", "primary", std::string(prompts::kReviewInstruction)}};
    }
    for (size_t i = 0; i < stages.size(); ++i) {
      StageSpec& s = stages[i];
      if (s.model.empty()) {
        s.model = s.role == "primary" ? primary : ModelForRole(s.role, pool);
        if (s.model.empty()) s.model = primary;  // no model holds the role: the primary does it
      }
      ISV_RETURN_IF_ERROR(check(s.model, "orchestration.stages[" + std::to_string(i) + "]"));
    }
    RunPipeline(ctx, stages);
  } else {
    return InvalidArgumentError(
        "'orchestration_mode' must be single, critique, debate, ensemble or pipeline, got '" +
        o.mode + "'");
  }
  OrchestrationResult& result = ctx.result();
  for (const StageRecord& s : result.stages) {
    if (s.leased) AddDistinct(&result.models_used, s.model);
  }
  return std::move(result);
}

json OrchestrationJson(const OrchestrationResult& r) {
  json stages = json::array();
  for (const StageRecord& s : r.stages) {
    json j = {{"name", s.name},
              {"model", s.model},
              {"role", s.role},
              {"prompt_tokens", s.prompt_tokens},
              {"completion_tokens", s.completion_tokens},
              {"time_ms", s.time_ms},
              {"status", s.status}};
    if (!s.error.empty()) j["error"] = s.error;
    stages.push_back(std::move(j));
  }
  json handoffs = json::array();
  for (const HandoffRecord& h : r.handoffs) {
    handoffs.push_back({{"stage", h.stage},
                        {"tokens_in", h.tokens_in},
                        {"tokens_kept", h.tokens_kept},
                        {"policy", h.policy}});
  }
  json out = {{"mode", r.mode},
              {"models_used", r.models_used},
              {"total_inference_time_ms", r.total_inference_time_ms},
              {"stages", stages},
              {"handoffs", handoffs},
              {"degraded", r.degraded}};
  if (!r.failed_stage.empty()) {
    out["failed_stage"] = r.failed_stage;
    out["error"] = r.failure;
    out["compensations"] = r.compensations;
  }
  for (auto it = r.details.begin(); it != r.details.end(); ++it) out[it.key()] = it.value();
  return out;
}

}  // namespace isv
