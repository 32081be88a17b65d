#include "core/logging.h"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <memory>
#include <mutex>

namespace isv {
namespace {

std::shared_ptr<spdlog::logger> Logger() {
  static std::shared_ptr<spdlog::logger> logger = [] {
    auto l =
        std::make_shared<spdlog::logger>("isv", std::make_shared<spdlog::sinks::stderr_sink_mt>());
    l->set_pattern("%v");  // the line is the JSON object we format
    l->set_level(spdlog::level::info);
    l->flush_on(spdlog::level::trace);
    return l;
  }();
  return logger;
}

spdlog::level::level_enum ToSpd(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return spdlog::level::debug;
    case LogLevel::kInfo:
      return spdlog::level::info;
    case LogLevel::kWarning:
      return spdlog::level::warn;
    case LogLevel::kError:
      return spdlog::level::err;
    case LogLevel::kCritical:
      return spdlog::level::critical;
  }
  return spdlog::level::info;
}

const char* Name(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarning:
      return "warning";
    case LogLevel::kError:
      return "error";
    case LogLevel::kCritical:
      return "critical";
  }
  return "info";
}

std::string NowIso8601() {
  auto now = std::chrono::system_clock::now();
  std::time_t t = std::chrono::system_clock::to_time_t(now);
  int ms = static_cast<int>(
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
  return buf;
}

}  // namespace

void InitLogging(std::string_view level) {
  LogLevel l = LogLevel::kInfo;
  if (level == "DEBUG") l = LogLevel::kDebug;
  if (level == "WARNING" || level == "WARN") l = LogLevel::kWarning;
  if (level == "ERROR") l = LogLevel::kError;
  if (level == "CRITICAL") l = LogLevel::kCritical;
  Logger()->set_level(ToSpd(l));
}

bool LogEnabled(LogLevel level) { return Logger()->should_log(ToSpd(level)); }

void LogEvent(LogLevel level, std::string_view event, const nlohmann::json& fields) {
  if (!LogEnabled(level)) return;
  nlohmann::ordered_json line;
  line["time"] = NowIso8601();
  line["level"] = Name(level);
  line["event"] = event;
  if (fields.is_object()) {
    for (auto it = fields.begin(); it != fields.end(); ++it) line[it.key()] = it.value();
  }
  Logger()->log(ToSpd(level), "{}",
                line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

}  // namespace isv
