#include "orchestration/options.h"

namespace isv {

using json = nlohmann::ordered_json;

std::string_view HandoffPolicyName(HandoffPolicy p) {
  switch (p) {
    case HandoffPolicy::kDropOldest:
      return "drop_oldest";
    case HandoffPolicy::kTruncateMiddle:
      return "truncate_middle";
    case HandoffPolicy::kSummarize:
      return "summarize";
  }
  return "?";
}

namespace {

Status Bad(std::string* param, const std::string& field, const std::string& what) {
  *param = "orchestration." + field;
  return InvalidArgumentError("'orchestration." + field + "' " + what);
}

Status ReadNumber(const json& v, const std::string& key, double lo, double hi, std::string* param,
                  double* out) {
  if (!v.is_number() || v.get<double>() < lo || v.get<double>() > hi)
    return Bad(param, key,
               "must be a number in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
  *out = v.get<double>();
  return OkStatus();
}

Status ReadInt(const json& v, const std::string& key, int lo, int hi, std::string* param,
               int* out) {
  if (!v.is_number_integer() || v.get<int64_t>() < lo || v.get<int64_t>() > hi)
    return Bad(param, key,
               "must be an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
  *out = v.get<int>();
  return OkStatus();
}

Status ReadString(const json& v, const std::string& key, std::string* param, std::string* out) {
  if (!v.is_string()) return Bad(param, key, "must be a string");
  *out = v.get<std::string>();
  return OkStatus();
}

Status ReadStages(const json& v, std::string* param, std::vector<StageSpec>* out) {
  if (!v.is_array() || v.empty() || v.size() > 16)
    return Bad(param, "stages", "must be an array of 1 to 16 stages");
  out->clear();
  for (size_t i = 0; i < v.size(); ++i) {
    const json& s = v[i];
    std::string key = "stages[" + std::to_string(i) + "]";
    if (!s.is_object()) return Bad(param, key, "must be an object {model|role, instruction}");
    StageSpec spec;
    for (auto it = s.begin(); it != s.end(); ++it) {
      std::string* dst = it.key() == "model"         ? &spec.model
                         : it.key() == "role"        ? &spec.role
                         : it.key() == "instruction" ? &spec.instruction
                                                     : nullptr;
      if (!dst) return Bad(param, key + "." + it.key(), "is not a stage field");
      ISV_RETURN_IF_ERROR(ReadString(it.value(), key + "." + it.key(), param, dst));
    }
    if (spec.model.empty() == spec.role.empty())
      return Bad(param, key, "must name exactly one of 'model' or 'role'");
    if (spec.instruction.empty()) return Bad(param, key + ".instruction", "is required");
    out->push_back(std::move(spec));
  }
  return OkStatus();
}

}  // namespace

Status ApplyOrchestrationJson(const json& obj, bool allow_test_hooks, OrchestrationOptions* o,
                              std::string* param) {
  if (obj.is_null()) return OkStatus();
  if (!obj.is_object()) {
    *param = "orchestration";
    return InvalidArgumentError("'orchestration' must be an object");
  }
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    const std::string& k = it.key();
    const json& v = it.value();
    if (k == "rounds") {
      ISV_RETURN_IF_ERROR(ReadInt(v, k, 1, 8, param, &o->rounds));
    } else if (k == "models") {
      if (!v.is_array() || v.empty() || v.size() > 8)
        return Bad(param, k, "must be an array of 1 to 8 model ids");
      o->models.clear();
      for (size_t i = 0; i < v.size(); ++i) {
        std::string id;
        ISV_RETURN_IF_ERROR(ReadString(v[i], k + "[" + std::to_string(i) + "]", param, &id));
        o->models.push_back(id);
      }
    } else if (k == "critic") {
      ISV_RETURN_IF_ERROR(ReadString(v, k, param, &o->critic));
    } else if (k == "judge") {
      ISV_RETURN_IF_ERROR(ReadString(v, k, param, &o->judge));
    } else if (k == "stages") {
      ISV_RETURN_IF_ERROR(ReadStages(v, param, &o->stages));
    } else if (k == "on_failure") {
      std::string s;
      ISV_RETURN_IF_ERROR(ReadString(v, k, param, &s));
      if (s != "degraded" && s != "error") return Bad(param, k, "must be 'degraded' or 'error'");
      o->degrade_on_failure = s == "degraded";
    } else if (k == "stage_timeout_s") {
      ISV_RETURN_IF_ERROR(ReadNumber(v, k, 0, 86400, param, &o->stage_timeout_s));
    } else if (k == "timeout_s") {
      ISV_RETURN_IF_ERROR(ReadNumber(v, k, 0, 86400, param, &o->timeout_s));
    } else if (k == "handoff_policy") {
      std::string s;
      ISV_RETURN_IF_ERROR(ReadString(v, k, param, &s));
      if (s == "drop_oldest") {
        o->handoff_policy = HandoffPolicy::kDropOldest;
      } else if (s == "truncate_middle") {
        o->handoff_policy = HandoffPolicy::kTruncateMiddle;
      } else if (s == "summarize") {
        o->handoff_policy = HandoffPolicy::kSummarize;
      } else {
        return Bad(param, k, "must be drop_oldest, truncate_middle or summarize");
      }
    } else if (k == "handoff_max_tokens") {
      ISV_RETURN_IF_ERROR(ReadInt(v, k, 0, 1 << 24, param, &o->handoff_max_tokens));
    } else if (k == "stage_max_tokens") {
      ISV_RETURN_IF_ERROR(ReadInt(v, k, 1, 1 << 20, param, &o->stage_max_tokens));
    } else if (k == "similarity_threshold") {
      ISV_RETURN_IF_ERROR(ReadNumber(v, k, 0, 1, param, &o->similarity_threshold));
    } else if (k == "short_answer_words") {
      ISV_RETURN_IF_ERROR(ReadInt(v, k, 0, 1000, param, &o->short_answer_words));
    } else if (k == "fail_stage") {
      if (!allow_test_hooks)
        return Bad(param, k,
                   "is a test hook, accepted only when INFERENCE_ORCHESTRATION_TEST_HOOKS=1");
      ISV_RETURN_IF_ERROR(ReadInt(v, k, 0, 1000, param, &o->fail_stage));
    } else {
      return Bad(param, k, "is not an orchestration field (see docs/orchestration.md)");
    }
  }
  return OkStatus();
}

TaskRoles DefaultTaskRoles() {
  return {{"code", "coder"},        {"coding", "coder"},
          {"reasoning", "thinker"}, {"math", "thinker"},
          {"planning", "thinker"},  {"quick", "fast"},
          {"fast", "fast"},         {"summarize", "fast"},
          {"long", "longctx"},      {"long_context", "longctx"},
          {"chat", "primary"},      {"general", "primary"}};
}

StatusOr<TaskRoles> ParseTaskRoles(const std::string& text) {
  TaskRoles roles = DefaultTaskRoles();
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find(',', pos);
    if (end == std::string::npos) end = text.size();
    std::string item = text.substr(pos, end - pos);
    pos = end + 1;
    if (item.empty()) continue;
    size_t eq = item.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == item.size())
      return InvalidArgumentError("task roles: expected task=role, got '" + item + "'");
    roles[item.substr(0, eq)] = item.substr(eq + 1);
  }
  return roles;
}

}  // namespace isv
