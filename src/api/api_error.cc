#include "api/api_error.h"

namespace isv {

nlohmann::ordered_json ApiError::ToJson() const {
  nlohmann::ordered_json e = {
      {"message", message},
      {"type", type},
      {"code", code.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(code)},
      {"param", param.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(param)},
      {"retriable", retriable}};
  return nlohmann::ordered_json{{"error", e}};
}

ApiError ApiError::InvalidRequest(std::string message, std::string param) {
  return {
      400, "invalid_request_error", "invalid_value", std::move(message), std::move(param), false,
      0};
}

ApiError ApiError::FromStatus(const Status& status, std::string param) {
  ApiError e;
  e.message = status.message();
  e.param = std::move(param);
  switch (status.code()) {
    case StatusCode::kInvalidArgument:
      e = {400, "invalid_request_error", "invalid_value", e.message, e.param, false, 0};
      break;
    case StatusCode::kOutOfRange:
      e = {400, "invalid_request_error", "context_length_exceeded", e.message, e.param, false, 0};
      break;
    case StatusCode::kUnauthenticated:
      e = {401, "authentication_error", "invalid_api_key", e.message, "", false, 0};
      break;
    case StatusCode::kPermissionDenied:
      e = {403, "permission_error", "forbidden", e.message, "", false, 0};
      break;
    case StatusCode::kNotFound:
      e = {404, "not_found_error", "model_not_found", e.message, e.param, false, 0};
      break;
    case StatusCode::kFailedPrecondition:
      e = {409, "invalid_request_error", "model_not_loaded", e.message, e.param, true, 0};
      break;
    case StatusCode::kAlreadyExists:
      e = {409, "invalid_request_error", "conflict", e.message, e.param, false, 0};
      break;
    case StatusCode::kResourceExhausted:
      e = {503, "server_error", "insufficient_memory", e.message, "", true, 5};
      break;
    case StatusCode::kBusy:
      e = {429, "rate_limit_error", "queue_full", e.message, "", true, 1};
      break;
    case StatusCode::kUnavailable:
      e = {503, "server_error", "overloaded", e.message, "", true, 1};
      break;
    case StatusCode::kUnimplemented:
      e = {501, "invalid_request_error", "not_implemented", e.message, e.param, false, 0};
      break;
    case StatusCode::kDeadlineExceeded:
      e = {504, "server_error", "timeout", e.message, "", true, 1};
      break;
    case StatusCode::kCancelled:
      e = {499, "server_error", "cancelled", e.message, "", true, 0};
      break;
    case StatusCode::kDataLoss:  // a configured model file that cannot be loaded
      e = {503, "server_error", "model_load_failed", e.message, e.param, false, 0};
      break;
    case StatusCode::kInternal:
    case StatusCode::kOk:
      e = {500, "server_error", "internal_error", e.message, "", false, 0};
      break;
  }
  return e;
}

}  // namespace isv
