#include "api/vision_request.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace isv {
namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;

std::optional<ApiError> ReadCommon(const json& j, std::string* prompt, int* max_tokens, double* temperature) {
  if (auto it = j.find("prompt"); it != j.end() && !it->is_null()) {
    if (!it->is_string() || it->get<std::string>().empty())
      return ApiError::InvalidRequest("'prompt' must be a non-empty string", "prompt");
    *prompt = it->get<std::string>();
  }
  if (auto it = j.find("max_tokens"); it != j.end() && !it->is_null()) {
    if (!it->is_number_integer() || it->get<int64_t>() < 1 || it->get<int64_t>() > 4096)
      return ApiError::InvalidRequest("'max_tokens' must be an integer in 1..4096", "max_tokens");
    *max_tokens = it->get<int>();
  }
  if (auto it = j.find("temperature"); it != j.end() && !it->is_null()) {
    if (!it->is_number() || it->get<double>() < 0 || it->get<double>() > 2)
      return ApiError::InvalidRequest("'temperature' must be a number in 0..2", "temperature");
    *temperature = it->get<double>();
  }
  return std::nullopt;
}

std::optional<ApiError> ParseObject(const std::string& body, json* j) {
  *j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j->is_discarded()) return ApiError::InvalidRequest("the request body is not valid JSON", "");
  if (!j->is_object()) return ApiError::InvalidRequest("the request body must be a JSON object", "");
  return std::nullopt;
}

}  // namespace

std::variant<ClassifyRequest, ApiError> ParseClassifyRequest(const std::string& body) {
  json j;
  if (auto e = ParseObject(body, &j)) return *e;
  ClassifyRequest r;
  for (const char* key : {"image_path", "image_base64"}) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) continue;
    if (!it->is_string() || it->get<std::string>().empty())
      return ApiError::InvalidRequest(std::string("'") + key + "' must be a non-empty string", key);
    (std::string(key) == "image_path" ? r.image_path : r.image_base64) = it->get<std::string>();
  }
  if (r.image_path.empty() == r.image_base64.empty())
    return ApiError::InvalidRequest("give exactly one of 'image_path' and 'image_base64'", "image_path");
  if (auto it = j.find("resize_image"); it != j.end() && !it->is_null()) {
    if (!it->is_boolean()) return ApiError::InvalidRequest("'resize_image' must be a boolean", "resize_image");
    r.resize_image = it->get<bool>();
  }
  if (auto e = ReadCommon(j, &r.prompt, &r.max_tokens, &r.temperature)) return *e;
  return r;
}

std::variant<BatchClassifyRequest, ApiError> ParseBatchClassifyRequest(const std::string& body) {
  json j;
  if (auto e = ParseObject(body, &j)) return *e;
  BatchClassifyRequest r;
  auto it = j.find("image_paths");
  if (it == j.end() || !it->is_array() || it->empty() || it->size() > 256)
    return ApiError::InvalidRequest("'image_paths' must be an array of 1..256 paths", "image_paths");
  for (size_t i = 0; i < it->size(); ++i) {
    if (!(*it)[i].is_string()) {
      const std::string p = "image_paths[" + std::to_string(i) + "]";
      return ApiError::InvalidRequest("'" + p + "' must be a string", p);
    }
    r.image_paths.push_back((*it)[i].get<std::string>());
  }
  if (auto e = ReadCommon(j, &r.prompt, &r.max_tokens, &r.temperature)) return *e;
  return r;
}

StatusOr<std::string> ReadImageUnder(const std::string& dir, const std::string& path) {
  if (dir.empty()) {
    return Status(StatusCode::kPermissionDenied, 
        "image_path is disabled: set INFERENCE_VISION_IMAGE_DIR to the directory images may be read from, "
        "or send image_base64");
  }
  std::error_code ec;
  const fs::path root = fs::canonical(dir, ec);
  if (ec) return FailedPreconditionError("INFERENCE_VISION_IMAGE_DIR " + dir + " does not exist");
  fs::path p(path);
  if (p.is_relative()) p = root / p;
  const fs::path file = fs::canonical(p, ec);
  if (ec) return NotFoundError("image_path " + path + " not found");
  // Inside: the canonical root is a prefix of the canonical file, component by component.
  auto [r_end, f_it] = std::mismatch(root.begin(), root.end(), file.begin(), file.end());
  if (r_end != root.end() || f_it == file.end())
    return Status(StatusCode::kPermissionDenied, "image_path " + path + " is outside INFERENCE_VISION_IMAGE_DIR");
  if (!fs::is_regular_file(file, ec)) return NotFoundError("image_path " + path + " is not a regular file");
  std::ifstream in(file, std::ios::binary);
  if (!in) return NotFoundError("cannot read image_path " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Classification ParseClassification(const std::string& answer) {
  std::string low(answer);
  std::transform(low.begin(), low.end(), low.begin(), [](unsigned char c) { return std::tolower(c); });
  const size_t t = low.find("technical"), d = low.find("discard");
  if (t == std::string::npos && d == std::string::npos) return {"discard", false};
  if (d == std::string::npos || (t != std::string::npos && t < d)) return {"technical", true};
  return {"discard", true};
}

}  // namespace isv
