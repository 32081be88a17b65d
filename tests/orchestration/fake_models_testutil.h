// Scripted fake models for the orchestration tests: a Generator whose replies come from a
// function of the rendered prompt, one token per byte, and a loader serving them by model id.
#pragma once

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "serving/model_manager.h"

namespace isv::testing {

inline std::string RenderFake(const PromptInput& in);
// Renders chat messages as "<role>\n<content>\n" per message; a raw prompt as its text. One
// token per byte, so token counts are byte counts (the tests' independent expectation).
inline std::string RenderFake(const nlohmann::ordered_json& messages) {
  PromptInput in;
  in.messages = messages;
  return RenderFake(in);
}
inline std::string RenderFake(const PromptInput& in) {
  if (!in.is_chat) return in.prompt;
  std::string out;
  for (const auto& m : in.messages)
    out += "<" + m.value("role", "") + ">\n" + m.value("content", "") + "\n";
  return out;
}

struct FakeModel {
  static FakeModel Replying(std::function<std::string(const std::string&)> reply) {
    FakeModel m;
    m.reply = std::move(reply);
    return m;
  }
  std::function<std::string(const std::string& prompt)> reply;
  int n_ctx = 4096;
  uint64_t bytes = 10'000'000;
  int piece_delay_ms = 0;  // sleep before each 4-byte piece
  Status fail;             // Generate() returns this error when not OK
};

class ScriptedGenerator : public Generator {
 public:
  explicit ScriptedGenerator(FakeModel m) : m_(std::move(m)) {}
  StatusOr<Prompt> PreparePrompt(const PromptInput& input) const override {
    Prompt p;
    p.text = RenderFake(input);
    if (static_cast<int>(p.text.size()) >= m_.n_ctx)
      return OutOfRangeError("prompt of " + std::to_string(p.text.size()) + " tokens");
    p.tokens.assign(p.text.size(), 7);
    return p;
  }
  StatusOr<GenerationResult> Generate(const Prompt& prompt, const GenerationParams& params,
                                      const TextCallback& on_text,
                                      const TokenTimeCallback&) override {
    if (!m_.fail.ok()) return m_.fail;
    GenerationResult r;
    r.prompt_tokens = static_cast<int32_t>(prompt.tokens.size());
    r.finish_reason = "stop";
    std::string text = m_.reply(prompt.text);
    for (size_t i = 0; i < text.size(); i += 4) {
      if (m_.piece_delay_ms > 0)
        std::this_thread::sleep_for(std::chrono::milliseconds(m_.piece_delay_ms));
      ++r.completion_tokens;
      if (!on_text(text.substr(i, 4))) break;
    }
    r.inference_ms = 1;
    return r;
  }
  int32_t n_ctx() const override { return m_.n_ctx; }
  uint64_t memory_bytes() const override { return m_.bytes; }

 private:
  FakeModel m_;
};

class ScriptedLoader : public ModelLoader {
 public:
  explicit ScriptedLoader(std::map<std::string, FakeModel> models) : models_(std::move(models)) {}
  StatusOr<uint64_t> EstimateBytes(const ModelSpec& spec) override {
    return models_.at(spec.id).bytes;
  }
  StatusOr<std::shared_ptr<Generator>> Load(const ModelSpec& spec) override {
    ++loads;
    return std::shared_ptr<Generator>(std::make_shared<ScriptedGenerator>(models_.at(spec.id)));
  }
  std::atomic<int> loads{0};

 private:
  std::map<std::string, FakeModel> models_;
};

// A registry of fake model files: `models_yaml` lists them (file: <id>.gguf), the files are
// created in a temporary directory removed by the destructor.
class FakeRegistryDir {
 public:
  FakeRegistryDir(const std::string& models_yaml, const std::string& presets_yaml,
                  const std::vector<std::string>& ids) {
    dir_ = std::filesystem::temp_directory_path() /
           ("isv_orch_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter_++));
    std::filesystem::create_directories(dir_);
    for (const std::string& id : ids) std::ofstream(dir_ / (id + ".gguf")) << "x";
    StatusOr<Registry> r = Registry::Parse(models_yaml, presets_yaml, dir_.string(), dir_.string());
    if (r.ok()) registry = std::make_shared<const Registry>(std::move(*r));
  }
  ~FakeRegistryDir() { std::filesystem::remove_all(dir_); }
  std::shared_ptr<const Registry> registry;

 private:
  std::filesystem::path dir_;
  static inline int counter_ = 0;
};

}  // namespace isv::testing
