// Python methods reachable from templates: str (strip, split, startswith, format, ...), dict (get,
// items, keys, values) and list (index, count). Mutating methods (list.append, dict.pop, ...) yield an
// "unsafe" Undefined that raises SecurityError when used, as Jinja2's immutable sandbox does.
#pragma once

#include <string>

#include "engine/template/builtins.h"
#include "engine/template/unicode_case.h"
#include "engine/template/value.h"

namespace isv::jinja {

// Sets *out to the bound method `obj.name` and returns true, or returns false if `obj` has no such
// method (the caller then tries dict keys).
bool LookupMethod(const Value& obj, const std::string& name, const BuiltinContext& ctx, Value* out);

// Python str.format with positional/keyword fields ({}, {0}, {name}; format specs unsupported).
std::string PyFormat(const std::string& fmt, CallArgs& args);
// Python printf-style `fmt % args` for %s %r %d %i %f %% (with %(name)s for a dict argument and an
// optional precision for %f); args is a tuple, a dict or a single value.
std::string PyPercentFormat(const std::string& fmt, const Value& args);
// Python str.split / strip helpers (code-point aware; chars = characters to strip, or whitespace).
ValueList PySplit(const std::string& s, const Value& sep, int64_t maxsplit);
std::string PyStrip(const std::string& s, const Value& chars, bool left, bool right);
bool IsPyWhitespace(char32_t c);
std::string PyTitle(const std::string& s);
std::string PyCapitalize(const std::string& s);
bool PyIsCase(const std::string& s, bool upper);
std::string PyReplace(const std::string& s, const std::string& from, const std::string& to, int64_t count);

}  // namespace isv::jinja
