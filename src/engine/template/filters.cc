// Jinja2 filters (the subset chat templates use), dispatched by name through a table.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <unordered_map>

#include "engine/template/builtins.h"
#include "engine/template/error.h"
#include "engine/template/methods.h"
#include "engine/template/value_json.h"

namespace isv::jinja {
namespace {

int64_t Length(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::kUndefined: return 0;
    case Value::Kind::kString: return static_cast<int64_t>(Utf8Length(v.str()));
    case Value::Kind::kList:
      if (v.is_generator()) ThrowError("TypeError", "object of type 'generator' has no len()");
      return static_cast<int64_t>(v.list().size());
    case Value::Kind::kDict: return static_cast<int64_t>(v.dict().items.size());
    default: ThrowError("TypeError", "object of type '" + v.TypeName() + "' has no len()");
  }
}

// Follows a dotted attribute path ("a.b" or "0") as Jinja's make_attrgetter does.
Value AttrPath(const Value& item, const std::string& path, const BuiltinContext& ctx) {
  Value cur = item;
  size_t pos = 0;
  while (pos <= path.size()) {
    size_t dot = path.find('.', pos);
    std::string part = path.substr(pos, dot == std::string::npos ? std::string::npos : dot - pos);
    bool numeric = !part.empty() && std::all_of(part.begin(), part.end(), ::isdigit);
    cur = GetItem(cur, numeric ? Value::Int(std::stoll(part)) : Value::String(part), ctx);
    if (dot == std::string::npos) break;
    pos = dot + 1;
  }
  return cur;
}

// select/reject/selectattr/rejectattr: args after the test name go to the test.
Value SelectFilter(const Value& input, CallArgs& args, bool by_attr, bool keep, const BuiltinContext& ctx) {
  size_t base = by_attr ? 1 : 0;
  std::string attr;
  if (by_attr) {
    Value a = ArgAt(args, 0, "attribute");
    if (!a.is_string()) ThrowError("TypeError", "selectattr needs an attribute name");
    attr = a.str();
  }
  std::string test;
  CallArgs test_args;
  if (args.positional.size() > base) {
    test = args.positional[base].ToStr();
    test_args.positional.assign(args.positional.begin() + base + 1, args.positional.end());
  }
  ValueList out;
  if (!input.Truthy()) return Value::List({}, false, /*generator=*/true);  // Jinja: `if value:`
  for (const Value& item : Iterate(input)) {
    Value subject = by_attr ? AttrPath(item, attr, ctx) : item;
    CallArgs a = test_args;
    bool ok = test.empty() ? subject.Truthy() : ApplyTest(test, subject, a);
    if (ok == keep) out.push_back(item);
  }
  return Value::List(std::move(out), false, /*generator=*/true);
}

Value MapFilter(const Value& input, CallArgs& args, const BuiltinContext& ctx) {
  ValueList out;
  if (!input.Truthy()) return Value::List({}, false, /*generator=*/true);  // Jinja: `if value:`
  Value attribute = ArgAt(args, 99, "attribute");
  if (attribute.is_string()) {
    Value fallback = ArgAt(args, 99, "default");
    for (const Value& item : Iterate(input)) {
      Value v = AttrPath(item, attribute.str(), ctx);
      out.push_back(v.is_undefined() && !fallback.is_undefined() ? fallback : v);
    }
  } else {
    if (args.positional.empty()) ThrowError("FilterArgumentError", "map requires a filter argument");
    std::string name = args.positional[0].ToStr();
    CallArgs rest;
    rest.positional.assign(args.positional.begin() + 1, args.positional.end());
    rest.named = args.named;
    for (const Value& item : Iterate(input)) {
      CallArgs a = rest;
      out.push_back(ApplyFilter(name, item, a, ctx));
    }
  }
  return Value::List(std::move(out), false, /*generator=*/true);
}

Value SortKey(const Value& v, bool case_sensitive) {
  if (!case_sensitive && v.is_string()) return Value::String(PyLower(v.str()));
  return v;
}

Value Indent(const Value& input, CallArgs& args) {
  Value width = ArgAt(args, 0, "width", Value::Int(4));
  bool first = ArgAt(args, 1, "first", Value::Bool(false)).Truthy();
  bool blank = ArgAt(args, 2, "blank", Value::Bool(false)).Truthy();
  std::string ind = width.is_string() ? width.str() : std::string(ToInt(width, "width"), ' ');
  if (input.is_undefined()) FailUndefined(input);
  if (!input.is_string()) ThrowError("TypeError", "indent needs a string, not " + input.TypeName());
  std::string s = input.str() + "\n";
  std::vector<std::string> lines;
  size_t pos = 0;
  while (pos < s.size()) {
    size_t e = s.find('\n', pos);
    lines.push_back(s.substr(pos, e - pos));
    pos = e + 1;
  }
  std::string rv;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (i == 0) {
      rv = lines[0];
      continue;
    }
    rv += "\n";
    if (blank || !lines[i].empty()) rv += ind;
    rv += lines[i];
  }
  if (first) rv = ind + rv;
  return Value::String(std::move(rv));
}

