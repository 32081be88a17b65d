// GgufStreamWriter: writes a GGUF v3 file tensor by tensor, for files too big to build in memory
// (`synth` and `quantize` of billion-parameter models). The metadata and the tensor directory
// (names, types, shapes) are given up front; the data of each tensor is then appended in
// directory order, in as many pieces as the caller likes.
//
//   GgufStreamWriter w;
//   w.AddKv("general.architecture", GgufValue(GgufType::kString, std::string("llama")));
//   w.AddTensorInfo("token_embd.weight", GgmlType::kQ8_0, {2048, 128256});
//   ISV_RETURN_IF_ERROR(w.Open("out.gguf"));        // writes header, metadata and directory
//   ISV_RETURN_IF_ERROR(w.Append(bytes, n));         // tensor 0's bytes, in any number of calls
//   ISV_RETURN_IF_ERROR(w.Close());                  // checks every tensor got all its bytes
//
// The layout is GgufWriter's (alignment 32, tensors in directory order, zero padding), so the two
// writers give identical files for identical content. Not thread-safe.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "core/status.h"
#include "engine/gguf/gguf_value.h"
#include "engine/tensor/ggml_type.h"

namespace isv {

class GgufStreamWriter {
 public:
  GgufStreamWriter() = default;
  ~GgufStreamWriter();
  GgufStreamWriter(const GgufStreamWriter&) = delete;
  GgufStreamWriter& operator=(const GgufStreamWriter&) = delete;

  // Metadata, in file order. REQUIRES: before Open().
  void AddKv(std::string key, GgufValue value) { kv_.emplace_back(std::move(key), std::move(value)); }
  // A tensor of the directory; its data size is RowSize(type, ne[0]) * rows. REQUIRES: before Open().
  void AddTensorInfo(std::string name, GgmlType type, std::vector<int64_t> ne);

  // Creates `path` and writes everything up to the first tensor's data.
  Status Open(const std::string& path);
  // Appends n bytes of tensor data; a tensor's end moves on to the next (after padding).
  // Errors: more bytes than the directory announces, write failure.
  Status Append(const void* data, size_t n);
  // Pads the last tensor, flushes and closes. Errors: a tensor short of bytes, write failure.
  Status Close();

  // Size in bytes of the data of tensor i.
  size_t tensor_bytes(size_t i) const { return tensors_[i].n_bytes; }
  size_t n_tensors() const { return tensors_.size(); }

 private:
  struct Info {
    std::string name;
    GgmlType type;
    std::vector<int64_t> ne;
    size_t n_bytes;
  };
  Status WriteRaw(const void* data, size_t n);
  Status Pad();

  std::vector<std::pair<std::string, GgufValue>> kv_;
  std::vector<Info> tensors_;
  std::string path_;
  std::FILE* file_ = nullptr;
  size_t pos_ = 0;        // bytes written to the file
  size_t current_ = 0;    // index of the tensor being written
  size_t written_ = 0;    // bytes of the current tensor written
};

}  // namespace isv
