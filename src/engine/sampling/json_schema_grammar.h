// JSON Schema -> GBNF (engine/sampling/grammar.h): the subset of JSON Schema that OpenAI's
// structured outputs and llama-server accept, turned into a grammar whose sentences are the JSON
// texts the schema allows (compact or with bounded whitespace).
//
// Supported: type (object, array, string, number, integer, boolean, null, or an array of these),
// properties + required (properties appear in the order given; optional ones may be left out),
// additionalProperties (absent or false: no other keys when `properties` is given; true or a
// schema: further keys after the listed ones; an object schema with neither `properties` nor
// `additionalProperties` is any object), enum, const, items, minItems / maxItems (<= 1000),
// anyOf / oneOf (as alternatives), allOf of one schema, $ref to "#", "#/$defs/..." or
// "#/definitions/..." (recursion allowed), string minLength / maxLength (<= 1000) and format
// date / time / date-time / uuid, string pattern (regex_grammar.h), integer minimum / maximum /
// exclusiveMinimum / exclusiveMaximum (exact digit-range rules; bounds on `number` are refused).
// Annotations (title, description, default, examples, $schema, $id, $comment, deprecated,
// readOnly, writeOnly) are ignored. Every other keyword (multipleOf, uniqueItems, prefixItems,
// not, if, ...) is an InvalidArgument error naming it and where it is, so that a constraint is
// never silently dropped.
//
// Bounds so that a model cannot run on forever inside one value: between JSON tokens nothing, one
// space, or a newline and up to 20 spaces / tabs (compact and pretty-printed JSON both fit); at
// most 16 integer digits, 16 fraction digits and 3 exponent digits.
//
// Free functions / a single-use builder; thread-compatible.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/status.h"

namespace isv {

// Builds one GBNF text out of several schemas (and hand-written rules around them).
class JsonSchemaGrammarBuilder {
 public:
  // Converts `schema` into rules (names prefixed with `prefix`, which must be a GBNF rule name)
  // and returns a GBNF expression for it (usually a rule name). $ref resolves inside `schema`.
  // Errors: InvalidArgument naming the unsupported keyword or bad value and its JSON pointer.
  StatusOr<std::string> Add(const nlohmann::ordered_json& schema, const std::string& prefix);
  // Adds a hand-written rule `name ::= body`.
  void AddRule(const std::string& name, const std::string& body);
  // The whole grammar text (rules in the order added, then the shared JSON primitives used).
  std::string Text() const;

  // A GBNF string literal matching exactly `bytes`.
  static std::string Literal(std::string_view bytes);
  // The expression for "any JSON object" (json-object), marking the primitive as used.
  std::string AnyObject();
  // Marks a shared rule ("ws", "json-value", ...) as used (printed by Text()); returns its name.
  std::string Use(const std::string& primitive);

 private:
  StatusOr<std::string> Expr(const nlohmann::ordered_json& s, const std::string& path);
  StatusOr<std::string> TypedExpr(const nlohmann::ordered_json& s, const std::string& type,
                                  const std::string& path);
  StatusOr<std::string> ObjectExpr(const nlohmann::ordered_json& s, const std::string& path);
  StatusOr<std::string> ArrayExpr(const nlohmann::ordered_json& s, const std::string& path);
  StatusOr<std::string> StringExpr(const nlohmann::ordered_json& s, const std::string& path);
  StatusOr<std::string> IntegerExpr(const nlohmann::ordered_json& s, const std::string& path);
  StatusOr<std::string> Ref(const std::string& ref, const std::string& path);
  std::string NewRuleName(const std::string& hint);

  std::vector<std::pair<std::string, std::string>> rules_;
  std::set<std::string> names_;
  std::set<std::string> used_;
  std::map<std::string, std::string> refs_;  // "$ref" value -> rule name (per Add)
  const nlohmann::ordered_json* root_ = nullptr;
  std::string prefix_;
  int counter_ = 0;
  int depth_ = 0;  // nesting of Expr() calls (a client's schema must not exhaust the stack)
};

// The GBNF text for one schema (root rule `root`).
StatusOr<std::string> JsonSchemaToGbnf(const nlohmann::ordered_json& schema);

}  // namespace isv
