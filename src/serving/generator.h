// Generator: the interface between the API layer and whatever runs a model. The API layer turns a
// request into a PromptInput and GenerationParams, asks the Generator to prepare the prompt
// (template + tokens; errors here become clean HTTP errors before any byte is streamed), then runs
// Generate(), which reports text as it appears and may be cancelled by the callback.
//
// The implementation over our engine (EngineGenerator) hands generation to a continuous-batching
// Scheduler (serving/scheduler.h): many requests of one model run at once, each Generate() call
// blocking its own caller's thread while text streams to its callback.
//
// Thread-safety: every method may be called from many threads at once.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"
#include "engine/sampling/grammar.h"
#include "engine/sampling/sampler.h"
#include "engine/template/tool_calls.h"

namespace isv {

// The media marker: where an image goes in a message's text (llama.cpp mtmd's default marker).
// The API layer replaces each image content part by it; PreparePrompt splits the rendered prompt
// at each occurrence and splices that image's embedding rows there.
inline constexpr std::string_view kImageMarker = "<__media__>";

// An image of a request, still encoded (PNG / JPEG bytes), and the request field it came from
// (for error messages, e.g. "messages[0].content[1]").
struct PromptImageInput {
  std::string bytes;
  std::string param;
};

// What to generate from: chat messages (rendered with the model's chat template) or a raw prompt.
struct PromptInput {
  bool is_chat = true;
  nlohmann::ordered_json messages = nlohmann::ordered_json::array();  // OpenAI messages (chat)
  nlohmann::ordered_json tools;  // null or the OpenAI tools array (chat)
  std::string prompt;            // raw text (completions)
  // One per kImageMarker in the messages' text, in order (only models with an mmproj take them).
  std::vector<PromptImageInput> images;
};

// A span of a prompt fed as image embeddings instead of token embeddings. Its positions hold
// pseudo token ids (negative, derived from a hash of the image bytes and the row), so that token
// sequences, and with them the prefix cache's block keys, differ for different images and agree
// for the same image.
struct PromptImageSpan {
  int32_t offset = 0;  // first prompt position
  int32_t n_rows = 0;  // positions it occupies (the encoder's image tokens)
  int32_t n_embd = 0;
  std::shared_ptr<const std::vector<float>> rows;  // n_rows x n_embd
};

struct Prompt {
  std::vector<int32_t> tokens;  // token ids; negative pseudo ids inside image spans
  std::string text;                                    // the rendered prompt (debugging, logs)
  ToolCallFormat tool_format = ToolCallFormat::kNone;  // how this model writes tool calls
  std::vector<PromptImageSpan> images;                 // by offset, not overlapping

