// EngineLoader: the production ModelLoader: EngineGenerator instances over our own engine.
// Thread-safe (holds only options).
#pragma once

#include "serving/engine_generator.h"
#include "serving/model_manager.h"

namespace isv {

class EngineLoader : public ModelLoader {
 public:
  explicit EngineLoader(const EngineOptions& options) : options_(options) {}
  StatusOr<uint64_t> EstimateBytes(const ModelSpec& spec) override {
    return EngineGenerator::EstimateBytes(spec, options_);
  }
  StatusOr<std::shared_ptr<Generator>> Load(const ModelSpec& spec) override {
    EngineOptions o = options_;
    if (spec.threads > 0) o.threads = spec.threads;
    ISV_ASSIGN_OR_RETURN(std::unique_ptr<EngineGenerator> g, EngineGenerator::Load(spec, o));
    return std::shared_ptr<Generator>(std::move(g));
  }

 private:
  EngineOptions options_;
};

}  // namespace isv
