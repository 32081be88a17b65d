// The pieces behind Tokenizer::Encode (internal to the tokenizer folder):
//   * PartitionSpecialTokens cuts special-token text out of raw text (llama.cpp's
//     tokenizer_st_partition);
//   * SpmEncode / BpeEncoder / WpmEncode turn one raw-text fragment into ids.
// All are pure functions of an immutable Vocab (thread-safe).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "engine/tokenizer/pretokenizer.h"
#include "engine/tokenizer/vocab.h"

namespace isv {

// A piece of the input: either raw text [offset, offset + length) or a special token.
struct TextFragment {
  int32_t token = -1;  // -1: raw text
  size_t offset = 0;
  size_t length = 0;
};

// Splits `text` on the vocabulary's special tokens, longest token first (each token splits every
// raw fragment at all its non-overlapping occurrences, left to right). CONTROL and UNKNOWN tokens
// only when `parse_special`; USER_DEFINED always. Honours the LSTRIP/RSTRIP attributes.
std::vector<TextFragment> PartitionSpecialTokens(const Vocab& vocab, std::string_view text, bool parse_special);

// SentencePiece-style BPE over `text` (spaces already escaped as U+2581), appended to *out.
void SpmEncode(const Vocab& vocab, std::string_view text, std::vector<int32_t>* out);

// WordPiece (BERT) over `text`, appended to *out.
void WpmEncode(const Vocab& vocab, std::string_view text, std::vector<int32_t>* out);

// Byte-level BPE with the vocabulary's pre-tokenizer.
class BpeEncoder {
 public:
  // REQUIRES: vocab.kind == VocabKind::kBpe; `vocab` must outlive the encoder.
  static StatusOr<std::unique_ptr<BpeEncoder>> Create(const Vocab& vocab);
  void Encode(std::string_view text, std::vector<int32_t>* out) const;

 private:
  BpeEncoder(const Vocab& vocab, std::unique_ptr<PreTokenizer> pre) : vocab_(vocab), pre_(std::move(pre)) {}
  void EncodeWord(const std::string& word, std::vector<int32_t>* out) const;
  const Vocab& vocab_;
  std::unique_ptr<PreTokenizer> pre_;
};

}  // namespace isv
