// Registry: the models and presets the service may serve, read from `models.yaml` and
// `presets.yaml` in the config directory (the seed's shapes; docs/configuration.md). Model files
// are resolved relative to the models directory. The registry is the only source of paths: requests
// name model ids, never files.
//
// Validation happens here, at startup: a broken entry (missing file, bad field, duplicate id, a
// preset naming an unknown or disabled model) is disabled with a clear reason and the rest is
// served; only an unreadable or malformed models.yaml is an error for the whole registry.
//
//   ISV_ASSIGN_OR_RETURN(Registry reg, Registry::Load(config_dir, models_dir));
//   for (const std::string& p : reg.problems()) log(p);
//
// Immutable after Load(); share it freely between threads.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/status.h"

namespace isv {

struct ModelSpec {
  std::string id;  // the key in models.yaml; what clients send as "model"
  std::string name;
  std::string description;
  std::string file;        // as written in models.yaml
  std::string path;        // file resolved against the models dir
  double size_gb = 0;      // declared size (the seed's memory_mb = size_gb * 1000)
  int context_length = 0;  // KV cells of the model's context; 0 = the model's training context
  std::string quantization;
  std::vector<std::string> roles;
  int gpu_layers = -1;        // accepted for compatibility; the engine is CPU-only for now
  int parallel = 0;           // 0 = the global INFERENCE_PARALLEL
  double keep_alive_s = -1;   // < 0 = the global INFERENCE_KEEP_ALIVE; 0 = never unload
  std::string chat_template;  // optional path of a Jinja template overriding the GGUF's
  int threads = 0;            // 0 = the global INFERENCE_THREADS
  int kv_cache_tokens = 0;    // KV pool shared by the model's sequences; 0 = parallel * context
  std::string mmproj;         // optional vision projector (llava-style mmproj GGUF), as written
  std::string mmproj_path;    // mmproj resolved against the models dir; empty: no image input
};

struct PresetSpec {
  std::string id;  // S1, D3, ...
  std::string name;
  std::string description;
  std::vector<std::string> models;
  double total_memory_gb = 0;
  std::string orchestration_mode = "single";
  std::string target;  // e.g. mac-16gb
  // `orchestration:` defaults for requests to this preset (docs/orchestration.md); null when
  // absent. Validated when a request uses them (the orchestration layer owns the fields).
  nlohmann::ordered_json orchestration;
};

class Registry {
 public:
  // Reads <config_dir>/models.yaml (required) and <config_dir>/presets.yaml (optional).
  static StatusOr<Registry> Load(const std::string& config_dir, const std::string& models_dir);
  // Parses YAML texts directly (tests); model files are still checked under models_dir.
  static StatusOr<Registry> Parse(const std::string& models_yaml, const std::string& presets_yaml,
                                  const std::string& models_dir, const std::string& config_dir);

  // nullptr when the id is unknown or disabled.
  const ModelSpec* FindModel(const std::string& id) const;
  const PresetSpec* FindPreset(const std::string& id) const;
  // Why an id is disabled ("" when it is not).
  std::string DisabledReason(const std::string& id) const;
  std::string DisabledPresetReason(const std::string& id) const;

  // Enabled entries in file order.
  const std::vector<ModelSpec>& models() const { return models_; }
  const std::vector<PresetSpec>& presets() const { return presets_; }
  // One human-readable line per problem found (disabled entries and warnings), for the logs.
  const std::vector<std::string>& problems() const { return problems_; }

 private:
  std::vector<ModelSpec> models_;
  std::vector<PresetSpec> presets_;
  std::map<std::string, std::string> disabled_models_;
  std::map<std::string, std::string> disabled_presets_;
  std::vector<std::string> problems_;
};

}  // namespace isv
