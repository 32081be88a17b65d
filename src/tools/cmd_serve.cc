// `inference-service serve`: the HTTP service. Settings come from INFERENCE_* environment
// variables (docs/configuration.md); the flags below override them.
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>

#include "api/server.h"
#include "core/config.h"
#include "core/logging.h"
#include "core/metrics.h"
#include "serving/engine_loader.h"
#include "serving/model_manager.h"
#include "serving/registry.h"
#include "tools/commands.h"

namespace isv {
namespace {

struct ServeFlags {
  std::string host, models_dir, config_dir, log_level, default_preset, api_key;
  int port = -1;
  double memory_limit_gb = -1;
};

int RunServe(const ServeFlags& flags) {
  StatusOr<ServeConfig> env = ServeConfig::FromEnv([](const char* k) { return std::getenv(k); });
  if (!env.ok()) {
    std::fprintf(stderr, "error: %s\n", env.status().message().c_str());
    return 1;
  }
  ServeConfig cfg = *env;
  if (!flags.host.empty()) cfg.host = flags.host;
  if (flags.port >= 0) cfg.port = flags.port;
  if (!flags.models_dir.empty()) cfg.models_dir = flags.models_dir;
  if (!flags.config_dir.empty()) cfg.config_dir = flags.config_dir;
  if (!flags.default_preset.empty()) cfg.default_preset = flags.default_preset;
  if (!flags.api_key.empty()) cfg.api_key = flags.api_key;
  if (flags.memory_limit_gb >= 0) cfg.memory_limit_gb = flags.memory_limit_gb;
  if (!flags.log_level.empty()) cfg.log_level = flags.log_level;
  InitLogging(cfg.log_level);

  StatusOr<Registry> reg = Registry::Load(cfg.config_dir, cfg.models_dir);
  if (!reg.ok()) {
    std::fprintf(stderr, "error: %s\n", reg.status().message().c_str());
    return 1;
  }
  for (const std::string& p : reg->problems())
    LogEvent(LogLevel::kWarning, "config_problem", {{"message", p}});
  auto registry = std::make_shared<const Registry>(std::move(*reg));
  if (!cfg.default_preset.empty() && registry->FindPreset(cfg.default_preset) == nullptr) {
    std::string why = registry->DisabledPresetReason(cfg.default_preset);
    std::fprintf(stderr, "error: INFERENCE_DEFAULT_PRESET=%s: %s\n", cfg.default_preset.c_str(),
                 why.empty() ? "no such preset in presets.yaml" : why.c_str());
    return 1;
  }

  // SIGTERM/SIGINT are taken by one thread (sigwait); block them before any other thread starts.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  Metrics metrics;
  ModelManagerOptions mopt;
  mopt.budget_bytes = cfg.MemoryBudgetBytes();
  mopt.auto_load = cfg.auto_load;
  mopt.keep_alive_s = cfg.keep_alive_s;
  ConcurrencyLimit running_limit(cfg.max_running);
  EngineOptions eopt;
  eopt.threads = cfg.threads;
  eopt.max_queue = cfg.max_queue;
  eopt.parallel = cfg.parallel;
  eopt.step_tokens = cfg.step_tokens;
  eopt.queue_timeout_s = cfg.queue_timeout_s;
  eopt.aging_s = cfg.priority_aging_s;
  eopt.prefix_cache = cfg.prefix_cache;
  eopt.mmap = cfg.mmap;
  eopt.global = &running_limit;
  eopt.metrics = &metrics;
  ModelManager manager(registry, std::make_unique<EngineLoader>(eopt), mopt);
  manager.StartIdleReaper(std::chrono::milliseconds(250));

  Server server(cfg, manager, metrics);
  if (Status s = server.Bind(); !s.ok()) {
    std::fprintf(stderr, "error: %s\n", s.message().c_str());
    return 1;
  }
  LogEvent(LogLevel::kInfo, "server_started",
           {{"host", cfg.host},
            {"port", server.port()},
            {"config_dir", cfg.config_dir},
            {"models_dir", cfg.models_dir},
            {"models", registry->models().size()},
            {"presets", registry->presets().size()},
            {"memory_budget_mb", mopt.budget_bytes / 1e6},
            {"auto_load", cfg.auto_load},
            {"keep_alive_s", cfg.keep_alive_s},
            {"api_key", !cfg.api_key.empty()},
            {"environment", cfg.environment}});

  std::thread preset_loader;
  if (!cfg.default_preset.empty()) {
    server.SetPresetState("loading", "");
    preset_loader = std::thread([&] {
      Status s = manager.LoadPreset(cfg.default_preset);
      server.SetPresetState(s.ok() ? "loaded" : "failed", s.message());
      if (!s.ok())
        LogEvent(LogLevel::kError, "default_preset_failed",
                 {{"preset", cfg.default_preset}, {"error", s.message()}});
    });
  }
  std::thread signal_thread([&server, signals, timeout = cfg.shutdown_timeout_s] {
    int sig = 0;
    sigwait(&signals, &sig);
    LogEvent(LogLevel::kInfo, "signal", {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}});
    server.Shutdown(timeout);
  });
  signal_thread.detach();

  server.Run();
  if (preset_loader.joinable()) preset_loader.join();
  LogEvent(LogLevel::kInfo, "server_stopped");
  return 0;
}

}  // namespace

void AddServeCommand(CLI::App& app, int* exit_code) {
  auto flags = std::make_shared<ServeFlags>();
  CLI::App* cmd = app.add_subcommand("serve",
                                     "Run the OpenAI-compatible HTTP service (INFERENCE_* env "
                                     "vars, docs/configuration.md; flags override them)");
  cmd->add_option("--host", flags->host, "Bind address (INFERENCE_HOST, default 0.0.0.0)");
  cmd->add_option("--port", flags->port, "Port; 0 picks a free one (INFERENCE_PORT, default 8085)");
  cmd->add_option("--models-dir", flags->models_dir,
                  "Directory the models.yaml `file` paths are relative to (INFERENCE_MODELS_DIR)");
  cmd->add_option("--config-dir", flags->config_dir,
                  "Directory holding models.yaml and presets.yaml (INFERENCE_CONFIG_DIR)");
  cmd->add_option("--default-preset", flags->default_preset,
                  "Preset to load at startup (INFERENCE_DEFAULT_PRESET)");
  cmd->add_option(
      "--memory-limit-gb", flags->memory_limit_gb,
      "Memory budget for loaded models in GB (INFERENCE_MEMORY_LIMIT_GB; default 75% of RAM)");
  cmd->add_option("--api-key", flags->api_key,
                  "Require 'Authorization: Bearer KEY' (INFERENCE_API_KEY)");
  cmd->add_option("--log-level", flags->log_level,
                  "DEBUG, INFO, WARNING, ERROR or CRITICAL (INFERENCE_LOG_LEVEL)");
  cmd->callback([flags, exit_code] { *exit_code = RunServe(*flags); });
}

}  // namespace isv