Value ToJsonFilter(const Value& input, CallArgs& args) {
  JsonDumpOptions o;
  o.ensure_ascii = ArgAt(args, 0, "ensure_ascii", Value::Bool(false)).Truthy();
  Value indent = ArgAt(args, 1, "indent", Value::None());
  if (indent.is_string()) o.indent_string = indent.str();
  else if (!indent.is_none() && !indent.is_undefined()) o.indent = static_cast<int>(ToInt(indent, "indent"));
  Value seps = ArgAt(args, 2, "separators", Value::None());
  if (seps.is_list() && seps.list().size() == 2) {
    o.has_separators = true;
    o.item_separator = seps.list()[0].ToStr();
    o.key_separator = seps.list()[1].ToStr();
  }
  o.sort_keys = ArgAt(args, 3, "sort_keys", Value::Bool(false)).Truthy();
  return Value::String(PyJsonDumps(input, o));
}

Value MinMax(const Value& input, bool min) {
  ValueList items = Iterate(input);
  if (items.empty()) return Value::Undefined("No aggregated item, sequence was empty.");
  Value best = items[0];
  for (const Value& v : items) {
    bool better = min ? LessThan(SortKey(v, false), SortKey(best, false)) : LessThan(SortKey(best, false), SortKey(v, false));
    if (better) best = v;
  }
  return best;
}

using FilterFn = std::function<Value(const Value& input, CallArgs& args, const BuiltinContext& ctx)>;
using FilterTable = std::unordered_map<std::string, FilterFn>;

Value Bool(CallArgs& args, size_t index, const char* name) {
  return Value::Bool(ArgAt(args, index, name, Value::Bool(false)).Truthy());
}

void RegisterStringFilters(FilterTable& t) {
  t["trim"] = [](const Value& in, CallArgs& a, const BuiltinContext&) {
    return Value::String(PyStrip(in.ToStr(), ArgAt(a, 0, "chars"), true, true), in.is_safe());
  };
  t["string"] = [](const Value& in, CallArgs&, const BuiltinContext&) {
    return in.is_string() ? in : Value::String(in.ToStr());
  };
  t["safe"] = [](const Value& in, CallArgs&, const BuiltinContext&) { return Value::String(in.ToStr(), true); };
  t["escape"] = t["e"] = [](const Value& in, CallArgs&, const BuiltinContext&) {
    return in.is_safe() ? in : Value::String(HtmlEscape(in.ToStr()), true);
  };
  t["upper"] = [](const Value& in, CallArgs&, const BuiltinContext&) { return Value::String(PyUpper(in.ToStr())); };
  t["lower"] = [](const Value& in, CallArgs&, const BuiltinContext&) { return Value::String(PyLower(in.ToStr())); };
  t["capitalize"] = [](const Value& in, CallArgs&, const BuiltinContext&) {
    return Value::String(PyCapitalize(in.ToStr()));
  };
  t["title"] = [](const Value& in, CallArgs&, const BuiltinContext&) {
    // Jinja's do_title: words start after "-", whitespace or an opening bracket.
    std::string out;
    bool start = true;
    for (char32_t c : DecodeUtf8(in.ToStr())) {
      bool sep = c == '-' || IsPyWhitespace(c) || c == '(' || c == '{' || c == '[' || c == '<';
      AppendUtf8(out, sep ? c : start ? UpperCp(c) : LowerCp(c));
      start = sep;
    }
    return Value::String(std::move(out));
  };
  t["replace"] = [](const Value& in, CallArgs& a, const BuiltinContext&) {
    return Value::String(PyReplace(in.ToStr(), ArgAt(a, 0, "old").ToStr(), ArgAt(a, 1, "new").ToStr(),
                                   ToInt(ArgAt(a, 2, "count", Value::Int(-1)), "count")));
  };
}

