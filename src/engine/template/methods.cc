#include "engine/template/methods.h"

#include <algorithm>
#include <cstdio>
#include <set>

#include "engine/template/error.h"
#include "engine/template/unicode_case.h"

namespace isv::jinja {

bool IsPyWhitespace(char32_t c) {
  return c == ' ' || (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x1f) || c == 0x85 || c == 0xa0 ||
         c == 0x1680 || (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 || c == 0x202f ||
         c == 0x205f || c == 0x3000;
}

std::string PyTitle(const std::string& s) {
  std::string out;
  bool prev_cased = false;
  for (char32_t c : DecodeUtf8(s)) {
    bool cased = IsCasedCp(c);
    AppendUtf8(out, cased ? (prev_cased ? LowerCp(c) : UpperCp(c)) : c);
    prev_cased = cased;
  }
  return out;
}

std::string PyCapitalize(const std::string& s) {
  std::vector<char32_t> cps = DecodeUtf8(s);
  std::string out;
  for (size_t i = 0; i < cps.size(); ++i) AppendUtf8(out, i == 0 ? UpperCp(cps[i]) : LowerCp(cps[i]));
  return out;
}

// str.isupper()/islower(): at least one cased character and no cased character of the other case.
bool PyIsCase(const std::string& s, bool upper) {
  bool any = false;
  for (char32_t c : DecodeUtf8(s)) {
    if (!IsCasedCp(c)) continue;
    any = true;
    if (upper ? IsLowerCp(c) : IsUpperCp(c)) return false;
  }
  return any;
}

std::string PyReplace(const std::string& s, const std::string& from, const std::string& to, int64_t count) {
  if (count < 0) count = INT64_MAX;
  std::string out;
  if (from.empty()) {  // Python inserts `to` between every character
    std::vector<char32_t> cps = DecodeUtf8(s);
    int64_t done = 0;
    for (char32_t c : cps) {
      if (done < count) {
        out += to;
        ++done;
      }
      AppendUtf8(out, c);
    }
    if (done < count) out += to;
    return out;
  }
  size_t pos = 0;
  int64_t done = 0;
  while (done < count) {
    size_t hit = s.find(from, pos);
    if (hit == std::string::npos) break;
    out.append(s, pos, hit - pos);
    out += to;
    pos = hit + from.size();
    ++done;
  }
  out.append(s, pos, std::string::npos);
  return out;
}

std::string PyStrip(const std::string& s, const Value& chars, bool left, bool right) {
  std::vector<char32_t> cps = DecodeUtf8(s);
  std::set<char32_t> set;
  bool ws = chars.is_undefined() || chars.is_none();
  if (!ws) {
    if (!chars.is_string()) ThrowError("TypeError", "strip arg must be None or str");
    for (char32_t c : DecodeUtf8(chars.str())) set.insert(c);
  }
  auto strip = [&](char32_t c) { return ws ? IsPyWhitespace(c) : set.count(c) > 0; };
  size_t b = 0, e = cps.size();
  if (left) {
    while (b < e && strip(cps[b])) ++b;
  }
  if (right) {
    while (e > b && strip(cps[e - 1])) --e;
  }
  return EncodeUtf8(std::vector<char32_t>(cps.begin() + b, cps.begin() + e));
}

ValueList PySplit(const std::string& s, const Value& sep, int64_t maxsplit) {
  ValueList out;
  if (maxsplit < 0) maxsplit = INT64_MAX;
  if (sep.is_undefined() || sep.is_none()) {
    std::vector<char32_t> cps = DecodeUtf8(s);
    size_t i = 0;
    int64_t splits = 0;
    while (true) {
      while (i < cps.size() && IsPyWhitespace(cps[i])) ++i;
      if (i >= cps.size()) break;
      if (splits >= maxsplit) {
        size_t e = cps.size();
        while (e > i && IsPyWhitespace(cps[e - 1])) --e;
        out.push_back(Value::String(EncodeUtf8(std::vector<char32_t>(cps.begin() + i, cps.begin() + e))));
        break;
      }
      size_t j = i;
      while (j < cps.size() && !IsPyWhitespace(cps[j])) ++j;
      out.push_back(Value::String(EncodeUtf8(std::vector<char32_t>(cps.begin() + i, cps.begin() + j))));
      ++splits;
      i = j;
    }
    return out;
  }
  if (!sep.is_string()) ThrowError("TypeError", "must be str or None, not " + sep.TypeName());
  if (sep.str().empty()) ThrowError("ValueError", "empty separator");
  size_t pos = 0;
  int64_t splits = 0;
  while (splits < maxsplit) {
    size_t hit = s.find(sep.str(), pos);
    if (hit == std::string::npos) break;
    out.push_back(Value::String(s.substr(pos, hit - pos)));
    pos = hit + sep.str().size();
    ++splits;
  }
  out.push_back(Value::String(s.substr(pos)));
  return out;
}

std::string PyFormat(const std::string& fmt, CallArgs& args) {
  std::string out;
  size_t auto_index = 0;
  for (size_t i = 0; i < fmt.size(); ++i) {
    char c = fmt[i];
    if (c == '{' && i + 1 < fmt.size() && fmt[i + 1] == '{') {
      out += '{';
      ++i;
    } else if (c == '}' && i + 1 < fmt.size() && fmt[i + 1] == '}') {
      out += '}';
      ++i;
    } else if (c == '{') {
      size_t end = fmt.find('}', i);
      if (end == std::string::npos) ThrowError("ValueError", "Single '{' encountered in format string");
      std::string field = fmt.substr(i + 1, end - i - 1);
      if (field.find_first_of(":!") != std::string::npos) {
        ThrowError("ValueError", "format specs are not supported in str.format");
      }
      Value v;
      if (field.empty()) {
        if (auto_index >= args.positional.size()) ThrowError("IndexError", "Replacement index out of range");
        v = args.positional[auto_index++];
      } else if (std::isdigit(static_cast<unsigned char>(field[0]))) {
        size_t k = std::stoul(field);
        if (k >= args.positional.size()) ThrowError("IndexError", "Replacement index out of range");
        v = args.positional[k];
      } else {
        bool found = false;
        for (auto& [name, val] : args.named) {
          if (name == field) {
            v = val;
            found = true;
          }
        }
        if (!found) ThrowError("KeyError", "'" + field + "'");
      }
      out += v.ToStr();
      i = end;
    } else if (c == '}') {
      ThrowError("ValueError", "Single '}' encountered in format string");
    } else {
      out += c;
    }
  }
  return out;
}

std::string PyPercentFormat(const std::string& fmt, const Value& args) {
  ValueList positional = args.is_tuple() ? args.list() : ValueList{args};
  size_t next = 0;
  bool used_mapping = false;
  std::string out;
  for (size_t i = 0; i < fmt.size(); ++i) {
    if (fmt[i] != '%') {
      out += fmt[i];
      continue;
    }
    if (++i >= fmt.size()) ThrowError("ValueError", "incomplete format");
    Value v;
    bool have = false;
    if (fmt[i] == '(') {
      size_t close = fmt.find(')', i);
      if (close == std::string::npos || !args.is_dict()) ThrowError("TypeError", "format requires a mapping");
      const Value* found = args.dict().Find(fmt.substr(i + 1, close - i - 1));
      if (!found) ThrowError("KeyError", "'" + fmt.substr(i + 1, close - i - 1) + "'");
      v = *found;
      have = used_mapping = true;
      i = close + 1;
    }
    int precision = -1;
    if (i < fmt.size() && fmt[i] == '.') {
      precision = 0;
      while (++i < fmt.size() && std::isdigit(static_cast<unsigned char>(fmt[i]))) precision = precision * 10 + (fmt[i] - '0');
    }
    if (i >= fmt.size()) ThrowError("ValueError", "incomplete format");
    char conv = fmt[i];
    if (conv == '%') {
      out += '%';
      continue;
    }
    if (!have) {
      if (next >= positional.size()) ThrowError("TypeError", "not enough arguments for format string");
      v = positional[next++];
    }
    char buf[64];
    switch (conv) {
      case 's': out += v.ToStr(); break;
      case 'r': out += v.Repr(); break;
      case 'd': case 'i':
        if (!v.is_number()) ThrowError("TypeError", "%d format: a real number is required, not " + v.TypeName());
        out += std::to_string(v.is_float() ? static_cast<int64_t>(v.float_value()) : ToInt(v, "value"));
        break;
      case 'f':
        if (!v.is_number()) ThrowError("TypeError", "must be real number, not " + v.TypeName());
        std::snprintf(buf, sizeof(buf), "%.*f", precision < 0 ? 6 : std::min(precision, 30), v.AsDouble());
        out += buf;
        break;
      default: ThrowError("ValueError", std::string("unsupported format character '") + conv + "'");
    }
  }
  // Python treats any non-tuple argument with __getitem__ (list, dict) as a mapping: no leftover check.
  if (!used_mapping && !args.is_dict() && !args.is_undefined() && !(args.is_list() && !args.is_tuple()) &&
      next < positional.size()) {
    ThrowError("TypeError", "not all arguments converted during string formatting");
  }
  return out;
}

namespace {

Value Bind(const std::string& name, NativeFunction fn) { return Value::Function(name, std::move(fn)); }

bool PrefixMatch(const std::string& s, const Value& arg, bool suffix) {
  auto one = [&](const Value& p) {
    if (!p.is_string()) ThrowError("TypeError", "startswith/endswith arg must be str or a tuple of str");
    const std::string& x = p.str();
    if (x.size() > s.size()) return false;
    return suffix ? s.compare(s.size() - x.size(), x.size(), x) == 0 : s.compare(0, x.size(), x) == 0;
  };
  if (arg.is_list()) {
    for (const Value& p : arg.list()) {
      if (one(p)) return true;
    }
    return false;
  }
  return one(arg);
}

bool StringQueryMethod(const Value& obj, const std::string& name, Value* out);

// str methods that build new strings or lists: strip, split, replace, case, format, join, ...
bool StringMethod(const Value& obj, const std::string& name, Value* out) {
  const std::string s = obj.str();
  if (name == "strip" || name == "lstrip" || name == "rstrip") {
    bool l = name != "rstrip", r = name != "lstrip";
    *out = Bind(name, [s, l, r](CallArgs& a) { return Value::String(PyStrip(s, ArgAt(a, 0, "chars"), l, r)); });
  } else if (name == "split") {
    *out = Bind(name, [s](CallArgs& a) {
      Value max = ArgAt(a, 1, "maxsplit", Value::Int(-1));
      return Value::List(PySplit(s, ArgAt(a, 0, "sep"), ToInt(max, "maxsplit")));
    });
  } else if (name == "rsplit") {
    *out = Bind(name, [s](CallArgs& a) {
      Value max = ArgAt(a, 1, "maxsplit", Value::Int(-1));
      int64_t m = ToInt(max, "maxsplit");
      ValueList all = PySplit(s, ArgAt(a, 0, "sep"), -1);
      if (m < 0 || static_cast<int64_t>(all.size()) <= m + 1) return Value::List(std::move(all));
      Value sep = ArgAt(a, 0, "sep");
      std::string joiner = sep.is_string() ? sep.str() : " ";
      size_t head = all.size() - m;
      std::string first;
      for (size_t i = 0; i < head; ++i) first += (i ? joiner : "") + all[i].str();
      ValueList res{Value::String(first)};
      res.insert(res.end(), all.begin() + head, all.end());
      return Value::List(std::move(res));
    });
  } else if (name == "splitlines") {
    *out = Bind(name, [s](CallArgs&) {
      ValueList lines;
      size_t pos = 0;
      while (pos < s.size()) {
        size_t e = s.find_first_of("\r\n", pos);
        if (e == std::string::npos) {
          lines.push_back(Value::String(s.substr(pos)));
          break;
        }
        lines.push_back(Value::String(s.substr(pos, e - pos)));
        pos = e + ((s[e] == '\r' && e + 1 < s.size() && s[e + 1] == '\n') ? 2 : 1);
      }
      return Value::List(std::move(lines));
    });
  } else if (name == "startswith" || name == "endswith") {
    bool suffix = name == "endswith";
    *out = Bind(name, [s, suffix](CallArgs& a) { return Value::Bool(PrefixMatch(s, ArgAt(a, 0, "prefix"), suffix)); });
  } else if (name == "replace") {
    *out = Bind(name, [s](CallArgs& a) {
      Value from = ArgAt(a, 0, "old"), to = ArgAt(a, 1, "new");
      if (!from.is_string() || !to.is_string()) ThrowError("TypeError", "replace() arguments must be str");
      return Value::String(PyReplace(s, from.str(), to.str(), ToInt(ArgAt(a, 2, "count", Value::Int(-1)), "count")));
    });
  } else if (name == "upper" || name == "lower" || name == "title" || name == "capitalize") {
    *out = Bind(name, [s, name](CallArgs&) {
      if (name == "upper") return Value::String(PyUpper(s));
      if (name == "lower") return Value::String(PyLower(s));
      if (name == "title") return Value::String(PyTitle(s));
      return Value::String(PyCapitalize(s));
    });
  } else {
    return StringQueryMethod(obj, name, out);
  }
  return true;
}

// The other str methods: find/rfind/index/count, format, join, is*().
bool StringQueryMethod(const Value& obj, const std::string& name, Value* out) {
  const std::string s = obj.str();
  if (name == "find" || name == "rfind" || name == "index" || name == "count") {
    *out = Bind(name, [s, name](CallArgs& a) {
      Value sub = ArgAt(a, 0, "sub");
      if (!sub.is_string()) ThrowError("TypeError", "must be str, not " + sub.TypeName());
      if (name == "count") {
        if (sub.str().empty()) return Value::Int(static_cast<int64_t>(Utf8Length(s)) + 1);
        int64_t n = 0;
        for (size_t p = s.find(sub.str()); p != std::string::npos; p = s.find(sub.str(), p + sub.str().size())) ++n;
        return Value::Int(n);
      }
      size_t p = name == "rfind" ? s.rfind(sub.str()) : s.find(sub.str());
      if (p == std::string::npos) {
        if (name == "index") ThrowError("ValueError", "substring not found");
        return Value::Int(-1);
      }
      return Value::Int(static_cast<int64_t>(Utf8Length(std::string_view(s).substr(0, p))));
    });
  } else if (name == "format") {
    *out = Bind(name, [s](CallArgs& a) { return Value::String(PyFormat(s, a)); });
  } else if (name == "join") {
    *out = Bind(name, [s](CallArgs& a) {
      std::string r;
      bool first = true;
      for (const Value& v : Iterate(ArgAt(a, 0, "iterable"))) {
        if (!v.is_string()) ThrowError("TypeError", "sequence item: expected str instance, " + v.TypeName() + " found");
        if (!first) r += s;
        first = false;
        r += v.str();
      }
      return Value::String(std::move(r));
    });
  } else if (name == "isupper" || name == "islower") {
    bool upper = name == "isupper";
    *out = Bind(name, [s, upper](CallArgs&) { return Value::Bool(PyIsCase(s, upper)); });
  } else if (name == "isdigit" || name == "isalpha" || name == "isspace" || name == "isalnum") {
    *out = Bind(name, [s, name](CallArgs&) {
      if (s.empty()) return Value::Bool(false);
      bool any_cased = false, ok = true;
      for (unsigned char c : s) {
        bool r = name == "isdigit" ? std::isdigit(c) : name == "isalpha" ? std::isalpha(c)
               : name == "isspace" ? std::isspace(c) : name == "isalnum" ? std::isalnum(c) : true;
        if (name == "isupper" || name == "islower") {
          if (std::isalpha(c)) {
            any_cased = true;
            r = name == "isupper" ? std::isupper(c) : std::islower(c);
          }
        }
        ok = ok && r;
      }
      if (name == "isupper" || name == "islower") ok = ok && any_cased;
      return Value::Bool(ok);
    });
  } else {
    return false;
  }
  return true;
}

bool DictMethod(const Value& obj, const std::string& name, Value* out) {
  Value d = obj;
  if (name == "get") {
    *out = Bind(name, [d](CallArgs& a) {
      Value k = ArgAt(a, 0, "key");
      Value fallback = ArgAt(a, 1, "default", Value::None());
      const Value* v = d.dict().Find(DictKey(k));
      return v ? *v : fallback;
    });
  } else if (name == "items" || name == "keys" || name == "values") {
    *out = Bind(name, [d, name](CallArgs&) {
      ValueList r;
      for (const auto& [k, v] : d.dict().items) {
        if (name == "items") r.push_back(Value::List({DictKeyValue(k), v}, /*tuple=*/true));
        else if (name == "keys") r.push_back(DictKeyValue(k));
        else r.push_back(v);
      }
      return Value::List(std::move(r));
    });
  } else {
    return false;
  }
  return true;
}

bool ListMethod(const Value& obj, const std::string& name, Value* out) {
  Value l = obj;
  if (name == "index" || name == "count") {
    *out = Bind(name, [l, name](CallArgs& a) {
      Value x = ArgAt(a, 0, "value");
      int64_t n = 0;
      for (size_t i = 0; i < l.list().size(); ++i) {
        if (ValuesEqual(l.list()[i], x)) {
          if (name == "index") return Value::Int(static_cast<int64_t>(i));
          ++n;
        }
      }
      if (name == "index") ThrowError("ValueError", x.Repr() + " is not in list");
      return Value::Int(n);
    });
    return true;
  }
  return false;
}

}  // namespace

bool LookupMethod(const Value& obj, const std::string& name, const BuiltinContext& ctx, Value* out) {
  (void)ctx;
  static const std::set<std::string> kListMutators = {"append", "extend", "insert", "pop", "remove",
                                                      "reverse", "sort", "clear"};
  static const std::set<std::string> kDictMutators = {"clear", "pop", "popitem", "setdefault", "update"};
  if (obj.is_string()) return StringMethod(obj, name, out);
  if (obj.is_list() && !obj.is_generator()) {
    if (!obj.is_tuple() && kListMutators.count(name)) {
      *out = Value::Undefined("access to attribute '" + name + "' of 'list' object is unsafe.", true);
      return true;
    }
    return ListMethod(obj, name, out);
  }
  if (obj.is_dict() && !obj.is_namespace()) {
    if (kDictMutators.count(name)) {
      *out = Value::Undefined("access to attribute '" + name + "' of 'dict' object is unsafe.", true);
      return true;
    }
    return DictMethod(obj, name, out);
  }
  return false;
}

}  // namespace isv::jinja
