// JSON Schema -> grammar: instances the schema allows are accepted whole, instances it forbids are
// refused; unsupported keywords are errors naming them; tool-call grammars per format.
#include "engine/sampling/json_schema_grammar.h"

#include <gtest/gtest.h>

#include "engine/sampling/grammar.h"
#include "engine/sampling/tool_call_grammar.h"

namespace isv {
namespace {

using Json = nlohmann::ordered_json;

std::shared_ptr<const Grammar> FromSchema(const std::string& schema_text) {
  StatusOr<std::string> gbnf = JsonSchemaToGbnf(Json::parse(schema_text));
  EXPECT_TRUE(gbnf.ok()) << gbnf.status().message();
  if (!gbnf.ok()) return nullptr;
  StatusOr<std::shared_ptr<const Grammar>> g = Grammar::Parse(*gbnf);
  EXPECT_TRUE(g.ok()) << g.status().message() << "\n" << *gbnf;
  return g.ok() ? *g : nullptr;
}

bool Accepts(const Grammar& g, std::string_view text) {
  GrammarMatcher m(g);
  return m.Feed(text) && m.can_end();
}

std::string SchemaError(const std::string& schema_text) {
  StatusOr<std::string> gbnf = JsonSchemaToGbnf(Json::parse(schema_text));
  return gbnf.ok() ? "" : std::string(gbnf.status().message());
}

TEST(JsonSchemaGrammarTest, ObjectWithRequiredAndOptionalProperties) {
  auto g = FromSchema(R"({"type": "object",
      "properties": {"name": {"type": "string"}, "age": {"type": "integer"}, "tags": {"type": "array", "items": {"type": "string"}}},
      "required": ["name", "age"], "additionalProperties": false})");
  ASSERT_TRUE(g);
  EXPECT_TRUE(Accepts(*g, R"({"name":"Ann","age":31})"));
  EXPECT_TRUE(Accepts(*g, R"({"name": "Ann", "age": -4, "tags": ["a", "b\"c"]})"));
  EXPECT_TRUE(Accepts(*g, "{\n  \"name\": \"\\u00e9\",\n  \"age\": 0\n}"));
  EXPECT_FALSE(Accepts(*g, R"({"name":"Ann"})"));                    // missing required age
  EXPECT_FALSE(Accepts(*g, R"({"age":3,"name":"Ann"})"));            // order as given
  EXPECT_FALSE(Accepts(*g, R"({"name":"Ann","age":3.5})"));          // integer
  EXPECT_FALSE(Accepts(*g, R"({"name":"Ann","age":01})"));           // no leading zero
  EXPECT_FALSE(Accepts(*g, R"({"name":"Ann","age":3,"x":1})"));      // no additional properties
  EXPECT_FALSE(Accepts(*g, R"({"name":"Ann","age":3,})"));           // trailing comma
  EXPECT_FALSE(Accepts(*g, R"({"name":"Ann","age":3,"tags":[1]})"));  // item type
  EXPECT_FALSE(Accepts(*g, R"({"name":"a\qb","age":3})"));           // bad escape
}

TEST(JsonSchemaGrammarTest, AllOptionalPropertiesAndAdditional) {
  auto g = FromSchema(R"({"properties": {"a": {"type": "boolean"}, "b": {"type": "null"}}})");
  ASSERT_TRUE(g);
  EXPECT_TRUE(Accepts(*g, "{}"));
  EXPECT_TRUE(Accepts(*g, R"({"b":null})"));
  EXPECT_TRUE(Accepts(*g, R"({"a":true,"b":null})"));
  EXPECT_FALSE(Accepts(*g, R"({"a":1})"));
  auto extra = FromSchema(R"({"properties": {"a": {"type": "boolean"}}, "additionalProperties": {"type": "number"}})");
  ASSERT_TRUE(extra);
  EXPECT_TRUE(Accepts(*extra, R"({"a":false,"x":1.5e3,"y":-2})"));
  EXPECT_TRUE(Accepts(*extra, R"({"x":1})"));
  EXPECT_FALSE(Accepts(*extra, R"({"a":false,"x":"s"})"));
  auto any = FromSchema(R"({"type": "object"})");
  ASSERT_TRUE(any);
  EXPECT_TRUE(Accepts(*any, R"({"k":[1,{"z":null}],"s":"t"})"));
  EXPECT_FALSE(Accepts(*any, "[1]"));
}

