// Unit tests of the Jinja interpreter, feature by feature. Each expectation was written by hand
// from Jinja2's documented behaviour and checked against Jinja2 3.1.6 configured as Hugging Face
// renders chat templates (ImmutableSandboxedEnvironment, trim_blocks, lstrip_blocks, loopcontrols,
// json.dumps as tojson, strftime_now fixed at 2024-07-26).
#include <gtest/gtest.h>

#include <string>

#include <nlohmann/json.hpp>

#include "engine/template/template.h"

namespace isv::jinja {
namespace {

struct RenderCase {
  const char* name;
  const char* source;
  const char* context;   // JSON object
  const char* expected;  // output, or for error cases the Python exception class (message prefix)
};

StatusOr<std::string> RenderText(const std::string& source, const std::string& context) {
  ISV_ASSIGN_OR_RETURN(Template t, Template::Parse(source));
  return t.Render(nlohmann::ordered_json::parse(context), RenderOptions{});
}

const RenderCase kRenderCases[] = {
    {"IfElifElse",
     "{% if x > 2 %}big{% elif x == 2 %}two{% else %}small{% endif %}",
     "{\"x\": 2}",
     "two"},
    {"ForLoopVars",
     "{% for i in xs %}{{ loop.index }}{{ loop.index0 }}{{ loop.revindex }}{{ loop.first }}{{ loop.last }}{{ loop.length }};{% endfor %}",
     "{\"xs\": [\"a\", \"b\"]}",
     "102TrueFalse2;211FalseTrue2;"},
    {"ForPrevNext",
     "{% for i in [1,2,3] %}{{ loop.previtem|default('-') }}{{ loop.nextitem|default('-') }} {% endfor %}",
     "{}",
     "-2 13 2- "},
    {"ForElse",
     "{% for i in [] %}x{% else %}empty{% endfor %}",
     "{}",
     "empty"},
    {"ForFilter",
     "{% for i in range(10) if i is odd %}{{ i }}{% if loop.last %}/{{ loop.length }}{% endif %}{% endfor %}",
     "{}",
     "13579/5"},
    {"ForUnpackDictItems",
     "{% for k, v in d.items() %}{{ k }}={{ v }},{% endfor %}",
     "{\"d\": {\"b\": 1, \"a\": 2}}",
     "b=1,a=2,"},
    {"ForOverDictGivesKeys",
     "{% for k in d %}{{ k }}{% endfor %}",
     "{\"d\": {\"x\": 1, \"y\": 2}}",
     "xy"},
    {"BreakContinue",
     "{% for i in range(10) %}{% if i == 1 %}{% continue %}{% endif %}{% if i == 4 %}{% break %}{% endif %}{{ i }}{% endfor %}",
     "{}",
     "023"},
    {"LoopScopeDoesNotLeak",
     "{% set c = 0 %}{% for i in range(3) %}{% set c = c + 1 %}{{ c }}{% endfor %}|{{ c }}",
     "{}",
     "111|0"},
    {"NamespaceAssignment",
     "{% set ns = namespace(c=0, s='') %}{% for i in range(3) %}{% set ns.c = ns.c + i %}{% endfor %}{{ ns.c }}",
     "{}",
     "3"},
    {"BlockSet",
     "{% set x %}a{{ 1 + 1 }}b{% endset %}[{{ x }}]",
     "{}",
     "[a2b]"},
    {"BlockSetWithFilter",
     "{% set x | upper %}abc{% endset %}{{ x }}",
     "{}",
     "ABC"},
    {"TupleSet",
     "{% set a, b = 1, 2 %}{{ b }}{{ a }}",
     "{}",
     "21"},
    {"MacroDefaultsKwargs",
     "{% macro m(a, b='B', c=none) %}{{ a }}{{ b }}{{ c }}{% endmacro %}{{ m(1) }} {{ m(1, c=3) }} {{ m(a=5, b=6) }}",
     "{}",
     "1BNone 1B3 56None"},
    {"MacroSeesGlobals",
     "{% macro f() %}{{ y }}{% endmacro %}{% set y = 1 %}{{ f() }}{% set y = 2 %}{{ f() }}",
     "{}",
     "12"},
    {"MacroRecursion",
     "{% macro fact(n) %}{% if n <= 1 %}1{% else %}{{ n * fact(n - 1)|int }}{% endif %}{% endmacro %}{{ fact(5) }}",
     "{}",
     "120"},
    {"FilterBlock",
     "{% filter upper %}hi {{ 'there' }}{% endfilter %}",
     "{}",
     "HI THERE"},
    {"Comment",
     "a{# comment #}b",
     "{}",
     "ab"},
    {"WhitespaceControl",
     "a  {%- if true -%}  b  {%- endif -%}  c\n{{- ' d ' -}}\n e",
     "{}",
     "abc d e"},
    {"TrimAndLstripBlocks",
     "<\n  {% if true %}\n    x\n  {% endif %}\n>",
     "{}",
     "<\n    x\n>"},
    {"LstripNotForOutput",
     "  {{ 'v' }}\n",
     "{}",
     "  v"},
    {"LstripPlusOptOut",
     "  {%+ if true %}y{% endif %}",
     "{}",
     "  y"},
    {"StringEscapes",
     "{{ 'a\\'b' }}|{{ \"q\\\"\\n\" }}|{{ 'tab\\t' }}|{{ '\\u00e9' }}",
     "{}",
     "a'b|q\"\n|tab\t|é"},
    {"Arithmetic",
     "{{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % 3 }} {{ -7 % 3 }} {{ 7 / 2 }} {{ 2 ** 10 }} {{ 1 + 2 * 3 }} {{ 0.1 + 0.2 }}",
     "{}",
     "3 -4 1 2 3.5 1024 7 0.30000000000000004"},
    {"Concat",
     "{{ 'a' ~ 1 ~ none ~ true }}{{ undefined_var ~ 'x' }}",
     "{}",
     "a1NoneTruex"},
    {"Comparisons",
     "{{ 1 < 2 < 3 }} {{ 'a' in 'cat' }} {{ 3 not in [1, 2] }} {{ 1 == 1.0 }} {{ 'b' > 'a' }} {{ [1,2] == [1,2] }}",
     "{}",
     "True True True True True True"},
    {"LogicReturnsOperands",
     "{{ 0 or 'x' }} {{ 'a' and 'b' }} {{ not [] }} {{ none or [] }}",
     "{}",
     "x b True []"},
    {"Ternary",
     "{{ 'y' if x else 'n' }}{{ 'y' if not x else 'n' }}[{{ 'only' if false }}]",
     "{\"x\": true}",
     "yn[]"},
    {"AttrAndItem",
     "{{ m.role }} {{ m['content'] }} {{ xs[0] }} {{ xs[-1] }} {{ xs.1 }}",
     "{\"m\": {\"role\": \"user\", \"content\": \"hi\"}, \"xs\": [1, 2, 3]}",
     "user hi 1 3 2"},
    {"Slicing",
     "{{ s[1:3] }} {{ s[::-1] }} {{ xs[-2:] }} {{ xs[:1] }} {{ s[::2] }}",
     "{\"s\": \"héllo\", \"xs\": [1, 2, 3]}",
     "él olléh [2, 3] [1] hlo"},
    {"PrintPythonValues",
     "{{ true }} {{ none }} {{ [1, 'a', none] }} {{ {'k': 'v', 'n': 1.5} }} {{ (1,) }} {{ 1.0 }} {{ 1e-5 }}",
     "{}",
     "True None [1, 'a', None] {'k': 'v', 'n': 1.5} (1,) 1.0 1e-05"},
    {"PrintStringRepr",
     "{{ [\"it's\", 'a\"b', 'n\\n'] }}",
     "{}",
     "[\"it's\", 'a\"b', 'n\\n']"},
    {"UndefinedPrintsEmpty",
     "[{{ nothing }}][{{ m.missing }}]",
     "{\"m\": {}}",
     "[][]"},
    {"Tests",
     "{{ x is defined }} {{ y is undefined }} {{ n is none }} {{ 's' is string }} {{ 1 is number }} {{ 1 is integer }} {{ 1.5 is integer }} {{ {} is mapping }} {{ [] is iterable }} {{ 's' is sequence }} {{ true is boolean }} {{ false is false }} {{ 4 is even }} {{ 3 is odd }} {{ 3 is eq 3 }} {{ 3 is equalto(4) }} {{ x is not none }}",
     "{\"x\": 1, \"n\": null}",
     "True True True True True True False True True True True True True True True False True"},
    {"TojsonDefault",
     "{{ d | tojson }}",
     "{\"d\": {\"b\": [1, 2.5, true, null], \"a\": \"é\\\"\\n\"}}",
     "{\"b\": [1, 2.5, true, null], \"a\": \"é\\\"\\n\"}"},
    {"TojsonIndentAsciiSort",
     "{{ d | tojson(indent=2, sort_keys=true, ensure_ascii=true) }}",
     "{\"d\": {\"b\": [], \"a\": {\"x\": \"é😀\"}}}",
     "{\n  \"a\": {\n    \"x\": \"\\u00e9\\ud83d\\ude00\"\n  },\n  \"b\": []\n}"},
    {"TojsonSeparators",
     "{{ [1, {'a': 2}] | tojson(separators=(',', ':')) }}",
     "{}",
     "[1,{\"a\":2}]"},
    {"StringFilters",
     "{{ '  x  ' | trim }}|{{ 'aBc' | upper }}|{{ 'aBc' | lower }}|{{ 'hello world' | title }}|{{ 'hELLO' | capitalize }}|{{ 'aXa' | replace('a', 'b') }}|{{ 'abc' | length }}",
     "{}",
     "x|ABC|abc|Hello World|Hello|bXb|3"},
    {"ListFilters",
     "{{ xs | join(',') }}|{{ xs | first }}|{{ xs | last }}|{{ xs | length }}|{{ xs | reverse | list }}|{{ xs | sort | list }}|{{ [1, 2, 1, 3] | unique | list }}",
     "{\"xs\": [3, 1, 2]}",
     "3,1,2|3|2|3|[2, 1, 3]|[1, 2, 3]|[1, 2, 3]"},
    {"SelectAttrMap",
     "{{ ms | selectattr('role', 'equalto', 'user') | map(attribute='c') | join(' ') }}|{{ ms | rejectattr('role', 'eq', 'user') | list | length }}|{{ [1, 2, 3, 4] | select('even') | list }}|{{ [1, 2, 3] | reject('odd') | list }}|{{ ['a', 'b'] | map('upper') | list }}",
     "{\"ms\": [{\"role\": \"user\", \"c\": \"u1\"}, {\"role\": \"assistant\", \"c\": \"a1\"}, {\"role\": \"user\", \"c\": \"u2\"}]}",
     "u1 u2|1|[2, 4]|[2]|['A', 'B']"},
    {"DictFilters",
     "{{ d | items | list }}|{{ d | dictsort }}|{{ d | length }}",
     "{\"d\": {\"b\": 1, \"a\": 2}}",
     "[('b', 1), ('a', 2)]|[('a', 2), ('b', 1)]|2"},
    {"ConversionFilters",
     "{{ '42' | int + 1 }} {{ 'x' | int }} {{ '2.5' | float }} {{ 3 | string ~ 'x' }} {{ -3 | abs }} {{ 2.567 | round(2) }} {{ 2.5 | round }}",
     "{}",
     "43 0 2.5 3x 3 2.57 2.0"},
    {"DefaultFilter",
     "{{ missing | default('d') }} {{ none | default('d') }} {{ '' | default('d', true) }} {{ x | d('z') }}",
     "{\"x\": \"set\"}",
     "d None d set"},
    {"IndentFilter",
     "{{ 'a\\nb\\n\\nc' | indent(2) }}|{{ 'a\\nb' | indent(2, true) }}",
     "{}",
     "a\n  b\n\n  c|  a\n  b"},
    {"MiscFilters",
     "{{ 'one two  three' | wordcount }}|{{ 'ab' | center(6) }}|{{ [3, 1, 2] | max }}|{{ [3, 1, 2] | min }}|{{ [1, 2] | sum }}",
     "{}",
     "3|  ab  |3|1|3"},
    {"StringMethods",
     "{{ ' x '.strip() }}|{{ 'xxhixx'.strip('x') }}|{{ '  l'.lstrip() }}|{{ 'r  '.rstrip() }}|{{ 'a,b,,c'.split(',') }}|{{ ' a  b '.split() }}|{{ 'abc'.startswith('ab') }}|{{ 'abc'.endswith(('x', 'c')) }}|{{ 'aaa'.replace('a', 'b', 2) }}|{{ 'Hi'.upper() }}{{ 'Hi'.lower() }}|{{ 'hi there'.title() }}|{{ 'hello'.find('l') }}|{{ '{}-{}'.format(1, 'x') }}|{{ 'a.b.c'.split('.', 1) }}",
     "{}",
     "x|hi|l|r|['a', 'b', '', 'c']|['a', 'b']|True|True|bba|HIhi|Hi There|2|1-x|['a', 'b.c']"},
    {"DictMethods",
     "{{ d.get('a') }} {{ d.get('z') }} {{ d.get('z', 0) }} {{ d.keys() | list }} {{ d.values() | list }}",
     "{\"d\": {\"a\": 1, \"b\": 2}}",
     "1 None 0 ['a', 'b'] [1, 2]"},
    {"DictLiteralIntKeys",
     "{% set m = {0: 'zero', 512: 'x'} %}{{ m[512] }}{{ m[0] }}",
     "{}",
     "xzero"},
    {"RangeForms",
     "{{ range(3) | list }}{{ range(1, 7, 2) | list }}{{ range(3, 0, -1) | list }}",
     "{}",
     "[0, 1, 2][1, 3, 5][3, 2, 1]"},
    {"StrftimeNow",
     "{{ strftime_now('%Y-%m-%d|%d %b %Y|%B %d, %Y|%A') }}",
     "{}",
     "2024-07-26|26 Jul 2024|July 26, 2024|Friday"},
    {"SafeMarkupConcatEscapes",
     "{{ '<b>' | safe + '<i>' }}|{{ '<b>' | safe ~ '<i>' }}",
     "{}",
     "<b>&lt;i&gt;|<b><i>"},
    {"GenerationBlock",
     "{% generation %}gen{% endgeneration %}",
     "{}",
     "gen"},
    {"UnknownFilterInUntakenBranch",
     "{% if false %}{{ 1 | nosuchfilter }}{% endif %}ok",
     "{}",
     "ok"},
    {"TrailingNewlineDropped",
     "x\n",
     "{}",
     "x"},};

const RenderCase kErrorCases[] = {
    {"RaiseException", "{{ raise_exception('boom') }}", "{}", "TemplateError: boom"},
    {"AttributeOfUndefined", "{{ nothing.attr }}", "{}", "UndefinedError"},
    {"CallMissingMethod", "{{ 's'.items() }}", "{}", "UndefinedError"},
    {"IterateNone", "{% for x in none %}{% endfor %}", "{}", "TypeError"},
    {"ConcatStrDict", "{{ 'a' + {} }}", "{}", "TypeError"},
    {"ListAppendIsUnsafe", "{% set l = [] %}{% set _ = l.append(1) %}", "{}", "SecurityError"},
    {"ItemsOfString", "{% for k, v in 's' | items %}{% endfor %}", "{}", "TypeError"},
    {"UnknownFilterInTakenBranch", "{% if true %}{{ 1 | nosuchfilter }}{% endif %}", "{}", "TemplateRuntimeError"},
    {"TojsonUndefined", "{{ nothing | tojson }}", "{}", "TypeError"},
    {"SyntaxUnclosedIf", "{% if x %}a", "{}", "TemplateSyntaxError"},
    {"SyntaxBadExpression", "{{ 1 + }}", "{}", "TemplateSyntaxError"},
    {"SyntaxUnknownTag", "{% frobnicate %}", "{}", "TemplateSyntaxError"},
    {"SetAttrOnNonNamespace", "{% set d = {} %}{% set d.x = 1 %}", "{}", "TemplateRuntimeError"},
    {"DivisionByZero", "{{ 1 // 0 }}", "{}", "ZeroDivisionError"},};

class JinjaRenderTest : public testing::TestWithParam<RenderCase> {};
TEST_P(JinjaRenderTest, MatchesJinja2) {
  const RenderCase& c = GetParam();
  StatusOr<std::string> out = RenderText(c.source, c.context);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(*out, c.expected);
}

class JinjaErrorTest : public testing::TestWithParam<RenderCase> {};
TEST_P(JinjaErrorTest, FailsLikeJinja2) {
  const RenderCase& c = GetParam();
  StatusOr<std::string> out = RenderText(c.source, c.context);
  ASSERT_FALSE(out.ok()) << "rendered: " << *out;
  EXPECT_EQ(out.status().message().rfind(c.expected, 0), 0u) << out.status().ToString();
  EXPECT_NE(out.status().message().find("line 1"), std::string::npos) << out.status().ToString();
}

std::string Name(const testing::TestParamInfo<RenderCase>& info) { return info.param.name; }
void PrintTo(const RenderCase& c, std::ostream* os) { *os << c.name; }

INSTANTIATE_TEST_SUITE_P(Features, JinjaRenderTest, testing::ValuesIn(kRenderCases), Name);
INSTANTIATE_TEST_SUITE_P(Features, JinjaErrorTest, testing::ValuesIn(kErrorCases), Name);

}  // namespace
}  // namespace isv::jinja
