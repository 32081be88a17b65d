// RequestContext: what one HTTP request's log line and metrics need, filled in by the handlers as
// they learn it. cpp-httplib serves a request (handler, then logger) on one worker thread, so the
// context lives in a thread_local slot reset at the start of every request.
#pragma once

#include <chrono>
#include <string>

namespace isv {

struct RequestContext {
  std::chrono::steady_clock::time_point start;
  std::string correlation_id;
  std::string model;
  int prompt_tokens = -1;
  int completion_tokens = -1;
  double queue_ms = -1;
  double inference_ms = -1;
  std::string error;  // error message when the request failed
  std::string finish_reason;
};

// The context of the request the calling thread is serving.
RequestContext& CurrentRequest();

}  // namespace isv
