// Unicode helpers for the tokenizers: UTF-8 <-> code points (with llama.cpp's handling of invalid
// bytes), per-code-point category flags, simple lower-casing and the GPT-2 byte <-> unicode map.
//
// Categories come from PCRE2's Unicode tables (\p{L}, \p{N}, ...), computed once per process on
// first use (a few tens of milliseconds) and then read-only; all functions are thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace isv::unicode {

// Category bits of one code point (a code point has exactly one of the category bits; the helper
// bit kWhitespace is the Unicode White_Space property and may be set in addition).
enum CpFlags : uint16_t {
  kUndefined = 0x0001,    // unassigned (Cn)
  kNumber = 0x0002,       // \p{N}
  kLetter = 0x0004,       // \p{L}
  kSeparator = 0x0008,    // \p{Z}
  kMark = 0x0010,         // \p{M}
  kPunctuation = 0x0020,  // \p{P}
  kSymbol = 0x0040,       // \p{S}
  kControl = 0x0080,      // \p{C} other than Cn (incl. surrogates and private use)
  kCategoryMask = 0x00FF,
  kWhitespace = 0x0100,   // White_Space
};

inline constexpr uint32_t kMaxCodepoint = 0x10FFFF;
inline constexpr uint32_t kReplacement = 0xFFFD;

// Flags of `cp`; 0 for values above kMaxCodepoint.
uint16_t Flags(uint32_t cp);
inline bool IsLetter(uint32_t cp) { return Flags(cp) & kLetter; }
inline bool IsNumber(uint32_t cp) { return Flags(cp) & kNumber; }
inline bool IsWhitespace(uint32_t cp) { return Flags(cp) & kWhitespace; }

// Length of the UTF-8 sequence that starts with `lead`, judged by its high 4 bits only (1 for
// continuation bytes), as llama.cpp's unicode_len_utf8.
inline size_t Utf8SeqLen(char lead) {
  static constexpr uint8_t kLen[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
  return kLen[static_cast<uint8_t>(lead) >> 4];
}

// Decodes `text`; every byte that does not start a well-formed sequence becomes U+FFFD and
// decoding resumes at the next byte (llama.cpp's unicode_cpts_from_utf8). Overlong forms and
// surrogates are accepted as llama.cpp does.
std::vector<uint32_t> DecodeUtf8(std::string_view text);
// Appends the UTF-8 encoding of `cp` (REQUIRES cp <= kMaxCodepoint).
void AppendUtf8(uint32_t cp, std::string* out);
std::string EncodeUtf8(const std::vector<uint32_t>& cps);

// Simple (1:1) lower-case mapping; `cp` itself when it has none.
uint32_t ToLower(uint32_t cp);

// GPT-2 byte-level BPE: the code point that stands for byte `b`, as UTF-8.
const std::string& ByteToUnicode(uint8_t b);
// Inverse: the byte a code point stands for, or -1.
int UnicodeToByte(uint32_t cp);

// Length of the longest prefix of `s` (at most s.size()) that ends on a complete UTF-8 character
// boundary: an incomplete trailing sequence that could still be completed is excluded.
size_t CompleteUtf8Prefix(std::string_view s);

}  // namespace isv::unicode
