// Jinja2 filters, tests and global functions (the subset chat templates use).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

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
  if (!case_sensitive && v.is_string()) return Value::String(AsciiLower(v.str()));
  return v;
}

Value Indent(const Value& input, CallArgs& args) {
  Value width = ArgAt(args, 0, "width", Value::Int(4));
  bool first = ArgAt(args, 1, "first", Value::Bool(false)).Truthy();
  bool blank = ArgAt(args, 2, "blank", Value::Bool(false)).Truthy();
  std::string ind = width.is_string() ? width.str() : std::string(ToInt(width, "width"), ' ');
  std::string s = input.ToStr() + "\n";
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

}  // namespace

Value ApplyFilter(const std::string& name, const Value& input, CallArgs& args, const BuiltinContext& ctx) {
  if (input.is_unsafe_undefined()) FailUndefined(input);
  if (name == "tojson") return ToJsonFilter(input, args);
  if (name == "length" || name == "count") return Value::Int(Length(input));
  if (name == "trim") {
    return Value::String(PyStrip(input.ToStr(), ArgAt(args, 0, "chars"), true, true), input.is_safe());
  }
  if (name == "default" || name == "d") {
    bool boolean = ArgAt(args, 1, "boolean", Value::Bool(false)).Truthy();
    if (input.is_undefined() || (boolean && !input.Truthy())) return ArgAt(args, 0, "default_value", Value::String(""));
    return input;
  }
  if (name == "string") return input.is_string() ? input : Value::String(input.ToStr());
  if (name == "safe") return Value::String(input.ToStr(), true);
  if (name == "escape" || name == "e") return input.is_safe() ? input : Value::String(HtmlEscape(input.ToStr()), true);
  if (name == "upper") return Value::String(AsciiUpper(input.ToStr()));
  if (name == "lower") return Value::String(AsciiLower(input.ToStr()));
  if (name == "capitalize") return Value::String(PyCapitalize(input.ToStr()));
  if (name == "title") {
    std::string s = input.ToStr(), out;
    bool start = true;
    for (char c : s) {
      bool sep = c == '-' || c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '(' || c == '{' || c == '[' || c == '<';
      if (sep) out += c;
      else out += start ? AsciiUpper(std::string(1, c)) : AsciiLower(std::string(1, c));
      start = sep;
    }
    return Value::String(std::move(out));
  }
  if (name == "replace") {
    return Value::String(PyReplace(input.ToStr(), ArgAt(args, 0, "old").ToStr(), ArgAt(args, 1, "new").ToStr(),
                                   ToInt(ArgAt(args, 2, "count", Value::Int(-1)), "count")));
  }
  if (name == "join") {
    Value sep = ArgAt(args, 0, "d", Value::String(""));
    Value attr = ArgAt(args, 1, "attribute");
    std::string out;
    bool first = true;
    for (const Value& v : Iterate(input)) {
      if (!first) out += sep.ToStr();
      first = false;
      out += attr.is_string() ? AttrPath(v, attr.str(), ctx).ToStr() : v.ToStr();
    }
    return Value::String(std::move(out));
  }
  if (name == "list") return Value::List(Iterate(input));
  if (name == "first" || name == "last") {
    ValueList items = Iterate(input);
    if (items.empty()) return Value::Undefined("No first item, sequence was empty.");
    return name == "first" ? items.front() : items.back();
  }
  if (name == "items") {
    if (input.is_undefined()) return Value::List({});
    if (!input.is_dict() || input.is_namespace()) ThrowError("TypeError", "Can only get item pairs from a mapping.");
    ValueList out;
    for (const auto& [k, v] : input.dict().items) out.push_back(Value::List({DictKeyValue(k), v}, true));
    return Value::List(std::move(out), false, /*generator=*/true);
  }
  if (name == "dictsort") {
    if (!input.is_dict()) ThrowError("FilterArgumentError", "You can only sort by either \"key\" or \"value\"");
    bool cs = ArgAt(args, 0, "case_sensitive", Value::Bool(false)).Truthy();
    bool by_value = ArgAt(args, 1, "by", Value::String("key")).ToStr() == "value";
    bool reverse = ArgAt(args, 2, "reverse", Value::Bool(false)).Truthy();
    ValueList out;
    for (const auto& [k, v] : input.dict().items) out.push_back(Value::List({DictKeyValue(k), v}, true));
    std::stable_sort(out.begin(), out.end(), [&](const Value& a, const Value& b) {
      const Value& x = a.list()[by_value ? 1 : 0];
      const Value& y = b.list()[by_value ? 1 : 0];
      return reverse ? LessThan(SortKey(y, cs), SortKey(x, cs)) : LessThan(SortKey(x, cs), SortKey(y, cs));
    });
    return Value::List(std::move(out));
  }
  if (name == "sort") {
    bool reverse = ArgAt(args, 0, "reverse", Value::Bool(false)).Truthy();
    bool cs = ArgAt(args, 1, "case_sensitive", Value::Bool(false)).Truthy();
    Value attr = ArgAt(args, 2, "attribute");
    ValueList out = Iterate(input);
    auto key = [&](const Value& v) { return SortKey(attr.is_string() ? AttrPath(v, attr.str(), ctx) : v, cs); };
    std::stable_sort(out.begin(), out.end(), [&](const Value& a, const Value& b) {
      return reverse ? LessThan(key(b), key(a)) : LessThan(key(a), key(b));
    });
    return Value::List(std::move(out));
  }
  if (name == "reverse") {
    if (input.is_string()) {
      std::vector<char32_t> cps = DecodeUtf8(input.str());
      std::reverse(cps.begin(), cps.end());
      return Value::String(EncodeUtf8(cps));
    }
    ValueList out = Iterate(input);
    std::reverse(out.begin(), out.end());
    return Value::List(std::move(out), false, /*generator=*/true);
  }
  if (name == "unique") {
    bool cs = ArgAt(args, 0, "case_sensitive", Value::Bool(false)).Truthy();
    ValueList out, keys;
    for (const Value& v : Iterate(input)) {
      Value k = SortKey(v, cs);
      bool seen = false;
      for (const Value& s : keys) seen = seen || ValuesEqual(s, k);
      if (!seen) {
        keys.push_back(k);
        out.push_back(v);
      }
    }
    return Value::List(std::move(out), false, /*generator=*/true);
  }
  if (name == "select" || name == "reject") return SelectFilter(input, args, false, name == "select", ctx);
  if (name == "selectattr" || name == "rejectattr") {
    return SelectFilter(input, args, true, name == "selectattr", ctx);
  }
  if (name == "map") return MapFilter(input, args, ctx);
  if (name == "int") {
    Value fallback = ArgAt(args, 0, "default", Value::Int(0));
    if (input.is_int()) return input;
    if (input.is_bool()) return Value::Int(input.bool_value());
    if (input.is_float()) return Value::Int(static_cast<int64_t>(input.float_value()));
    if (input.is_string()) {
      std::string s = PyStrip(input.str(), Value(), true, true);
      char* end = nullptr;
      long long i = std::strtoll(s.c_str(), &end, 10);
      if (!s.empty() && *end == '\0') return Value::Int(i);
      double f = std::strtod(s.c_str(), &end);
      if (!s.empty() && *end == '\0') return Value::Int(static_cast<int64_t>(f));
    }
    return fallback;
  }
  if (name == "float") {
    Value fallback = ArgAt(args, 0, "default", Value::Float(0.0));
    if (input.is_number()) return Value::Float(input.AsDouble());
    if (input.is_string()) {
      char* end = nullptr;
      std::string s = PyStrip(input.str(), Value(), true, true);
      double f = std::strtod(s.c_str(), &end);
      if (!s.empty() && *end == '\0') return Value::Float(f);
    }
    return fallback;
  }
  if (name == "abs") {
    if (input.is_int()) return Value::Int(std::llabs(input.int_value()));
    if (input.is_number()) return Value::Float(std::fabs(input.AsDouble()));
    ThrowError("TypeError", "bad operand type for abs(): '" + input.TypeName() + "'");
  }
  if (name == "round") {
    int64_t prec = ToInt(ArgAt(args, 0, "precision", Value::Int(0)), "precision");
    std::string method = ArgAt(args, 1, "method", Value::String("common")).ToStr();
    double f = input.AsDouble(), m = std::pow(10.0, static_cast<double>(prec));
    double r = method == "ceil" ? std::ceil(f * m) / m : method == "floor" ? std::floor(f * m) / m
                                                        : std::nearbyint(f * m) / m;
    return Value::Float(r);
  }
  if (name == "indent") return Indent(input, args);
  if (name == "wordcount") return Value::Int(static_cast<int64_t>(PySplit(input.ToStr(), Value(), -1).size()));
  if (name == "center") {
    int64_t width = ToInt(ArgAt(args, 0, "width", Value::Int(80)), "width");
    std::string s = input.ToStr();
    int64_t n = static_cast<int64_t>(Utf8Length(s));
    if (width <= n) return Value::String(s);
    int64_t pad = width - n, left = pad / 2 + (pad & width & 1);
    return Value::String(std::string(left, ' ') + s + std::string(pad - left, ' '));
  }
  if (name == "min" || name == "max") {
    ValueList items = Iterate(input);
    if (items.empty()) return Value::Undefined("No aggregated item, sequence was empty.");
    Value best = items[0];
    for (const Value& v : items) {
      if (name == "min" ? LessThan(SortKey(v, false), SortKey(best, false))
                        : LessThan(SortKey(best, false), SortKey(v, false))) best = v;
    }
    return best;
  }
  if (name == "sum") {
    Value total = ArgAt(args, 1, "start", Value::Int(0));
    for (const Value& v : Iterate(input)) total = BinaryOp("+", total, v, ctx);
    return total;
  }
  if (name == "format") return Value::String(PyFormat(input.ToStr(), args));
  if (name == "attr") return GetAttr(input, ArgAt(args, 0, "name").ToStr(), ctx);
  ThrowError("TemplateRuntimeError", "No filter named '" + name + "' found.");
}

