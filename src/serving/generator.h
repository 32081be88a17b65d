// Generator: the interface between the API layer and whatever runs a model. The API layer turns a
// request into a PromptInput and GenerationParams, asks the Generator to prepare the prompt
// (template + tokens; errors here become clean HTTP errors before any byte is streamed), then runs
// Generate(), which reports text as it appears and may be cancelled by the callback.
//
// Today's implementation (EngineGenerator) runs one sequence at a time per model behind a FIFO
// lock; issue 5's continuous-batching scheduler implements the same interface, so the API layer
// does not change.
//
// Thread-safety: every method may be called from many threads at once.
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "engine/sampling/sampler.h"
#include "engine/template/tool_calls.h"

namespace isv {

// What to generate from: chat messages (rendered with the model's chat template) or a raw prompt.
struct PromptInput {
  bool is_chat = true;
  nlohmann::ordered_json messages = nlohmann::ordered_json::array();  // OpenAI messages (chat)
  nlohmann::ordered_json tools;  // null or the OpenAI tools array (chat)
  std::string prompt;            // raw text (completions)
};

struct Prompt {
  std::vector<int32_t> tokens;
  std::string text;                                    // the rendered prompt (debugging, logs)
  ToolCallFormat tool_format = ToolCallFormat::kNone;  // how this model writes tool calls
};

struct GenerationParams {
  SamplingParams sampling;
  int32_t max_tokens = -1;  // < 0: until the context is full
  std::vector<std::string> stop;
  bool ignore_eos = false;
  bool json_object = false;  // response_format json_object: output is one JSON object
};

struct GenerationResult {
  std::string finish_reason;  // "stop" | "length" | "cancelled"
  int32_t prompt_tokens = 0;
  int32_t completion_tokens = 0;
  double queue_ms = 0;  // waiting for the model
  double time_to_first_token_ms = 0;
  double inference_ms = 0;  // prefill + decode
};

// Receives visible text as it is produced. Returns false to cancel (client gone).
using TextCallback = std::function<bool(std::string_view text)>;
// Observes every generated token's time (metrics: inter-token latency). May be empty.
using TokenTimeCallback = std::function<void(double ms_since_previous)>;

class Generator {
 public:
  virtual ~Generator() = default;

  // Renders and tokenizes the input. Errors: InvalidArgument (bad messages, template error),
  // OutOfRange (prompt longer than the context).
  virtual StatusOr<Prompt> PreparePrompt(const PromptInput& input) const = 0;

  // Generates from a prepared prompt, calling on_text with each piece of visible text (stop
  // strings already removed). Errors: Unavailable (queue full), Internal (engine failure).
  virtual StatusOr<GenerationResult> Generate(const Prompt& prompt, const GenerationParams& params,
                                              const TextCallback& on_text,
                                              const TokenTimeCallback& on_token = {}) = 0;

  virtual int32_t n_ctx() const = 0;
  // Bytes this model occupies (weights + KV cache + overhead estimate).
  virtual uint64_t memory_bytes() const = 0;
};

}  // namespace isv
