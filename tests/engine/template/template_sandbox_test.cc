// Sandbox limits and error reporting: runaway templates end with a clean Status, never a hang,
// a crash or unbounded memory.
#include <gtest/gtest.h>

#include <string>

#include <nlohmann/json.hpp>

#include "engine/template/template.h"

namespace isv::jinja {
namespace {

StatusOr<std::string> RenderWith(const std::string& source, const RenderOptions& options) {
  ISV_ASSIGN_OR_RETURN(Template t, Template::Parse(source));
  return t.Render(nlohmann::ordered_json::object(), options);
}

TEST(TemplateSandboxTest, HugeRangeIsRefused) {
  StatusOr<std::string> out = RenderWith("{% for i in range(1000000000) %}x{% endfor %}", RenderOptions{});
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), StatusCode::kResourceExhausted) << out.status().ToString();
}

TEST(TemplateSandboxTest, NestedLoopsHitTheIterationLimit) {
  RenderOptions o;
  o.max_loop_iterations = 10000;
  StatusOr<std::string> out =
      RenderWith("{% for i in range(5000) %}{% for j in range(5000) %}{% endfor %}{% endfor %}", o);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), StatusCode::kResourceExhausted);
  EXPECT_NE(out.status().message().find("loop iteration limit"), std::string::npos) << out.status().ToString();
}

TEST(TemplateSandboxTest, IterationLimitAllowsWorkBelowIt) {
  RenderOptions o;
  o.max_loop_iterations = 10000;
  StatusOr<std::string> out = RenderWith("{% for i in range(100) %}{% for j in range(99) %}{% endfor %}{% endfor %}ok", o);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(*out, "ok");
}

TEST(TemplateSandboxTest, InfiniteMacroRecursionStops) {
  StatusOr<std::string> out =
      RenderWith("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}", RenderOptions{});
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), StatusCode::kResourceExhausted);
  EXPECT_NE(out.status().message().find("recursion"), std::string::npos) << out.status().ToString();
}

TEST(TemplateSandboxTest, HugeOutputStops) {
  RenderOptions o;
  o.max_output_bytes = 1 << 20;
  StatusOr<std::string> out = RenderWith("{% for i in range(100000) %}{{ 'x' * 1000 }}{% endfor %}", o);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), StatusCode::kResourceExhausted) << out.status().ToString();
}

TEST(TemplateSandboxTest, HugeStringRepetitionStops) {
  StatusOr<std::string> out = RenderWith("{{ 'x' * 100000000000 }}", RenderOptions{});
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), StatusCode::kResourceExhausted) << out.status().ToString();
}

TEST(TemplateSandboxTest, DeepNestingIsASyntaxErrorNotAStackOverflow) {
  std::string deep = "{{ " + std::string(100000, '(') + "1" + std::string(100000, ')') + " }}";
  StatusOr<Template> t = Template::Parse(deep);
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.status().message().find("nesting too deep"), std::string::npos) << t.status().ToString();
  std::string nots = "{{ " + std::string(0, ' ');
  for (int i = 0; i < 100000; ++i) nots += "not ";
  StatusOr<Template> t2 = Template::Parse(nots + "1 }}");
  EXPECT_FALSE(t2.ok());
}

// Python ints are unbounded; ours are 64-bit. Results that do not fit are an error, never a wrap.
TEST(TemplateSandboxTest, IntegerOverflowIsAnError) {
  for (const char* src : {"{{ 2 ** 70 }}", "{{ 9223372036854775807 + 1 }}", "{{ 3037000500 * 3037000500 }}",
                          "{{ -9223372036854775807 - 2 }}", "{{ 1e300 | int }}"}) {
    StatusOr<std::string> out = RenderWith(src, RenderOptions{});
    ASSERT_FALSE(out.ok()) << src << " gave " << *out;
    EXPECT_EQ(out.status().message().rfind("OverflowError", 0), 0u) << out.status().ToString();
  }
  StatusOr<std::string> out = RenderWith("{{ -(2 ** 62) * 2 }} {{ 2 ** 62 }} {{ (-1) ** 1001 }}", RenderOptions{});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(*out, "-9223372036854775808 4611686018427387904 -1");
}

TEST(TemplateSandboxTest, NoFileAccessStatements) {
  for (const char* src : {"{% include 'x.txt' %}", "{% import 'x' as y %}", "{% extends 'base' %}"}) {
    StatusOr<Template> t = Template::Parse(src);
    ASSERT_FALSE(t.ok()) << src;
    EXPECT_NE(t.status().message().find("TemplateSyntaxError"), std::string::npos) << t.status().ToString();
  }
}

TEST(TemplateSandboxTest, ErrorsCarryLineAndColumn) {
  StatusOr<std::string> out = RenderWith("a\nb\n  {{ raise_exception('bad input') }}\n", RenderOptions{});
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(out.status().message(), "TemplateError: bad input (at line 3, column 6)");
  StatusOr<Template> t = Template::Parse("ok\n{% if %}");
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.status().message().find("line 2"), std::string::npos) << t.status().ToString();
}

TEST(TemplateSandboxTest, UnterminatedConstructsAreSyntaxErrors) {
  for (const char* src : {"{{ 'abc }}", "{{ x", "{% for x in y %}", "{# never closed", "{% macro m( %}"}) {
    StatusOr<Template> t = Template::Parse(src);
    EXPECT_FALSE(t.ok()) << src;
  }
}

}  // namespace
}  // namespace isv::jinja
