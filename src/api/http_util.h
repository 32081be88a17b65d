// Small response helpers shared by the route files. They also record the error in the request's
// log context.
#pragma once

#include <nlohmann/json.hpp>

#include "api/api_error.h"

namespace httplib {
struct Response;
}

namespace isv {

void SendJson(httplib::Response& res, int status, const nlohmann::ordered_json& body);
void SendError(httplib::Response& res, const ApiError& e);

}  // namespace isv