// Layout and text-shaping filters.
void RegisterTextFilters(FilterTable& t) {
  t["indent"] = [](const Value& in, CallArgs& a, const BuiltinContext&) { return Indent(in, a); };
  t["wordcount"] = [](const Value& in, CallArgs&, const BuiltinContext&) {
    // Jinja counts matches of \w+ (word characters; non-ASCII bytes count as letters here).
    int64_t words = 0;
    bool in_word = false;
    for (unsigned char c : in.ToStr()) {
      bool w = std::isalnum(c) || c == '_' || c >= 0x80;
      if (w && !in_word) ++words;
      in_word = w;
    }
    return Value::Int(words);
  };
  t["center"] = [](const Value& in, CallArgs& a, const BuiltinContext&) {
    int64_t width = ToInt(ArgAt(a, 0, "width", Value::Int(80)), "width");
    std::string s = in.ToStr();
    int64_t n = static_cast<int64_t>(Utf8Length(s));
    if (width <= n) return Value::String(s);
    int64_t pad = width - n, left = pad / 2 + (pad & width & 1);  // CPython's str.center split
    return Value::String(std::string(left, ' ') + s + std::string(pad - left, ' '));
  };
  t["truncate"] = [](const Value& in, CallArgs& a, const BuiltinContext&) {
    // Jinja's do_truncate (leeway default 5): cut at a word boundary unless killwords.
    int64_t length = ToInt(ArgAt(a, 0, "length", Value::Int(255)), "length");
    if (!in.is_string()) {  // Jinja only measures non-strings; short ones pass through
      if (Length(in) <= length + ToInt(ArgAt(a, 3, "leeway", Value::Int(5)), "leeway")) return in;
      ThrowError("TypeError", "truncate needs a string, not " + in.TypeName());
    }
    std::vector<char32_t> s = DecodeUtf8(in.str());
    bool killwords = ArgAt(a, 1, "killwords", Value::Bool(false)).Truthy();
    std::string end = ArgAt(a, 2, "end", Value::String("...")).ToStr();
    int64_t leeway = ToInt(ArgAt(a, 3, "leeway", Value::Int(5)), "leeway");
    int64_t end_len = static_cast<int64_t>(Utf8Length(end));
    if (length < end_len || leeway < 0) ThrowError("AssertionError", "bad truncate length or leeway");
    if (static_cast<int64_t>(s.size()) <= length + leeway) return Value::String(EncodeUtf8(s));
    std::string head = EncodeUtf8(std::vector<char32_t>(s.begin(), s.begin() + (length - end_len)));
    if (!killwords) {
      size_t sp = head.rfind(' ');
      if (sp != std::string::npos) head.resize(sp);
    }
    return Value::String(head + end);
  };
  t["striptags"] = [](const Value& in, CallArgs&, const BuiltinContext&) {
    // MarkupSafe's striptags: drop comments and tags, unescape entities, collapse whitespace.
    std::string s = in.ToStr(), text;
    for (size_t i = 0; i < s.size();) {
      if (s.compare(i, 4, "<!--") == 0) {
        size_t e = s.find("-->", i + 4);
        if (e != std::string::npos) {
          i = e + 3;
          continue;
        }
      }
      if (s[i] == '<') {
        size_t e = s.find('>', i + 1);
        if (e != std::string::npos) {
          i = e + 1;
          continue;
        }
      }
      text += s[i++];
    }
    static const std::pair<const char*, const char*> kEntities[] = {
        {"&lt;", "<"}, {"&gt;", ">"}, {"&#34;", "\""}, {"&quot;", "\""}, {"&#39;", "'"}, {"&amp;", "&"}};
    for (const auto& [from, to] : kEntities) text = PyReplace(text, from, to, -1);
    std::string out;
    for (const Value& w : PySplit(text, Value(), -1)) out += (out.empty() ? "" : " ") + w.str();
    return Value::String(std::move(out));
  };
  t["format"] = [](const Value& in, CallArgs& a, const BuiltinContext&) { return Value::String(PyFormat(in.ToStr(), a)); };
  t["tojson"] = [](const Value& in, CallArgs& a, const BuiltinContext&) { return ToJsonFilter(in, a); };
}

