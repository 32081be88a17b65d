#include "api/server.h"

#include <httplib.h>

#include <cstdio>
#include <random>
#include <regex>
#include <thread>

#include "api/api_error.h"
#include "api/http_util.h"
#include "api/request_context.h"
#include "core/logging.h"

namespace isv {
namespace {

using json = nlohmann::ordered_json;
using Clock = std::chrono::steady_clock;

constexpr const char* kVersion = "0.1.0";

std::string NewCorrelationId() {
  thread_local std::mt19937_64 rng(std::random_device{}() ^
                                   std::hash<std::thread::id>()(std::this_thread::get_id()));
  char buf[40];
  uint64_t a = rng(), b = rng();
  std::snprintf(buf, sizeof(buf), "%08x-%04x-%04x-%04x-%012llx", static_cast<unsigned>(a >> 32),
                static_cast<unsigned>((a >> 16) & 0xffff), static_cast<unsigned>(a & 0xffff),
                static_cast<unsigned>(b >> 48),
                static_cast<unsigned long long>(b & 0xffffffffffffULL));
  return buf;
}

// The route pattern of a path, for metrics labels (ids folded into {id}).
std::string RouteLabel(const std::string& path) {
  if (path.rfind("/v1/models/", 0) == 0) {
    if (path.size() > 5 && path.compare(path.size() - 5, 5, "/load") == 0)
      return "/v1/models/{id}/load";
    if (path.size() > 7 && path.compare(path.size() - 7, 7, "/unload") == 0)
      return "/v1/models/{id}/unload";
    return "/v1/models/{id}";
  }
  if (path.rfind("/v1/presets/", 0) == 0) return "/v1/presets/{id}/load";
  static const char* known[] = {"/health",        "/health/ready", "/metrics",
                                "/v1/models",     "/v1/presets",   "/v1/chat/completions",
                                "/v1/completions", "/v1/slots"};
  for (const char* k : known) {
    if (path == k) return k;
  }
  return "other";
}

bool ConstantTimeEquals(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

}  // namespace

RequestContext& CurrentRequest() {
  thread_local RequestContext ctx;
  return ctx;
}

void SendJson(httplib::Response& res, int status, const nlohmann::ordered_json& body) {
  res.status = status;
  res.set_content(body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
                  "application/json");
}

void SendError(httplib::Response& res, const ApiError& e) {
  CurrentRequest().error = e.message;
  if (e.retry_after_s > 0) res.set_header("Retry-After", std::to_string(e.retry_after_s));
  res.status = e.http_status;
  res.set_content(e.ToJson().dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
                  "application/json");
}

std::string SseData(const nlohmann::ordered_json& j) {
  return "data: " + j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n\n";
}

std::string NewCompletionId(bool is_chat) {
  thread_local std::mt19937_64 rng(std::random_device{}());
  char buf[24];
  std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(rng()));
  return std::string(is_chat ? "chatcmpl-" : "cmpl-") + buf;
}

Server::Server(const ServeConfig& config, ModelManager& manager, Metrics& metrics)
    : config_(config),
      manager_(manager),
      metrics_(metrics),
      http_(std::make_unique<httplib::Server>()) {
  int threads = config_.http_threads;
  http_->new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  http_->set_payload_max_length(static_cast<size_t>(config_.max_body_bytes));
  http_->set_keep_alive_timeout(2);
  http_->set_read_timeout(30);
  http_->set_write_timeout(30);
  RegisterRoutes();
}

Server::~Server() = default;

Status Server::Bind() {
  if (config_.port == 0) {
    port_ = http_->bind_to_any_port(config_.host);
    if (port_ <= 0) return UnavailableError("cannot bind " + config_.host + " to a free port");
  } else {
    if (!http_->bind_to_port(config_.host, config_.port)) {
      return UnavailableError(
          "cannot listen on " + config_.host + ":" + std::to_string(config_.port) +
          " (address in use or invalid; INFERENCE_HOST / INFERENCE_PORT / --host / --port)");
    }
    port_ = config_.port;
  }
  return OkStatus();
}

void Server::Run() { http_->listen_after_bind(); }

void Server::Shutdown(double timeout_s) {
  auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                     std::chrono::duration<double>(timeout_s));
  deadline_ns_ = deadline.time_since_epoch().count();
  draining_ = true;
  LogEvent(LogLevel::kInfo, "shutdown", {{"timeout_s", timeout_s}});
  http_->stop();
}

bool Server::PastShutdownDeadline() const {
  return draining_ && Clock::now().time_since_epoch().count() >= deadline_ns_.load();
}

void Server::SetPresetState(std::string state, std::string error) {
  std::lock_guard<std::mutex> lock(preset_mu_);
  preset_state_ = std::move(state);
  preset_error_ = std::move(error);
}

