// ServeConfig: the settings of `inference-service serve`, read from the INFERENCE_* environment
// variables of the seed service plus the ones this project adds (docs/configuration.md has the one
// table). Command-line flags of `serve` override the environment after FromEnv().
//
//   ISV_ASSIGN_OR_RETURN(ServeConfig cfg, ServeConfig::FromEnv(std::getenv));
//
// Plain value type; copy freely.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "core/status.h"

namespace isv {

// Sequences per model when INFERENCE_PARALLEL is unset or 0: twice the cores, between 4 and 16.
int DefaultParallel();

struct ServeConfig {
  // --- the seed's variables (same names, same defaults) ---
  int port = 8085;                 // INFERENCE_PORT
  std::string host = "0.0.0.0";    // INFERENCE_HOST
  std::string log_level = "INFO";  // INFERENCE_LOG_LEVEL: DEBUG|INFO|WARNING|ERROR|CRITICAL
  std::string environment = "development";  // INFERENCE_ENVIRONMENT
  std::string models_dir = "/app/models";   // INFERENCE_MODELS_DIR
  std::string config_dir = "/app/config";   // INFERENCE_CONFIG_DIR
  int gpu_layers = -1;                      // INFERENCE_GPU_LAYERS (accepted; CPU-only backend)
  int gpu_index = 0;                        // INFERENCE_GPU_INDEX (accepted; CPU-only backend)
  std::string backend = "native";  // INFERENCE_BACKEND (seed: llamacpp; any value accepted)
  std::string default_preset;      // INFERENCE_DEFAULT_PRESET ("" = none)
  std::string orchestration_mode = "single";            // INFERENCE_ORCHESTRATION_MODE
  std::string vision_model_id = "vikhyatk/moondream2";  // INFERENCE_VISION_MODEL_ID
  std::string vision_model_revision = "2025-01-09";     // INFERENCE_VISION_MODEL_REVISION
  std::string vision_device;                            // INFERENCE_VISION_DEVICE ("" = auto)

  // --- added by this project ---
  double memory_limit_gb = 0;  // INFERENCE_MEMORY_LIMIT_GB; 0 = 75% of physical RAM
  bool auto_load = true;       // INFERENCE_AUTO_LOAD: load a configured model on first request
  double keep_alive_s =
      0;                // INFERENCE_KEEP_ALIVE: idle seconds before unload ("300", "5m"); 0 = never
  std::string api_key;  // INFERENCE_API_KEY: require "Authorization: Bearer <key>"
  int64_t max_body_bytes = 8 << 20;  // INFERENCE_MAX_BODY_BYTES: larger request bodies get 413
  int parallel = DefaultParallel();  // INFERENCE_PARALLEL: sequences a model runs at once (0: default)
  int threads = 0;                   // INFERENCE_THREADS: compute threads per model; 0 = all cores
  int http_threads = 128;            // INFERENCE_HTTP_THREADS: connection worker threads
  double shutdown_timeout_s =
      10;              // INFERENCE_SHUTDOWN_TIMEOUT: SIGTERM grace for in-flight requests
  int max_queue = 64;  // INFERENCE_MAX_QUEUE: waiting requests per model before 429
  double queue_timeout_s = 0;  // INFERENCE_QUEUE_TIMEOUT_S: 503 when not started by then; 0 = none
  int max_running = 0;         // INFERENCE_MAX_RUNNING: sequences running in all models; 0 = no limit
  int step_tokens = 128;       // INFERENCE_STEP_TOKENS: tokens per scheduler step (prefill chunk)
  double priority_aging_s = 10;  // INFERENCE_PRIORITY_AGING_S: one priority level gained per this wait
  bool prefix_cache = true;      // INFERENCE_PREFIX_CACHE: reuse computed prompt prefixes
  bool mmap = false;  // INFERENCE_MMAP: use weights in place from the file's mmap instead of huge pages
  // INFERENCE_VISION_IMAGE_DIR: the only directory whose files /api/v1/vision/* `image_path` may
  // name ("" = image_path refused; send image_base64).
  std::string vision_image_dir;

  // Reads every variable through `getenv` (std::getenv in production; a map in tests). Errors name
  // the variable and the bad value.
  static StatusOr<ServeConfig> FromEnv(const std::function<const char*(const char*)>& getenv);

  // The effective memory budget in bytes (memory_limit_gb, or 75% of physical RAM).
  uint64_t MemoryBudgetBytes() const;
};

// "300", "300s", "5m", "1h", "-1" (never) -> seconds. Used for keep-alive values everywhere.
StatusOr<double> ParseDuration(const std::string& text);

}  // namespace isv
