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

// An array value, stored compactly. One GgufValue per element costs ~48 bytes plus a heap block per
// long string: llama-3's vocabulary and merge list (128k + 280k strings) took 38 MB that way, held as
// long as the model. So numbers and bools are kept as their GGUF encoding, strings as one character
// buffer with end offsets, and only arrays of arrays hold GgufValues.
class GgufArray {
 public:
  explicit GgufArray(GgufType element_type = GgufType::kUint8) : element_type_(element_type) {}
  // REQUIRES: every item is of element_type.
  GgufArray(GgufType element_type, const std::vector<GgufValue>& items);

  GgufType element_type() const { return element_type_; }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  // Element i as a value (a copy). REQUIRES: i < size().
  GgufValue at(size_t i) const;
  // Element i of an array of strings, without a copy. REQUIRES: element_type() == kString, i < size().
  std::string_view string_at(size_t i) const;
  // All elements of an array of numbers or bools in their GGUF encoding, as a file holds them.
  // REQUIRES: GgufFixedSize(element_type()) > 0.
  std::string_view encoded() const { return bytes_; }

  // REQUIRES: item.type() == element_type().
  void push_back(const GgufValue& item);
  void reserve(size_t n);

 private:
  GgufType element_type_;
  size_t size_ = 0;
  std::string bytes_;                // numbers and bools: each element's GGUF encoding; strings: their characters
  std::vector<size_t> string_ends_;  // strings: where element i ends in bytes_
  std::vector<GgufValue> arrays_;    // arrays of arrays
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

// Bytes of one element of a fixed-size type in a GGUF file (numbers, bool); 0 for string and array.
size_t GgufFixedSize(GgufType t);
// Appends the GGUF (little-endian) encoding of a number or bool. REQUIRES: GgufFixedSize(v.type()) > 0.
void AppendGgufScalar(const GgufValue& v, std::string& out);
// The value of type t encoded at p (GgufFixedSize(t) bytes). REQUIRES: GgufFixedSize(t) > 0.
GgufValue DecodeGgufScalar(GgufType t, const char* p);

}  // namespace isv