void Server::UpdateModelGauges() {
  for (const ModelStatus& s : manager_.List()) {
    metrics_.SetModel(s.spec->id, s.state == ModelState::kLoaded,
                      static_cast<double>(s.memory_bytes));
  }
}

void Server::RegisterRoutes() {
  http_->set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    RequestContext& ctx = CurrentRequest();
    ctx = RequestContext();
    ctx.start = Clock::now();
    ctx.correlation_id = req.get_header_value("X-Request-ID");
    if (ctx.correlation_id.empty()) ctx.correlation_id = req.get_header_value("X-Correlation-ID");
    if (ctx.correlation_id.empty() || ctx.correlation_id.size() > 200)
      ctx.correlation_id = NewCorrelationId();
    res.set_header("X-Request-ID", ctx.correlation_id);
    res.set_header("X-Correlation-ID", ctx.correlation_id);
    if (!config_.api_key.empty() && req.path != "/health" && req.path != "/health/ready" &&
        req.path != "/metrics") {
      std::string auth = req.get_header_value("Authorization");
      const std::string prefix = "Bearer ";
      if (auth.rfind(prefix, 0) != 0 ||
          !ConstantTimeEquals(auth.substr(prefix.size()), config_.api_key)) {
        SendError(res, ApiError::FromStatus(Status(
                           StatusCode::kUnauthenticated,
                           auth.empty() ? "missing API key: send 'Authorization: Bearer <key>'"
                                        : "invalid API key")));
        return httplib::Server::HandlerResponse::Handled;
      }
    }
    if (req.method == "POST" && !req.has_header("Content-Length") && !req.has_header("Transfer-Encoding")) {
      // cpp-httplib 0.11 answers a POST without Content-Length with a bare 400 before routing; the
      // action routes take no body (the seed's `curl -X POST .../load` sends none), so they are
      // dispatched here.
      static const std::regex kAction(R"(/v1/(models|presets)/([^/]+)/(load|unload))");
      std::smatch m;
      if (std::regex_match(req.path, m, kAction) && !(m[1] == "presets" && m[3] == "unload")) {
        if (m[1] == "presets") {
          HandleLoadPreset(m[2], res);
        } else {
          HandleModelAction(m[2], res, m[3] == "load");
        }
      } else {
        SendError(res, ApiError::InvalidRequest("this route needs a JSON request body", ""));
      }
      return httplib::Server::HandlerResponse::Handled;
    }
    if (req.has_header("Content-Length")) {
      long long n = std::atoll(req.get_header_value("Content-Length").c_str());
      if (n > config_.max_body_bytes) {
        SendError(res,
                  ApiError{413, "invalid_request_error", "request_too_large",
                           "request body of " + std::to_string(n) + " bytes exceeds the limit of " +
                               std::to_string(config_.max_body_bytes) +
                               " bytes (INFERENCE_MAX_BODY_BYTES)",
                           "", false, 0});
        return httplib::Server::HandlerResponse::Handled;
      }
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });
  // Fills statuses httplib produces itself (unknown route, oversized chunked body) with our schema.
  http_->set_error_handler(httplib::Server::HandlerWithResponse([](const httplib::Request& req,
                                                                   httplib::Response& res) {
    if (!res.body.empty() || res.content_length_ > 0)
      return httplib::Server::HandlerResponse::Unhandled;
    if (res.status == 404) {
      SendError(res, ApiError{404, "not_found_error", "route_not_found",
                              "no route " + req.method + " " + req.path, "", false, 0});
    } else if (res.status == 413) {
      SendError(res, ApiError{413, "invalid_request_error", "request_too_large",
                              "request body too large (INFERENCE_MAX_BODY_BYTES)", "", false, 0});
    } else if (res.status == 405) {
      SendError(res,
                ApiError{405, "invalid_request_error", "method_not_allowed",
                         "method " + req.method + " not allowed on " + req.path, "", false, 0});
    } else {
      SendError(res,
                ApiError{res.status, res.status >= 500 ? "server_error" : "invalid_request_error",
                         "http_error", "HTTP error " + std::to_string(res.status), "",
                         res.status >= 500, 0});
    }
    return httplib::Server::HandlerResponse::Handled;
  }));
  http_->set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
        std::string what = "unknown exception";
        try {
          if (ep) std::rethrow_exception(ep);
        } catch (const std::exception& e) {
          what = e.what();
        } catch (...) {
        }
        SendError(res, ApiError::FromStatus(InternalError("internal error: " + what)));
      });
  http_->set_logger([this](const httplib::Request& req, const httplib::Response& res) {
    RequestContext& ctx = CurrentRequest();
    double seconds = std::chrono::duration<double>(Clock::now() - ctx.start).count();
    std::string route = RouteLabel(req.path);
    metrics_.ObserveRequest(route, res.status, seconds);
    if (route == "/metrics" || route == "/health" || route == "/health/ready") {
      if (!LogEnabled(LogLevel::kDebug)) return;
    }
    nlohmann::json f = {{"correlation_id", ctx.correlation_id},
                        {"method", req.method},
                        {"route", req.path},
                        {"status", res.status},
                        {"duration_ms", seconds * 1000}};
    if (!ctx.model.empty()) f["model"] = ctx.model;
    if (ctx.prompt_tokens >= 0) f["prompt_tokens"] = ctx.prompt_tokens;
    if (ctx.completion_tokens >= 0) f["completion_tokens"] = ctx.completion_tokens;
    if (ctx.queue_ms >= 0) f["queue_ms"] = ctx.queue_ms;
    if (ctx.inference_ms >= 0) f["inference_ms"] = ctx.inference_ms;
    if (!ctx.finish_reason.empty()) f["finish_reason"] = ctx.finish_reason;
    if (!ctx.error.empty()) f["error"] = ctx.error;
    // A stream that failed after its 200 headers still logs as an error.
    LogLevel level = res.status >= 500 || (res.status < 400 && !ctx.error.empty()) ? LogLevel::kError
                     : res.status >= 400                                         ? LogLevel::kWarning
                                                                                 : LogLevel::kInfo;
    LogEvent(level, "request", f);
  });

  http_->Get("/health", [this](const auto& req, auto& res) { HandleHealth(req, res); });
  http_->Get("/health/ready", [this](const auto& req, auto& res) { HandleReady(req, res); });
  http_->Get("/metrics", [this](const auto&, auto& res) {
    UpdateModelGauges();
    res.set_content(metrics_.Render(), "text/plain; version=0.0.4");
  });
  http_->Get("/v1/models", [this](const auto& req, auto& res) { HandleListModels(req, res); });
  http_->Post(R"(/v1/models/([^/]+)/load)",
              [this](const auto& req, auto& res) { HandleModelAction(req.matches[1], res, true); });
  http_->Post(R"(/v1/models/([^/]+)/unload)",
              [this](const auto& req, auto& res) { HandleModelAction(req.matches[1], res, false); });
  http_->Get("/v1/presets", [this](const auto& req, auto& res) { HandleListPresets(req, res); });
  http_->Get("/v1/slots", [this](const auto& req, auto& res) { HandleSlots(req, res); });
  http_->Post(R"(/v1/presets/([^/]+)/load)",
              [this](const auto& req, auto& res) { HandleLoadPreset(req.matches[1], res); });
  http_->Post("/v1/chat/completions",
              [this](const auto& req, auto& res) { HandleCompletion(req, res, true); });
  http_->Post("/v1/completions",
              [this](const auto& req, auto& res) { HandleCompletion(req, res, false); });
  http_->Get("/api/v1/vision/health", [this](const auto& req, auto& res) { HandleVisionHealth(req, res); });
  http_->Post("/api/v1/vision/classify", [this](const auto& req, auto& res) { HandleVisionClassify(req, res); });
  http_->Post("/api/v1/vision/classify/batch",
              [this](const auto& req, auto& res) { HandleVisionBatch(req, res); });
  http_->Post("/api/v1/vision/load", [this](const auto& req, auto& res) { HandleVisionLoad(req, res); });
  http_->Post("/api/v1/vision/unload", [this](const auto& req, auto& res) { HandleVisionUnload(req, res); });
}