void RegisterSequenceFilters(FilterTable& t) {
  t["length"] = t["count"] = [](const Value& in, CallArgs&, const BuiltinContext&) { return Value::Int(Length(in)); };
  t["join"] = [](const Value& in, CallArgs& a, const BuiltinContext& ctx) {
    Value sep = ArgAt(a, 0, "d", Value::String(""));
    Value attr = ArgAt(a, 1, "attribute");
    std::string out;
    bool first = true;
    for (const Value& v : Iterate(in)) {
      if (!first) out += sep.ToStr();
      first = false;
      out += attr.is_string() ? AttrPath(v, attr.str(), ctx).ToStr() : v.ToStr();
    }
    return Value::String(std::move(out));
  };
  t["list"] = [](const Value& in, CallArgs&, const BuiltinContext&) { return Value::List(Iterate(in)); };
  t["first"] = [](const Value& in, CallArgs&, const BuiltinContext&) {
    ValueList items = Iterate(in);
    return items.empty() ? Value::Undefined("No first item, sequence was empty.") : items.front();
  };
  t["last"] = [](const Value& in, CallArgs&, const BuiltinContext&) {
    ValueList items = Iterate(in);
    return items.empty() ? Value::Undefined("No last item, sequence was empty.") : items.back();
  };
  t["reverse"] = [](const Value& in, CallArgs&, const BuiltinContext&) {
    if (in.is_string()) {
      std::vector<char32_t> cps = DecodeUtf8(in.str());
      std::reverse(cps.begin(), cps.end());
      return Value::String(EncodeUtf8(cps));
    }
    ValueList out = Iterate(in);
    std::reverse(out.begin(), out.end());
    return Value::List(std::move(out), false, /*generator=*/true);
  };
  t["sort"] = [](const Value& in, CallArgs& a, const BuiltinContext& ctx) {
    bool reverse = Bool(a, 0, "reverse").Truthy(), cs = Bool(a, 1, "case_sensitive").Truthy();
    Value attr = ArgAt(a, 2, "attribute");
    ValueList out = Iterate(in);
    auto key = [&](const Value& v) { return SortKey(attr.is_string() ? AttrPath(v, attr.str(), ctx) : v, cs); };
    std::stable_sort(out.begin(), out.end(), [&](const Value& x, const Value& y) {
      return reverse ? LessThan(key(y), key(x)) : LessThan(key(x), key(y));
    });
    return Value::List(std::move(out));
  };
  t["unique"] = [](const Value& in, CallArgs& a, const BuiltinContext&) {
    bool cs = Bool(a, 0, "case_sensitive").Truthy();
    ValueList out, keys;
    for (const Value& v : Iterate(in)) {
      Value k = SortKey(v, cs);
      if (std::none_of(keys.begin(), keys.end(), [&](const Value& s) { return ValuesEqual(s, k); })) {
        keys.push_back(k);
        out.push_back(v);
      }
    }
    return Value::List(std::move(out), false, /*generator=*/true);
  };
  t["select"] = [](const Value& in, CallArgs& a, const BuiltinContext& ctx) { return SelectFilter(in, a, false, true, ctx); };
  t["reject"] = [](const Value& in, CallArgs& a, const BuiltinContext& ctx) { return SelectFilter(in, a, false, false, ctx); };
  t["selectattr"] = [](const Value& in, CallArgs& a, const BuiltinContext& ctx) { return SelectFilter(in, a, true, true, ctx); };
  t["rejectattr"] = [](const Value& in, CallArgs& a, const BuiltinContext& ctx) { return SelectFilter(in, a, true, false, ctx); };
  t["map"] = [](const Value& in, CallArgs& a, const BuiltinContext& ctx) { return MapFilter(in, a, ctx); };
  t["batch"] = [](const Value& in, CallArgs& a, const BuiltinContext&) {
    int64_t n = ToInt(ArgAt(a, 0, "linecount"), "linecount");
    if (n <= 0) ThrowError("ValueError", "batch size must be positive");
    Value fill = ArgAt(a, 1, "fill_with", Value::None());
    ValueList out, cur;
    for (const Value& v : Iterate(in)) {
      cur.push_back(v);
      if (static_cast<int64_t>(cur.size()) == n) {
        out.push_back(Value::List(std::move(cur)));
        cur.clear();
      }
    }
    if (!cur.empty()) {
      if (!fill.is_none()) {
        while (static_cast<int64_t>(cur.size()) < n) cur.push_back(fill);
      }
      out.push_back(Value::List(std::move(cur)));
    }
    return Value::List(std::move(out), false, /*generator=*/true);
  };
  t["min"] = [](const Value& in, CallArgs&, const BuiltinContext&) { return MinMax(in, true); };
  t["max"] = [](const Value& in, CallArgs&, const BuiltinContext&) { return MinMax(in, false); };
  t["sum"] = [](const Value& in, CallArgs& a, const BuiltinContext& ctx) {
    Value total = ArgAt(a, 1, "start", Value::Int(0));
    for (const Value& v : Iterate(in)) total = BinaryOp("+", total, v, ctx);
    return total;
  };
}

