// Jinja2 tests (`x is name`), Python-style strftime and the global functions templates call.
#include <algorithm>
#include <cmath>
#include <cstdio>

#include "engine/template/builtins.h"
#include "engine/template/error.h"
#include "engine/template/methods.h"

namespace isv::jinja {

bool ApplyTest(const std::string& name, const Value& v, CallArgs& args) {
  auto arg = [&]() { return ArgAt(args, 0, "other"); };
  if (v.is_unsafe_undefined() && name != "defined" && name != "undefined") FailUndefined(v);
  static const char* kNoArgTests[] = {"defined", "undefined", "none", "string", "number", "integer", "float", "boolean", "true", "false",
                                      "mapping", "iterable", "sequence", "callable", "even", "odd", "lower",
                                      "upper", "escaped"};
  for (const char* t : kNoArgTests) {
    if (name == t && (!args.positional.empty() || !args.named.empty())) {
      ThrowError("TypeError", "test_" + name + "() takes 1 positional argument but more were given");
    }
  }
  if (name == "defined") return !v.is_undefined();
  if (name == "undefined") return v.is_undefined();
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
  if (name == "callable") return v.is_callable() || v.is_undefined();  // Undefined defines __call__
  if (name == "even" || name == "odd") {
    if (v.is_float()) {  // Python: value % 2 == 0 (even) / == 1 (odd)
      double r = std::fmod(v.float_value(), 2.0);
      if (r < 0) r += 2.0;
      return name == "even" ? r == 0.0 : r == 1.0;
    }
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
  if (name == "lower" || name == "upper") return PyIsCase(v.ToStr(), name == "upper");
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
    if (count > static_cast<double>(ctx.max_sequence)) {
      ThrowError("SecurityError", "range too big: " + PyFloatRepr(count) + " items");
    }
    ValueList out;
    out.reserve(static_cast<size_t>(count));
    for (int64_t k = 0; k < static_cast<int64_t>(count); ++k) {
      out.push_back(Value::Int(static_cast<int64_t>(static_cast<__int128>(start) + static_cast<__int128>(k) * step)));
    }
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