void Server::HandleHealth(const httplib::Request&, httplib::Response& res) {
  SendJson(res, 200, {{"status", "ok"}, {"service", "inference-service"}, {"version", kVersion}});
}

void Server::HandleReady(const httplib::Request&, httplib::Response& res) {
  std::vector<std::string> loaded = manager_.LoadedIds();
  std::string state, error;
  {
    std::lock_guard<std::mutex> lock(preset_mu_);
    state = preset_state_;
    error = preset_error_;
  }
  std::string reason;
  if (draining_) {
    reason = "Shutting down";
  } else if (state == "loading") {
    reason = "Loading default preset '" + config_.default_preset + "'";
  } else if (state == "failed") {
    reason = "Default preset '" + config_.default_preset + "' failed to load: " + error;
  } else if (loaded.empty() && !config_.auto_load) {
    reason = "No models loaded";
  }
  json backend = {{"device", "cpu"},
                  {"gpu_layers", config_.gpu_layers},
                  {"note",
                   "GPU offload is not implemented yet: INFERENCE_GPU_LAYERS is accepted and every "
                   "layer runs on the CPU"}};
  if (!reason.empty()) {
    SendJson(res, 503,
             {{"status", "not_ready"},
              {"loaded_models", loaded},
              {"reason", reason},
              {"backend", backend}});
    return;
  }
  std::string preset = manager_.current_preset();
  SendJson(res, 200,
           {{"status", "ready"},
            {"loaded_models", loaded},
            {"config", preset.empty() ? json(nullptr) : json(preset)},
            {"orchestration_mode", config_.orchestration_mode},
            {"auto_load", config_.auto_load},
            {"backend", backend}});
}