void RegisterMappingFilters(FilterTable& t) {
  t["items"] = [](const Value& in, CallArgs&, const BuiltinContext&) {
    if (in.is_undefined()) return Value::List({});
    if (!in.is_dict() || in.is_namespace()) ThrowError("TypeError", "Can only get item pairs from a mapping.");
    ValueList out;
    for (const auto& [k, v] : in.dict().items) out.push_back(Value::List({DictKeyValue(k), v}, true));
    return Value::List(std::move(out), false, /*generator=*/true);
  };
  t["dictsort"] = [](const Value& in, CallArgs& a, const BuiltinContext&) {
    if (!in.is_dict()) ThrowError("TypeError", "dictsort needs a mapping, not " + in.TypeName());
    bool cs = Bool(a, 0, "case_sensitive").Truthy();
    bool by_value = ArgAt(a, 1, "by", Value::String("key")).ToStr() == "value";
    bool reverse = Bool(a, 2, "reverse").Truthy();
    ValueList out;
    for (const auto& [k, v] : in.dict().items) out.push_back(Value::List({DictKeyValue(k), v}, true));
    auto key = [&](const Value& pair) { return SortKey(pair.list()[by_value ? 1 : 0], cs); };
    std::stable_sort(out.begin(), out.end(), [&](const Value& x, const Value& y) {
      return reverse ? LessThan(key(y), key(x)) : LessThan(key(x), key(y));
    });
    return Value::List(std::move(out));
  };
  t["default"] = t["d"] = [](const Value& in, CallArgs& a, const BuiltinContext&) {
    bool boolean = Bool(a, 1, "boolean").Truthy();
    if (in.is_undefined() || (boolean && !in.Truthy())) return ArgAt(a, 0, "default_value", Value::String(""));
    return in;
  };
  t["attr"] = [](const Value& in, CallArgs& a, const BuiltinContext& ctx) {
    return GetAttr(in, ArgAt(a, 0, "name").ToStr(), ctx);
  };
}

