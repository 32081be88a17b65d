// WordPiece (BERT) as llama.cpp's llm_tokenizer_wpm: split into words on whitespace and around
// punctuation / ASCII symbols / CJK ideographs (dropping control characters), then match each
// "\u2581word" greedily with the longest vocabulary tokens; a word that cannot be covered becomes
// the unknown token.
#include <algorithm>
#include <string>
#include <vector>

#include "engine/tokenizer/encoders.h"
#include "engine/tokenizer/unicode.h"

namespace isv {
namespace {

bool IsChineseChar(uint32_t cp) {
  return (cp >= 0x04E00 && cp <= 0x09FFF) || (cp >= 0x03400 && cp <= 0x04DBF) || (cp >= 0x20000 && cp <= 0x2A6DF) ||
         (cp >= 0x2A700 && cp <= 0x2B73F) || (cp >= 0x2B740 && cp <= 0x2B81F) ||
         (cp >= 0x2B920 && cp <= 0x2CEAF) ||  // sic: HF uses 0x2B920, not 0x2B820
         (cp >= 0x0F900 && cp <= 0x0FAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}

std::vector<std::string> SplitWords(const Vocab& vocab, std::string_view text) {
  std::vector<std::string> words(1);
  for (uint32_t cp : unicode::DecodeUtf8(text)) {
    if (vocab.strip_accents) cp = unicode::NfdBase(cp);
    const uint16_t f = unicode::Flags(cp);
    if (f & unicode::kWhitespace) {
      if (!words.back().empty()) words.emplace_back();
      continue;
    }
    if (cp == 0 || cp == unicode::kReplacement || (f & unicode::kControl)) continue;
    if (vocab.strip_accents && (f & unicode::kMark)) continue;
    std::string s;
    unicode::AppendUtf8(vocab.lowercase ? unicode::ToLower(cp) : cp, &s);
    if ((f & unicode::kPunctuation) || (cp < 0x7F && (f & unicode::kSymbol)) || IsChineseChar(cp)) {
      if (!words.back().empty()) words.emplace_back();
      words.back() = s;
      words.emplace_back();
    } else {
      words.back() += s;
    }
  }
  if (words.back().empty()) words.pop_back();
  return words;
}

}  // namespace

void WpmEncode(const Vocab& vocab, std::string_view text, std::vector<int32_t>* out) {
  for (const std::string& word : SplitWords(vocab, text)) {
    if (word.empty()) continue;
    const std::string w = "\xE2\x96\x81" + word;
    const size_t n = w.size();
    const size_t before = out->size();
    for (size_t i = 0; i < n; ++i) {
      bool matched = false;
      for (size_t j = std::min(n, i + vocab.max_token_len + 1); j > i; --j) {
        int32_t id = vocab.Find(std::string_view(w).substr(i, j - i));
        if (id >= 0) {
          out->push_back(id);
          matched = true;
          i = j - 1;
          break;
        }
      }
      if (!matched) {  // the word cannot be covered: drop what it produced
        out->resize(before);
        break;
      }
    }
    if (out->size() == before && vocab.unk >= 0) out->push_back(vocab.unk);
  }
}

}  // namespace isv