bool ApplyTest(const std::string& name, const Value& v, CallArgs& args) {
  auto arg = [&]() { return ArgAt(args, 0, "other"); };
  if (name == "defined") return !v.is_undefined();
  if (name == "undefined") return v.is_undefined();
  if (v.is_unsafe_undefined()) FailUndefined(v);
  if (name == "none") return v.is_none();
  if (name == "string") return v.is_string();
  if (name == "number") return v.is_number();
  if (name == "integer") return v.is_int();
  if (name == "float") return v.is_float();
  if (name == "boolean") return v.is_bool();
  if (name == "true") return v.is_bool() && v.bool_value();
  if (name == "false") return v.is_bool() && !v.bool_value();
  if (name == "mapping") return v.is_dict() && !v.is_namespace();
  if (name == "iterable") return v.is_undefined() || v.is_string() || v.is_list() || (v.is_dict() && !v.is_namespace());
  if (name == "sequence") {
    return v.is_undefined() || v.is_string() || (v.is_list() && !v.is_generator()) || (v.is_dict() && !v.is_namespace());
  }
  if (name == "callable") return v.is_callable();
  if (name == "even" || name == "odd") {
    int64_t i = ToInt(v, "value");
    return (i % 2 == 0) == (name == "even");
  }
  if (name == "divisibleby") {
    int64_t d = ToInt(arg(), "num");
    if (d == 0) ThrowError("ZeroDivisionError", "integer division or modulo by zero");
    return ToInt(v, "value") % d == 0;
  }
  if (name == "eq" || name == "equalto" || name == "==") return ValuesEqual(v, arg());
  if (name == "ne" || name == "!=") return !ValuesEqual(v, arg());
  if (name == "lt" || name == "lessthan" || name == "<") return LessThan(v, arg());
  if (name == "gt" || name == "greaterthan" || name == ">") return LessThan(arg(), v);
  if (name == "le" || name == "<=") return !LessThan(arg(), v);
  if (name == "ge" || name == ">=") return !LessThan(v, arg());
  if (name == "in") return Contains(ArgAt(args, 0, "seq"), v);
  if (name == "sameas") {
    Value o = arg();
    if (v.is_none() || v.is_bool() || v.is_undefined()) return v.kind() == o.kind() && ValuesEqual(v, o);
    return (v.is_list() && o.is_list() && &v.list() == &o.list()) || (v.is_dict() && o.is_dict() && &v.dict() == &o.dict());
  }
  if (name == "lower") return v.is_string() && AsciiLower(v.str()) == v.str();
  if (name == "upper") return v.is_string() && AsciiUpper(v.str()) == v.str();
  if (name == "escaped") return v.is_safe();
  ThrowError("TemplateRuntimeError", "No test named '" + name + "' found.");
}

