#include "engine/template/value_json.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "engine/template/error.h"

namespace isv::jinja {

Value ValueFromJson(const nlohmann::ordered_json& j) {
  switch (j.type()) {
    case nlohmann::ordered_json::value_t::null: return Value::None();
    case nlohmann::ordered_json::value_t::boolean: return Value::Bool(j.get<bool>());
    case nlohmann::ordered_json::value_t::number_integer: return Value::Int(j.get<int64_t>());
    case nlohmann::ordered_json::value_t::number_unsigned:
      return Value::Int(static_cast<int64_t>(j.get<uint64_t>()));
    case nlohmann::ordered_json::value_t::number_float: return Value::Float(j.get<double>());
    case nlohmann::ordered_json::value_t::string: return Value::String(j.get<std::string>());
    case nlohmann::ordered_json::value_t::array: {
      ValueList items;
      items.reserve(j.size());
      for (const auto& e : j) items.push_back(ValueFromJson(e));
      return Value::List(std::move(items));
    }
    case nlohmann::ordered_json::value_t::object: {
      auto d = std::make_shared<ValueDict>();
      for (const auto& [k, v] : j.items()) d->items.emplace_back(k, ValueFromJson(v));
      return Value::Dict(std::move(d));
    }
    default: return Value::None();
  }
}

namespace {

void DumpString(std::string& out, const std::string& s, bool ensure_ascii) {
  out += '"';
  std::vector<char32_t> cps = DecodeUtf8(s);
  char buf[16];
  for (char32_t c : cps) {
    switch (c) {
      case '"': out += "\\\""; continue;
      case '\\': out += "\\\\"; continue;
      case '\n': out += "\\n"; continue;
      case '\r': out += "\\r"; continue;
      case '\t': out += "\\t"; continue;
      case '\b': out += "\\b"; continue;
      case '\f': out += "\\f"; continue;
      default: break;
    }
    if (c < 0x20 || (ensure_ascii && c >= 0x7f)) {
      if (c >= 0x10000) {
        char32_t v = c - 0x10000;
        std::snprintf(buf, sizeof(buf), "\\u%04x\\u%04x", 0xD800 + (v >> 10), 0xDC00 + (v & 0x3FF));
      } else {
        std::snprintf(buf, sizeof(buf), "\\u%04x", static_cast<unsigned>(c));
      }
      out += buf;
    } else {
      AppendUtf8(out, c);
    }
  }
  out += '"';
}

class Dumper {
 public:
  explicit Dumper(const JsonDumpOptions& o) : o_(o) {
    pretty_ = o.indent >= 0 || !o.indent_string.empty();
    unit_ = !o.indent_string.empty() ? o.indent_string : std::string(std::max(o.indent, 0), ' ');
    item_sep_ = o.has_separators ? o.item_separator : (pretty_ ? "," : ", ");
  }

  void Dump(const Value& v, int depth) {
    if (depth > 512) ThrowError("ValueError", "Circular reference detected");
    switch (v.kind()) {
      case Value::Kind::kNone: out_ += "null"; return;
      case Value::Kind::kBool: out_ += v.bool_value() ? "true" : "false"; return;
      case Value::Kind::kInt: out_ += std::to_string(v.int_value()); return;
      case Value::Kind::kFloat: {
        double f = v.float_value();
        if (std::isnan(f)) out_ += "NaN";
        else if (std::isinf(f)) out_ += f > 0 ? "Infinity" : "-Infinity";
        else out_ += PyFloatRepr(f);
        return;
      }
      case Value::Kind::kString: DumpString(out_, v.str(), o_.ensure_ascii); return;
      case Value::Kind::kList: {
        if (v.is_generator()) ThrowError("TypeError", "Object of type generator is not JSON serializable");
        const ValueList& l = v.list();
        if (l.empty()) {
          out_ += "[]";
          return;
        }
        out_ += '[';
        for (size_t i = 0; i < l.size(); ++i) {
          if (i) out_ += item_sep_;
          Newline(depth + 1);
          Dump(l[i], depth + 1);
        }
        Newline(depth);
        out_ += ']';
        return;
      }
      case Value::Kind::kDict: {
        if (v.is_namespace()) ThrowError("TypeError", "Object of type Namespace is not JSON serializable");
        std::vector<const std::pair<std::string, Value>*> items;
        for (const auto& kv : v.dict().items) items.push_back(&kv);
        if (items.empty()) {
          out_ += "{}";
          return;
        }
        if (o_.sort_keys) {
          std::stable_sort(items.begin(), items.end(),
                           [](auto* a, auto* b) { return a->first < b->first; });
        }
        out_ += '{';
        for (size_t i = 0; i < items.size(); ++i) {
          if (i) out_ += item_sep_;
          Newline(depth + 1);
          Value key = DictKeyValue(items[i]->first);
          if (key.is_string()) DumpString(out_, key.str(), o_.ensure_ascii);
          else if (key.is_none()) out_ += "\"null\"";
          else DumpString(out_, key.Repr(), o_.ensure_ascii);
          out_ += o_.key_separator;
          Dump(items[i]->second, depth + 1);
        }
        Newline(depth);
        out_ += '}';
        return;
      }
      case Value::Kind::kUndefined:
        if (v.is_unsafe_undefined()) ThrowError("SecurityError", v.str());
        ThrowError("TypeError", "Object of type Undefined is not JSON serializable");
      case Value::Kind::kCallable:
        ThrowError("TypeError", "Object of type function is not JSON serializable");
    }
  }

  std::string Take() { return std::move(out_); }

 private:
  void Newline(int depth) {
    if (!pretty_) return;
    out_ += '\n';
    for (int i = 0; i < depth; ++i) out_ += unit_;
  }

  const JsonDumpOptions& o_;
  bool pretty_ = false;
  std::string unit_;
  std::string item_sep_;
  std::string out_;
};

}  // namespace

std::string PyJsonDumps(const Value& v, const JsonDumpOptions& options) {
  Dumper d(options);
  d.Dump(v, 0);
  return d.Take();
}

}  // namespace isv::jinja
