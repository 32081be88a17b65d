// Shared by the kernel tests: the levels to test, bitwise float equality, a random weight matrix of one
// type as a TensorView, a copy of bytes that ends at an inaccessible page, and the magnitude bound
// that scales the float tolerance of a K-quant dot product.
#pragma once

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "engine/kernels/blocks_k.h"
#include "engine/kernels/kernels.h"
#include "engine/kernels/rows8_layout.h"
#include "engine/tensor/tensor.h"

namespace isv {

// The instruction-set levels this CPU runs, lowest first.
inline std::vector<Isa> AllIsas() {
  std::vector<Isa> isas;
  for (Isa isa : {Isa::kScalar, Isa::kAvx2, Isa::kAvx512, Isa::kAvx512Bf16}) {
    if (isa <= BestIsa()) isas.push_back(isa);
  }
  return isas;
}

// The SIMD levels this CPU runs (AllIsas without the scalar one).
inline std::vector<Isa> SimdIsas() {
  std::vector<Isa> isas = AllIsas();
  isas.erase(isas.begin());
  return isas;
}

// How many of the levels this CPU runs are `level` or above (a kernel a level has, the levels above it
// inherit or override: one per level in a loop over AllIsas()).
inline int LevelsFrom(Isa level) {
  int n = 0;
  for (Isa isa : AllIsas()) n += isa >= level ? 1 : 0;
  return n;
}

// Bitwise float equality (distinguishes -0 from +0, so it is stricter than ==).
inline bool SameBits(float a, float b) { return std::memcmp(&a, &b, sizeof(float)) == 0; }

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

// A copy of `bytes` that ends right before an inaccessible page: a kernel reading past the last
// weight row crashes the test.
class GuardedCopy {
 public:
  explicit GuardedCopy(const std::vector<uint8_t>& bytes) {
    const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    size_ = (bytes.size() + page - 1) / page * page + page;
    void* p = mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    EXPECT_NE(p, MAP_FAILED);
    base_ = static_cast<uint8_t*>(p);
    EXPECT_EQ(mprotect(base_ + size_ - page, page, PROT_NONE), 0);
    data_ = base_ + size_ - page - bytes.size();
    std::memcpy(data_, bytes.data(), bytes.size());
  }
  ~GuardedCopy() { munmap(base_, size_); }
  GuardedCopy(const GuardedCopy&) = delete;
  GuardedCopy& operator=(const GuardedCopy&) = delete;
  const uint8_t* data() const { return data_; }

 private:
  uint8_t* base_ = nullptr;
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

// m's bytes repacked into the kRows8 layout (rows8_layout.h).
inline std::vector<uint8_t> Repacked(const TestMatrix& m) {
  std::vector<uint8_t> bytes = m.bytes;
  RepackRows8(m.view.type, m.view.ne[0], m.view.ne[1], bytes.data());
  return bytes;
}

// m repacked into a copy that ends at an inaccessible page (no kernel may read past it), as a kRows8 view.
struct RepackedMatrix {
  explicit RepackedMatrix(const TestMatrix& m) : packed(Repacked(m)), view(m.view) {
    view.data = packed.data();
    view.layout = WeightLayout::kRows8;
  }
  GuardedCopy packed;
  TensorView view;
};

// The K-quant types whose weights have a min part (weight = d * scale * q - dmin * min).
inline bool HasMins(GgmlType t) {
  return t == GgmlType::kQ4_1 || t == GgmlType::kQ5_1 || t == GgmlType::kQ2_K || t == GgmlType::kQ4_K ||
         t == GgmlType::kQ5_K;
}

// n values of `data` (type t) dequantized by the scalar kernels.
inline std::vector<float> Dequantize(GgmlType t, const void* data, int64_t n) {
  std::vector<float> out(n);
  GetKernels(t, Isa::kScalar).to_float(data, out.data(), n);
  return out;
}

// An upper bound of sum |terms| the dot product's float arithmetic works on: for types with mins,
// the scale part and the min part of every weight count separately (they may nearly cancel). The
// min part is what the block dequantizes to with all quants zeroed.
inline double MagnitudeBound(GgmlType t, const std::vector<uint8_t>& w, const std::vector<float>& a) {
  const int64_t n = static_cast<int64_t>(a.size());
  const std::vector<float> x = Dequantize(t, w.data(), n);
  std::vector<float> min_part(n, 0.f);
  if (HasMins(t)) {
    std::vector<uint8_t> zeroed = w;
    const size_t bb = TypeTraits(t).type_size;
    for (size_t off = 0; off < zeroed.size(); off += bb) {
      uint8_t* b = &zeroed[off];
      if (t == GgmlType::kQ4_1) std::memset(b + offsetof(BlockQ4_1, qs), 0, sizeof(BlockQ4_1::qs));
      if (t == GgmlType::kQ5_1) {
        std::memset(b + offsetof(BlockQ5_1, qs), 0, sizeof(BlockQ5_1::qs));
        std::memset(b + offsetof(BlockQ5_1, qh), 0, sizeof(BlockQ5_1::qh));
      }
      if (t == GgmlType::kQ2_K) std::memset(b + offsetof(BlockQ2K, qs), 0, sizeof(BlockQ2K::qs));
      if (t == GgmlType::kQ4_K) std::memset(b + offsetof(BlockQ4K, qs), 0, sizeof(BlockQ4K::qs));
      if (t == GgmlType::kQ5_K) {
        std::memset(b + offsetof(BlockQ5K, qs), 0, sizeof(BlockQ5K::qs));
        std::memset(b + offsetof(BlockQ5K, qh), 0, sizeof(BlockQ5K::qh));
      }
    }
    min_part = Dequantize(t, zeroed.data(), n);
  }
  double bound = 0;
  for (int64_t i = 0; i < n; ++i) {
    bound += (std::fabs(double{x[i]} - min_part[i]) + std::fabs(double{min_part[i]})) * std::fabs(double{a[i]});
  }
  return bound;
}

}  // namespace isv
