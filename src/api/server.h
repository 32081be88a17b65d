// Server: the HTTP front of the service (cpp-httplib): the seed's routes plus /v1/completions,
// presets and /metrics; auth, body limit, correlation ids, JSON request logs and graceful shutdown.
// Routes are thin: parse (request_parser.h) -> serving layer -> JSON/SSE out; every error leaves
// through ApiError (api_error.h). docs/api.md describes the contract.
//
//   Server server(config, manager, metrics);
//   ISV_RETURN_IF_ERROR(server.Bind());    // host:port (port 0: any free port)
//   server.Run();                          // blocks until Shutdown()
//
// Thread-safety: connections are served by a thread pool; Shutdown() may be called from any
// thread (e.g. a signal-handling thread). The ModelManager and Metrics must outlive the Server.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <variant>

#include "core/config.h"
#include "core/metrics.h"
#include "core/status.h"
#include "api/api_error.h"
#include "serving/model_manager.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace isv {

struct CompletionRequest;
struct OrchestrationRequest;

class Server {
 public:
  Server(const ServeConfig& config, ModelManager& manager, Metrics& metrics);
  ~Server();

  // Binds the listening socket. Errors: the address is in use or invalid.
  Status Bind();
  int port() const { return port_; }
  // Serves until Shutdown(); returns when in-flight requests have finished.
  void Run();
  // Stops accepting connections; requests still generating after `timeout_s` are ended with an
  // error (streams get an error event). Returns at once; Run() returns when all are done.
  void Shutdown(double timeout_s);

  // Readiness of the default preset (set by the startup loader thread).
  void SetPresetState(std::string state, std::string error);

 private:
  void RegisterRoutes();
  void HandleHealth(const httplib::Request& req, httplib::Response& res);
  void HandleReady(const httplib::Request& req, httplib::Response& res);
  void HandleListModels(const httplib::Request& req, httplib::Response& res);
  // GET /v1/slots: per loaded model, what its scheduler is doing (slots, queue, KV blocks).
  void HandleSlots(const httplib::Request& req, httplib::Response& res);
  void HandleModelAction(const std::string& id, httplib::Response& res, bool load);
  void HandleListPresets(const httplib::Request& req, httplib::Response& res);
  void HandleLoadPreset(const std::string& id, httplib::Response& res);
  void HandleCompletion(const httplib::Request& req, httplib::Response& res, bool is_chat);
  // Orchestration (orchestration_routes.cc): answers the request when its mode is not `single`,
  // or routes a single request by task_type/preset (rewriting request.model) and returns false.
  bool MaybeOrchestrate(CompletionRequest& request, httplib::Response& res);
  void RespondOrchestrated(const OrchestrationRequest& request, httplib::Response& res);
  void RespondOrchestratedStream(OrchestrationRequest request, bool include_usage,
                                 httplib::Response& res);
  void RespondComplete(CompletionRequest& request, ModelManager::Lease lease, Prompt prompt,
                       httplib::Response& res);
  void RespondStream(CompletionRequest& request, ModelManager::Lease lease, Prompt prompt,
                     httplib::Response& res);
  // The seed's /api/v1/vision/* (vision_routes.cc), served by the model INFERENCE_VISION_MODEL_ID.
  struct VisionAnswer {
    std::string text;
    int prompt_tokens = 0;
    int completion_tokens = 0;
    double first_token_prob = 0;  // probability of the answer's first token (the confidence)
  };
  void HandleVisionHealth(const httplib::Request& req, httplib::Response& res);
  void HandleVisionClassify(const httplib::Request& req, httplib::Response& res);
  void HandleVisionBatch(const httplib::Request& req, httplib::Response& res);
  void HandleVisionLoad(const httplib::Request& req, httplib::Response& res);
  void HandleVisionUnload(const httplib::Request& req, httplib::Response& res);
  // 503 when the vision model id is not a models.yaml entry with an mmproj.
  std::optional<ApiError> VisionModelProblem() const;
  // One user message [image, prompt] through the vision model.
  StatusOr<VisionAnswer> ClassifyImage(std::string bytes, const std::string& prompt, int max_tokens,
                                       double temperature);
  // The seed's ImageClassifyResponse for one image, or the error.
  std::variant<nlohmann::ordered_json, ApiError> ClassifyOne(std::string bytes, const std::string& prompt,
                                                             int max_tokens, double temperature);
  // True once the shutdown deadline has passed: running generations must stop.
  bool PastShutdownDeadline() const;
  void UpdateModelGauges();

  ServeConfig config_;
  ModelManager& manager_;
  Metrics& metrics_;
  std::unique_ptr<httplib::Server> http_;
  int port_ = 0;
  std::atomic<bool> draining_{false};
  std::atomic<int64_t> deadline_ns_{0};

  mutable std::mutex preset_mu_;
  std::string preset_state_;  // "" (no default preset), "loading", "loaded", "failed"
  std::string preset_error_;
};

}  // namespace isv
