// Helpers for the GGUF tests: deep comparison of metadata values and a raw file assembler that can
// write what GgufWriter never would (lying counts, bad types, misplaced tensors).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "engine/gguf/gguf_value.h"
#include "engine/gguf/gguf_writer.h"

namespace isv::testing {

inline constexpr uint32_t kGgufMagic = 0x46554747;

// Structural equality: same type, same element type, same scalar values, same items.
inline ::testing::AssertionResult SameValue(const GgufValue& a, const GgufValue& b) {
  if (a.type() != b.type()) {
    return ::testing::AssertionFailure() << "type " << GgufTypeName(a.type()) << " vs " << GgufTypeName(b.type());
  }
  bool same = true;
  switch (a.type()) {
    case GgufType::kUint8: case GgufType::kUint16: case GgufType::kUint32: case GgufType::kUint64:
      same = a.AsUint() == b.AsUint(); break;
    case GgufType::kInt8: case GgufType::kInt16: case GgufType::kInt32: case GgufType::kInt64:
      same = a.AsInt() == b.AsInt(); break;
    case GgufType::kFloat32: case GgufType::kFloat64: same = a.AsDouble() == b.AsDouble(); break;
    case GgufType::kBool: same = a.AsBool() == b.AsBool(); break;
    case GgufType::kString: same = a.AsString() == b.AsString(); break;
    case GgufType::kArray: {
      const GgufArray& x = a.AsArray();
      const GgufArray& y = b.AsArray();
      if (x.element_type() != y.element_type() || x.size() != y.size()) {
        return ::testing::AssertionFailure() << "array of " << x.size() << " " << GgufTypeName(x.element_type())
                                             << " vs " << y.size() << " " << GgufTypeName(y.element_type());
      }
      for (size_t i = 0; i < x.size(); ++i) {
        ::testing::AssertionResult r = SameValue(x.at(i), y.at(i));
        if (!r) return ::testing::AssertionFailure() << "item " << i << ": " << r.message();
      }
      return ::testing::AssertionSuccess();
    }
  }
  if (!same) return ::testing::AssertionFailure() << a.ToDisplayString() << " vs " << b.ToDisplayString();
  return ::testing::AssertionSuccess();
}

// A GGUF image assembled field by field. Every field is written exactly as given.
struct RawTensorInfo {
  std::string name;
  std::vector<int64_t> ne;        // written as n_dims = ne.size() unless n_dims is set
  std::optional<uint32_t> n_dims;
  uint32_t type = 0;              // ggml type number
  uint64_t offset = 0;
};

class RawGguf {
 public:
  uint32_t magic = kGgufMagic;
  uint32_t version = 3;
  std::optional<uint64_t> n_tensors_field;  // default: tensors.size()
  std::optional<uint64_t> n_kv_field;       // default: number of AddKv* calls
  std::vector<RawTensorInfo> tensors;
  uint64_t alignment = 32;                  // padding before the data section (not written as a key)
  std::string data;                         // the data section, appended after the padding

  void AddKv(const std::string& key, const GgufValue& v) {
    AddRawKv(key, static_cast<uint32_t>(v.type()), Encode(v));
  }
  // `value_bytes` follows the type field verbatim.
  void AddRawKv(const std::string& key, uint32_t type, const std::string& value_bytes) {
    GgufWriter::PutString(kv_bytes_, key);
    GgufWriter::PutU32(kv_bytes_, type);
    kv_bytes_ += value_bytes;
    ++n_kv_;
  }

  // Byte offsets of interest, valid after Serialize(): end of the header, end of each kv, end of
  // each tensor info, start of the data section.
  size_t header_end() const { return 24; }
  size_t kv_end() const { return 24 + kv_bytes_.size(); }
  size_t infos_end = 0;
  size_t data_start = 0;

  std::string Serialize() {
    std::string out;
    GgufWriter::PutU32(out, magic);
    GgufWriter::PutU32(out, version);
    GgufWriter::PutU64(out, n_tensors_field.value_or(tensors.size()));
    GgufWriter::PutU64(out, n_kv_field.value_or(n_kv_));
    out += kv_bytes_;
    for (const RawTensorInfo& t : tensors) {
      GgufWriter::PutString(out, t.name);
      GgufWriter::PutU32(out, t.n_dims.value_or(static_cast<uint32_t>(t.ne.size())));
      for (int64_t n : t.ne) GgufWriter::PutU64(out, static_cast<uint64_t>(n));
      GgufWriter::PutU32(out, t.type);
      GgufWriter::PutU64(out, t.offset);
    }
    infos_end = out.size();
    // No padding in a file without tensors, so that lies at its end run into the end of the file.
    if (!tensors.empty() || !data.empty()) out.resize((out.size() + alignment - 1) / alignment * alignment, '\0');
    data_start = out.size();
    out += data;
    return out;
  }

  static std::string Encode(const GgufValue& v) {
    std::string s;
    GgufWriter::PutValue(s, v);
    return s;
  }

 private:
  std::string kv_bytes_;
  uint64_t n_kv_ = 0;
};

inline GgufValue U32(uint32_t v) { return GgufValue(GgufType::kUint32, uint64_t{v}); }
inline GgufValue Str(std::string s) { return GgufValue(GgufType::kString, std::move(s)); }
inline GgufValue Array(GgufType elem, std::vector<GgufValue> items) {
  return GgufValue(GgufType::kArray, GgufArray(elem, items));
}

}  // namespace isv::testing