void Server::HandleListModels(const httplib::Request&, httplib::Response& res) {
  json data = json::array();
  for (const ModelStatus& s : manager_.List()) {
    const ModelSpec& m = *s.spec;
    double mb = s.state == ModelState::kAvailable ? m.size_gb * 1000 : s.memory_bytes / 1e6;
    data.push_back({{"id", m.id},
                    {"object", "model"},
                    {"owned_by", "inference-service"},
                    {"status", ModelStateName(s.state)},
                    {"memory_mb", static_cast<int64_t>(mb + 0.5)},
                    {"context_length", m.context_length},
                    {"roles", m.roles},
                    {"name", m.name},
                    {"description", m.description},
                    {"quantization", m.quantization}});
  }
  std::string preset = manager_.current_preset();
  SendJson(res, 200,
           {{"object", "list"},
            {"data", data},
            {"config", preset.empty() ? json(nullptr) : json(preset)},
            {"orchestration_mode", config_.orchestration_mode}});
}

void Server::HandleSlots(const httplib::Request&, httplib::Response& res) {
  json data = json::array();
  for (const ModelStatus& s : manager_.List()) {
    if (s.generator == nullptr) continue;
    json entry = {{"model", s.spec->id}, {"active_requests", s.active}};
    json slots = s.generator->Slots();
    if (slots.is_object()) entry.update(slots);
    data.push_back(std::move(entry));
  }
  SendJson(res, 200, {{"object", "list"}, {"data", data}});
}

void Server::HandleModelAction(const std::string& id, httplib::Response& res, bool load) {
  CurrentRequest().model = id;
  if (load) {
    bool already = false;
    auto t0 = Clock::now();
    Status s = manager_.Load(id, &already);
    if (!s.ok()) return SendError(res, ApiError::FromStatus(s, "model"));
    if (!already)
      metrics_.ObserveModelLoad(id, std::chrono::duration<double>(Clock::now() - t0).count());
    SendJson(res, 200,
             {{"id", id},
              {"status", "loaded"},
              {"message", already ? "Model '" + id + "' is already loaded"
                                  : "Model '" + id + "' loaded successfully"}});
  } else {
    Status s = manager_.Unload(id);
    if (s.code() == StatusCode::kFailedPrecondition) {
      return SendJson(
          res, 200,
          {{"id", id}, {"status", "unloaded"}, {"message", "Model '" + id + "' was not loaded"}});
    }
    if (!s.ok()) return SendError(res, ApiError::FromStatus(s, "model"));
    SendJson(res, 200,
             {{"id", id},
              {"status", "unloaded"},
              {"message", "Model '" + id + "' unloaded successfully"}});
  }
  UpdateModelGauges();
}

void Server::HandleListPresets(const httplib::Request&, httplib::Response& res) {
  std::vector<std::string> loaded = manager_.LoadedIds();
  std::string current = manager_.current_preset();
  json data = json::array();
  for (const PresetSpec& p : manager_.registry().presets()) {
    bool all = true;
    for (const std::string& m : p.models)
      all = all && std::find(loaded.begin(), loaded.end(), m) != loaded.end();
    data.push_back({{"id", p.id},
                    {"name", p.name},
                    {"description", p.description},
                    {"models", p.models},
                    {"total_memory_gb", p.total_memory_gb},
                    {"orchestration_mode", p.orchestration_mode},
                    {"target", p.target},
                    {"status", all ? "loaded" : "available"}});
  }
  SendJson(res, 200,
           {{"object", "list"},
            {"data", data},
            {"current", current.empty() ? json(nullptr) : json(current)}});
}

void Server::HandleLoadPreset(const std::string& id, httplib::Response& res) {
  Status s = manager_.LoadPreset(id);
  if (!s.ok()) {
    ApiError e = ApiError::FromStatus(s, "preset");
    if (s.code() == StatusCode::kNotFound && manager_.registry().FindPreset(id) == nullptr)
      e.code = "preset_not_found";
    return SendError(res, e);
  }
  UpdateModelGauges();
  SendJson(res, 200,
           {{"id", id},
            {"status", "loaded"},
            {"models", manager_.registry().FindPreset(id)->models},
            {"message", "Preset '" + id + "' loaded successfully"}});
}

}  // namespace isv