TEST(JsonSchemaGrammarTest, EnumConstAnyOfTypeArrays) {
  auto g = FromSchema(R"({"type": "object", "properties": {
      "color": {"enum": ["red", "green", 3, null]},
      "kind": {"const": "fixed"},
      "v": {"anyOf": [{"type": "string", "maxLength": 2}, {"type": "boolean"}]},
      "w": {"type": ["integer", "null"]}},
      "required": ["color", "kind", "v", "w"]})");
  ASSERT_TRUE(g);
  EXPECT_TRUE(Accepts(*g, R"({"color":"red","kind":"fixed","v":"ab","w":null})"));
  EXPECT_TRUE(Accepts(*g, R"({"color":3,"kind":"fixed","v":true,"w":12})"));
  EXPECT_TRUE(Accepts(*g, R"({"color":null,"kind":"fixed","v":"","w":-1})"));
  EXPECT_FALSE(Accepts(*g, R"({"color":"blue","kind":"fixed","v":true,"w":1})"));  // not in enum
  EXPECT_FALSE(Accepts(*g, R"({"color":"red","kind":"other","v":true,"w":1})"));   // const
  EXPECT_FALSE(Accepts(*g, R"({"color":"red","kind":"fixed","v":"abc","w":1})"));  // maxLength 2
  EXPECT_FALSE(Accepts(*g, R"({"color":"red","kind":"fixed","v":true,"w":1.5})"));
}

TEST(JsonSchemaGrammarTest, ArraysWithBounds) {
  auto g = FromSchema(R"({"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 3})");
  ASSERT_TRUE(g);
  EXPECT_FALSE(Accepts(*g, "[]"));
  EXPECT_FALSE(Accepts(*g, "[1]"));
  EXPECT_TRUE(Accepts(*g, "[1, 2.5]"));
  EXPECT_TRUE(Accepts(*g, "[1,2,3e-2]"));
  EXPECT_FALSE(Accepts(*g, "[1,2,3,4]"));
  auto e = FromSchema(R"({"type": "array", "maxItems": 0})");
  ASSERT_TRUE(e);
  EXPECT_TRUE(Accepts(*e, "[ ]"));
  EXPECT_FALSE(Accepts(*e, "[1]"));
}

TEST(JsonSchemaGrammarTest, RefsAndRecursion) {
  auto g = FromSchema(R"({"$ref": "#/$defs/node", "$defs": {"node": {"type": "object",
      "properties": {"v": {"type": "integer"}, "kids": {"type": "array", "items": {"$ref": "#/$defs/node"}}},
      "required": ["v"], "additionalProperties": false}}})");
  ASSERT_TRUE(g);
  EXPECT_TRUE(Accepts(*g, R"({"v":1})"));
  EXPECT_TRUE(Accepts(*g, R"({"v":1,"kids":[{"v":2,"kids":[]},{"v":3,"kids":[{"v":4}]}]})"));
  EXPECT_FALSE(Accepts(*g, R"({"v":1,"kids":[{"kids":[]}]})"));  // inner node lacks v
  auto d = FromSchema(R"({"type": "object", "properties": {"p": {"$ref": "#/definitions/pt"}}, "required": ["p"],
      "definitions": {"pt": {"type": "array", "items": {"type": "integer"}, "minItems": 2, "maxItems": 2}}})");
  ASSERT_TRUE(d);
  EXPECT_TRUE(Accepts(*d, R"({"p":[1,2]})"));
  EXPECT_FALSE(Accepts(*d, R"({"p":[1]})"));
}

TEST(JsonSchemaGrammarTest, StringLengthsAndFormats) {
  auto g = FromSchema(R"({"type": "object", "properties": {
      "code": {"type": "string", "minLength": 2, "maxLength": 3},
      "day": {"type": "string", "format": "date"},
      "id": {"type": "string", "format": "uuid"},
      "at": {"type": "string", "format": "date-time"}}, "required": ["code", "day", "id", "at"]})");
  ASSERT_TRUE(g);
  const std::string ok_tail = R"("day":"2024-02-29","id":"123e4567-e89b-12d3-a456-426614174000","at":"2024-01-01T12:30:00Z"})";
  EXPECT_TRUE(Accepts(*g, R"({"code":"ab",)" + ok_tail));
  EXPECT_TRUE(Accepts(*g, R"({"code":"a\nb",)" + ok_tail));  // an escape is one character
  EXPECT_FALSE(Accepts(*g, R"({"code":"a",)" + ok_tail));
  EXPECT_FALSE(Accepts(*g, R"({"code":"abcd",)" + ok_tail));
  EXPECT_FALSE(Accepts(*g, R"({"code":"ab","day":"2024-13-01","id":"123e4567-e89b-12d3-a456-426614174000","at":"2024-01-01T12:30:00Z"})"));
  EXPECT_FALSE(Accepts(*g, R"({"code":"ab","day":"2024-02-29","id":"123e4567e89b12d3a456426614174000","at":"2024-01-01T12:30:00Z"})"));
}

