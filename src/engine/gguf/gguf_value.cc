#include "engine/gguf/gguf_value.h"

#include <sstream>

namespace isv {

std::string_view GgufTypeName(GgufType t) {
  switch (t) {
    case GgufType::kUint8: return "uint8";
    case GgufType::kInt8: return "int8";
    case GgufType::kUint16: return "uint16";
    case GgufType::kInt16: return "int16";
    case GgufType::kUint32: return "uint32";
    case GgufType::kInt32: return "int32";
    case GgufType::kFloat32: return "float32";
    case GgufType::kBool: return "bool";
    case GgufType::kString: return "string";
    case GgufType::kArray: return "array";
    case GgufType::kUint64: return "uint64";
    case GgufType::kInt64: return "int64";
    case GgufType::kFloat64: return "float64";
  }
  return "unknown";
}

bool GgufValue::is_integer() const {
  switch (type_) {
    case GgufType::kUint8: case GgufType::kInt8: case GgufType::kUint16: case GgufType::kInt16:
    case GgufType::kUint32: case GgufType::kInt32: case GgufType::kUint64: case GgufType::kInt64:
      return true;
    default:
      return false;
  }
}

int64_t GgufValue::AsInt() const {
  if (auto* u = std::get_if<uint64_t>(&storage_)) return static_cast<int64_t>(*u);
  if (auto* i = std::get_if<int64_t>(&storage_)) return *i;
  if (auto* d = std::get_if<double>(&storage_)) return static_cast<int64_t>(*d);
  if (auto* b = std::get_if<bool>(&storage_)) return *b ? 1 : 0;
  return 0;
}

uint64_t GgufValue::AsUint() const {
  if (auto* u = std::get_if<uint64_t>(&storage_)) return *u;
  return static_cast<uint64_t>(AsInt());
}

double GgufValue::AsDouble() const {
  if (auto* d = std::get_if<double>(&storage_)) return *d;
  if (auto* u = std::get_if<uint64_t>(&storage_)) return static_cast<double>(*u);
  if (auto* i = std::get_if<int64_t>(&storage_)) return static_cast<double>(*i);
  return 0;
}

std::string GgufValue::ToDisplayString(size_t max_items) const {
  std::ostringstream out;
  switch (type_) {
    case GgufType::kString: {
      const std::string& s = AsString();
      out << '"' << (s.size() > 80 ? s.substr(0, 77) + "..." : s) << '"';
      break;
    }
    case GgufType::kBool: out << (AsBool() ? "true" : "false"); break;
    case GgufType::kFloat32: case GgufType::kFloat64: out << AsDouble(); break;
    case GgufType::kUint64: case GgufType::kUint32: case GgufType::kUint16: case GgufType::kUint8:
      out << AsUint();
      break;
    case GgufType::kArray: {
      const GgufArray& a = AsArray();
      out << "[" << GgufTypeName(a.element_type) << " x " << a.items.size() << ": ";
      for (size_t i = 0; i < a.items.size() && i < max_items; ++i) {
        if (i) out << ", ";
        out << a.items[i].ToDisplayString(max_items);
      }
      if (a.items.size() > max_items) out << ", ...";
      out << "]";
      break;
    }
    default: out << AsInt(); break;
  }
  return out.str();
}

}  // namespace isv
