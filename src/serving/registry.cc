#include "serving/registry.h"

#include <yaml-cpp/yaml.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "core/config.h"

namespace isv {
namespace {

namespace fs = std::filesystem;

StatusOr<std::string> ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFoundError("cannot read " + path.string());
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Field readers: each returns an error naming the field when the value has the wrong type.
Status GetString(const YAML::Node& n, const char* key, std::string* out) {
  const YAML::Node v = n[key];
  if (!v || v.IsNull()) return OkStatus();
  if (!v.IsScalar()) return InvalidArgumentError(std::string(key) + ": expected a string");
  *out = v.as<std::string>();
  return OkStatus();
}

template <typename T>
Status GetNumber(const YAML::Node& n, const char* key, T* out) {
  const YAML::Node v = n[key];
  if (!v || v.IsNull()) return OkStatus();
  T x{};
  if (!v.IsScalar() || !YAML::convert<T>::decode(v, x)) {
    return InvalidArgumentError(std::string(key) + ": expected a number, got '" +
                                (v.IsScalar() ? v.as<std::string>() : std::string("a non-scalar")) +
                                "'");
  }
  *out = x;
  return OkStatus();
}

Status GetList(const YAML::Node& n, const char* key, std::vector<std::string>* out) {
  const YAML::Node v = n[key];
  if (!v || v.IsNull()) return OkStatus();
  if (!v.IsSequence()) return InvalidArgumentError(std::string(key) + ": expected a list");
  for (const YAML::Node& e : v) {
    if (!e.IsScalar())
      return InvalidArgumentError(std::string(key) + ": expected a list of strings");
    out->push_back(e.as<std::string>());
  }
  return OkStatus();
}

Status ParseModel(const std::string& id, const YAML::Node& n, const fs::path& models_dir,
                  const fs::path& config_dir, ModelSpec* m) {
  if (!n.IsMap()) return InvalidArgumentError("expected a mapping of fields");
  m->id = id;
  m->name = id;
  ISV_RETURN_IF_ERROR(GetString(n, "name", &m->name));
  ISV_RETURN_IF_ERROR(GetString(n, "description", &m->description));
  ISV_RETURN_IF_ERROR(GetString(n, "file", &m->file));
  ISV_RETURN_IF_ERROR(GetNumber(n, "size_gb", &m->size_gb));
  ISV_RETURN_IF_ERROR(GetNumber(n, "context_length", &m->context_length));
  ISV_RETURN_IF_ERROR(GetString(n, "quantization", &m->quantization));
  ISV_RETURN_IF_ERROR(GetList(n, "roles", &m->roles));
  ISV_RETURN_IF_ERROR(GetNumber(n, "gpu_layers", &m->gpu_layers));
  ISV_RETURN_IF_ERROR(GetNumber(n, "parallel", &m->parallel));
  ISV_RETURN_IF_ERROR(GetNumber(n, "threads", &m->threads));
  ISV_RETURN_IF_ERROR(GetNumber(n, "kv_cache_tokens", &m->kv_cache_tokens));
  ISV_RETURN_IF_ERROR(GetString(n, "chat_template", &m->chat_template));
  ISV_RETURN_IF_ERROR(GetString(n, "mmproj", &m->mmproj));
  if (const YAML::Node ka = n["keep_alive"]; ka && !ka.IsNull()) {
    if (!ka.IsScalar())
      return InvalidArgumentError("keep_alive: expected a duration like 300 or 5m");
    StatusOr<double> d = ParseDuration(ka.as<std::string>());
    if (!d.ok()) return d.status().WithContext("keep_alive");
    m->keep_alive_s = *d;
  }
  if (m->file.empty()) return InvalidArgumentError("file: required");
  if (m->size_gb < 0) return InvalidArgumentError("size_gb: must be >= 0");
  if (m->context_length < 0) return InvalidArgumentError("context_length: must be >= 0");
  if (m->parallel < 0 || m->threads < 0 || m->kv_cache_tokens < 0)
    return InvalidArgumentError("parallel/threads/kv_cache_tokens: must be >= 0");
  fs::path p(m->file);
  m->path = (p.is_absolute() ? p : models_dir / p).lexically_normal().string();
  std::error_code ec;
  if (!fs::is_regular_file(m->path, ec)) return NotFoundError("file " + m->path + " not found");
  if (!m->mmproj.empty()) {
    fs::path v(m->mmproj);
    m->mmproj_path = (v.is_absolute() ? v : models_dir / v).lexically_normal().string();
    if (!fs::is_regular_file(m->mmproj_path, ec)) return NotFoundError("mmproj " + m->mmproj_path + " not found");
  }
  if (!m->chat_template.empty()) {
    fs::path t(m->chat_template);
    m->chat_template = (t.is_absolute() ? t : config_dir / t).lexically_normal().string();
    if (!fs::is_regular_file(m->chat_template, ec)) {
      return NotFoundError("chat_template " + m->chat_template + " not found");
    }
  }
  return OkStatus();
}

// YAML -> JSON for free-form sections (scalars that read as numbers or booleans become those).
nlohmann::ordered_json YamlToJson(const YAML::Node& n) {
  if (n.IsMap()) {
    nlohmann::ordered_json o = nlohmann::ordered_json::object();
    for (auto it = n.begin(); it != n.end(); ++it)
      o[it->first.as<std::string>()] = YamlToJson(it->second);
    return o;
  }
  if (n.IsSequence()) {
    nlohmann::ordered_json a = nlohmann::ordered_json::array();
    for (const YAML::Node& e : n) a.push_back(YamlToJson(e));
    return a;
  }
  if (!n.IsScalar()) return nullptr;
  const std::string s = n.Scalar();
  if (n.Tag() != "!") {  // unquoted: try number and boolean forms
    int64_t i;
    double d;
    bool b;
    if (YAML::convert<int64_t>::decode(n, i)) return i;
    if (YAML::convert<double>::decode(n, d)) return d;
    if (YAML::convert<bool>::decode(n, b)) return b;
  }
  return s;
}

Status ParsePreset(const std::string& id, const YAML::Node& n, PresetSpec* p) {
  if (!n.IsMap()) return InvalidArgumentError("expected a mapping of fields");
  p->id = id;
  p->name = id;
  ISV_RETURN_IF_ERROR(GetString(n, "name", &p->name));
  ISV_RETURN_IF_ERROR(GetString(n, "description", &p->description));
  ISV_RETURN_IF_ERROR(GetList(n, "models", &p->models));
  ISV_RETURN_IF_ERROR(GetNumber(n, "total_memory_gb", &p->total_memory_gb));
  ISV_RETURN_IF_ERROR(GetString(n, "orchestration_mode", &p->orchestration_mode));
  ISV_RETURN_IF_ERROR(GetString(n, "target", &p->target));
  if (const YAML::Node o = n["orchestration"]; o && !o.IsNull()) {
    if (!o.IsMap()) return InvalidArgumentError("orchestration: expected a mapping of fields");
    p->orchestration = YamlToJson(o);
  }
  if (p->models.empty()) return InvalidArgumentError("models: at least one model is required");
  return OkStatus();
}

// The mapping under `key` of a document (an empty node when the file has none).
StatusOr<YAML::Node> Section(const std::string& text, const char* file, const char* key) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return InvalidArgumentError(std::string(file) + ": " + e.what());
  }
  if (!root || root.IsNull()) return YAML::Node();
  if (!root.IsMap() || !root[key]) {
    return InvalidArgumentError(std::string(file) + ": expected a top-level '" + key +
                                ":' mapping");
  }
  YAML::Node s = root[key];
  if (!s.IsNull() && !s.IsMap())
    return InvalidArgumentError(std::string(file) + ": '" + key + "' must be a mapping");
  return s;
}

}  // namespace

