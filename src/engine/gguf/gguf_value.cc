#include "engine/gguf/gguf_value.h"

#include <cassert>
#include <cstring>
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
      out << "[" << GgufTypeName(a.element_type()) << " x " << a.size() << ": ";
      for (size_t i = 0; i < a.size() && i < max_items; ++i) {
        if (i) out << ", ";
        out << a.at(i).ToDisplayString(max_items);
      }
      if (a.size() > max_items) out << ", ...";
      out << "]";
      break;
    }
    default: out << AsInt(); break;
  }
  return out.str();
}

size_t GgufFixedSize(GgufType t) {
  switch (t) {
    case GgufType::kUint8: case GgufType::kInt8: case GgufType::kBool: return 1;
    case GgufType::kUint16: case GgufType::kInt16: return 2;
    case GgufType::kUint32: case GgufType::kInt32: case GgufType::kFloat32: return 4;
    case GgufType::kUint64: case GgufType::kInt64: case GgufType::kFloat64: return 8;
    case GgufType::kString: case GgufType::kArray: return 0;
  }
  return 0;
}

void AppendGgufScalar(const GgufValue& v, std::string& out) {
  auto put = [&out](const auto& x) { out.append(reinterpret_cast<const char*>(&x), sizeof(x)); };
  switch (v.type()) {
    case GgufType::kUint8: put(static_cast<uint8_t>(v.AsUint())); break;
    case GgufType::kInt8: put(static_cast<int8_t>(v.AsInt())); break;
    case GgufType::kUint16: put(static_cast<uint16_t>(v.AsUint())); break;
    case GgufType::kInt16: put(static_cast<int16_t>(v.AsInt())); break;
    case GgufType::kUint32: put(static_cast<uint32_t>(v.AsUint())); break;
    case GgufType::kInt32: put(static_cast<int32_t>(v.AsInt())); break;
    case GgufType::kUint64: put(v.AsUint()); break;
    case GgufType::kInt64: put(v.AsInt()); break;
    case GgufType::kFloat32: put(static_cast<float>(v.AsDouble())); break;
    case GgufType::kFloat64: put(v.AsDouble()); break;
    case GgufType::kBool: put(static_cast<uint8_t>(v.AsBool() ? 1 : 0)); break;
    case GgufType::kString: case GgufType::kArray: assert(false && "not a scalar"); break;
  }
}

GgufValue DecodeGgufScalar(GgufType t, const char* p) {
  auto get = [p](auto x) {
    std::memcpy(&x, p, sizeof(x));
    return x;
  };
  switch (t) {
    case GgufType::kUint8: return GgufValue(t, uint64_t{get(uint8_t{})});
    case GgufType::kInt8: return GgufValue(t, int64_t{get(int8_t{})});
    case GgufType::kUint16: return GgufValue(t, uint64_t{get(uint16_t{})});
    case GgufType::kInt16: return GgufValue(t, int64_t{get(int16_t{})});
    case GgufType::kUint32: return GgufValue(t, uint64_t{get(uint32_t{})});
    case GgufType::kInt32: return GgufValue(t, int64_t{get(int32_t{})});
    case GgufType::kUint64: return GgufValue(t, get(uint64_t{}));
    case GgufType::kInt64: return GgufValue(t, get(int64_t{}));
    case GgufType::kFloat32: return GgufValue(t, double{get(float{})});
    case GgufType::kFloat64: return GgufValue(t, get(double{}));
    case GgufType::kBool: return GgufValue(t, get(uint8_t{}) != 0);
    case GgufType::kString: case GgufType::kArray: break;
  }
  assert(false && "not a scalar");
  return GgufValue();
}

GgufArray::GgufArray(GgufType element_type, const std::vector<GgufValue>& items) : element_type_(element_type) {
  reserve(items.size());
  for (const GgufValue& item : items) push_back(item);
}

GgufValue GgufArray::at(size_t i) const {
  assert(i < size_);
  switch (element_type_) {
    case GgufType::kString: return GgufValue(GgufType::kString, std::string(string_at(i)));
    case GgufType::kArray: return arrays_[i];
    default: {
      const size_t width = GgufFixedSize(element_type_);
      return DecodeGgufScalar(element_type_, bytes_.data() + i * width);
    }
  }
}

std::string_view GgufArray::string_at(size_t i) const {
  assert(element_type_ == GgufType::kString && i < size_);
  const size_t begin = i == 0 ? 0 : string_ends_[i - 1];
  return std::string_view(bytes_).substr(begin, string_ends_[i] - begin);
}

void GgufArray::push_back(const GgufValue& item) {
  assert(item.type() == element_type_);
  switch (element_type_) {
    case GgufType::kString:
      bytes_ += item.AsString();
      string_ends_.push_back(bytes_.size());
      break;
    case GgufType::kArray: arrays_.push_back(item); break;
    default: AppendGgufScalar(item, bytes_); break;
  }
  ++size_;
}

void GgufArray::reserve(size_t n) {
  switch (element_type_) {
    case GgufType::kString: string_ends_.reserve(n); break;
    case GgufType::kArray: arrays_.reserve(n); break;
    default: bytes_.reserve(n * GgufFixedSize(element_type_)); break;
  }
}

}  // namespace isv
