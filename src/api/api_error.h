// ApiError: an HTTP error as clients see it. The body is the seed's llm-gateway-compatible error
// schema, which is OpenAI's error object plus the retriable flag:
//
//   {"error": {"message": "...", "type": "invalid_request_error", "code": "model_not_found",
//              "param": "model", "retriable": false}}
//
// FromStatus() is the ONE place where Status codes become HTTP statuses (docs/api.md has the
// table). Plain value type.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "core/status.h"

namespace isv {

struct ApiError {
  int http_status = 500;
  std::string type;  // OpenAI's error type (invalid_request_error, ...)
  std::string code;  // machine-readable code (model_not_found, ...)
  std::string message;
  std::string param;       // the offending request field, "" when none
  bool retriable = false;  // true: the same request may succeed later (busy, loading)
  int retry_after_s = 0;   // > 0: sent as Retry-After

  nlohmann::ordered_json ToJson() const;

  static ApiError FromStatus(const Status& status, std::string param = "");
  static ApiError InvalidRequest(std::string message, std::string param);
};

}  // namespace isv
