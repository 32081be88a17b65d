// Python methods reachable from templates: str (strip, split, startswith, format, ...), dict (get,
// items, keys, values) and list (index, count). Mutating methods (list.append, dict.pop, ...) yield an
// "unsafe" Undefined that raises SecurityError when used, as Jinja2's immutable sandbox does.
#pragma once

#include <string>

#include "engine/template/builtins.h"
#include "engine/template/value.h"

namespace isv::jinja {

// Sets *out to the bound method `obj.name` and returns true, or returns false if `obj` has no such
// method (the caller then tries dict keys).
bool LookupMethod(const Value& obj, const std::string& name, const BuiltinContext& ctx, Value* out);

// Python str.format with positional/keyword fields ({}, {0}, {name}; format specs unsupported).
std::string PyFormat(const std::string& fmt, CallArgs& args);
// Python str.split / strip helpers (code-point aware; chars = characters to strip, or whitespace).
ValueList PySplit(const std::string& s, const Value& sep, int64_t maxsplit);
std::string PyStrip(const std::string& s, const Value& chars, bool left, bool right);
bool IsPyWhitespace(char32_t c);
std::string AsciiUpper(std::string s);
std::string AsciiLower(std::string s);
std::string PyTitle(const std::string& s);
std::string PyCapitalize(const std::string& s);
std::string PyReplace(const std::string& s, const std::string& from, const std::string& to, int64_t count);

}  // namespace isv::jinja
