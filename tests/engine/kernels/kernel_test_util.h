// Shared by the kernel tests: a random weight matrix of one type as a TensorView.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

#include "engine/kernels/kernels.h"
#include "engine/tensor/tensor.h"

namespace isv {

struct TestMatrix {
  std::vector<uint8_t> bytes;
  std::vector<float> dequantized;  // n_out x n_in, what the scalar to_float gives back
  TensorView view;
};

// n_out rows of n_in N(0, scale^2) floats, quantized to `type` with the scalar (reference) kernels.
inline TestMatrix MakeTestMatrix(GgmlType type, int64_t n_in, int64_t n_out, float scale, std::mt19937& rng) {
  std::normal_distribution<float> dist;
  TestMatrix m;
  const size_t row = RowSize(type, n_in);
  m.bytes.resize(row * n_out);
  m.dequantized.resize(n_in * n_out);
  std::vector<float> f(n_in);
  const TypeKernels& k = GetKernels(type, Isa::kScalar);
  for (int64_t r = 0; r < n_out; ++r) {
    for (float& v : f) v = scale * dist(rng);
    k.from_float(f.data(), &m.bytes[r * row], n_in);
    k.to_float(&m.bytes[r * row], &m.dequantized[r * n_in], n_in);
  }
  m.view.name = "w";
  m.view.type = type;
  m.view.n_dims = 2;
  m.view.ne[0] = n_in;
  m.view.ne[1] = n_out;
  m.view.data = m.bytes.data();
  return m;
}

}  // namespace isv
