// A real Server on a free localhost port over a ModelManager with a test ModelLoader (fake
// generators), for the API tests: writes placeholder model files into a temporary directory,
// parses the given models.yaml / presets.yaml, binds, runs, and tears everything down.
#pragma once

#include <httplib.h>

#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "api/server.h"
#include "core/config.h"
#include "core/metrics.h"
#include "serving/model_manager.h"

namespace isv {

class TestServer {
 public:
  // `name` keeps temporary directories of concurrent test binaries apart; `files` are the model
  // files models.yaml names (created with placeholder bytes).
  TestServer(const std::string& name, const std::vector<std::string>& files, const std::string& models_yaml,
             const std::string& presets_yaml, std::unique_ptr<ModelLoader> loader,
             const std::function<void(ServeConfig&)>& configure = {});
  ~TestServer();
  bool ok() const { return ok_; }
  const std::string& error() const { return error_; }

  httplib::Client& client() { return *client_; }
  Metrics& metrics() { return metrics_; }
  httplib::Result Post(const std::string& path, const std::string& body) {
    return client_->Post(path.c_str(), body, "application/json");
  }

  // The `data:` payloads of an SSE body, in order ("[DONE]" included).
  static std::vector<std::string> SseData(const std::string& sse);

 private:
  std::filesystem::path dir_;
  Metrics metrics_;
  std::unique_ptr<ModelManager> manager_;
  std::unique_ptr<Server> server_;
  std::thread thread_;
  std::unique_ptr<httplib::Client> client_;
  bool ok_ = false;
  std::string error_;
};

}  // namespace isv
