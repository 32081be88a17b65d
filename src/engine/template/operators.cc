// Operators, attribute/item access, slicing and iteration with Python/Jinja2 semantics.
#include <climits>
#include <cmath>
#include <cstdint>

#include "engine/template/builtins.h"
#include "engine/template/error.h"
#include "engine/template/methods.h"

namespace isv::jinja {

void FailUndefined(const Value& v) {
  if (v.is_unsafe_undefined()) ThrowError("SecurityError", v.str());
  ThrowError("UndefinedError", v.str().empty() ? "value is undefined" : v.str());
}

Value ArgAt(CallArgs& args, size_t index, const char* name, Value fallback) {
  for (auto& [k, v] : args.named) {
    if (k == name) return v;
  }
  if (index < args.positional.size()) return args.positional[index];
  return fallback;
}

int64_t ToInt(const Value& v, const char* what) {
  if (v.is_int()) return v.int_value();
  if (v.is_bool()) return v.bool_value() ? 1 : 0;
  if (v.is_float()) {
    double f = v.float_value();
    if (!(f > -9.2e18 && f < 9.2e18)) ThrowError("OverflowError", "cannot convert float " + PyFloatRepr(f) + " to integer");
    return static_cast<int64_t>(f);
  }
  if (v.is_undefined()) FailUndefined(v);
  ThrowError("TypeError", std::string(what) + " must be an integer, not " + v.TypeName());
}

std::string HtmlEscape(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&#34;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

namespace {

std::string ObjectTypeRepr(const Value& obj) {
  if (obj.is_none()) return "None";
  return obj.TypeName() + " object";
}

Value MissingAttr(const Value& obj, const std::string& name) {
  return Value::Undefined("'" + ObjectTypeRepr(obj) + "' has no attribute '" + name + "'");
}

[[noreturn]] void UnsupportedOperands(const std::string& op, const Value& a, const Value& b) {
  ThrowError("TypeError", "unsupported operand type(s) for " + op + ": '" + a.TypeName() + "' and '" +
                              b.TypeName() + "'");
}

int64_t IntOf(const Value& v) { return v.is_bool() ? (v.bool_value() ? 1 : 0) : v.int_value(); }

Value Arithmetic(const std::string& op, const Value& a, const Value& b) {
  bool use_float = a.is_float() || b.is_float() || op == "/";
  if (op == "**" && !use_float && IntOf(b) < 0) use_float = true;
  if (use_float) {
    double x = a.AsDouble(), y = b.AsDouble();
    if (op == "+") return Value::Float(x + y);
    if (op == "-") return Value::Float(x - y);
    if (op == "*") return Value::Float(x * y);
    if (op == "**") {
      if (x == 0 && y < 0) ThrowError("ZeroDivisionError", "0.0 cannot be raised to a negative power");
      return Value::Float(std::pow(x, y));
    }
    if (y == 0) ThrowError("ZeroDivisionError", "float division by zero");
    if (op == "/") return Value::Float(x / y);
    if (op == "//") return Value::Float(std::floor(x / y));
    if (op == "%") {
      double r = std::fmod(x, y);
      if (r != 0 && ((r < 0) != (y < 0))) r += y;
      return Value::Float(r);
    }
  } else {
    // Python ints are unbounded; ours are 64-bit, so overflow is an error rather than a wrap.
    int64_t x = IntOf(a), y = IntOf(b), r = 0;
    auto overflow = [&]() -> Value { ThrowError("OverflowError", "integer result of " + op + " exceeds 64 bits"); };
    if (op == "+") return __builtin_add_overflow(x, y, &r) ? overflow() : Value::Int(r);
    if (op == "-") return __builtin_sub_overflow(x, y, &r) ? overflow() : Value::Int(r);
    if (op == "*") return __builtin_mul_overflow(x, y, &r) ? overflow() : Value::Int(r);
    if (op == "**") {
      r = 1;
      for (int64_t i = 0; i < y; ++i) {
        if (__builtin_mul_overflow(r, x, &r)) return overflow();
        if (r == 0 || r == 1) break;  // 0**n, 1**n
        if (r == -1) {                // (-1)**n
          r = (y % 2 == 0) ? 1 : -1;
          break;
        }
      }
      return Value::Int(r);
    }
    if (y == 0) ThrowError("ZeroDivisionError", "integer division or modulo by zero");
    if (x == INT64_MIN && y == -1) return overflow();
    int64_t q = x / y, rem = x % y;
    if (rem != 0 && ((rem < 0) != (y < 0))) {  // Python floors toward -infinity
      --q;
      rem += y;
    }
    if (op == "//") return Value::Int(q);
    if (op == "%") return Value::Int(rem);
  }
  ThrowError("TypeError", "unknown operator " + op);
}

Value Repeat(const Value& seq, int64_t n, const BuiltinContext& ctx) {
  if (n < 0) n = 0;
  if (seq.is_string()) {
    if (static_cast<double>(seq.str().size()) * n > ctx.max_string) {
      ThrowError("SecurityError", "string repetition exceeds the output limit");
    }
    std::string out;
    for (int64_t i = 0; i < n; ++i) out += seq.str();
    return Value::String(std::move(out));
  }
  if (static_cast<double>(seq.list().size()) * n > ctx.max_sequence) {
    ThrowError("SecurityError", "list repetition exceeds the sequence limit");
  }
  ValueList out;
  for (int64_t i = 0; i < n; ++i) out.insert(out.end(), seq.list().begin(), seq.list().end());
  return Value::List(std::move(out), seq.is_tuple());
}

}  // namespace

bool Contains(const Value& container, const Value& item) {
  switch (container.kind()) {
    case Value::Kind::kUndefined: return false;
    case Value::Kind::kString:
      if (!item.is_string()) {
        ThrowError("TypeError", "'in <string>' requires string as left operand, not " + item.TypeName());
      }
      return container.str().find(item.str()) != std::string::npos;
    case Value::Kind::kList:
      for (const Value& v : container.list()) {
        if (ValuesEqual(v, item)) return true;
      }
      return false;
    case Value::Kind::kDict:
      if ((item.is_list() && !item.is_tuple()) || item.is_dict()) {
        ThrowError("TypeError", "unhashable type: '" + item.TypeName() + "'");
      }
      return container.dict().Find(DictKey(item)) != nullptr;
    default:
      ThrowError("TypeError", "argument of type '" + container.TypeName() + "' is not iterable");
  }
}

bool LessThan(const Value& a, const Value& b) {
  if (a.is_undefined()) FailUndefined(a);
  if (b.is_undefined()) FailUndefined(b);
  if (a.is_number() && b.is_number()) {
    if (a.is_float() || b.is_float()) return a.AsDouble() < b.AsDouble();
    return IntOf(a) < IntOf(b);
  }
  if (a.is_string() && b.is_string()) return a.str() < b.str();
  if (a.is_list() && b.is_list() && a.is_tuple() == b.is_tuple() && !a.is_generator() && !b.is_generator()) {
    const ValueList& x = a.list();
    const ValueList& y = b.list();
    for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
      if (ValuesEqual(x[i], y[i])) continue;
      return LessThan(x[i], y[i]);
    }
    return x.size() < y.size();
  }
  ThrowError("TypeError", "'<' not supported between instances of '" + a.TypeName() + "' and '" +
                              b.TypeName() + "'");
}

Value BinaryOp(const std::string& op, const Value& a, const Value& b, const BuiltinContext& ctx) {
  if (op == "~") {
    if (a.is_unsafe_undefined()) FailUndefined(a);
    if (b.is_unsafe_undefined()) FailUndefined(b);
    std::string s = a.ToStr() + b.ToStr();
    if (s.size() > ctx.max_string) ThrowError("SecurityError", "string exceeds the output limit");
    return Value::String(std::move(s));
  }
  if (op == "==") return Value::Bool(ValuesEqual(a, b));
  if (op == "!=") return Value::Bool(!ValuesEqual(a, b));
  if (op == "<") return Value::Bool(LessThan(a, b));
  if (op == ">") return Value::Bool(LessThan(b, a));
  if (op == "<=") return Value::Bool(!LessThan(b, a));
  if (op == ">=") return Value::Bool(!LessThan(a, b));
  if (op == "in") return Value::Bool(Contains(b, a));
  if (op == "notin") return Value::Bool(!Contains(b, a));
  if (op == "%" && a.is_string() && !b.is_unsafe_undefined()) return Value::String(PyPercentFormat(a.str(), b));
  if (a.is_undefined()) FailUndefined(a);
  if (b.is_undefined()) FailUndefined(b);
  if (a.is_number() && b.is_number()) return Arithmetic(op, a, b);
  if (op == "+") {
    if (a.is_string() && b.is_string()) {
      if (a.str().size() + b.str().size() > ctx.max_string) {
        ThrowError("SecurityError", "string exceeds the output limit");
      }
      // Markup + str escapes the plain side (MarkupSafe's __add__/__radd__).
      if (a.is_safe() && !b.is_safe()) return Value::String(a.str() + HtmlEscape(b.str()), true);
      if (b.is_safe() && !a.is_safe()) return Value::String(HtmlEscape(a.str()) + b.str(), true);
      return Value::String(a.str() + b.str(), a.is_safe());
    }
    if (a.is_list() && b.is_list() && !a.is_generator() && !b.is_generator()) {
      if (a.is_tuple() != b.is_tuple()) {
        ThrowError("TypeError", "can only concatenate " + a.TypeName() + " (not \"" + b.TypeName() +
                                    "\") to " + a.TypeName());
      }
      ValueList out = a.list();
      out.insert(out.end(), b.list().begin(), b.list().end());
      return Value::List(std::move(out), a.is_tuple());
    }
    if (a.is_string() || (a.is_list() && !a.is_generator())) {
      ThrowError("TypeError", "can only concatenate " + a.TypeName() + " (not \"" + b.TypeName() +
                                  "\") to " + a.TypeName());
    }
    UnsupportedOperands(op, a, b);
  }
  if (op == "*") {
    if ((a.is_string() || a.is_list()) && (b.is_int() || b.is_bool())) return Repeat(a, IntOf(b), ctx);
    if ((b.is_string() || b.is_list()) && (a.is_int() || a.is_bool())) return Repeat(b, IntOf(a), ctx);
  }
  UnsupportedOperands(op, a, b);
}

Value GetAttr(const Value& obj, const std::string& name, const BuiltinContext& ctx) {
  if (obj.is_undefined()) FailUndefined(obj);
  if (obj.is_dict() && obj.is_namespace()) {
    const Value* v = obj.dict().Find(name);
    return v ? *v : MissingAttr(obj, name);
  }
  Value method;
  if (LookupMethod(obj, name, ctx, &method)) return method;
  if (obj.is_dict()) {
    const Value* v = obj.dict().Find(name);
    if (v) return *v;
  }
  return MissingAttr(obj, name);
}

Value GetItem(const Value& obj, const Value& key, const BuiltinContext& ctx) {
  if (obj.is_undefined()) FailUndefined(obj);
  if (obj.is_dict()) {
    if (key.is_string()) {
      const Value* v = obj.dict().Find(key.str());
      if (v) return *v;
      if (!obj.is_namespace()) return GetAttr(obj, key.str(), ctx);
    } else if (const Value* v = obj.dict().Find(DictKey(key))) {
      return *v;
    }
    return MissingAttr(obj, key.ToStr());
  }
  if ((obj.is_list() && !obj.is_generator()) || obj.is_string()) {
    if (key.is_int() || key.is_bool()) {
      int64_t i = IntOf(key);
      if (obj.is_list()) {
        int64_t n = static_cast<int64_t>(obj.list().size());
        if (i < 0) i += n;
        if (i < 0 || i >= n) {
          return Value::Undefined("'" + ObjectTypeRepr(obj) + "' has no element " + std::to_string(IntOf(key)));
        }
        return obj.list()[i];
      }
      std::vector<char32_t> cps = DecodeUtf8(obj.str());
      int64_t n = static_cast<int64_t>(cps.size());
      if (i < 0) i += n;
      if (i < 0 || i >= n) {
        return Value::Undefined("'" + ObjectTypeRepr(obj) + "' has no element " + std::to_string(IntOf(key)));
      }
      std::string out;
      AppendUtf8(out, cps[i]);
      return Value::String(std::move(out));
    }
    if (key.is_string()) return GetAttr(obj, key.str(), ctx);
  }
  if (key.is_string()) return GetAttr(obj, key.str(), ctx);
  return Value::Undefined("'" + ObjectTypeRepr(obj) + "' has no element " + key.Repr());
}

Value Slice(const Value& obj, const Value& start_v, const Value& stop_v, const Value& step_v) {
  if (obj.is_undefined()) FailUndefined(obj);
  bool is_str = obj.is_string();
  if (!is_str && !(obj.is_list() && !obj.is_generator())) {  // Jinja emits a plain Python subscript
    ThrowError("TypeError", "'" + obj.TypeName() + "' object is not subscriptable");
  }
  std::vector<char32_t> cps;
  if (is_str) cps = DecodeUtf8(obj.str());
  int64_t n = is_str ? static_cast<int64_t>(cps.size()) : static_cast<int64_t>(obj.list().size());
  auto opt = [](const Value& v) { return v.is_undefined() || v.is_none(); };
  int64_t step = opt(step_v) ? 1 : ToInt(step_v, "slice step");
  if (step == 0) ThrowError("ValueError", "slice step cannot be zero");
  int64_t start, stop;
  auto clamp = [&](int64_t i, bool is_start) {
    if (i < 0) i += n;
    if (step > 0) return std::max<int64_t>(0, std::min(i, n));
    (void)is_start;
    return std::max<int64_t>(-1, std::min(i, n - 1));
  };
  if (step > 0) {
    start = opt(start_v) ? 0 : clamp(ToInt(start_v, "slice index"), true);
    stop = opt(stop_v) ? n : clamp(ToInt(stop_v, "slice index"), false);
  } else {
    start = opt(start_v) ? n - 1 : clamp(ToInt(start_v, "slice index"), true);
    stop = opt(stop_v) ? -1 : clamp(ToInt(stop_v, "slice index"), false);
  }
  std::vector<int64_t> idx;
  if (step > 0) {
    for (int64_t i = start; i < stop; i += step) idx.push_back(i);
  } else {
    for (int64_t i = start; i > stop; i += step) idx.push_back(i);
  }
  if (is_str) {
    std::string out;
    for (int64_t i : idx) AppendUtf8(out, cps[i]);
    return Value::String(std::move(out), obj.is_safe());
  }
  ValueList out;
  for (int64_t i : idx) out.push_back(obj.list()[i]);
  return Value::List(std::move(out), obj.is_tuple());
}

ValueList Iterate(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::kUndefined:
      if (v.is_unsafe_undefined()) FailUndefined(v);
      return {};
    case Value::Kind::kList: return v.list();
    case Value::Kind::kDict: {
      if (v.is_namespace()) ThrowError("TypeError", "'Namespace' object is not iterable");
      ValueList keys;
      for (const auto& [k, _] : v.dict().items) keys.push_back(DictKeyValue(k));
      return keys;
    }
    case Value::Kind::kString: {
      ValueList chars;
      for (char32_t c : DecodeUtf8(v.str())) {
        std::string s;
        AppendUtf8(s, c);
        chars.push_back(Value::String(std::move(s)));
      }
      return chars;
    }
    default:
      ThrowError("TypeError", "'" + v.TypeName() + "' object is not iterable");
  }
}

}  // namespace isv::jinja