  // The embedding row to feed at prompt position `pos`, or null when it holds a token.
  const float* ImageRow(int32_t pos) const {
    for (const PromptImageSpan& s : images) {
      if (pos >= s.offset && pos < s.offset + s.n_rows)
        return s.rows->data() + static_cast<size_t>(pos - s.offset) * s.n_embd;
    }
    return nullptr;
  }
};

// The pseudo token id of row `row` of an image whose bytes hash to `image_hash`: always negative
// (never a vocabulary id), different rows and images give different ids (up to 2^31 collisions).
inline int32_t ImagePseudoToken(uint64_t image_hash, int32_t row) {
  uint64_t x = image_hash ^ (0x9E3779B97F4A7C15ull * static_cast<uint64_t>(row + 1));
  x ^= x >> 33;
  x *= 0xFF51AFD7ED558CCDull;
  x ^= x >> 33;
  return static_cast<int32_t>(static_cast<uint32_t>(x) | 0x80000000u);
}

// The log-probability of one generated token under the model's distribution (softmax of the raw
// logits, before temperature and truncation), with the most likely alternatives.
struct TokenLogprob {
  int32_t token = -1;
  std::string piece;  // the token's text bytes (may be part of a UTF-8 character)
  float logprob = 0;
  std::vector<std::pair<std::string, float>> top;  // up to `top_logprobs` (piece, logprob), best first
};
using LogprobCallback = std::function<void(const std::vector<TokenLogprob>& entries)>;

struct GenerationParams {
  SamplingParams sampling;
  int32_t max_tokens = -1;  // < 0: until the context is full
  std::vector<std::string> stop;
  bool ignore_eos = false;
  bool json_object = false;  // response_format json_object: output is one JSON object
  // Constrained decoding (response_format json_schema, the `grammar` / `json_schema` extensions,
  // a forced tool call): the output is a sentence of this grammar. Takes precedence over json_object.
  std::shared_ptr<const Grammar> grammar;
  int priority = 2;          // lower = more urgent (the seed's default is 2)
  double queue_timeout_s = 0;  // give up when not started after this long; 0 = the server default
  // Polled while the request waits or runs; true means the client went away (cancel). May be empty.
  std::function<bool()> cancelled;
  // >= 0: report each generated token's log-probability with this many alternatives (OpenAI
  // logprobs / top_logprobs) through on_logprobs, called on the caller's thread just before the
  // text those tokens produced. -1: off.
  int32_t top_logprobs = -1;
  LogprobCallback on_logprobs;
};

struct GenerationResult {
  std::string finish_reason;  // "stop" | "length" | "cancelled"
  int32_t prompt_tokens = 0;
  int32_t cached_tokens = 0;  // prompt tokens whose keys/values came from the prefix cache
  int32_t completion_tokens = 0;
  double queue_ms = 0;  // waiting for the model
  double time_to_first_token_ms = 0;  // from submission (queue wait included)
  double inference_ms = 0;  // prefill + decode
};

// Receives visible text as it is produced. Returns false to cancel (client gone).
using TextCallback = std::function<bool(std::string_view text)>;
// Observes every generated token's time (metrics: inter-token latency). May be empty.
using TokenTimeCallback = std::function<void(double ms_since_previous)>;

// A request handed to a Generator that has not finished yet (Generator::Submit). The Prompt it was
// submitted with must outlive it. Destroying it before Wait() returned cancels the request.
class PendingGeneration {
 public:
  virtual ~PendingGeneration() = default;
  // Blocks until the model has started on the request or it ended before starting. Errors:
  // Unavailable (queue-wait deadline passed), Cancelled (params.cancelled said the client left).
  virtual Status WaitUntilStarted() = 0;
  // Blocks until the request ends, handing text to on_text as it appears (see Generate()).
  virtual StatusOr<GenerationResult> Wait(const TextCallback& on_text, const TokenTimeCallback& on_token) = 0;
};

class Generator {
 public:
  virtual ~Generator() = default;

  // Renders and tokenizes the input. Errors: InvalidArgument (bad messages, template error),
  // OutOfRange (prompt longer than the context).
  virtual StatusOr<Prompt> PreparePrompt(const PromptInput& input) const = 0;

  // Generates from a prepared prompt, calling on_text with each piece of visible text (stop
  // strings already removed). Errors: Busy (queue full), Unavailable (queue-wait deadline passed),
  // OutOfRange (prompt longer than the context), Internal (engine failure). A request cancelled by
  // its callback or by params.cancelled returns what it produced with finish_reason "cancelled".
  virtual StatusOr<GenerationResult> Generate(const Prompt& prompt, const GenerationParams& params,
                                              const TextCallback& on_text,
                                              const TokenTimeCallback& on_token = {}) = 0;

  // Queues the request and returns at once, so that a caller can answer "busy" (Busy: the queue is
  // full) before committing to a streamed response. The default runs Generate() inside Wait().
  virtual StatusOr<std::unique_ptr<PendingGeneration>> Submit(const Prompt& prompt, const GenerationParams& params);

  virtual int32_t n_ctx() const = 0;  // positions one sequence may use
  // Whether PreparePrompt takes images (the model has a vision projector).
  virtual bool accepts_images() const { return false; }
  // Bytes this model occupies (weights + KV cache + overhead estimate).
  virtual uint64_t memory_bytes() const = 0;
  // What the model is doing now (GET /v1/slots): running sequences, queue, KV blocks. Null when
  // the implementation has nothing to report.
  virtual nlohmann::ordered_json Slots() const { return nullptr; }
};

}  // namespace isv
