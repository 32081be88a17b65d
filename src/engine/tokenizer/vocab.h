// Vocab: everything the tokenizers need from a GGUF file's tokenizer.ggml.* metadata, with the
// defaults and fix-ups llama.cpp (b10176) applies when it loads a vocabulary: per-model special
// token ids, add_bos/add_eos/add_space_prefix/clean_spaces per model and pre-tokenizer, token
// attributes (control-looking end tokens become CONTROL, "unused" control tokens UNUSED), the
// end-of-generation set, the special-token list used to split text, and the BPE merge ranks.
//
// Thread-safety: immutable after Load(); safe to share.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "core/status.h"
#include "engine/tokenizer/string_index.h"
#include "engine/tokenizer/tokenizer.h"

namespace isv {

class GgufFile;

// Token attribute bits (llama_token_attr values).
enum TokenAttr : uint32_t {
  kAttrUndefined = 0,
  kAttrUnknown = 1 << 0,
  kAttrUnused = 1 << 1,
  kAttrNormal = 1 << 2,
  kAttrControl = 1 << 3,
  kAttrUserDefined = 1 << 4,
  kAttrByte = 1 << 5,
  kAttrNormalized = 1 << 6,
  kAttrLstrip = 1 << 7,
  kAttrRstrip = 1 << 8,
  kAttrSingleWord = 1 << 9,
};

enum class VocabKind { kSpm, kBpe, kWpm };

struct Vocab {
  VocabKind kind = VocabKind::kSpm;
  std::string pre;  // tokenizer.ggml.pre as written ("" when absent)

  std::vector<std::string> text;  // per id
  std::vector<float> score;       // per id
  std::vector<TokenType> type;    // per id, as stored in the file
  std::vector<uint32_t> attr;     // per id, TokenAttr bits after llama.cpp's fix-ups
  StringIndex text_to_id;  // later duplicates win, as in llama.cpp
  size_t max_token_len = 0;

  // BPE merges: key = the merge line "left right", value = its rank (first occurrence wins).
  StringIndex merge_rank;

  int32_t bos = -1, eos = -1, eot = -1, eom = -1, unk = -1, sep = -1, pad = -1, mask = -1;
  bool add_bos = false, add_eos = false, add_sep = false;
  bool add_space_prefix = false;  // SPM: prefix text with a space
  bool clean_spaces = false;      // detokenize: " ," -> "," etc.
  bool ignore_merges = false;     // BPE: a pre-token that is a token is emitted whole
  bool lowercase = false, strip_accents = false;  // WordPiece normalizer
  std::unordered_set<int32_t> eog;

  // CONTROL / USER_DEFINED / UNKNOWN tokens (not UNUSED-only ones), longest text first: the order
  // in which special tokens are cut out of raw text.
  std::vector<int32_t> special_tokens;

  // Reads tokenizer.ggml.* from `file`. Errors name the offending key.
  static StatusOr<Vocab> Load(const GgufFile& file);

  int32_t n_tokens() const { return static_cast<int32_t>(text.size()); }
  // -1 when `s` is not a token.
  int32_t Find(std::string_view s) const { return text_to_id.Find(s); }
  // BPE rank of merging `left` and `right`, -1 when not a merge.
  int32_t MergeRank(std::string_view left, std::string_view right) const;
};

}  // namespace isv
