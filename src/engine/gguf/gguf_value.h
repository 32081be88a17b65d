// GgufValue: one metadata value of a GGUF file (any of the 13 GGUF value types, arrays nested).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace isv {

// GGUF metadata value types, numbered as in the GGUF spec.
enum class GgufType : uint32_t {
  kUint8 = 0, kInt8 = 1, kUint16 = 2, kInt16 = 3, kUint32 = 4, kInt32 = 5, kFloat32 = 6,
  kBool = 7, kString = 8, kArray = 9, kUint64 = 10, kInt64 = 11, kFloat64 = 12,
};

std::string_view GgufTypeName(GgufType t);

class GgufValue;

struct GgufArray {
  GgufType element_type = GgufType::kUint8;
  std::vector<GgufValue> items;
};

class GgufValue {
 public:
  using Storage = std::variant<uint64_t, int64_t, double, bool, std::string, GgufArray>;

  GgufValue() = default;
  GgufValue(GgufType type, Storage storage) : type_(type), storage_(std::move(storage)) {}

  GgufType type() const { return type_; }
  bool is_integer() const;
  bool is_float() const { return type_ == GgufType::kFloat32 || type_ == GgufType::kFloat64; }
  bool is_string() const { return type_ == GgufType::kString; }
  bool is_array() const { return type_ == GgufType::kArray; }
  bool is_bool() const { return type_ == GgufType::kBool; }

  // REQUIRES: the matching is_*(); numbers convert between integer and float kinds.
  int64_t AsInt() const;
  uint64_t AsUint() const;
  double AsDouble() const;
  bool AsBool() const { return std::get<bool>(storage_); }
  const std::string& AsString() const { return std::get<std::string>(storage_); }
  const GgufArray& AsArray() const { return std::get<GgufArray>(storage_); }

  // Short human-readable rendering (arrays abbreviated), for `info` and error messages.
  std::string ToDisplayString(size_t max_items = 8) const;

 private:
  GgufType type_ = GgufType::kUint8;
  Storage storage_ = uint64_t{0};
};

}  // namespace isv