std::string PyStrftime(const std::string& fmt, const BuiltinContext& ctx) {
  static const char* kMonths[] = {"January", "February", "March", "April", "May", "June", "July",
                                  "August", "September", "October", "November", "December"};
  static const char* kDays[] = {"Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"};
  // Day of week (Monday = 0) and day of year from the civil date.
  auto days_from_civil = [](int y, int m, int d) {
    y -= m <= 2;
    int era = (y >= 0 ? y : y - 399) / 400;
    int yoe = y - era * 400;
    int doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
  };
  int days = days_from_civil(ctx.year, ctx.month, ctx.day);
  int wday = ((days % 7) + 7 + 3) % 7;  // 1970-01-01 was a Thursday (3)
  int yday = days - days_from_civil(ctx.year, 1, 1) + 1;
  std::string out;
  char buf[32];
  for (size_t i = 0; i < fmt.size(); ++i) {
    if (fmt[i] != '%' || i + 1 >= fmt.size()) {
      out += fmt[i];
      continue;
    }
    char c = fmt[++i];
    switch (c) {
      case 'Y': std::snprintf(buf, sizeof(buf), "%04d", ctx.year); break;
      case 'y': std::snprintf(buf, sizeof(buf), "%02d", ctx.year % 100); break;
      case 'm': std::snprintf(buf, sizeof(buf), "%02d", ctx.month); break;
      case 'd': std::snprintf(buf, sizeof(buf), "%02d", ctx.day); break;
      case 'e': std::snprintf(buf, sizeof(buf), "%2d", ctx.day); break;
      case 'j': std::snprintf(buf, sizeof(buf), "%03d", yday); break;
      case 'B': std::snprintf(buf, sizeof(buf), "%s", kMonths[ctx.month - 1]); break;
      case 'b': case 'h': std::snprintf(buf, sizeof(buf), "%.3s", kMonths[ctx.month - 1]); break;
      case 'A': std::snprintf(buf, sizeof(buf), "%s", kDays[wday]); break;
      case 'a': std::snprintf(buf, sizeof(buf), "%.3s", kDays[wday]); break;
      case 'H': case 'M': case 'S': std::snprintf(buf, sizeof(buf), "00"); break;
      case 'I': std::snprintf(buf, sizeof(buf), "12"); break;
      case 'p': std::snprintf(buf, sizeof(buf), "AM"); break;
      case '%': std::snprintf(buf, sizeof(buf), "%%"); break;
      default: std::snprintf(buf, sizeof(buf), "%%%c", c); break;
    }
    out += buf;
  }
  return out;
}

