// Perplexity of a token sequence, computed as llama-perplexity does: the tokens are cut into
// n_chunks = floor(n_tokens / n_chunk) chunks of n_chunk tokens; each chunk, with its first token
// replaced by BOS, is evaluated alone from position 0 with an empty cache, and the logits at
// positions n_chunk/2 .. n_chunk-2 are scored against the tokens that follow them.
// PPL = exp(mean negative log-likelihood).
//
// Uses sequence 0 of the context's KV cache (cleared before each chunk).
#pragma once

#include <cstdint>
#include <functional>
#include <span>

#include "core/status.h"
#include "engine/model/context.h"

namespace isv {

struct PerplexityChunk {
  int32_t index = 0;        // 0-based
  double nll_sum = 0;       // sum of the chunk's negative log-likelihoods (nats)
  int32_t n_scored = 0;     // tokens scored in this chunk
  double running_ppl = 0;   // PPL over chunks 0..index
};

struct PerplexityResult {
  int32_t n_chunks = 0;
  int64_t n_scored = 0;
  double ln_ppl = 0;        // mean NLL over all scored tokens
  double ppl = 0;           // exp(ln_ppl)
  double ppl_stderr = 0;    // standard error of PPL (delta method, as llama-perplexity prints)
};

// REQUIRES: ctx.n_ctx() >= n_chunk. Errors when n_chunk < 4 or the text has fewer than
// n_chunk tokens. on_chunk (may be empty) is called after each chunk.
StatusOr<PerplexityResult> ComputePerplexity(Context& ctx, std::span<const int32_t> tokens, int32_t n_chunk,
                                             int32_t bos, const std::function<void(const PerplexityChunk&)>& on_chunk);

// -log softmax(logits)[target], in double.
double NegativeLogLikelihood(std::span<const float> logits, int32_t target);

}  // namespace isv
