// Structured logging: one JSON object per line on stderr (spdlog underneath), e.g.
//   {"time":"2026-11-26T01:02:03.456Z","level":"info","event":"request","correlation_id":"...",...}
//
//   InitLogging("INFO");
//   LogEvent(LogLevel::kInfo, "model_loaded", {{"model", id}, {"load_ms", 12.5}});
//
// Thread-safe (spdlog's multi-threaded sink). Before InitLogging() events at INFO and above are
// written with the default settings.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace isv {

enum class LogLevel { kDebug, kInfo, kWarning, kError, kCritical };

// Sets the minimum level from the seed's names (DEBUG, INFO, WARNING/WARN, ERROR, CRITICAL).
void InitLogging(std::string_view level);

// Writes {"time", "level", "event", ...fields} as one line when `level` is enabled.
void LogEvent(LogLevel level, std::string_view event,
              const nlohmann::json& fields = nlohmann::json::object());

bool LogEnabled(LogLevel level);

}  // namespace isv
