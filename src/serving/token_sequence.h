// TokenSequence: what one generation does with each row of logits the scheduler hands it —
// sample the next token (optionally constrained to a JSON object or to a grammar), turn tokens into
// text (incomplete UTF-8 held back), apply stop strings, and decide when and why it ends ("stop" on
// EOS / stop string / finished JSON object / grammar sentence that nothing can extend, "length" on
// max_tokens or the context limit).
// Independent of batching: the same logits give the same tokens whatever else runs.
//
//   TokenSequence seq(vocab, prompt.tokens, params, n_ctx);
//   TokenSequence::Step s = seq.OnLogits(logits);   // s.text to send; s.feed = next input token
//   if (seq.finished()) ... seq.finish_reason()
//
// Not synchronised: owned by the scheduler thread.
#pragma once

#include <array>
#include <bitset>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/status.h"
#include "engine/sampling/sampler.h"
#include "engine/tokenizer/tokenizer.h"
#include "serving/generator.h"
#include "serving/json_constraint.h"
#include "serving/stop_matcher.h"

namespace isv {

// The text of every token of a model's vocabulary (for constrained sampling); shared by all
// sequences of the model, immutable.
struct VocabPieces {
  const Tokenizer* tokenizer = nullptr;
  std::vector<std::string> pieces;  // TokenToPiece(id) without special rendering
  std::vector<bool> eog;            // IsEog(id)
  std::vector<int32_t> eog_ids;     // the ids with IsEog
  std::array<std::vector<int32_t>, 256> by_first_byte;  // ids of non-empty pieces by their first byte
  static VocabPieces For(const Tokenizer& tokenizer);
};

class TokenSequence {
 public:
  struct Step {
    std::string text;      // visible text produced by this step (stop strings removed)
    int32_t feed = -1;     // token to run through the model next; -1 when the sequence ended
    std::vector<TokenLogprob> logprobs;  // the generated token's, when params.top_logprobs >= 0
  };

  // `vocab` must outlive the sequence. n_ctx: positions this sequence may occupy.
  TokenSequence(const VocabPieces& vocab, std::span<const int32_t> prompt, const GenerationParams& params,
                int32_t n_ctx);

  // Whether the sequence wants no token at all (max_tokens == 0): it ends before sampling.
  bool EndsBeforeSampling() const { return params_.max_tokens == 0; }
  // Consumes the logits of the last fed position. Errors: Internal when the JSON constraint leaves
  // no token; InvalidArgument when the grammar does (or its matcher hit its bounds).
  StatusOr<Step> OnLogits(std::span<const float> logits);
  // Ends the sequence early (client gone): "cancelled"; no more text.
  void Cancel();

  bool finished() const { return !finish_reason_.empty(); }
  const std::string& finish_reason() const { return finish_reason_; }
  int32_t completion_tokens() const { return completion_tokens_; }
  // The tokens sampled so far (all but the last were fed to the model as well).
  const std::vector<int32_t>& generated() const { return generated_; }

 private:
  // A token that continues the grammar (end tokens where the sentence may end). InvalidArgument
  // when none does or the matcher's bounds were hit.
  StatusOr<int32_t> SampleGrammar(std::span<const float> logits);
  // Samples among the tokens whose text `fits` (end-of-generation tokens only when allow_eog):
  // the kKeep best-scoring tokens that fit form the distribution the sampler draws from. A token
  // whose first byte is not in `first_bytes` is refused without calling `fits`. Returns -1 when
  // no token fits.
  int32_t SampleConstrained(std::span<const float> logits, const std::function<bool(std::string_view)>& fits,
                            const std::bitset<256>& first_bytes, bool allow_eog);
  // log softmax of `logits` at `token`, and the top_logprobs best tokens.
  TokenLogprob Logprob(std::span<const float> logits, int32_t token);
  // Ends with `reason`, releasing held-back text into `out` unless a stop string ended it.
  void Finish(const std::string& reason, std::string* out);

  const VocabPieces& vocab_;
  GenerationParams params_;
  int32_t n_ctx_;
  int32_t next_pos_;  // position of the token sampled next
  Sampler sampler_;
  StreamDecoder decoder_;
  StopMatcher stop_;
  JsonConstraint json_;
  std::optional<GrammarMatcher> grammar_;  // when params.grammar is set
  std::vector<float> masked_;
  std::vector<int32_t> order_;
  std::vector<int32_t> generated_;
  int32_t completion_tokens_ = 0;
  std::string finish_reason_;
};

}  // namespace isv
