#include "core/config.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <thread>

namespace isv {
namespace {

using Getenv = std::function<const char*(const char*)>;

Status ReadString(const Getenv& getenv, const char* name, std::string* out) {
  if (const char* v = getenv(name)) *out = v;
  return OkStatus();
}

Status ReadInt(const Getenv& getenv, const char* name, int64_t lo, int64_t hi, int64_t* out) {
  const char* v = getenv(name);
  if (v == nullptr || *v == '\0') return OkStatus();
  char* end = nullptr;
  long long x = std::strtoll(v, &end, 10);
  if (*end != '\0' || x < lo || x > hi) {
    return InvalidArgumentError(std::string(name) + "=" + v + ": expected an integer in [" +
                                std::to_string(lo) + ", " + std::to_string(hi) + "]");
  }
  *out = x;
  return OkStatus();
}

template <typename T>
Status ReadIntAs(const Getenv& getenv, const char* name, int64_t lo, int64_t hi, T* out) {
  int64_t x = *out;
  ISV_RETURN_IF_ERROR(ReadInt(getenv, name, lo, hi, &x));
  *out = static_cast<T>(x);
  return OkStatus();
}

Status ReadDouble(const Getenv& getenv, const char* name, double lo, double* out) {
  const char* v = getenv(name);
  if (v == nullptr || *v == '\0') return OkStatus();
  char* end = nullptr;
  double x = std::strtod(v, &end);
  if (*end != '\0' || !(x >= lo)) {
    return InvalidArgumentError(std::string(name) + "=" + v +
                                ": expected a number >= " + std::to_string(lo));
  }
  *out = x;
  return OkStatus();
}

Status ReadBool(const Getenv& getenv, const char* name, bool* out) {
  const char* v = getenv(name);
  if (v == nullptr || *v == '\0') return OkStatus();
  std::string s(v);
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  if (s == "1" || s == "true" || s == "yes" || s == "on") {
    *out = true;
  } else if (s == "0" || s == "false" || s == "no" || s == "off") {
    *out = false;
  } else {
    return InvalidArgumentError(std::string(name) + "=" + v + ": expected true or false");
  }
  return OkStatus();
}

}  // namespace

StatusOr<double> ParseDuration(const std::string& text) {
  if (text.empty()) return InvalidArgumentError("empty duration");
  char* end = nullptr;
  double x = std::strtod(text.c_str(), &end);
  std::string unit(end);
  double scale = 1;
  if (unit == "" || unit == "s") {
    scale = 1;
  } else if (unit == "m") {
    scale = 60;
  } else if (unit == "h") {
    scale = 3600;
  } else if (unit == "ms") {
    scale = 0.001;
  } else {
    return InvalidArgumentError("duration '" + text +
                                "': expected a number with optional unit ms|s|m|h");
  }
  if (end == text.c_str())
    return InvalidArgumentError("duration '" + text + "': expected a number");
  if (x < 0) return 0.0;  // negative: never unload
  return x * scale;
}

int DefaultParallel() {
  // Decoding reads every weight once per step whatever the batch, so a few sequences per core cost
  // little more than one; beyond that steps become compute-bound and latency grows.
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  return static_cast<int>(std::clamp(2 * cores, 4u, 16u));
}

StatusOr<ServeConfig> ServeConfig::FromEnv(const Getenv& getenv) {
  ServeConfig c;
  ISV_RETURN_IF_ERROR(ReadIntAs(getenv, "INFERENCE_PORT", 0, 65535, &c.port));
  ISV_RETURN_IF_ERROR(ReadString(getenv, "INFERENCE_HOST", &c.host));
  ISV_RETURN_IF_ERROR(ReadString(getenv, "INFERENCE_LOG_LEVEL", &c.log_level));
  ISV_RETURN_IF_ERROR(ReadString(getenv, "INFERENCE_ENVIRONMENT", &c.environment));
  ISV_RETURN_IF_ERROR(ReadString(getenv, "INFERENCE_MODELS_DIR", &c.models_dir));
  ISV_RETURN_IF_ERROR(ReadString(getenv, "INFERENCE_CONFIG_DIR", &c.config_dir));
  ISV_RETURN_IF_ERROR(ReadIntAs(getenv, "INFERENCE_GPU_LAYERS", -1, 100000, &c.gpu_layers));
  ISV_RETURN_IF_ERROR(ReadIntAs(getenv, "INFERENCE_GPU_INDEX", 0, 1024, &c.gpu_index));
  ISV_RETURN_IF_ERROR(ReadString(getenv, "INFERENCE_BACKEND", &c.backend));
  ISV_RETURN_IF_ERROR(ReadString(getenv, "INFERENCE_DEFAULT_PRESET", &c.default_preset));
  ISV_RETURN_IF_ERROR(ReadString(getenv, "INFERENCE_ORCHESTRATION_MODE", &c.orchestration_mode));
  ISV_RETURN_IF_ERROR(ReadString(getenv, "INFERENCE_VISION_MODEL_ID", &c.vision_model_id));
  ISV_RETURN_IF_ERROR(
      ReadString(getenv, "INFERENCE_VISION_MODEL_REVISION", &c.vision_model_revision));
  ISV_RETURN_IF_ERROR(ReadString(getenv, "INFERENCE_VISION_DEVICE", &c.vision_device));
  ISV_RETURN_IF_ERROR(ReadString(getenv, "INFERENCE_VISION_IMAGE_DIR", &c.vision_image_dir));
  ISV_RETURN_IF_ERROR(ReadDouble(getenv, "INFERENCE_MEMORY_LIMIT_GB", 0, &c.memory_limit_gb));
  ISV_RETURN_IF_ERROR(ReadBool(getenv, "INFERENCE_AUTO_LOAD", &c.auto_load));
  if (const char* v = getenv("INFERENCE_KEEP_ALIVE"); v != nullptr && *v != '\0') {
    StatusOr<double> d = ParseDuration(v);
    if (!d.ok()) return d.status().WithContext("INFERENCE_KEEP_ALIVE");
    c.keep_alive_s = *d;
  }
  ISV_RETURN_IF_ERROR(ReadString(getenv, "INFERENCE_API_KEY", &c.api_key));
  ISV_RETURN_IF_ERROR(
      ReadInt(getenv, "INFERENCE_MAX_BODY_BYTES", 1, int64_t{1} << 40, &c.max_body_bytes));
  ISV_RETURN_IF_ERROR(ReadIntAs(getenv, "INFERENCE_PARALLEL", 0, 256, &c.parallel));
  if (c.parallel == 0) c.parallel = DefaultParallel();
  ISV_RETURN_IF_ERROR(ReadIntAs(getenv, "INFERENCE_THREADS", 0, 1024, &c.threads));
  ISV_RETURN_IF_ERROR(ReadIntAs(getenv, "INFERENCE_HTTP_THREADS", 1, 1024, &c.http_threads));
  ISV_RETURN_IF_ERROR(ReadDouble(getenv, "INFERENCE_SHUTDOWN_TIMEOUT", 0, &c.shutdown_timeout_s));
  ISV_RETURN_IF_ERROR(ReadIntAs(getenv, "INFERENCE_MAX_QUEUE", 0, 1 << 20, &c.max_queue));
  ISV_RETURN_IF_ERROR(ReadDouble(getenv, "INFERENCE_QUEUE_TIMEOUT_S", 0, &c.queue_timeout_s));
  ISV_RETURN_IF_ERROR(ReadIntAs(getenv, "INFERENCE_MAX_RUNNING", 0, 1 << 20, &c.max_running));
  ISV_RETURN_IF_ERROR(ReadIntAs(getenv, "INFERENCE_STEP_TOKENS", 8, 1 << 16, &c.step_tokens));
  ISV_RETURN_IF_ERROR(ReadDouble(getenv, "INFERENCE_PRIORITY_AGING_S", 0, &c.priority_aging_s));
  ISV_RETURN_IF_ERROR(ReadBool(getenv, "INFERENCE_PREFIX_CACHE", &c.prefix_cache));
  ISV_RETURN_IF_ERROR(ReadBool(getenv, "INFERENCE_MMAP", &c.mmap));
  std::string level = c.log_level;
  std::transform(level.begin(), level.end(), level.begin(),
                 [](unsigned char ch) { return std::toupper(ch); });
  if (level != "DEBUG" && level != "INFO" && level != "WARNING" && level != "WARN" &&
      level != "ERROR" && level != "CRITICAL") {
    return InvalidArgumentError("INFERENCE_LOG_LEVEL=" + c.log_level +
                                ": expected DEBUG, INFO, WARNING, ERROR or CRITICAL");
  }
  c.log_level = level;
  return c;
}

uint64_t ServeConfig::MemoryBudgetBytes() const {
  if (memory_limit_gb > 0) return static_cast<uint64_t>(memory_limit_gb * 1e9);
  long pages = sysconf(_SC_PHYS_PAGES);
  long page_size = sysconf(_SC_PAGE_SIZE);
  if (pages <= 0 || page_size <= 0) return uint64_t{8} << 30;
  return static_cast<uint64_t>(pages) * static_cast<uint64_t>(page_size) / 4 * 3;
}

}  // namespace isv
