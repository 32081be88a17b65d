#include "engine/model/perplexity.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace isv {

double NegativeLogLikelihood(std::span<const float> logits, int32_t target) {
  const float max_logit = *std::max_element(logits.begin(), logits.end());
  double sum_exp = 0.0;
  for (float l : logits) sum_exp += std::exp(static_cast<double>(l - max_logit));
  return std::log(sum_exp) - static_cast<double>(logits[target] - max_logit);
}

StatusOr<PerplexityResult> ComputePerplexity(Context& ctx, std::span<const int32_t> tokens, int32_t n_chunk,
                                             int32_t bos, const std::function<void(const PerplexityChunk&)>& on_chunk) {
  if (n_chunk < 4) return InvalidArgumentError("perplexity: context of " + std::to_string(n_chunk) + " is too small");
  if (ctx.n_ctx() < n_chunk)
    return InvalidArgumentError("perplexity: the context has " + std::to_string(ctx.n_ctx()) + " cells, need " +
                                std::to_string(n_chunk));
  const int64_t n_chunks = static_cast<int64_t>(tokens.size()) / n_chunk;
  if (n_chunks == 0)
    return InvalidArgumentError("perplexity: the text has " + std::to_string(tokens.size()) +
                                " tokens, fewer than one chunk of " + std::to_string(n_chunk));
  const int32_t first = n_chunk / 2;
  PerplexityResult result;
  double nll_total = 0.0, nll2_total = 0.0;
  Batch batch;
  for (int64_t c = 0; c < n_chunks; ++c) {
    const int32_t* chunk = tokens.data() + c * n_chunk;
    ctx.kv_cache().Clear();
    batch.Clear();
    for (int32_t i = 0; i < n_chunk; ++i) {
      const int32_t token = (i == 0 && bos >= 0) ? bos : chunk[i];
      batch.Add(token, i, 0, i >= first && i < n_chunk - 1, /*is_prefill=*/true);
    }
    ISV_RETURN_IF_ERROR(ctx.Forward(batch));
    PerplexityChunk info;
    info.index = static_cast<int32_t>(c);
    for (int32_t i = first; i < n_chunk - 1; ++i) {
      const double nll = NegativeLogLikelihood(ctx.Logits(i - first), chunk[i + 1]);
      info.nll_sum += nll;
      nll2_total += nll * nll;
      ++info.n_scored;
    }
    nll_total += info.nll_sum;
    result.n_scored += info.n_scored;
    info.running_ppl = std::exp(nll_total / result.n_scored);
    if (on_chunk) on_chunk(info);
  }
  ctx.kv_cache().Clear();
  result.n_chunks = static_cast<int32_t>(n_chunks);
  result.ln_ppl = nll_total / result.n_scored;
  result.ppl = std::exp(result.ln_ppl);
  const double n = static_cast<double>(result.n_scored);
  const double var = nll2_total / n - result.ln_ppl * result.ln_ppl;
  result.ppl_stderr = n > 1 && var > 0 ? std::sqrt(var / (n - 1)) * result.ppl : 0.0;
  return result;
}

}  // namespace isv
