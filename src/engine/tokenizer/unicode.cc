#include "engine/tokenizer/unicode.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <clocale>
#include <cwctype>
#include <mutex>

#include <locale.h>

namespace isv::unicode {
namespace {

constexpr uint32_t kNumCodepoints = kMaxCodepoint + 1;

// Category flags for all code points, filled lazily in blocks of 4096 code points: a block is
// classified with PCRE2's Unicode tables (\p{L}+ etc. over the block's characters) the first time
// one of its code points is asked for.
class FlagTable {
 public:
  FlagTable() : flags_(kNumCodepoints, kControl) {
    static const std::pair<const char*, uint16_t> kCategories[] = {
        {"\\p{Cn}+", kUndefined}, {"\\p{N}+", kNumber}, {"\\p{L}+", kLetter}, {"\\p{Z}+", kSeparator},
        {"\\p{M}+", kMark},       {"\\p{P}+", kPunctuation}, {"\\p{S}+", kSymbol}};
    for (const auto& [pattern, flag] : kCategories) {
      int err = 0;
      PCRE2_SIZE err_off = 0;
      pcre2_code* re = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern), PCRE2_ZERO_TERMINATED,
                                     PCRE2_UTF | PCRE2_UCP, &err, &err_off, nullptr);
      if (re == nullptr) continue;  // cannot happen with these fixed patterns
      pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);
      categories_.push_back({re, flag});
    }
    for (auto& r : ready_) r.store(false, std::memory_order_relaxed);
  }
  ~FlagTable() {
    for (auto& c : categories_) pcre2_code_free(c.first);
  }

  uint16_t Get(uint32_t cp) {
    const uint32_t block = cp >> kBlockBits;
    if (!ready_[block].load(std::memory_order_acquire)) {
      std::lock_guard<std::mutex> lock(mu_);
      if (!ready_[block].load(std::memory_order_relaxed)) {
        Fill(block);
        ready_[block].store(true, std::memory_order_release);
      }
    }
    return flags_[cp];
  }

 private:
  static constexpr uint32_t kBlockBits = 12;
  static constexpr uint32_t kNumBlocks = (kNumCodepoints + (1u << kBlockBits) - 1) >> kBlockBits;

  void Fill(uint32_t block) {
    const uint32_t first = block << kBlockBits;
    const uint32_t last = std::min(kNumCodepoints, first + (1u << kBlockBits));
    std::string text;
    for (uint32_t cp = first; cp < last; ++cp) {
      if (cp < 0xD800 || cp > 0xDFFF) AppendUtf8(cp, &text);  // surrogates stay kControl (Cs)
    }
    for (const auto& [re, flag] : categories_) Mark(re, flag, text);
    static constexpr uint32_t kSpaces[] = {0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x20, 0x85, 0xA0, 0x1680,
                                           0x2028, 0x2029, 0x202F, 0x205F, 0x3000};  // White_Space
    for (uint32_t cp : kSpaces) {
      if (cp >= first && cp < last) flags_[cp] |= kWhitespace;
    }
    for (uint32_t cp = std::max(first, 0x2000u); cp <= 0x200A && cp < last; ++cp) flags_[cp] |= kWhitespace;
  }

  void Mark(pcre2_code* re, uint16_t flag, const std::string& text) {
    pcre2_match_data* md = pcre2_match_data_create_from_pattern(re, nullptr);
    const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
    PCRE2_SIZE start = 0;
    while (start < text.size()) {
      if (pcre2_match(re, subject, text.size(), start, PCRE2_NO_UTF_CHECK, md, nullptr) < 0) break;
      const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md);
      for (size_t i = ov[0]; i < ov[1];) {
        const uint8_t b = static_cast<uint8_t>(text[i]);
        const size_t n = Utf8SeqLen(static_cast<char>(b));
        uint32_t cp = n == 1 ? b : (b & (0x7F >> n));
        for (size_t k = 1; k < n; ++k) cp = (cp << 6) | (static_cast<uint8_t>(text[i + k]) & 0x3F);
        flags_[cp] = static_cast<uint16_t>((flags_[cp] & ~kCategoryMask) | flag);
        i += n;
      }
      start = ov[1] > ov[0] ? ov[1] : ov[0] + 1;
    }
    pcre2_match_data_free(md);
  }

  std::vector<uint16_t> flags_;
  std::vector<std::pair<pcre2_code*, uint16_t>> categories_;
  std::array<std::atomic<bool>, kNumBlocks> ready_;
  std::mutex mu_;
};

FlagTable& Table() {
  static FlagTable table;
  return table;
}

