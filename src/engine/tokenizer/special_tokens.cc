// Cutting special-token text out of raw text before the model tokenizer runs (llama.cpp's
// tokenizer_st_partition): special tokens are tried longest first; each one splits every remaining
// raw fragment at all of its non-overlapping occurrences, scanning left to right.
#include <string>
#include <vector>

#include "engine/tokenizer/encoders.h"

namespace isv {
namespace {

bool IsAsciiSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'; }

// Splits raw fragment `frag` on token `id` (text `tok`), appending the pieces to *out.
void SplitFragment(const Vocab& vocab, std::string_view text, const TextFragment& frag, int32_t id,
                   std::string_view tok, std::vector<TextFragment>* out) {
  const uint32_t attr = vocab.attr[id];
  size_t off = frag.offset;
  size_t len = frag.length;
  while (true) {
    size_t match = text.substr(0, off + len).find(tok, off);
    if (match == std::string_view::npos) {
      if (len > 0) out->push_back({-1, off, len});
      return;
    }
    size_t left_len = match - off;
    if (attr & kAttrLstrip) {
      while (left_len > 0 && IsAsciiSpace(text[off + left_len - 1])) --left_len;
    }
    if (left_len > 0) out->push_back({-1, off, left_len});
    out->push_back({id, 0, 0});
    size_t right_off = match + tok.size();
    size_t right_len = off + len - right_off;
    if (attr & kAttrRstrip) {
      while (right_len > 0 && IsAsciiSpace(text[right_off])) {
        ++right_off;
        --right_len;
      }
    }
    off = right_off;
    len = right_len;
  }
}

}  // namespace

std::vector<TextFragment> PartitionSpecialTokens(const Vocab& vocab, std::string_view text, bool parse_special) {
  std::vector<TextFragment> frags;
  if (text.empty()) return frags;
  frags.push_back({-1, 0, text.size()});
  for (int32_t id : vocab.special_tokens) {
    const uint32_t attr = vocab.attr[id];
    if (!parse_special && (attr & (kAttrControl | kAttrUnknown))) continue;
    const std::string& tok = vocab.text[id];
    if (text.find(tok) == std::string_view::npos) continue;  // cheap filter: cannot occur anywhere
    std::vector<TextFragment> next;
    next.reserve(frags.size() + 4);
    for (const TextFragment& f : frags) {
      if (f.token >= 0) {
        next.push_back(f);
      } else {
        SplitFragment(vocab, text, f, id, tok, &next);
      }
    }
    frags = std::move(next);
  }
  return frags;
}

}  // namespace isv
