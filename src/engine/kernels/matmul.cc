#include "engine/kernels/matmul.h"

#include "engine/kernels/kernels.h"

namespace isv {

void MatMul(const TensorView& w, const float* x, int64_t n_tokens, float* y, ThreadPool& pool,
            MatMulScratch& scratch) {
  MatMul(w, x, n_tokens, y, pool, scratch, BestIsa());
}

void MatMul(const TensorView& w, const float* x, int64_t n_tokens, float* y, ThreadPool& pool,
            MatMulScratch& scratch, Isa isa) {
  const int64_t n_in = w.ne[0];
  const int64_t n_out = w.ne[1];
  const TypeKernels& wk = GetKernels(w.type, isa);
  const TypeKernels& ak = GetKernels(wk.vec_dot_type, isa);
  const size_t act_row = RowSize(wk.vec_dot_type, n_in);
  scratch.activations.resize(act_row * n_tokens);
  uint8_t* act = scratch.activations.data();

  pool.ParallelFor(n_tokens, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) ak.from_float(x + t * n_in, act + t * act_row, n_in);
  });

  pool.ParallelFor(n_out, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const uint8_t* wr = w.row(r);
      for (int64_t t = 0; t < n_tokens; ++t) y[t * n_out + r] = wk.vec_dot(n_in, wr, act + t * act_row);
    }
  });
}

void DequantizeRow(const TensorView& w, int64_t row, float* out) {
  GetKernels(w.type).to_float(w.row(row), out, w.ne[0]);
}

}  // namespace isv