struct ByteMaps {
  std::array<std::string, 256> byte_to_utf8;
  std::array<int, 324> cp_to_byte;  // every mapped code point is < 324
};

const ByteMaps& GetByteMaps() {
  static const ByteMaps maps = [] {
    ByteMaps m;
    m.cp_to_byte.fill(-1);
    int extra = 0;
    for (int b = 0; b < 256; ++b) {
      bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      uint32_t cp = printable ? b : 256 + extra++;
      AppendUtf8(cp, &m.byte_to_utf8[b]);
      m.cp_to_byte[cp] = b;
    }
    return m;
  }();
  return maps;
}

}  // namespace

uint16_t Flags(uint32_t cp) { return cp <= kMaxCodepoint ? Table().Get(cp) : 0; }

std::vector<uint32_t> DecodeUtf8(std::string_view s) {
  std::vector<uint32_t> out;
  out.reserve(s.size());
  size_t i = 0;
  const size_t n = s.size();
  auto cont = [&](size_t k) { return k < n && (static_cast<uint8_t>(s[k]) & 0xC0) == 0x80; };
  while (i < n) {
    uint8_t b = static_cast<uint8_t>(s[i]);
    if (b < 0x80) {
      out.push_back(b);
      i += 1;
    } else if ((b & 0xE0) == 0xC0 && cont(i + 1)) {
      out.push_back(((b & 0x1F) << 6) | (s[i + 1] & 0x3F));
      i += 2;
    } else if ((b & 0xF0) == 0xE0 && cont(i + 1) && cont(i + 2)) {
      out.push_back(((b & 0x0F) << 12) | ((s[i + 1] & 0x3F) << 6) | (s[i + 2] & 0x3F));
      i += 3;
    } else if ((b & 0xF8) == 0xF0 && cont(i + 1) && cont(i + 2) && cont(i + 3)) {
      uint32_t cp = ((b & 0x07) << 18) | ((s[i + 1] & 0x3F) << 12) | ((s[i + 2] & 0x3F) << 6) | (s[i + 3] & 0x3F);
      // Above U+10FFFF llama.cpp throws; we treat the lead byte as invalid instead.
      out.push_back(cp <= kMaxCodepoint ? cp : kReplacement);
      i += cp <= kMaxCodepoint ? 4 : 1;
    } else {
      out.push_back(kReplacement);
      i += 1;
    }
  }
  return out;
}

void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp <= 0x7F) {
    out->push_back(static_cast<char>(cp));
  } else if (cp <= 0x7FF) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp <= 0xFFFF) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | ((cp >> 18) & 0x07)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

std::string EncodeUtf8(const std::vector<uint32_t>& cps) {
  std::string out;
  out.reserve(cps.size());
  for (uint32_t cp : cps) AppendUtf8(cp, &out);
  return out;
}

uint32_t ToLower(uint32_t cp) {
  if (cp < 0x80) return (cp >= 'A' && cp <= 'Z') ? cp + 32 : cp;
  static const locale_t loc = newlocale(LC_CTYPE_MASK, "C.UTF-8", static_cast<locale_t>(nullptr));
  if (loc == static_cast<locale_t>(nullptr) || cp > kMaxCodepoint) return cp;
  return static_cast<uint32_t>(towlower_l(static_cast<wint_t>(cp), loc));
}

uint32_t NfdBase(uint32_t cp) {
  const NfdRange* end = kNfdRanges + kNfdRangeCount;
  const NfdRange* it = std::upper_bound(kNfdRanges, end, cp, [](uint32_t c, const NfdRange& r) { return c < r.first; });
  if (it == kNfdRanges) return cp;
  --it;
  return cp <= it->last ? it->base : cp;
}

const std::string& ByteToUnicode(uint8_t b) { return GetByteMaps().byte_to_utf8[b]; }

int UnicodeToByte(uint32_t cp) {
  const ByteMaps& m = GetByteMaps();
  return cp < m.cp_to_byte.size() ? m.cp_to_byte[cp] : -1;
}

size_t CompleteUtf8Prefix(std::string_view s) {
  const size_t n = s.size();
  // Look back at most 3 bytes for the lead byte of a possibly unfinished sequence.
  for (size_t back = 1; back <= 3 && back <= n; ++back) {
    uint8_t b = static_cast<uint8_t>(s[n - back]);
    if ((b & 0xC0) == 0x80) continue;  // continuation byte: keep looking for its lead
    size_t need = (b & 0xE0) == 0xC0 ? 2 : (b & 0xF0) == 0xE0 ? 3 : (b & 0xF8) == 0xF0 ? 4 : 1;
    return need > back ? n - back : n;
  }
  return n;
}

}  // namespace isv::unicode
