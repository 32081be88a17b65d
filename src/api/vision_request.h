// The seed's /api/v1/vision/* requests (ImageClassifyRequest, the batch request) parsed into
// plain values, the safe image_path rule, and the classification parsed from a model's answer.
// Pure functions, no I/O except ReadImageUnder (which reads one file). Thread-safe.
#pragma once

#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/api_error.h"
#include "core/status.h"

namespace isv {

// The prompt used when a classify request brings none.
inline constexpr const char* kDefaultClassifyPrompt =
    "Is this image technical content (a diagram, chart, code, screenshot, document or schematic) or "
    "something to discard (a photo, meme, decoration)? Answer with one word: technical or discard.";

struct ClassifyRequest {
  std::string image_path;    // one of image_path / image_base64
  std::string image_base64;  // base64 or a data: URL
  std::string prompt = kDefaultClassifyPrompt;
  int max_tokens = 512;      // 1..4096
  double temperature = 0.1;  // 0..2
  bool resize_image = true;  // accepted; the encoder always resizes to its input size
};

struct BatchClassifyRequest {
  std::vector<std::string> image_paths;
  std::string prompt = kDefaultClassifyPrompt;
  int max_tokens = 512;
  double temperature = 0.1;
};

// Field errors are 400s naming the field.
std::variant<ClassifyRequest, ApiError> ParseClassifyRequest(const std::string& body);
std::variant<BatchClassifyRequest, ApiError> ParseBatchClassifyRequest(const std::string& body);

// The bytes of `path` when it lies inside `dir` after resolving symlinks and `..` (both made
// canonical; the file must exist). PermissionDenied when dir is empty (image_path disabled) or the
// file lies outside it; NotFound when it does not exist.
StatusOr<std::string> ReadImageUnder(const std::string& dir, const std::string& path);

struct Classification {
  std::string label;   // "technical" or "discard"
  bool parsed = true;  // false: the answer named neither label; label is "discard"
};

// The label an answer gives: the first of the words "technical" / "discard" it contains (case
// insensitive); neither: "discard", parsed false.
Classification ParseClassification(const std::string& answer);

}  // namespace isv
