// GgufWriter: builds a GGUF v3 file (metadata + tensors) in memory and writes it out.
//
// Used by `synth` and `quantize`, and by tests that craft files (valid or deliberately broken:
// the raw-byte helpers let a test write lies the writer itself would never produce).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "engine/gguf/gguf_value.h"
#include "engine/tensor/ggml_type.h"

namespace isv {

class GgufWriter {
 public:
  void set_version(uint32_t v) { version_ = v; }
  // Alignment of tensor data; also written as general.alignment when != 32.
  void set_alignment(uint32_t a) { alignment_ = a; }

  void AddKv(std::string key, GgufValue value);
  void AddString(std::string key, std::string v) { AddKv(std::move(key), GgufValue(GgufType::kString, std::move(v))); }
  void AddUint32(std::string key, uint32_t v) { AddKv(std::move(key), GgufValue(GgufType::kUint32, uint64_t{v})); }
  void AddInt32(std::string key, int32_t v) { AddKv(std::move(key), GgufValue(GgufType::kInt32, int64_t{v})); }
  void AddFloat32(std::string key, float v) { AddKv(std::move(key), GgufValue(GgufType::kFloat32, double{v})); }
  void AddBool(std::string key, bool v) { AddKv(std::move(key), GgufValue(GgufType::kBool, v)); }
  void AddStringArray(std::string key, const std::vector<std::string>& v);
  void AddFloat32Array(std::string key, const std::vector<float>& v);
  void AddInt32Array(std::string key, const std::vector<int32_t>& v);

  // `data` must hold exactly RowSize(type, ne[0]) * rows bytes. ne has 1..4 entries.
  void AddTensor(std::string name, GgmlType type, std::vector<int64_t> ne, std::string data);

  // The complete file image.
  std::string Serialize() const;
  Status WriteFile(const std::string& path) const;

  // Little-endian encoders for tests that assemble files by hand.
  static void PutU32(std::string& out, uint32_t v);
  static void PutU64(std::string& out, uint64_t v);
  static void PutString(std::string& out, std::string_view s);
  static void PutValue(std::string& out, const GgufValue& v);

 private:
  struct Tensor {
    std::string name;
    GgmlType type;
    std::vector<int64_t> ne;
    std::string data;
  };
  uint32_t version_ = 3;
  uint32_t alignment_ = 32;
  std::vector<std::pair<std::string, GgufValue>> kv_;
  std::vector<Tensor> tensors_;
};

}  // namespace isv
