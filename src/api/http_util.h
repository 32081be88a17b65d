// Small response helpers shared by the route files. They also record the error in the request's
// log context.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "api/api_error.h"

namespace httplib {
struct Response;
}

namespace isv {

void SendJson(httplib::Response& res, int status, const nlohmann::ordered_json& body);
void SendError(httplib::Response& res, const ApiError& e);
// One Server-Sent Events message, "data: <json>\n\n" (invalid UTF-8 in strings replaced).
std::string SseData(const nlohmann::ordered_json& j);
// A fresh OpenAI-style id: "chatcmpl-<16 hex>" (chat) or "cmpl-<16 hex>".
std::string NewCompletionId(bool is_chat);

}  // namespace isv
