#include "engine/sampling/json_schema_grammar.h"

#include <algorithm>
#include <cmath>
#include <optional>

#include "engine/sampling/regex_grammar.h"

namespace isv {
namespace {

using Json = nlohmann::ordered_json;

constexpr int kMaxCount = 1000;  // largest minItems / maxItems / minLength / maxLength
constexpr int kMaxSchemaDepth = 64;  // nested subschemas (properties, items, anyOf, ...)

// The shared JSON rules, in the order they are printed.
const std::vector<std::pair<std::string, std::string>>& Primitives() {
  static const std::vector<std::pair<std::string, std::string>> kRules = {
      {"ws", R"((" " | "\n" [ \t]{0,20})?)"},
      {"json-char", R"([^"\\\x00-\x1F] | "\\" (["\\/bfnrt] | "u" [0-9a-fA-F]{4}))"},
      {"json-string", R"("\"" json-char* "\"")"},
      {"json-int", R"("-"? ("0" | [1-9] [0-9]{0,15}))"},
      {"json-number", R"(json-int ("." [0-9]{1,16})? ([eE] [-+]? [0-9]{1,3})?)"},
      {"json-bool", R"("true" | "false")"},
      {"json-null", R"("null")"},
      {"json-value", R"(json-object | json-array | json-string | json-number | json-bool | json-null)"},
      {"json-object", R"("{" ws (json-string ws ":" ws json-value ws ("," ws json-string ws ":" ws json-value ws)*)? "}")"},
      {"json-array", R"("[" ws (json-value ws ("," ws json-value ws)*)? "]")"},
      {"json-date", R"([0-9]{4} "-" ("0" [1-9] | "1" [0-2]) "-" ("0" [1-9] | [12] [0-9] | "3" [01]))"},
      {"json-time", R"(([01] [0-9] | "2" [0-3]) ":" [0-5] [0-9] ":" [0-5] [0-9] ("." [0-9]{1,6})? ("Z" | [+-] ([01] [0-9] | "2" [0-3]) ":" [0-5] [0-9]))"},
      {"json-hex", R"([0-9a-fA-F])"},
  };
  return kRules;
}

// Which primitives each primitive needs.
std::vector<std::string> Dependencies(const std::string& name) {
  if (name == "json-string") return {"json-char"};
  if (name == "json-number") return {"json-int"};
  if (name == "json-value")
    return {"json-object", "json-array", "json-string", "json-number", "json-bool", "json-null"};
  if (name == "json-object") return {"ws", "json-string", "json-value"};
  if (name == "json-array") return {"ws", "json-value"};
  return {};
}

bool IsAnnotation(const std::string& k) {
  static const std::set<std::string> kKeys = {"title",   "description", "default",  "examples",
                                              "$schema", "$id",         "$comment", "deprecated",
                                              "readOnly", "writeOnly",  "$defs",    "definitions"};
  return kKeys.count(k) > 0;
}

bool IsSupported(const std::string& k) {
  static const std::set<std::string> kKeys = {
      "type",  "properties", "required", "additionalProperties", "enum",      "const",     "items",
      "minItems", "maxItems", "anyOf",  "oneOf",                "allOf",     "$ref",      "minLength",
      "maxLength", "format", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "pattern"};
  return kKeys.count(k) > 0;
}

Status SchemaError(const std::string& path, const std::string& msg) {
  return InvalidArgumentError("JSON schema at '" + (path.empty() ? std::string("/") : path) + "': " + msg);
}

std::string Escape(const std::string& key) {  // JSON pointer token
  std::string out;
  for (char c : key) {
    if (c == '~') out += "~0";
    else if (c == '/') out += "~1";
    else out += c;
  }
  return out;
}

StatusOr<int> ReadCount(const Json& s, const char* key, const std::string& path, int dflt) {
  auto it = s.find(key);
  if (it == s.end()) return dflt;
  if (!it->is_number_integer() || it->get<int64_t>() < 0)
    return SchemaError(path, std::string("'") + key + "' must be a non-negative integer");
  if (it->get<int64_t>() > kMaxCount)
    return SchemaError(path, std::string("'") + key + "' above " + std::to_string(kMaxCount) + " is not supported");
  return static_cast<int>(it->get<int64_t>());
}

// "x{min,max}" in GBNF (max < 0: unbounded).
std::string Repeat(const std::string& x, int min, int max) {
  if (max < 0) return "(" + x + "){" + std::to_string(min) + ",}";
  return "(" + x + "){" + std::to_string(min) + "," + std::to_string(max) + "}";
}

constexpr int64_t kMaxMagnitude = 9999999999999999;  // 16 digits, json-int's bound

// GBNF for the decimal strings (no sign, no leading zeros) of x..y, where x and y have the same
// number of digits.
std::string SameLengthRange(const std::string& x, const std::string& y) {
  const size_t n = x.size();
  if (n == 1) return x == y ? "\"" + x + "\"" : "[" + x + "-" + y + "]";
  if (x[0] == y[0]) return "\"" + x.substr(0, 1) + "\" " + SameLengthRange(x.substr(1), y.substr(1));
  const std::string zeros(n - 1, '0'), nines(n - 1, '9');
  const std::string any_rest = "[0-9]{" + std::to_string(n - 1) + "}";
  if (x.substr(1) == zeros && y.substr(1) == nines)
    return "[" + x.substr(0, 1) + "-" + y.substr(0, 1) + "] " + any_rest;
  std::vector<std::string> alts;
  alts.push_back("\"" + x.substr(0, 1) + "\" " + SameLengthRange(x.substr(1), nines));
  if (x[0] + 1 <= y[0] - 1)
    alts.push_back("[" + std::string(1, static_cast<char>(x[0] + 1)) + "-" + std::string(1, static_cast<char>(y[0] - 1)) +
                   "] " + any_rest);
  alts.push_back("\"" + y.substr(0, 1) + "\" " + SameLengthRange(zeros, y.substr(1)));
  std::string out;
  for (const std::string& a : alts) out += (out.empty() ? "(" : " | ") + a;
  return out + ")";
}

// GBNF for the non-negative integers a..b (0 <= a <= b <= kMaxMagnitude), without leading zeros.
std::string NonNegativeRange(int64_t a, int64_t b) {
  std::string out;
  int64_t low = 0, high = 9;  // numbers with `digits` digits
  for (int digits = 1; digits <= 16; ++digits) {
    const int64_t x = std::max(a, low), y = std::min(b, high);
    if (x <= y) out += (out.empty() ? "" : " | ") + SameLengthRange(std::to_string(x), std::to_string(y));
    low = high + 1;
    high = high * 10 + 9;
  }
  return "(" + out + ")";
}

// Reads an integer bound; a fractional one is rounded inwards (up for a minimum).
StatusOr<std::optional<int64_t>> ReadBound(const Json& s, const char* key, bool is_min, const std::string& path) {
  auto it = s.find(key);
  if (it == s.end()) return std::optional<int64_t>();
  if (!it->is_number()) return SchemaError(path, std::string("'") + key + "' must be a number");
  const double v = it->get<double>();
  const bool exclusive = std::string(key).rfind("exclusive", 0) == 0;
  double r = is_min ? std::ceil(v) : std::floor(v);
  if (exclusive && r == v) r += is_min ? 1 : -1;
  if (r < -static_cast<double>(kMaxMagnitude) || r > static_cast<double>(kMaxMagnitude))
    return SchemaError(path, std::string("'") + key + "' beyond 16 digits is not supported");
  return std::optional<int64_t>(static_cast<int64_t>(r));
}

}  // namespace

StatusOr<std::string> JsonSchemaGrammarBuilder::IntegerExpr(const Json& s, const std::string& path) {
  int64_t lo = -kMaxMagnitude, hi = kMaxMagnitude;
  bool bounded = false;
  for (const char* key : {"minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum"}) {
    const bool is_min = std::string(key).find("inimum") != std::string::npos;
    ISV_ASSIGN_OR_RETURN(std::optional<int64_t> v, ReadBound(s, key, is_min, path));
    if (!v) continue;
    bounded = true;
    if (is_min) lo = std::max(lo, *v);
    else hi = std::min(hi, *v);
  }
  if (!bounded) return Use("json-int");
  if (lo > hi) return SchemaError(path, "no integer lies between the minimum and the maximum");
  std::string alts;
  if (lo < 0) alts = "\"-\" " + NonNegativeRange(std::max<int64_t>(1, hi < 0 ? -hi : 1), -lo);
  if (hi >= 0) alts += (alts.empty() ? "" : " | ") + NonNegativeRange(std::max<int64_t>(lo, 0), hi);
  return "(" + alts + ")";
}

std::string JsonSchemaGrammarBuilder::Literal(std::string_view bytes) {
  std::string out = "\"";
  static const char kHex[] = "0123456789ABCDEF";
  for (unsigned char c : bytes) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == 0x7F) {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

std::string JsonSchemaGrammarBuilder::Use(const std::string& primitive) {
  if (used_.insert(primitive).second) {
    for (const std::string& dep : Dependencies(primitive)) Use(dep);
  }
  return primitive;
}

std::string JsonSchemaGrammarBuilder::AnyObject() { return Use("json-object"); }

std::string JsonSchemaGrammarBuilder::NewRuleName(const std::string& hint) {
  std::string clean;
  for (char c : hint) {
    clean += (std::isalnum(static_cast<unsigned char>(c)) || c == '-') ? c : '-';
    if (clean.size() >= 40) break;
  }
  std::string name = prefix_ + (clean.empty() ? "" : "-" + clean);
  while (names_.count(name)) name = prefix_ + "-" + clean + "-" + std::to_string(++counter_);
  names_.insert(name);
  return name;
}

void JsonSchemaGrammarBuilder::AddRule(const std::string& name, const std::string& body) {
  names_.insert(name);
  rules_.emplace_back(name, body);
}

std::string JsonSchemaGrammarBuilder::Text() const {
  std::string out;
  for (const auto& [name, body] : rules_) out += name + " ::= " + body + "\n";
  for (const auto& [name, body] : Primitives()) {
    if (used_.count(name)) out += name + " ::= " + body + "\n";
  }
  return out;
}

StatusOr<std::string> JsonSchemaGrammarBuilder::Add(const Json& schema, const std::string& prefix) {
  root_ = &schema;
  prefix_ = prefix;
  refs_.clear();
  ISV_ASSIGN_OR_RETURN(std::string expr, Expr(schema, ""));
  return expr;
}

StatusOr<std::string> JsonSchemaGrammarBuilder::Ref(const std::string& ref, const std::string& path) {
  if (auto it = refs_.find(ref); it != refs_.end()) return it->second;
  if (ref != "#" && ref.rfind("#/$defs/", 0) != 0 && ref.rfind("#/definitions/", 0) != 0)
    return SchemaError(path, "'$ref' " + ref + " is not supported (only '#', '#/$defs/...' and '#/definitions/...')");
  const Json* target = nullptr;
  try {  // nlohmann reports a malformed pointer by throwing
    Json::json_pointer ptr(ref.substr(1));
    if (root_->contains(ptr)) target = &root_->at(ptr);
  } catch (const Json::exception&) {
    return SchemaError(path, "'$ref' " + ref + " is not a valid JSON pointer");
  }
  if (target == nullptr) return SchemaError(path, "'$ref' " + ref + " points nowhere");
  std::string name = NewRuleName(ref == "#" ? "root" : ref.substr(ref.rfind('/') + 1));
  refs_[ref] = name;
  size_t slot = rules_.size();
  rules_.emplace_back(name, "");  // reserved now, so that recursion finds the name
  ISV_ASSIGN_OR_RETURN(std::string body, Expr(*target, ref.substr(1)));
  rules_[slot].second = body;
  return name;
}

StatusOr<std::string> JsonSchemaGrammarBuilder::Expr(const Json& s, const std::string& path) {
  struct DepthGuard {
    int& depth;
    explicit DepthGuard(int& d) : depth(++d) {}
    ~DepthGuard() { --depth; }
  } guard(depth_);
  if (depth_ > kMaxSchemaDepth) return SchemaError(path, "nested more than " + std::to_string(kMaxSchemaDepth) + " levels deep");
  if (s.is_boolean()) {
    if (!s.get<bool>()) return SchemaError(path, "the schema 'false' allows no value");
    return Use("json-value");
  }
  if (!s.is_object()) return SchemaError(path, "a schema must be an object or a boolean");
  for (auto it = s.begin(); it != s.end(); ++it) {
    if (!IsAnnotation(it.key()) && !IsSupported(it.key()))
      return SchemaError(path, "keyword '" + it.key() + "' is not supported");
  }
  if (auto it = s.find("$ref"); it != s.end()) {
    if (!it->is_string()) return SchemaError(path, "'$ref' must be a string");
    for (auto k = s.begin(); k != s.end(); ++k) {
      if (k.key() != "$ref" && !IsAnnotation(k.key()))
        return SchemaError(path, "keyword '" + k.key() + "' beside '$ref' is not supported");
    }
    return Ref(it->get<std::string>(), path);
  }
  if (auto it = s.find("const"); it != s.end()) return Literal(it->dump());
  if (auto it = s.find("enum"); it != s.end()) {
    if (!it->is_array() || it->empty()) return SchemaError(path, "'enum' must be a non-empty array");
    std::string alts;
    for (const Json& v : *it) alts += (alts.empty() ? "" : " | ") + Literal(v.dump());
    return "(" + alts + ")";
  }
  for (const char* key : {"anyOf", "oneOf", "allOf"}) {
    auto it = s.find(key);
    if (it == s.end()) continue;
    if (!it->is_array() || it->empty()) return SchemaError(path, std::string("'") + key + "' must be a non-empty array");
    if (std::string(key) == "allOf" && it->size() != 1)
      return SchemaError(path, "'allOf' with more than one schema is not supported");
    for (auto k = s.begin(); k != s.end(); ++k) {
      if (k.key() != key && !IsAnnotation(k.key()))
        return SchemaError(path, "keyword '" + k.key() + "' beside '" + key + "' is not supported");
    }
    std::string alts;
    for (size_t i = 0; i < it->size(); ++i) {
      ISV_ASSIGN_OR_RETURN(std::string e, Expr((*it)[i], path + "/" + key + "/" + std::to_string(i)));
      alts += (alts.empty() ? "" : " | ") + e;
    }
    return "(" + alts + ")";
  }
  auto type = s.find("type");
  if (type == s.end()) {
    if (s.contains("properties") || s.contains("additionalProperties") || s.contains("required"))
      return TypedExpr(s, "object", path);
    if (s.contains("items") || s.contains("minItems") || s.contains("maxItems")) return TypedExpr(s, "array", path);
    if (s.contains("minLength") || s.contains("maxLength") || s.contains("format") || s.contains("pattern"))
      return TypedExpr(s, "string", path);
    if (s.contains("minimum") || s.contains("maximum") || s.contains("exclusiveMinimum") || s.contains("exclusiveMaximum"))
      return SchemaError(path, "'minimum' / 'maximum' need \"type\": \"integer\"");
    return Use("json-value");
  }
  if (type->is_string()) return TypedExpr(s, type->get<std::string>(), path);
  if (!type->is_array() || type->empty())
    return SchemaError(path, "'type' must be a string or a non-empty array of strings");
  std::string alts;
  for (const Json& t : *type) {
    if (!t.is_string()) return SchemaError(path, "'type' must be a string or a non-empty array of strings");
    ISV_ASSIGN_OR_RETURN(std::string e, TypedExpr(s, t.get<std::string>(), path));
    alts += (alts.empty() ? "" : " | ") + e;
  }
  return "(" + alts + ")";
}

StatusOr<std::string> JsonSchemaGrammarBuilder::TypedExpr(const Json& s, const std::string& type,
                                                          const std::string& path) {
  if (type == "object") return ObjectExpr(s, path);
  if (type == "array") return ArrayExpr(s, path);
  if (type == "string") return StringExpr(s, path);
  if (type == "integer") return IntegerExpr(s, path);
  for (const char* key : {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"}) {
    if (s.contains(key))
      return SchemaError(path, std::string("keyword '") + key + "' is supported for type integer only");
  }
  if (type == "number") return Use("json-number");
  if (type == "boolean") return Use("json-bool");
  if (type == "null") return Use("json-null");
  return SchemaError(path, "unknown type '" + type + "'");
}

StatusOr<std::string> JsonSchemaGrammarBuilder::ObjectExpr(const Json& s, const std::string& path) {
  auto props = s.find("properties");
  auto additional = s.find("additionalProperties");
  if (props == s.end() && additional == s.end() && !s.contains("required")) return Use("json-object");
  if (props != s.end() && !props->is_object()) return SchemaError(path, "'properties' must be an object");
  std::set<std::string> required;
  if (auto r = s.find("required"); r != s.end()) {
    if (!r->is_array()) return SchemaError(path, "'required' must be an array of strings");
    for (const Json& k : *r) {
      if (!k.is_string()) return SchemaError(path, "'required' must be an array of strings");
      required.insert(k.get<std::string>());
    }
  }
  // Listed properties in order, then required keys that `properties` does not describe.
  std::vector<std::pair<std::string, const Json*>> keys;
  static const Json kAny = true;
  if (props != s.end()) {
    for (auto it = props->begin(); it != props->end(); ++it) keys.emplace_back(it.key(), &it.value());
  }
  for (const std::string& k : required) {
    if (props == s.end() || !props->contains(k)) keys.emplace_back(k, &kAny);
  }
  const std::string base = NewRuleName(path.empty() ? "obj" : path.substr(path.rfind('/') + 1));
  Use("ws");
  // Further keys: additionalProperties true or a schema.
  std::string extra;
  if (additional != s.end() && !(additional->is_boolean() && !additional->get<bool>())) {
    ISV_ASSIGN_OR_RETURN(std::string value, Expr(*additional, path + "/additionalProperties"));
    extra = base + "-extra";
    AddRule(extra, Use("json-string") + " ws \":\" ws " + value + " ws");
  }
  const size_t n = keys.size();
  // rest-i: keys i.. after at least one key was written (each with a leading comma);
  // first-i: keys i.. when none was written yet.
  auto rest = [&](size_t i) { return base + "-rest" + std::to_string(i); };
  auto first = [&](size_t i) { return base + "-first" + std::to_string(i); };
  std::vector<std::pair<std::string, std::string>> object_rules;
  object_rules.emplace_back(rest(n), extra.empty() ? "" : "(\",\" ws " + extra + ")*");
  object_rules.emplace_back(first(n), extra.empty() ? "" : "(" + extra + " (\",\" ws " + extra + ")*)?");
  for (size_t i = n; i-- > 0;) {
    const std::string& key = keys[i].first;
    ISV_ASSIGN_OR_RETURN(std::string value, Expr(*keys[i].second, path + "/properties/" + Escape(key)));
    std::string kv = base + "-kv" + std::to_string(i);
    AddRule(kv, Literal(Json(key).dump()) + " ws \":\" ws " + value + " ws");
    if (required.count(key)) {
      object_rules.emplace_back(rest(i), "\",\" ws " + kv + " " + rest(i + 1));
      object_rules.emplace_back(first(i), kv + " " + rest(i + 1));
    } else {
      object_rules.emplace_back(rest(i), "(\",\" ws " + kv + ")? " + rest(i + 1));
      object_rules.emplace_back(first(i), kv + " " + rest(i + 1) + " | " + first(i + 1));
    }
  }
  for (auto& [name, body] : object_rules) AddRule(name, body);
  AddRule(base, "\"{\" ws " + first(0) + " \"}\"");
  return base;
}

StatusOr<std::string> JsonSchemaGrammarBuilder::ArrayExpr(const Json& s, const std::string& path) {
  ISV_ASSIGN_OR_RETURN(int min, ReadCount(s, "minItems", path, 0));
  ISV_ASSIGN_OR_RETURN(int max, ReadCount(s, "maxItems", path, -1));
  if (max >= 0 && max < min) return SchemaError(path, "'maxItems' is below 'minItems'");
  std::string item = Use("json-value");
  if (auto it = s.find("items"); it != s.end()) {
    if (it->is_array()) return SchemaError(path, "'items' as an array (tuple validation) is not supported");
    ISV_ASSIGN_OR_RETURN(item, Expr(*it, path + "/items"));
  }
  Use("ws");
  const std::string name = NewRuleName((path.empty() ? "array" : path.substr(path.rfind('/') + 1)) + "-item");
  AddRule(name, item + " ws");
  const std::string more = "\",\" ws " + name;
  std::string body;
  if (max == 0) {
    body = "\"[\" ws \"]\"";
  } else if (min == 0) {
    body = "\"[\" ws (" + name + " " + Repeat(more, 0, max < 0 ? -1 : max - 1) + ")? \"]\"";
  } else {
    body = "\"[\" ws " + name + " " + Repeat(more, min - 1, max < 0 ? -1 : max - 1) + " \"]\"";
  }
  const std::string array = NewRuleName(path.empty() ? "array" : path.substr(path.rfind('/') + 1));
  AddRule(array, body);
  return array;
}

StatusOr<std::string> JsonSchemaGrammarBuilder::StringExpr(const Json& s, const std::string& path) {
  ISV_ASSIGN_OR_RETURN(int min, ReadCount(s, "minLength", path, 0));
  ISV_ASSIGN_OR_RETURN(int max, ReadCount(s, "maxLength", path, -1));
  if (max >= 0 && max < min) return SchemaError(path, "'maxLength' is below 'minLength'");
  if (auto pat = s.find("pattern"); pat != s.end()) {
    if (!pat->is_string()) return SchemaError(path, "'pattern' must be a string");
    if (s.contains("minLength") || s.contains("maxLength") || s.contains("format"))
      return SchemaError(path, "'pattern' together with 'minLength' / 'maxLength' / 'format' is not supported");
    StatusOr<RegexGbnf> r = RegexToJsonStringGbnf(pat->get<std::string>());
    if (!r.ok()) return SchemaError(path, std::string(r.status().message()));
    if (r->uses_json_char) Use("json-char");
    return r->expr;
  }
  if (auto f = s.find("format"); f != s.end()) {
    if (s.contains("minLength") || s.contains("maxLength"))
      return SchemaError(path, "'format' together with 'minLength' / 'maxLength' is not supported");
    const std::string format = f->is_string() ? f->get<std::string>() : "";
    if (format == "date") return "\"\\\"\" " + Use("json-date") + " \"\\\"\"";
    if (format == "time") return "\"\\\"\" " + Use("json-time") + " \"\\\"\"";
    if (format == "date-time") return "\"\\\"\" " + Use("json-date") + " \"T\" " + Use("json-time") + " \"\\\"\"";
    if (format == "uuid") {
      std::string h = Use("json-hex");
      return "\"\\\"\" " + h + "{8} \"-\" " + h + "{4} \"-\" " + h + "{4} \"-\" " + h + "{4} \"-\" " + h + "{12} \"\\\"\"";
    }
    return SchemaError(path, "'format' " + f->dump() + " is not supported (date, time, date-time, uuid are)");
  }
  if (min == 0 && max < 0) return Use("json-string");
  Use("json-char");
  return "\"\\\"\" " + Repeat("json-char", min, max) + " \"\\\"\"";
}

StatusOr<std::string> JsonSchemaToGbnf(const nlohmann::ordered_json& schema) {
  JsonSchemaGrammarBuilder b;
  ISV_ASSIGN_OR_RETURN(std::string expr, b.Add(schema, "schema"));
  b.AddRule("root", expr);
  return b.Text();
}

}  // namespace isv
