#include "serving/generator.h"

namespace isv {
namespace {

// Submit() for generators without a queue of their own: nothing happens until Wait().
class DeferredGeneration : public PendingGeneration {
 public:
  DeferredGeneration(Generator* g, const Prompt& prompt, const GenerationParams& params)
      : generator_(g), prompt_(prompt), params_(params) {}
  Status WaitUntilStarted() override { return OkStatus(); }
  StatusOr<GenerationResult> Wait(const TextCallback& on_text, const TokenTimeCallback& on_token) override {
    return generator_->Generate(prompt_, params_, on_text, on_token);
  }

 private:
  Generator* generator_;
  const Prompt& prompt_;
  GenerationParams params_;
};

}  // namespace

StatusOr<std::unique_ptr<PendingGeneration>> Generator::Submit(const Prompt& prompt, const GenerationParams& params) {
  return std::unique_ptr<PendingGeneration>(new DeferredGeneration(this, prompt, params));
}

}  // namespace isv