StatusOr<Registry> Registry::Load(const std::string& config_dir, const std::string& models_dir) {
  fs::path dir(config_dir);
  StatusOr<std::string> models = ReadFile(dir / "models.yaml");
  if (!models.ok()) {
    return NotFoundError("config dir " + config_dir +
                         " has no readable models.yaml (INFERENCE_CONFIG_DIR / --config-dir)");
  }
  std::string presets;
  std::error_code ec;
  if (fs::exists(dir / "presets.yaml", ec)) {
    ISV_ASSIGN_OR_RETURN(presets, ReadFile(dir / "presets.yaml"));
  }
  return Parse(*models, presets, models_dir, config_dir);
}

StatusOr<Registry> Registry::Parse(const std::string& models_yaml, const std::string& presets_yaml,
                                   const std::string& models_dir, const std::string& config_dir) {
  Registry reg;
  ISV_ASSIGN_OR_RETURN(YAML::Node models, Section(models_yaml, "models.yaml", "models"));
  std::set<std::string> seen;
  std::set<std::string> duplicates;
  for (auto it = models.begin(); models.IsMap() && it != models.end(); ++it) {
    std::string id = it->first.as<std::string>();
    if (!seen.insert(id).second) duplicates.insert(id);
  }
  try {
    for (auto it = models.begin(); models.IsMap() && it != models.end(); ++it) {
      std::string id = it->first.as<std::string>();
      if (duplicates.count(id)) {
        if (!reg.disabled_models_.count(id)) {
          reg.disabled_models_[id] =
              "model id '" + id + "' is defined more than once in models.yaml";
          reg.problems_.push_back("models.yaml: " + reg.disabled_models_[id] +
                                  "; all its entries are disabled");
        }
        continue;
      }
      ModelSpec m;
      Status s = ParseModel(id, it->second, models_dir, config_dir, &m);
      if (!s.ok()) {
        reg.disabled_models_[id] = s.message();
        reg.problems_.push_back("models.yaml: model '" + id + "' disabled: " + s.message());
        continue;
      }
      reg.models_.push_back(std::move(m));
    }
    ISV_ASSIGN_OR_RETURN(YAML::Node presets, Section(presets_yaml, "presets.yaml", "presets"));
    std::set<std::string> seen_presets;
    for (auto it = presets.begin(); presets.IsMap() && it != presets.end(); ++it) {
      std::string id = it->first.as<std::string>();
      if (!seen_presets.insert(id).second) {
        reg.disabled_presets_[id] =
            "preset id '" + id + "' is defined more than once in presets.yaml";
        reg.problems_.push_back("presets.yaml: " + reg.disabled_presets_[id]);
        std::erase_if(reg.presets_, [&](const PresetSpec& p) { return p.id == id; });
        continue;
      }
      PresetSpec p;
      Status s = ParsePreset(id, it->second, &p);
      double sum_gb = 0;
      for (const std::string& m : p.models) {
        if (!s.ok()) break;
        const ModelSpec* spec = reg.FindModel(m);
        if (spec == nullptr) {
          std::string why = reg.DisabledReason(m);
          s = NotFoundError("model '" + m + "' " +
                            (why.empty() ? "is not in models.yaml" : "is disabled (" + why + ")"));
        } else {
          sum_gb += spec->size_gb;
        }
      }
      if (!s.ok()) {
        reg.disabled_presets_[id] = s.message();
        reg.problems_.push_back("presets.yaml: preset '" + id + "' disabled: " + s.message());
        continue;
      }
      // The declared total should cover the models' declared sizes (plus KV cache and overhead);
      // a total below the sum, or far above it, is a copy-paste slip worth a warning.
      if (p.total_memory_gb > 0 &&
          (p.total_memory_gb + 0.05 < sum_gb || p.total_memory_gb > 2 * sum_gb + 1)) {
        std::ostringstream msg;
        msg << "presets.yaml: preset '" << id << "': total_memory_gb " << p.total_memory_gb
            << " is inconsistent with the sum of its models' size_gb (" << sum_gb << ")";
        reg.problems_.push_back(msg.str());
      }
      reg.presets_.push_back(std::move(p));
    }
  } catch (const YAML::Exception& e) {
    return InvalidArgumentError(std::string("config: ") + e.what());
  }
  return reg;
}

const ModelSpec* Registry::FindModel(const std::string& id) const {
  for (const ModelSpec& m : models_) {
    if (m.id == id) return &m;
  }
  return nullptr;
}

const PresetSpec* Registry::FindPreset(const std::string& id) const {
  for (const PresetSpec& p : presets_) {
    if (p.id == id) return &p;
  }
  return nullptr;
}

std::string Registry::DisabledReason(const std::string& id) const {
  auto it = disabled_models_.find(id);
  return it == disabled_models_.end() ? "" : it->second;
}

std::string Registry::DisabledPresetReason(const std::string& id) const {
  auto it = disabled_presets_.find(id);
  return it == disabled_presets_.end() ? "" : it->second;
}

}  // namespace isv
