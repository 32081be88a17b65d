// HandoffState and the fitting of a handoff into the next model's context.
//
// HandoffState carries what passes between stages: the original request's messages, the outputs
// of completed stages (sections; only valid content ever enters: the orchestrator checks each
// output for errors, emptiness and refusals first) and metadata. ComposeMessages() turns it into
// the next stage's chat messages:
//   [system: original system text + the stage's system prompt]
//   + the original conversation turns before the last user message ("history")
//   + [user: the last user message, then each section as "### <label>\n<text>", then the task].
//
// FitHandoff() measures that prompt in the NEXT model's tokens (its own PreparePrompt) and, when it
// exceeds the limit, applies the policy:
//   drop_oldest      drop history turns oldest first, then sections oldest first (the newest
//                    section stays); if still too long, truncate_middle the rest.
//   truncate_middle  keep the head and tail of the sections' text around "\n[...]\n", as much as
//                    fits (binary search measured in tokens); history turns are dropped only when
//                    even no section text fits.
//   summarize        replace the sections by a summary written by the `fast` model (Summarizer);
//                    if the summary is still too long or summarizing fails, truncate_middle.
// The result reports tokens_in (before), tokens_kept (after) and the policy actually applied
// ("none" when it fit).
//
// Not thread-safe; one HandoffState per request.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/status.h"
#include "orchestration/options.h"
#include "serving/generator.h"

namespace isv {

struct HandoffSection {
  std::string stage;  // the stage that produced it
  std::string label;  // heading shown to the next model ("Answer 1", "Reviewer's notes", ...)
  std::string text;
};

class HandoffState {
 public:
  // `messages`: the request's OpenAI chat messages (content already normalised to strings).
  explicit HandoffState(const nlohmann::ordered_json& messages);

  const std::string& system() const { return system_; }
  const nlohmann::ordered_json& history() const { return history_; }
  const std::string& question() const { return question_; }

  void Add(HandoffSection s) { sections_.push_back(std::move(s)); }
  // Removes the sections of `stage` (its output is discarded: compensation).
  void Discard(const std::string& stage);
  const std::vector<HandoffSection>& sections() const { return sections_; }
  // Free-form facts about the run (mode, vote, ...), reported with the result.
  nlohmann::ordered_json& metadata() { return metadata_; }

 private:
  std::string system_;
  nlohmann::ordered_json history_ = nlohmann::ordered_json::array();
  std::string question_;
  std::vector<HandoffSection> sections_;
  nlohmann::ordered_json metadata_ = nlohmann::ordered_json::object();
};

// What one stage is asked: its system prompt, the sections it sees, and its task.
struct StagePrompt {
  std::string system;
  std::vector<HandoffSection> sections;
  std::string task;
};

nlohmann::ordered_json ComposeMessages(const HandoffState& state, const StagePrompt& prompt,
                                       size_t history_dropped = 0);

// The prompt's tokens in `gen`'s vocabulary and template. When the prompt is longer than the
// context (PreparePrompt says OutOfRange) it is counted piecewise: the template with empty
// contents plus each content's raw tokens.
StatusOr<int> CountPromptTokens(const Generator& gen, const nlohmann::ordered_json& messages);

struct FitResult {
  nlohmann::ordered_json messages;
  int tokens_in = 0;
  int tokens_kept = 0;
  std::string policy;  // "none", "drop_oldest", "truncate_middle", "summarize", or "a+b" fallbacks
};

// Writes a summary of `notes` in at most `max_tokens` tokens (the fast model), or fails.
using Summarizer = std::function<StatusOr<std::string>(const std::string& notes, int max_tokens)>;

// Fits `prompt` into `limit_tokens` of `gen`. OutOfRange when even the question alone (no
// sections, no history) does not fit.
StatusOr<FitResult> FitHandoff(const Generator& gen, const HandoffState& state,
                               const StagePrompt& prompt, int limit_tokens, HandoffPolicy policy,
                               const Summarizer& summarize);

}  // namespace isv
