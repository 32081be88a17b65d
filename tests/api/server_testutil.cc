#include "api/server_testutil.h"

#include <unistd.h>

#include <fstream>

#include "core/config.h"
#include "serving/registry.h"

namespace isv {

namespace fs = std::filesystem;

TestServer::TestServer(const std::string& name, const std::vector<std::string>& files, const std::string& models_yaml,
                       const std::string& presets_yaml, std::unique_ptr<ModelLoader> loader,
                       const std::function<void(ServeConfig&)>& configure) {
  dir_ = fs::temp_directory_path() / ("isv_" + name + "_" + std::to_string(::getpid()));
  fs::create_directories(dir_);
  for (const std::string& f : files) std::ofstream(dir_ / f) << "x";
  StatusOr<Registry> r = Registry::Parse(models_yaml, presets_yaml, dir_.string(), dir_.string());
  if (!r.ok()) {
    error_ = r.status().ToString();
    return;
  }
  manager_ = std::make_unique<ModelManager>(std::make_shared<const Registry>(std::move(*r)), std::move(loader),
                                            ModelManagerOptions{});
  ServeConfig cfg;
  cfg.host = "127.0.0.1";
  cfg.port = 0;
  if (configure) configure(cfg);
  server_ = std::make_unique<Server>(cfg, *manager_, metrics_);
  if (Status s = server_->Bind(); !s.ok()) {
    error_ = s.ToString();
    return;
  }
  thread_ = std::thread([this] { server_->Run(); });
  client_ = std::make_unique<httplib::Client>("127.0.0.1", server_->port());
  ok_ = true;
}

TestServer::~TestServer() {
  if (thread_.joinable()) {
    server_->Shutdown(1);
    thread_.join();
  }
  fs::remove_all(dir_);
}

std::vector<std::string> TestServer::SseData(const std::string& sse) {
  std::vector<std::string> out;
  size_t pos = 0;
  while ((pos = sse.find("data: ", pos)) != std::string::npos) {
    size_t end = sse.find("\n\n", pos);
    out.push_back(sse.substr(pos + 6, end - pos - 6));
    pos = end;
  }
  return out;
}

}  // namespace isv