void RegisterNumberFilters(FilterTable& t) {
  t["int"] = [](const Value& in, CallArgs& a, const BuiltinContext&) {
    Value fallback = ArgAt(a, 0, "default", Value::Int(0));
    if (in.is_undefined()) FailUndefined(in);  // int(Undefined) raises
    if (in.is_number()) return Value::Int(ToInt(in, "value"));
    if (in.is_string()) {
      std::string s = PyStrip(in.str(), Value(), true, true);
      char* end = nullptr;
      long long i = std::strtoll(s.c_str(), &end, 10);
      if (!s.empty() && *end == '\0') return Value::Int(i);
      double f = std::strtod(s.c_str(), &end);
      if (!s.empty() && *end == '\0') return Value::Int(ToInt(Value::Float(f), "value"));
    }
    return fallback;
  };
  t["float"] = [](const Value& in, CallArgs& a, const BuiltinContext&) {
    Value fallback = ArgAt(a, 0, "default", Value::Float(0.0));
    if (in.is_undefined()) FailUndefined(in);
    if (in.is_number()) return Value::Float(in.AsDouble());
    if (in.is_string()) {
      std::string s = PyStrip(in.str(), Value(), true, true);
      char* end = nullptr;
      double f = std::strtod(s.c_str(), &end);
      if (!s.empty() && *end == '\0') return Value::Float(f);
    }
    return fallback;
  };
  t["abs"] = [](const Value& in, CallArgs&, const BuiltinContext&) {
    if (in.is_int() || in.is_bool()) return Value::Int(std::llabs(ToInt(in, "value")));
    if (in.is_float()) return Value::Float(std::fabs(in.float_value()));
    ThrowError("TypeError", "bad operand type for abs(): '" + in.TypeName() + "'");
  };
  t["round"] = [](const Value& in, CallArgs& a, const BuiltinContext&) {
    int64_t prec = ToInt(ArgAt(a, 0, "precision", Value::Int(0)), "precision");
    std::string method = ArgAt(a, 1, "method", Value::String("common")).ToStr();
    if (in.is_undefined()) FailUndefined(in);
    if (!in.is_number()) ThrowError("TypeError", "type " + in.TypeName() + " doesn't define __round__ method");
    if (!in.is_float() && method == "common") return Value::Int(ToInt(in, "value"));  // round(int, n) is an int
    double f = in.AsDouble(), m = std::pow(10.0, static_cast<double>(prec));
    if (method == "ceil") return Value::Float(std::ceil(f * m) / m);
    if (method == "floor") return Value::Float(std::floor(f * m) / m);
    return Value::Float(std::nearbyint(f * m) / m);  // Python round(): half to even
  };
}

const FilterTable& Filters() {
  static const FilterTable* table = [] {
    auto* t = new FilterTable;
    RegisterStringFilters(*t);
    RegisterTextFilters(*t);
    RegisterSequenceFilters(*t);
    RegisterMappingFilters(*t);
    RegisterNumberFilters(*t);
    return t;
  }();
  return *table;
}

}  // namespace

Value ApplyFilter(const std::string& name, const Value& input, CallArgs& args, const BuiltinContext& ctx) {
  if (input.is_unsafe_undefined()) FailUndefined(input);
  const FilterTable& filters = Filters();
  auto it = filters.find(name);
  if (it == filters.end()) ThrowError("TemplateRuntimeError", "No filter named '" + name + "' found.");
  return it->second(input, args, ctx);
}

}  // namespace isv::jinja
