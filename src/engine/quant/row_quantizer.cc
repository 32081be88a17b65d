#include "engine/quant/row_quantizer.h"

#include <cstring>

#include "engine/kernels/k_quant_ref.h"
#include "engine/kernels/kernels.h"
#include "engine/kernels/legacy_quant_ref.h"

namespace isv {
namespace {

void CopyF32(const float* x, void* y, int64_t n) { std::memcpy(y, x, static_cast<size_t>(n) * sizeof(float)); }

}  // namespace

StatusOr<RowQuantizeFn> FileQuantizer(GgmlType type) {
  if (type == GgmlType::kF32) return RowQuantizeFn{CopyF32};
  if (RowQuantizeFn legacy = LegacyReferenceQuantizer(type); legacy != nullptr) return legacy;
  switch (type) {
    case GgmlType::kF16:
    case GgmlType::kBF16: {
      // The scalar conversions round to nearest even, exactly as ggml's.
      RowQuantizeFn fn = GetKernels(type, Isa::kScalar).from_float;
      if (fn != nullptr) return fn;
      break;
    }
    case GgmlType::kQ2_K: return QuantizeQ2KRef;
    case GgmlType::kQ3_K: return QuantizeQ3KRef;
    case GgmlType::kQ4_K: return QuantizeQ4KRef;
    case GgmlType::kQ5_K: return QuantizeQ5KRef;
    case GgmlType::kQ6_K: return QuantizeQ6KRef;
    case GgmlType::kIQ4_XS: return QuantizeIq4XsRef;
    default:
      break;
  }
  return UnimplementedError("quantizing to " + std::string(TypeName(type)) + " is not supported by this build");
}

Status RowsToFloat(GgmlType type, const void* x, float* y, int64_t n) {
  if (type == GgmlType::kF32) {
    std::memcpy(y, x, static_cast<size_t>(n) * sizeof(float));
    return OkStatus();
  }
  auto to_float = GetKernels(type).to_float;
  if (to_float == nullptr) return UnimplementedError("cannot convert " + std::string(TypeName(type)) + " to F32");
  to_float(x, y, n);
  return OkStatus();
}

void QuantizeRows(ThreadPool& pool, RowQuantizeFn fn, GgmlType type, const float* src, void* dst, int64_t rows,
                  int64_t n_per_row) {
  const size_t row_bytes = RowSize(type, n_per_row);
  pool.ParallelFor(rows, [&](int64_t begin, int64_t end) {
    fn(src + begin * n_per_row, static_cast<uint8_t*>(dst) + begin * row_bytes, (end - begin) * n_per_row);
  });
}

}  // namespace isv