TEST(JsonSchemaGrammarTest, WhitespaceIsBounded) {
  auto g = FromSchema(R"({"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]})");
  ASSERT_TRUE(g);
  EXPECT_TRUE(Accepts(*g, "{\n" + std::string(20, ' ') + "\"a\": 1\n}"));
  EXPECT_TRUE(Accepts(*g, "{\n\t\"a\" : 1 }"));
  EXPECT_FALSE(GrammarMatcher(*g).Feed("{\n" + std::string(21, ' ')));
  EXPECT_FALSE(GrammarMatcher(*g).Feed("{  "));    // one space at most
  EXPECT_FALSE(GrammarMatcher(*g).Feed("{\n\n"));  // one newline at most
  auto n = FromSchema(R"({"type": "number"})");
  ASSERT_TRUE(n);
  EXPECT_TRUE(Accepts(*n, "1234567890123456"));
  EXPECT_FALSE(Accepts(*n, "12345678901234567"));  // at most 16 integer digits
}

TEST(JsonSchemaGrammarTest, IntegerRangesAreExact) {
  // Every integer in a window around the bounds, against the arithmetic truth.
  struct Case {
    const char* schema;
    int64_t lo, hi;
  };
  for (const Case& c : {Case{R"({"type": "integer", "minimum": 0})", 0, 9999999999999999},
                        Case{R"({"type": "integer", "minimum": 17, "maximum": 4321})", 17, 4321},
                        Case{R"({"type": "integer", "minimum": -250, "maximum": -13})", -250, -13},
                        Case{R"({"type": "integer", "minimum": -5, "maximum": 105})", -5, 105},
                        Case{R"({"type": "integer", "exclusiveMinimum": 9, "exclusiveMaximum": 100})", 10, 99},
                        Case{R"({"type": "integer", "minimum": 0.5, "maximum": 20.9})", 1, 20},
                        Case{R"({"type": "integer", "maximum": 3})", -9999999999999999, 3}}) {
    auto g = FromSchema(c.schema);
    ASSERT_TRUE(g) << c.schema;
    for (int64_t v = -300; v <= 5000; ++v) {
      EXPECT_EQ(Accepts(*g, std::to_string(v)), v >= c.lo && v <= c.hi) << c.schema << " " << v;
    }
    for (const char* edge : {"9999999999999999", "-9999999999999999", "1000000000000000", "-1000000000000000"}) {
      const int64_t v = std::stoll(edge);
      EXPECT_EQ(Accepts(*g, edge), v >= c.lo && v <= c.hi) << c.schema << " " << edge;
    }
    EXPECT_FALSE(Accepts(*g, "10000000000000000")) << c.schema;  // 17 digits
    EXPECT_FALSE(Accepts(*g, "007")) << c.schema;  // no leading zeros
    EXPECT_FALSE(Accepts(*g, "-0")) << c.schema;
  }
}

