#include "engine/tokenizer/pretokenizer_scanners.h"

#include "engine/tokenizer/unicode.h"

namespace isv {
namespace {

using unicode::Flags;

constexpr uint32_t kOutOfRange = 0xFFFFFFFF;

// Scans one chunk [begin, end) of `cps` and appends the lengths of its pieces.
class ChunkScanner {
 public:
  ChunkScanner(const std::vector<uint32_t>& cps, size_t begin, size_t end, std::vector<size_t>* out)
      : cps_(cps), begin_(begin), end_(end), prev_end_(begin), out_(out) {}

  void Gpt2();
  void Llama3Like(bool digits_by_three);

 private:
  uint32_t Cp(size_t p) const { return p >= begin_ && p < end_ ? cps_[p] : kOutOfRange; }
  uint16_t F(size_t p) const { return p >= begin_ && p < end_ ? Flags(cps_[p]) : 0; }
  static bool Letter(uint16_t f) { return f & unicode::kLetter; }
  static bool Number(uint16_t f) { return f & unicode::kNumber; }
  static bool Space(uint16_t f) { return f & unicode::kWhitespace; }
  static bool Other(uint16_t f) { return !(Space(f) || Letter(f) || Number(f)) && f != 0; }
  // Ends the current piece at `end`; returns its length.
  size_t Add(size_t end) {
    size_t len = end - prev_end_;
    if (len > 0) out_->push_back(len);
    prev_end_ = end;
    return len;
  }
  // 's 't 're 've 'm 'll 'd at `pos` (ASCII case folded when `fold`); 0 when none.
  size_t Contraction(size_t pos, bool fold) const {
    if (Cp(pos) != '\'' || pos + 1 >= end_) return 0;
    auto lower = [&](uint32_t c) { return fold && c >= 'A' && c <= 'Z' ? c + 32 : c; };
    uint32_t c1 = lower(Cp(pos + 1));
    if (c1 == 's' || c1 == 't' || c1 == 'm' || c1 == 'd') return 2;
    if (pos + 2 >= end_) return 0;
    uint32_t c2 = lower(Cp(pos + 2));
    if ((c1 == 'r' && c2 == 'e') || (c1 == 'v' && c2 == 'e') || (c1 == 'l' && c2 == 'l')) return 3;
    return 0;
  }

  const std::vector<uint32_t>& cps_;
  size_t begin_, end_, prev_end_;
  std::vector<size_t>* out_;
};

// 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
void ChunkScanner::Gpt2() {
  for (size_t pos = begin_; pos < end_;) {
    const uint32_t cp = Cp(pos);
    if (size_t n = Contraction(pos, false)) {
      pos += Add(pos + n);
      continue;
    }
    uint16_t f2 = cp == ' ' ? F(pos + 1) : F(pos);
    if (Letter(f2) || Number(f2) || Other(f2)) {
      auto same = Letter(f2) ? &Letter : Number(f2) ? &Number : &Other;
      pos += (cp == ' ');
      while (same(f2)) f2 = F(++pos);
      Add(pos);
      continue;
    }
    size_t n_space = 0;
    while (Space(F(pos + n_space))) ++n_space;
    if (n_space > 1 && Cp(pos + n_space) != kOutOfRange) {
      pos += n_space - 1;  // leave the last space to the next word
      Add(pos);
    } else if (n_space > 0) {
      pos += n_space;
      Add(pos);
    } else {
      Add(++pos);
    }
  }
}

// Llama-3 (\p{N}{1,3}) and Qwen2 (\p{N}):
// (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
void ChunkScanner::Llama3Like(bool digits_by_three) {
  for (size_t pos = begin_; pos < end_;) {
    const uint32_t cp = Cp(pos);
    const uint16_t f = F(pos);
    if (size_t n = Contraction(pos, true)) {
      pos += Add(pos + n);
      continue;
    }
    if (!(cp == '\r' || cp == '\n' || Number(f)) && (Letter(f) || Letter(F(pos + 1)))) {
      ++pos;
      while (Letter(F(pos))) ++pos;
      Add(pos);
      continue;
    }
    if (Number(f)) {
      if (digits_by_three) {
        size_t start = pos;
        while (Number(F(pos))) {
          if (++pos - start >= 3) {
            Add(pos);
            start = pos;
          }
        }
      } else {
        ++pos;
      }
      Add(pos);
      continue;
    }
    uint16_t f2 = cp == ' ' ? F(pos + 1) : f;
    if (!(Space(f2) || Letter(f2) || Number(f2)) && f != 0) {
      pos += (cp == ' ');
      while (Other(f2)) f2 = F(++pos);
      while (Cp(pos) == '\r' || Cp(pos) == '\n') ++pos;
      Add(pos);
      continue;
    }
    size_t n_space = 0, last_newline_end = 0;
    while (Space(F(pos + n_space))) {
      uint32_t c = Cp(pos + n_space);
      if (c == '\r' || c == '\n') last_newline_end = pos + n_space + 1;
      ++n_space;
    }
    if (last_newline_end > 0) {
      pos = last_newline_end;
      Add(pos);
    } else if (n_space > 1 && Cp(pos + n_space) != kOutOfRange) {
      pos += n_space - 1;
      Add(pos);
    } else if (n_space > 0) {
      pos += n_space;
      Add(pos);
    } else {
      Add(++pos);
    }
  }
}

}  // namespace

void SplitGpt2(const std::vector<uint32_t>& cps, size_t begin, size_t end, std::vector<size_t>* out) {
  ChunkScanner(cps, begin, end, out).Gpt2();
}

void SplitLlama3Like(const std::vector<uint32_t>& cps, size_t begin, size_t end, bool digits_by_three,
                     std::vector<size_t>* out) {
  ChunkScanner(cps, begin, end, out).Llama3Like(digits_by_three);
}

}  // namespace isv
