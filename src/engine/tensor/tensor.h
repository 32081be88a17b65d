// TensorView: a non-owning view of a tensor's data (usually inside a GGUF file's mmap).
//
// Shapes follow ggml: ne[0] is the innermost (contiguous) dimension, so a weight matrix [ne0, ne1]
// has ne1 rows of ne0 elements, and maps an input vector of length ne0 to ne1 outputs. Rows are
// stored contiguously (RowSize(type, ne[0]) bytes each), unless the view's layout says otherwise.
// The view stays valid as long as the object owning the memory (GgufFile, Model) lives.
#pragma once

#include <cstdint>
#include <string>

#include "engine/tensor/ggml_type.h"

namespace isv {

// How a weight matrix's rows are stored.
enum class WeightLayout : uint8_t {
  // Row after row, as in the GGUF file.
  kRows,
  // Groups of 8 consecutive rows, interleaved block by block (kernels/rows8_layout.h): quantized
  // matrices repacked at load for decode (Model). Same bytes per row on average,
  // but row(i) is not a row: only MatMul reads such a matrix.
  kRows8,
};

struct TensorView {
  std::string name;
  GgmlType type = GgmlType::kF32;
  int n_dims = 0;
  int64_t ne[4] = {1, 1, 1, 1};
  const void* data = nullptr;
  WeightLayout layout = WeightLayout::kRows;

  int64_t n_elements() const { return ne[0] * ne[1] * ne[2] * ne[3]; }
  int64_t n_rows() const { return ne[1] * ne[2] * ne[3]; }
  size_t row_bytes() const { return RowSize(type, ne[0]); }
  size_t n_bytes() const { return row_bytes() * static_cast<size_t>(n_rows()); }
  // REQUIRES: layout == WeightLayout::kRows.
  const uint8_t* row(int64_t i) const { return static_cast<const uint8_t*>(data) + row_bytes() * i; }
  bool valid() const { return data != nullptr; }
};

}  // namespace isv
