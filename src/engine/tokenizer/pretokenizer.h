// Pre-tokenizer of byte-level BPE vocabularies: splits text into the "words" that BPE merges run
// on, with the regular expressions llama.cpp (b10176) uses for each tokenizer.ggml.pre value.
//
// Like llama.cpp, the text is first decoded to code points (invalid UTF-8 bytes become U+FFFD);
// the regexes are applied one after the other, each splitting the pieces of the previous one
// (matches and the text between matches both become pieces). The three most common expressions
// (GPT-2, Llama-3, Qwen2) are hand-written scanners that behave like llama.cpp's own ones; the
// others run on PCRE2 over llama.cpp's "collapsed" text (one byte per code point standing for its
// Unicode category) or, without \p{..} classes, over the code points with non-ASCII spaces as \v.
//
// Thread-safety: immutable after Create(); Split() may be called concurrently.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace isv {

// The pre-tokenizer family a tokenizer.ggml.pre value selects, and the vocabulary defaults that
// llama.cpp ties to it.
struct PreTokenizerInfo {
  std::string family;          // e.g. "default", "gpt2", "llama3", "qwen2", "deepseek-llm"
  bool clean_spaces = true;
  bool ignore_merges = false;
  bool force_add_bos = false;  // llama.cpp turns add_bos on for this family
  bool drop_bos = false;       // chatglm: no BOS token
};

// NotFound-style InvalidArgument for a pre value llama.cpp does not know either; "" = "default".
StatusOr<PreTokenizerInfo> ResolvePreTokenizer(const std::string& pre);

class PreTokenizer {
 public:
  // Compiles the family's expressions once (family as in PreTokenizerInfo).
  static StatusOr<std::unique_ptr<PreTokenizer>> Create(const std::string& family);
  // A pre-tokenizer from explicit expressions in llama.cpp's dialect (applied in order; the GPT-2,
  // Llama-3 and Qwen2 expressions select the hand-written scanners). Errors name a bad expression.
  static StatusOr<std::unique_ptr<PreTokenizer>> FromRegexes(const std::vector<std::string>& regexes);
  // The expressions of a family; empty for an unknown one.
  static std::vector<std::string> FamilyRegexes(const std::string& family);
  ~PreTokenizer();

  // Pieces of `text`, each re-encoded as UTF-8 (invalid bytes already replaced by U+FFFD).
  std::vector<std::string> Split(std::string_view text) const;

 private:
  struct Regex;
  enum class Custom { kNone, kGpt2, kLlama3, kQwen2 };
  struct Step {
    Custom custom = Custom::kNone;
    bool collapsed = false;  // PCRE2 over the category-collapsed bytes
    std::unique_ptr<Regex> regex;
  };
  PreTokenizer() = default;
  std::vector<Step> steps_;
};

}  // namespace isv
