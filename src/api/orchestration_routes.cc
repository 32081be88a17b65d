// Orchestrated chat completions (docs/orchestration.md): the request's mode, participants and
// options -> Orchestrator -> one chat completion (the final answer, usage summed over every stage,
// the `orchestration` extension), or an SSE stream whose final stage streams as content and whose
// earlier stages report progress in an `orchestration` field of otherwise empty chunks.
#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <ctime>

#include "api/api_error.h"
#include "api/http_util.h"
#include "api/request_context.h"
#include "api/request_parser.h"
#include "api/server.h"
#include "core/logging.h"
#include "orchestration/orchestrator.h"

namespace isv {
namespace {

using json = nlohmann::ordered_json;

// INFERENCE_TASK_ROLES ("task=role,..."), read once; a bad value is logged and ignored.
const TaskRoles& ConfiguredTaskRoles() {
  static const TaskRoles roles = [] {
    const char* env = std::getenv("INFERENCE_TASK_ROLES");
    if (!env || !*env) return DefaultTaskRoles();
    StatusOr<TaskRoles> r = ParseTaskRoles(env);
    if (r.ok()) return *r;
    LogEvent(LogLevel::kWarning, "bad_task_roles", {{"error", r.status().message()}});
    return DefaultTaskRoles();
  }();
  return roles;
}

// INFERENCE_ORCHESTRATION_TEST_HOOKS=1 lets requests set orchestration.fail_stage (tests only).
bool TestHooksEnabled() {
  const char* env = std::getenv("INFERENCE_ORCHESTRATION_TEST_HOOKS");
  return env && std::string(env) == "1";
}

json Usage(const OrchestrationResult& r) {
  return {{"prompt_tokens", r.prompt_tokens},
          {"completion_tokens", r.completion_tokens},
          {"total_tokens", r.prompt_tokens + r.completion_tokens}};
}

// A run's failure as an API error: the stage's own status (timeout 504, memory 503, ...), with
// engine/injected/empty/refusal failures as 502 orchestration_stage_failed.
ApiError RunError(const Status& s) {
  ApiError e = ApiError::FromStatus(s);
  if (s.code() == StatusCode::kInternal) {
    e = {502, "server_error", "orchestration_stage_failed", s.message(), "", false, 0};
  }
  return e;
}

}  // namespace

bool Server::MaybeOrchestrate(CompletionRequest& request, httplib::Response& res) {
  const Registry& reg = manager_.registry();
  // The preset named by `model` gives the default mode and orchestration defaults; the current
  // preset gives its orchestration defaults to requests naming one of its models.
  const PresetSpec* preset = reg.FindPreset(request.model);
  std::string mode = request.orchestration_mode;
  if (mode.empty()) mode = preset ? preset->orchestration_mode : config_.orchestration_mode;
  if (!preset) {
    const PresetSpec* current = reg.FindPreset(manager_.current_preset());
    if (current && std::find(current->models.begin(), current->models.end(), request.model) !=
                       current->models.end())
      preset = current;
  }
  request.orchestration_mode = mode;
  static const char* kModes[] = {"single", "critique", "debate", "ensemble", "pipeline"};
  if (std::find(std::begin(kModes), std::end(kModes), mode) == std::end(kModes)) {
    SendError(res, ApiError::InvalidRequest("'orchestration_mode' must be single, critique, "
                                            "debate, ensemble or pipeline, got '" +
                                                mode + "'",
                                            "orchestration_mode"));
    return true;
  }
  Orchestrator orchestrator(manager_, ConfiguredTaskRoles());
  if (mode == "single" && request.orchestration.is_null()) {
    if (reg.FindModel(request.model) ||
        (!reg.FindPreset(request.model) && request.task_type.empty()))
      return false;
    // A preset id or a task_type: route to the model holding the role, then the plain path.
    StatusOr<std::string> id = orchestrator.ResolvePrimary(request.model, request.task_type);
    if (!id.ok()) {
      SendError(res,
                ApiError::FromStatus(id.status(), id.status().code() == StatusCode::kInvalidArgument
                                                      ? "task_type"
                                                      : "model"));
      return true;
    }
    request.model = *id;
    CurrentRequest().model = *id;
    return false;
  }

  OrchestrationRequest oreq;
  oreq.model = request.model;
  oreq.input = request.input;
  oreq.params = request.params;
  oreq.options.mode = mode;
  oreq.options.task_type = request.task_type;
  std::string param;
  if (preset) {
    // Preset defaults first; the request's fields override them.
    Status s = ApplyOrchestrationJson(preset->orchestration, true, &oreq.options, &param);
    if (!s.ok()) {
      SendError(res, ApiError::FromStatus(InternalError("presets.yaml: preset '" + preset->id +
                                                        "': " + s.message())));
      return true;
    }
  }
  Status s =
      ApplyOrchestrationJson(request.orchestration, TestHooksEnabled(), &oreq.options, &param);
  if (!s.ok()) {
    SendError(res, ApiError::InvalidRequest(s.message(), param));
    return true;
  }
  if (!request.is_chat) {
    SendError(res, ApiError::InvalidRequest("orchestration modes other than single need "
                                            "/v1/chat/completions",
                                            "orchestration_mode"));
    return true;
  }
  if (request.params.top_logprobs >= 0) {
    SendError(res, ApiError::InvalidRequest(
                       "logprobs are not supported with orchestration mode '" + mode + "' (use single)",
                       "logprobs"));
    return true;
  }
  if (request.n > 1) {
    SendError(res, ApiError::InvalidRequest(
                       "'n' > 1 is not supported with orchestration mode '" + mode + "' (use single)", "n"));
    return true;
  }
  if (request.tools_enabled || request.params.json_object || request.params.grammar) {
    SendError(res, ApiError::InvalidRequest(
                       "tools, response_format json_object / json_schema and grammar are not "
                       "supported with orchestration mode '" +
                           mode + "' (use single)",
                       request.tools_enabled ? "tools" : request.params.grammar ? request.grammar_field : "response_format"));
    return true;
  }
  if (request.stream) {
    RespondOrchestratedStream(std::move(oreq), request.include_usage, res);
  } else {
    RespondOrchestrated(oreq, res);
  }
  return true;
}

void Server::RespondOrchestrated(const OrchestrationRequest& oreq, httplib::Response& res) {
  Orchestrator orchestrator(manager_, ConfiguredTaskRoles());
  OrchestrationCallbacks cb;
  cb.is_cancelled = [this] { return PastShutdownDeadline(); };
  StatusOr<OrchestrationResult> r = orchestrator.Run(oreq, cb);
  if (!r.ok()) {
    SendError(res, ApiError::FromStatus(r.status(), r.status().code() == StatusCode::kNotFound
                                                        ? "model"
                                                        : "orchestration"));
    return;
  }
  RequestContext& ctx = CurrentRequest();
  ctx.model = r->model;
  ctx.prompt_tokens = r->prompt_tokens;
  ctx.completion_tokens = r->completion_tokens;
  ctx.inference_ms = r->total_inference_time_ms;
  for (const StageRecord& st : r->stages)
    metrics_.AddTokens(st.model, st.prompt_tokens, st.completion_tokens);
  if (!r->error.ok()) {
    ApiError e = r->error.code() == StatusCode::kCancelled && PastShutdownDeadline()
                     ? ApiError::FromStatus(
                           UnavailableError("the server is shutting down; generation was stopped"))
                     : RunError(r->error);
    SendError(res, e);
    json body = e.ToJson();
    body["orchestration"] = OrchestrationJson(*r);
    res.set_content(body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
                    "application/json");
    return;
  }
  ctx.finish_reason = r->finish_reason;
  json choice = {{"index", 0},
                 {"message", {{"role", "assistant"}, {"content", r->text}}},
                 {"finish_reason", r->finish_reason}};
  SendJson(res, 200,
           {{"id", NewCompletionId(true)},
            {"object", "chat.completion"},
            {"created", std::time(nullptr)},
            {"model", r->model},
            {"choices", json::array({choice})},
            {"usage", Usage(*r)},
            {"orchestration", OrchestrationJson(*r)}});
}

void Server::RespondOrchestratedStream(OrchestrationRequest oreq, bool include_usage,
                                       httplib::Response& res) {
  auto req = std::make_shared<OrchestrationRequest>(std::move(oreq));
  res.set_header("Cache-Control", "no-cache");
  res.set_header("X-Accel-Buffering", "no");
  res.set_chunked_content_provider("text/event-stream", [this, req, include_usage](
                                                            size_t, httplib::DataSink& sink) {
    Orchestrator orchestrator(manager_, ConfiguredTaskRoles());
    const std::string id = NewCompletionId(true);
    const int64_t created = std::time(nullptr);
    std::string model = req->model;
    std::atomic<bool> client_gone{false};  // progress may be written from debater threads
    auto write = [&](const std::string& s) {
      if (client_gone) return false;
      if (!sink.write(s.data(), s.size())) client_gone = true;
      return !client_gone.load();
    };
    auto chunk = [&](json delta, json finish) {
      return json{{"id", id},
                  {"object", "chat.completion.chunk"},
                  {"created", created},
                  {"model", model},
                  {"choices", json::array({{{"index", 0},
                                            {"delta", std::move(delta)},
                                            {"finish_reason", std::move(finish)}}})}};
    };
    StatusOr<std::string> primary = orchestrator.ResolvePrimary(req->model, req->options.task_type);
    if (primary.ok()) model = *primary;
    write(SseData(chunk({{"role", "assistant"}, {"content", ""}}, nullptr)));
    OrchestrationCallbacks cb;
    cb.on_progress = [&](const json& event) {
      json j = chunk(json::object(), nullptr);
      j["orchestration"] = event;
      write(SseData(j));
    };
    cb.on_final_text = [&](std::string_view piece) {
      return write(SseData(chunk({{"content", std::string(piece)}}, nullptr)));
    };
    cb.is_cancelled = [&] { return client_gone.load() || PastShutdownDeadline(); };
    StatusOr<OrchestrationResult> r = orchestrator.Run(*req, cb);
    RequestContext& ctx = CurrentRequest();
    Status error = r.ok() ? r->error : r.status();
    if (r.ok()) {
      ctx.prompt_tokens = r->prompt_tokens;
      ctx.completion_tokens = r->completion_tokens;
      ctx.inference_ms = r->total_inference_time_ms;
      for (const StageRecord& st : r->stages)
        metrics_.AddTokens(st.model, st.prompt_tokens, st.completion_tokens);
    }
    if (client_gone) {
      ctx.finish_reason = "cancelled";
      sink.done();
      return true;
    }
    if (!error.ok()) {
      ApiError e = r.ok() ? RunError(error) : ApiError::FromStatus(error, "orchestration");
      ctx.error = e.message;
      json body = e.ToJson();
      if (r.ok()) body["orchestration"] = OrchestrationJson(*r);
      write(SseData(body));
      write("data: [DONE]\n\n");
      sink.done();
      return true;
    }
    ctx.finish_reason = r->finish_reason;
    // A final answer that did not stream live (critique approval, degraded answer) goes out now.
    if (!r->final_streamed && !r->text.empty()) write(SseData(chunk({{"content", r->text}}, nullptr)));
    json last = chunk(json::object(), r->finish_reason);
    last["orchestration"] = OrchestrationJson(*r);
    write(SseData(last));
    if (include_usage) {
      json j = {{"id", id},
                {"object", "chat.completion.chunk"},
                {"created", created},
                {"model", model},
                {"choices", json::array()},
                {"usage", Usage(*r)},
                {"orchestration", OrchestrationJson(*r)}};
      write(SseData(j));
    }
    write("data: [DONE]\n\n");
    sink.done();
    return true;
  });
}

}  // namespace isv
