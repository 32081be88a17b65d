// Simple Unicode case mapping for the scripts chat templates meet (ASCII, Latin-1, Latin Extended-A,
// Latin Extended Additional incl. Vietnamese, Greek, Cyrillic, Armenian, fullwidth Latin), as
// Python's str.upper()/lower()/title() map them. One code point to one code point, except that
// upper-casing 'ß' gives "SS". Other scripts have no case and pass through unchanged.
#pragma once

#include <string>

namespace isv::jinja {

char32_t UpperCp(char32_t c);  // c when it has no upper-case form
char32_t LowerCp(char32_t c);
inline bool IsUpperCp(char32_t c) { return LowerCp(c) != c; }
inline bool IsLowerCp(char32_t c) { return UpperCp(c) != c || c == 0xDF; }
inline bool IsCasedCp(char32_t c) { return IsUpperCp(c) || IsLowerCp(c); }

std::string PyUpper(const std::string& s);
std::string PyLower(const std::string& s);

}  // namespace isv::jinja
