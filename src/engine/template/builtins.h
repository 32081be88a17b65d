// The interpreter's built-in library: operators, attribute/item access, filters, tests, string/dict
// methods and global functions, with Python/Jinja2 semantics (what Hugging Face's
// ImmutableSandboxedEnvironment does). All functions throw TemplateError on misuse.
#pragma once

#include <cstdint>
#include <string>

#include "engine/template/value.h"

namespace isv::jinja {

// Sandbox limits and the fixed clock, shared by every builtin during one render.
struct BuiltinContext {
  int64_t max_sequence = 1'000'000;     // longest list range()/`*` may build
  size_t max_string = 16 << 20;         // longest string `*`/format may build
  int year = 2024, month = 7, day = 26;  // the date strftime_now() sees (time is 00:00:00)
};

// Throws the UndefinedError (or SecurityError) an Undefined carries.
[[noreturn]] void FailUndefined(const Value& v);

// Binary operator `op` ("+", "-", "*", "/", "//", "%", "**", "~", "==", "!=", "<", "<=", ">", ">=",
// "in", "notin"); `and`/`or` are handled by the evaluator (short-circuit).
Value BinaryOp(const std::string& op, const Value& a, const Value& b, const BuiltinContext& ctx);
// Python `a in b`.
bool Contains(const Value& container, const Value& item);
// Python `a < b` (numbers, strings, lists); throws TypeError otherwise.
bool LessThan(const Value& a, const Value& b);
// Jinja getattr: Python attribute (methods) first, then item; missing -> Undefined with a hint.
Value GetAttr(const Value& obj, const std::string& name, const BuiltinContext& ctx);
// Jinja getitem: item first, then attribute; missing -> Undefined.
Value GetItem(const Value& obj, const Value& key, const BuiltinContext& ctx);
// obj[start:stop:step] on strings and lists (null Values = omitted).
Value Slice(const Value& obj, const Value& start, const Value& stop, const Value& step);
// Items of an iterable for `for` loops and filters (dict -> keys, string -> characters,
// Undefined -> nothing); throws TypeError for non-iterables.
ValueList Iterate(const Value& v);

// Filter `name` applied to `input`; throws TemplateRuntimeError for an unknown filter.
Value ApplyFilter(const std::string& name, const Value& input, CallArgs& args, const BuiltinContext& ctx);
// Test `name` (`x is name(args)`); throws TemplateRuntimeError for an unknown test.
bool ApplyTest(const std::string& name, const Value& input, CallArgs& args);
// Global functions: range, namespace, dict, raise_exception, strftime_now.
ValueDict MakeGlobals(const BuiltinContext& ctx);

// Helpers shared by the builtin files.
Value ArgAt(CallArgs& args, size_t index, const char* name, Value fallback = Value());
int64_t ToInt(const Value& v, const char* what);
std::string PyStrftime(const std::string& fmt, const BuiltinContext& ctx);
std::string HtmlEscape(const std::string& s);

}  // namespace isv::jinja