TEST(JsonSchemaGrammarTest, UnsupportedKeywordsAreNamed) {
  auto has = [](const std::string& schema, const std::string& want) {
    std::string e = SchemaError(schema);
    EXPECT_NE(e.find(want), std::string::npos) << schema << "\n-> " << e;
  };
  has(R"({"type": "string", "contentEncoding": "base64"})", "keyword 'contentEncoding' is not supported");
  has(R"j({"type": "string", "pattern": "(?!x)"})j", "lookaround");
  has(R"({"type": "object", "properties": {"n": {"type": "number", "minimum": 0}}})",
      "at '/properties/n': keyword 'minimum' is supported for type integer only");
  has(R"({"type": "integer", "multipleOf": 2})", "keyword 'multipleOf' is not supported");
  has(R"({"type": "integer", "minimum": 5, "maximum": 4})", "no integer lies between");
  has(R"({"type": "array", "uniqueItems": true})", "'uniqueItems'");
  has(R"({"type": "array", "prefixItems": [{"type": "string"}]})", "'prefixItems'");
  has(R"({"type": "string", "format": "email"})", "'format' \"email\" is not supported");
  has(R"({"type": "thing"})", "unknown type 'thing'");
  has(R"({"$ref": "#/$defs/missing"})", "points nowhere");
  has(R"({"$ref": "https://example.com/s.json"})", "is not supported");
  has(R"({"$ref": "#/$defs/a~2b", "$defs": {}})", "not a valid JSON pointer");
  has(R"({"$ref": "#/$defs/x/items/7", "$defs": {"x": {"items": []}}})", "points nowhere");
  has(R"({"allOf": [{"type": "string"}, {"maxLength": 3}]})", "'allOf' with more than one schema");
  has(R"({"type": "array", "maxItems": 5000})", "'maxItems' above 1000");
  has(R"(false)", "allows no value");
  // Annotations are fine.
  EXPECT_EQ(SchemaError(R"({"title": "T", "description": "d", "type": "string", "default": "x"})"), "");
}

TEST(ToolCallGrammarTest, HermesNamedFunctionWithSchemaArguments) {
  Json tools = Json::parse(R"([
    {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object",
      "properties": {"city": {"type": "string"}, "unit": {"enum": ["c", "f"]}}, "required": ["city", "unit"]}}},
    {"type": "function", "function": {"name": "noop"}}])");
  StatusOr<std::shared_ptr<const Grammar>> g = BuildToolCallGrammar(tools, "get_weather", ToolCallFormat::kHermes);
  ASSERT_TRUE(g.ok()) << g.status().message();
  EXPECT_TRUE(Accepts(**g, "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\", \"unit\": \"c\"}}\n</tool_call>"));
  EXPECT_FALSE(Accepts(**g, "<tool_call>\n{\"name\": \"noop\", \"arguments\": {}}\n</tool_call>"));
  EXPECT_FALSE(Accepts(**g, "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>"));
  EXPECT_FALSE(Accepts(**g, "Sure! <tool_call>"));
  // required: any tool; a tool without parameters takes any object.
  StatusOr<std::shared_ptr<const Grammar>> any = BuildToolCallGrammar(tools, "", ToolCallFormat::kHermes);
  ASSERT_TRUE(any.ok()) << any.status().message();
  EXPECT_TRUE(Accepts(**any, "<tool_call>\n{\"name\":\"noop\",\"arguments\":{\"x\":[1]}}\n</tool_call>"));
  EXPECT_FALSE(Accepts(**any, "<tool_call>\n{\"name\":\"other\",\"arguments\":{}}\n</tool_call>"));
}

TEST(ToolCallGrammarTest, Llama3AndMistralFormatsAndErrors) {
  Json tools = Json::parse(R"([{"type": "function", "function": {"name": "add", "parameters": {"type": "object",
      "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}}, "required": ["a", "b"]}}}])");
  StatusOr<std::shared_ptr<const Grammar>> l = BuildToolCallGrammar(tools, "", ToolCallFormat::kLlama3);
  ASSERT_TRUE(l.ok()) << l.status().message();
  EXPECT_TRUE(Accepts(**l, R"({"name": "add", "parameters": {"a": 1, "b": 2}})"));
  EXPECT_FALSE(Accepts(**l, R"({"name": "add", "arguments": {"a": 1, "b": 2}})"));
  StatusOr<std::shared_ptr<const Grammar>> m = BuildToolCallGrammar(tools, "add", ToolCallFormat::kMistral);
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_TRUE(Accepts(**m, R"([TOOL_CALLS][{"name": "add", "arguments": {"a": 1, "b": 2}}])"));
  EXPECT_FALSE(Accepts(**m, R"([{"name": "add", "arguments": {"a": 1, "b": 2}}])"));
  StatusOr<std::shared_ptr<const Grammar>> q = BuildToolCallGrammar(tools, "", ToolCallFormat::kQwen3Coder);
  ASSERT_FALSE(q.ok());
  EXPECT_EQ(q.status().code(), StatusCode::kUnimplemented);
  EXPECT_NE(q.status().message().find("'qwen3-coder'"), std::string::npos);
  Json bad = Json::parse(R"([{"type": "function", "function": {"name": "f", "parameters": {"type": "object",
      "properties": {"s": {"type": "integer", "multipleOf": 2}}}}}])");
  StatusOr<std::shared_ptr<const Grammar>> b = BuildToolCallGrammar(bad, "", ToolCallFormat::kHermes);
  ASSERT_FALSE(b.ok());
  EXPECT_NE(b.status().message().find("tools[0].function.parameters"), std::string::npos);
  EXPECT_NE(b.status().message().find("'multipleOf'"), std::string::npos);
}

// A client's schema nested absurdly deep is refused with an error, not a stack overflow; 60 levels
// (below the limit) still compile and accept a matching instance.
TEST(JsonSchemaGrammarTest, NestingDepthIsBounded) {
  auto nested = [](int levels) {
    std::string s;
    for (int i = 0; i < levels; ++i) s += R"({"type":"array","items":)";
    s += R"({"type":"integer"})";
    for (int i = 0; i < levels; ++i) s += "}";
    return s;
  };
  EXPECT_NE(SchemaError(nested(100000)).find("levels deep"), std::string::npos);
  std::shared_ptr<const Grammar> g = FromSchema(nested(60));
  ASSERT_NE(g, nullptr);
  EXPECT_TRUE(Accepts(*g, std::string(60, '[') + "7" + std::string(60, ']')));
  EXPECT_FALSE(Accepts(*g, std::string(59, '[') + "7" + std::string(59, ']')));
}

}  // namespace
}  // namespace isv
