// GgmlType: the tensor element types of GGUF files, numbered exactly as ggml numbers them, and
// their block layouts (elements per block, bytes per block).
//
// A quantized row of n elements is n / block_size blocks of type_size bytes each. The layouts
// themselves (struct definitions) live in engine/kernels/blocks.h.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace isv {

enum class GgmlType : uint32_t {
  kF32 = 0,
  kF16 = 1,
  kQ4_0 = 2,
  kQ4_1 = 3,
  kQ5_0 = 6,
  kQ5_1 = 7,
  kQ8_0 = 8,
  kQ8_1 = 9,
  kQ2_K = 10,
  kQ3_K = 11,
  kQ4_K = 12,
  kQ5_K = 13,
  kQ6_K = 14,
  kQ8_K = 15,
  kIQ2_XXS = 16,
  kIQ2_XS = 17,
  kIQ3_XXS = 18,
  kIQ1_S = 19,
  kIQ4_NL = 20,
  kIQ3_S = 21,
  kIQ2_S = 22,
  kIQ4_XS = 23,
  kI8 = 24,
  kI16 = 25,
  kI32 = 26,
  kI64 = 27,
  kF64 = 28,
  kIQ1_M = 29,
  kBF16 = 30,
  kTQ1_0 = 34,
  kTQ2_0 = 35,
  kMXFP4 = 39,
};

struct GgmlTypeTraits {
  std::string_view name;  // as ggml prints it, e.g. "q4_K"
  int64_t block_size;     // elements per block
  size_t type_size;       // bytes per block
  bool quantized;
  bool supported;         // the engine can compute with it (dequantize + dot product)
};

// Returns the traits of a type ggml knows, or nullopt for an unknown number.
std::optional<GgmlTypeTraits> GetTypeTraits(uint32_t raw_type);
// REQUIRES: t is a known type.
const GgmlTypeTraits& TypeTraits(GgmlType t);
std::string_view TypeName(GgmlType t);
// Parses "q4_K", "Q4_K", "f16", ... case-insensitively.
std::optional<GgmlType> TypeFromName(std::string_view name);

// Bytes of one row of n elements. REQUIRES: n % block_size == 0.
inline size_t RowSize(GgmlType t, int64_t n) {
  const GgmlTypeTraits& tr = TypeTraits(t);
  return static_cast<size_t>(n / tr.block_size) * tr.type_size;
}

}  // namespace isv
