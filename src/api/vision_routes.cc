// The seed's /api/v1/vision/* endpoints (Moondream2 classify in the Python service), served by the
// models.yaml model that INFERENCE_VISION_MODEL_ID names (it must have an mmproj). The image goes
// through the same path as an OpenAI image_url part: one user message [image, prompt].
#include <httplib.h>

#include <chrono>
#include <algorithm>
#include <cmath>

#include "api/api_error.h"
#include "api/http_util.h"
#include "api/request_context.h"
#include "api/server.h"
#include "api/vision_request.h"
#include "engine/vision/base64.h"

namespace isv {
namespace {

using json = nlohmann::ordered_json;

ApiError VisionUnavailable(std::string code, std::string message) {
  return ApiError{503, "server_error", std::move(code), std::move(message), "", false, 0};
}

// image_path problems: 403 outside the directory / disabled, 404 missing, 503 misconfigured dir.
ApiError ImagePathError(const Status& s) {
  switch (s.code()) {
    case StatusCode::kPermissionDenied:
      return ApiError{403, "permission_error", "image_path_forbidden", s.message(), "image_path", false, 0};
    case StatusCode::kNotFound:
      return ApiError{404, "not_found_error", "image_not_found", s.message(), "image_path", false, 0};
    default:
      return VisionUnavailable("vision_image_dir_missing", s.message());
  }
}

}  // namespace

std::optional<ApiError> Server::VisionModelProblem() const {
  const std::string& id = config_.vision_model_id;
  const ModelSpec* spec = manager_.registry().FindModel(id);
  if (spec == nullptr) {
    return VisionUnavailable("vision_model_not_configured",
                             "INFERENCE_VISION_MODEL_ID '" + id +
                                 "' is not a model of models.yaml: set it to the id of an entry with an mmproj");
  }
  if (spec->mmproj_path.empty()) {
    return VisionUnavailable("vision_model_without_mmproj",
                             "vision model '" + id + "' has no mmproj in models.yaml: it cannot read images");
  }
  return std::nullopt;
}

StatusOr<Server::VisionAnswer> Server::ClassifyImage(std::string bytes, const std::string& prompt, int max_tokens,
                                                     double temperature) {
  StatusOr<ModelManager::Lease> lease = manager_.Acquire(config_.vision_model_id);
  if (!lease.ok()) return lease.status();
  PromptInput input;
  input.messages = json::array(
      {{{"role", "user"}, {"content", std::string(kImageMarker) + "\n" + prompt}}});
  input.images.push_back({std::move(bytes), "image"});
  ISV_ASSIGN_OR_RETURN(Prompt p, (*lease)->PreparePrompt(input));
  GenerationParams params;
  params.max_tokens = max_tokens;
  params.sampling.temperature = static_cast<float>(temperature);
  params.top_logprobs = 0;
  double first_logprob = std::nan("");
  params.on_logprobs = [&](const std::vector<TokenLogprob>& e) {
    if (std::isnan(first_logprob) && !e.empty()) first_logprob = e[0].logprob;
  };
  VisionAnswer a;
  ISV_ASSIGN_OR_RETURN(GenerationResult r, (*lease)->Generate(p, params, [&](std::string_view t) {
    a.text.append(t);
    return true;
  }));
  a.prompt_tokens = r.prompt_tokens;
  a.completion_tokens = r.completion_tokens;
  a.first_token_prob = std::isnan(first_logprob) ? 0.0 : std::exp(first_logprob);
  return a;
}

void Server::HandleVisionHealth(const httplib::Request&, httplib::Response& res) {
  const std::string& id = config_.vision_model_id;
  std::vector<std::string> loaded = manager_.LoadedIds();
  const bool is_loaded = std::find(loaded.begin(), loaded.end(), id) != loaded.end();
  std::optional<ApiError> problem = VisionModelProblem();
  SendJson(res, problem ? 503 : 200,
           {{"status", problem ? "unavailable" : "healthy"},
            {"model_id", id},
            {"model_loaded", is_loaded},
            {"revision", config_.vision_model_revision},
            {"device", "cpu"},
            {"image_path_enabled", !config_.vision_image_dir.empty()},
            {"error", problem ? json(problem->message) : json(nullptr)}});
}

void Server::HandleVisionLoad(const httplib::Request&, httplib::Response& res) {
  CurrentRequest().model = config_.vision_model_id;
  if (auto p = VisionModelProblem()) return SendError(res, *p);
  Status s = manager_.Load(config_.vision_model_id);
  if (!s.ok()) {
    if (s.code() == StatusCode::kResourceExhausted) return SendError(res, ApiError::FromStatus(s));
    return SendError(res, VisionUnavailable("vision_model_load_failed",
                                            "vision model '" + config_.vision_model_id + "' failed to load: " +
                                                s.message()));
  }
  UpdateModelGauges();
  SendJson(res, 200, {{"status", "loaded"}, {"model_id", config_.vision_model_id}});
}

void Server::HandleVisionUnload(const httplib::Request&, httplib::Response& res) {
  CurrentRequest().model = config_.vision_model_id;
  Status s = manager_.Unload(config_.vision_model_id);
  if (!s.ok() && s.code() != StatusCode::kFailedPrecondition && s.code() != StatusCode::kNotFound)
    return SendError(res, ApiError::FromStatus(s));
  UpdateModelGauges();
  SendJson(res, 200, {{"status", "unloaded"}});
}

// Classification of one image, or the error to report.
std::variant<json, ApiError> Server::ClassifyOne(std::string bytes, const std::string& prompt, int max_tokens,
                                                 double temperature) {
  StatusOr<VisionAnswer> a = ClassifyImage(std::move(bytes), prompt, max_tokens, temperature);
  if (!a.ok()) {
    const Status& s = a.status();
    if (s.code() == StatusCode::kInvalidArgument && s.message().rfind("image:", 0) == 0)
      return ApiError{400, "invalid_request_error", "invalid_image", s.message(), "image", false, 0};
    if (s.code() == StatusCode::kDataLoss || s.code() == StatusCode::kNotFound) {
      return VisionUnavailable("vision_model_load_failed", "vision model '" + config_.vision_model_id +
                                                               "' cannot be used: " + s.message());
    }
    return ApiError::FromStatus(s);
  }
  const Classification c = ParseClassification(a->text);
  return json{{"classification", c.label},
              {"raw_response", a->text},
              {"confidence", c.parsed ? a->first_token_prob : 0.0},
              {"model_id", config_.vision_model_id},
              {"usage",
               {{"prompt_tokens", a->prompt_tokens},
                {"completion_tokens", a->completion_tokens},
                {"total_tokens", a->prompt_tokens + a->completion_tokens}}}};
}

void Server::HandleVisionClassify(const httplib::Request& req, httplib::Response& res) {
  CurrentRequest().model = config_.vision_model_id;
  std::variant<ClassifyRequest, ApiError> parsed = ParseClassifyRequest(req.body);
  if (auto* e = std::get_if<ApiError>(&parsed)) return SendError(res, *e);
  const ClassifyRequest& r = std::get<ClassifyRequest>(parsed);
  if (auto p = VisionModelProblem()) return SendError(res, *p);
  std::string bytes;
  if (!r.image_path.empty()) {
    StatusOr<std::string> b = ReadImageUnder(config_.vision_image_dir, r.image_path);
    if (!b.ok()) return SendError(res, ImagePathError(b.status()));
    bytes = std::move(*b);
  } else {
    StatusOr<std::string> b = DecodeImagePayload(r.image_base64);
    if (!b.ok())
      return SendError(res, ApiError::InvalidRequest("'image_base64': " + b.status().message(), "image_base64"));
    bytes = std::move(*b);
  }
  std::variant<json, ApiError> out = ClassifyOne(std::move(bytes), r.prompt, r.max_tokens, r.temperature);
  if (auto* e = std::get_if<ApiError>(&out)) return SendError(res, *e);
  SendJson(res, 200, std::get<json>(out));
}

void Server::HandleVisionBatch(const httplib::Request& req, httplib::Response& res) {
  CurrentRequest().model = config_.vision_model_id;
  std::variant<BatchClassifyRequest, ApiError> parsed = ParseBatchClassifyRequest(req.body);
  if (auto* e = std::get_if<ApiError>(&parsed)) return SendError(res, *e);
  const BatchClassifyRequest& r = std::get<BatchClassifyRequest>(parsed);
  if (auto p = VisionModelProblem()) return SendError(res, *p);
  const auto t0 = std::chrono::steady_clock::now();
  json results = json::array();
  int ok = 0;
  for (const std::string& path : r.image_paths) {
    json item = {{"image_path", path}, {"classification", nullptr}, {"raw_response", nullptr},
                 {"confidence", nullptr}, {"error", nullptr}};
    StatusOr<std::string> b = ReadImageUnder(config_.vision_image_dir, path);
    std::variant<json, ApiError> out =
        b.ok() ? ClassifyOne(std::move(*b), r.prompt, r.max_tokens, r.temperature)
               : std::variant<json, ApiError>(ImagePathError(b.status()));
    if (auto* e = std::get_if<ApiError>(&out)) {
      if (e->http_status == 503 && e->code.rfind("vision_model", 0) == 0) return SendError(res, *e);
      item["error"] = e->message;
    } else {
      const json& j = std::get<json>(out);
      item["classification"] = j["classification"];
      item["raw_response"] = j["raw_response"];
      item["confidence"] = j["confidence"];
      ++ok;
    }
    results.push_back(std::move(item));
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const int n = static_cast<int>(r.image_paths.size());
  SendJson(res, 200,
           {{"results", results},
            {"total_images", n},
            {"successful", ok},
            {"failed", n - ok},
            {"model_id", config_.vision_model_id},
            {"processing_time_seconds", secs},
            {"images_per_second", secs > 0 ? n / secs : 0.0}});
}

}  // namespace isv