ValueDict MakeGlobals(const BuiltinContext& ctx) {
  ValueDict g;
  g.Set("range", Value::Function("range", [ctx](CallArgs& a) {
    int64_t start = 0, stop = 0, step = 1;
    size_t n = a.positional.size();
    if (n == 1) stop = ToInt(a.positional[0], "range stop");
    else if (n >= 2) {
      start = ToInt(a.positional[0], "range start");
      stop = ToInt(a.positional[1], "range stop");
      if (n >= 3) step = ToInt(a.positional[2], "range step");
    } else {
      ThrowError("TypeError", "range expected at least 1 argument, got 0");
    }
    if (step == 0) ThrowError("ValueError", "range() arg 3 must not be zero");
    double count = std::max(0.0, std::ceil((static_cast<double>(stop) - start) / step));
    if (count > ctx.max_sequence) ThrowError("SecurityError", "range too big: " + std::to_string(static_cast<int64_t>(count)) + " items");
    ValueList out;
    for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) out.push_back(Value::Int(i));
    return Value::List(std::move(out));
  }));
  g.Set("namespace", Value::Function("namespace", [](CallArgs& a) {
    auto d = std::make_shared<ValueDict>();
    for (const Value& p : a.positional) {
      if (!p.is_dict()) ThrowError("TypeError", "namespace() positional argument must be a mapping");
      for (const auto& [k, v] : p.dict().items) d->Set(k, v);
    }
    for (const auto& [k, v] : a.named) d->Set(k, v);
    return Value::Dict(std::move(d), /*is_namespace=*/true);
  }));
  g.Set("dict", Value::Function("dict", [](CallArgs& a) {
    auto d = std::make_shared<ValueDict>();
    for (const Value& p : a.positional) {
      if (!p.is_dict()) ThrowError("TypeError", "dict() positional argument must be a mapping");
      for (const auto& [k, v] : p.dict().items) d->Set(k, v);
    }
    for (const auto& [k, v] : a.named) d->Set(k, v);
    return Value::Dict(std::move(d));
  }));
  g.Set("raise_exception", Value::Function("raise_exception", [](CallArgs& a) -> Value {
    ThrowError("TemplateError", ArgAt(a, 0, "message").ToStr());
  }));
  g.Set("strftime_now", Value::Function("strftime_now", [ctx](CallArgs& a) {
    return Value::String(PyStrftime(ArgAt(a, 0, "format").ToStr(), ctx));
  }));
  return g;
}

}  // namespace isv::jinja
