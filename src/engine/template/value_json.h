// Conversions between JSON and interpreter Values, and Python's json.dumps as the `tojson` filter.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "engine/template/value.h"

namespace isv::jinja {

// JSON -> Value (object key order kept; integers stay ints, other numbers become floats).
Value ValueFromJson(const nlohmann::ordered_json& j);

struct JsonDumpOptions {
  bool ensure_ascii = false;
  int indent = -1;              // < 0: no pretty-printing
  std::string indent_string;    // used when non-empty instead of `indent` spaces
  bool has_separators = false;  // else item ", " (or "," when indenting) and key ": "
  std::string item_separator;
  std::string key_separator = ": ";
  bool sort_keys = false;
};

// Python json.dumps(value, ...). Throws TemplateError("TypeError", ...) for values JSON cannot hold
// (Undefined, generators, callables), as Python does.
std::string PyJsonDumps(const Value& v, const JsonDumpOptions& options);

}  // namespace isv::jinja
