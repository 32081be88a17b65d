#include "engine/template/unicode_case.h"

#include "engine/template/value.h"

namespace isv::jinja {
namespace {

// Blocks where upper and lower case alternate: even = upper when upper_even, else odd = upper.
struct AlternatingRange {
  char32_t first, last;
  bool upper_even;
};

constexpr AlternatingRange kAlternating[] = {
    {0x100, 0x12F, true}, {0x132, 0x137, true}, {0x139, 0x148, false}, {0x14A, 0x177, true},
    {0x179, 0x17E, false}, {0x460, 0x481, true}, {0x48A, 0x4BF, true}, {0x4D0, 0x52F, true},
    {0x1E00, 0x1E95, true}, {0x1EA0, 0x1EFF, true},
};

// Blocks where lower = upper + offset.
struct ShiftRange {
  char32_t upper_first, upper_last;
  int offset;
};

constexpr ShiftRange kShifted[] = {
    {'A', 'Z', 32}, {0xC0, 0xD6, 32}, {0xD8, 0xDE, 32}, {0x391, 0x3A1, 32}, {0x3A3, 0x3AB, 32},
    {0x388, 0x38A, 37}, {0x38E, 0x38F, 63}, {0x410, 0x42F, 32}, {0x400, 0x40F, 80},
    {0x531, 0x556, 48}, {0xFF21, 0xFF3A, 32},
};

}  // namespace

char32_t UpperCp(char32_t c) {
  if (c < 'a') return c;
  for (const ShiftRange& r : kShifted) {
    if (c >= r.upper_first + r.offset && c <= r.upper_last + r.offset) return c - r.offset;
  }
  for (const AlternatingRange& r : kAlternating) {
    if (c >= r.first && c <= r.last) {
      bool even = c % 2 == 0;
      bool is_upper = r.upper_even ? even : !even;
      return is_upper ? c : c - 1;
    }
  }
  switch (c) {
    case 0xFF: return 0x178;
    case 0x131: return 'I';
    case 0x3C2: return 0x3A3;  // final sigma
    case 0x3AC: return 0x386;
    case 0x3CC: return 0x38C;
    case 0x3CD: return 0x38E;
    case 0x3CE: return 0x38F;
    default: return c;
  }
}

char32_t LowerCp(char32_t c) {
  if (c < 'A') return c;
  for (const ShiftRange& r : kShifted) {
    if (c >= r.upper_first && c <= r.upper_last) return c + r.offset;
  }
  for (const AlternatingRange& r : kAlternating) {
    if (c >= r.first && c <= r.last) {
      bool even = c % 2 == 0;
      bool is_upper = r.upper_even ? even : !even;
      return is_upper ? c + 1 : c;
    }
  }
  switch (c) {
    case 0x178: return 0xFF;
    case 0x130: return 'i';
    case 0x386: return 0x3AC;
    case 0x38C: return 0x3CC;
    default: return c;
  }
}

std::string PyUpper(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char32_t c : DecodeUtf8(s)) {
    if (c == 0xDF) {
      out += "SS";
    } else {
      AppendUtf8(out, UpperCp(c));
    }
  }
  return out;
}

std::string PyLower(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char32_t c : DecodeUtf8(s)) AppendUtf8(out, LowerCp(c));
  return out;
}

}  // namespace isv::jinja
