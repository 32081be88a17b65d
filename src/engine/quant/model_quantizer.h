// QuantizeGguf: llama-quantize's job in our code. Reads an F32 / F16 / BF16 GGUF model and writes
// it with the tensor types of a quantization mix (quant_mix.h), byte-compatible with
// llama-quantize b10176 without an importance matrix: same tensor order (by layer, then name),
// same per-tensor types, same tensor bytes, all metadata copied with general.quantization_version
// and general.file_type (re)written at the end.
//
//   ISV_ASSIGN_OR_RETURN(QuantizeResult r, QuantizeGguf("in-F32.gguf", "out.gguf", {FileType::kQ4_K_M}));
//
// Thread-safety: independent calls may run concurrently (each uses its own thread pool).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "core/status.h"
#include "engine/gguf/gguf_file.h"
#include "engine/quant/quant_mix.h"

namespace isv {

struct QuantizeOptions {
  FileType ftype = FileType::kQ8_0;
  int n_threads = 0;  // <= 0: all cores
};

struct QuantizedTensor {
  std::string name;
  GgmlType from = GgmlType::kF32;
  GgmlType to = GgmlType::kF32;
  size_t bytes_in = 0;
  size_t bytes_out = 0;
};

struct QuantizeResult {
  std::vector<QuantizedTensor> tensors;  // in output order
  size_t bytes_in = 0;                   // tensor data only
  size_t bytes_out = 0;
};

// The mix inputs read from a file's metadata ({arch}.block_count, head counts).
StatusOr<MixModelInfo> ReadMixModelInfo(const GgufFile& file);

// The output tensors of quantizing `file` with `ftype`, in output order (bytes_in/out filled);
// nothing is written. Errors: unsupported input types, row lengths no type of the mix fits.
StatusOr<QuantizeResult> PlanQuantization(const GgufFile& file, FileType ftype);

// Quantizes the model at `in_path` into a new file at `out_path`.
StatusOr<QuantizeResult> QuantizeGguf(const std::string& in_path, const std::string& out_path,
                                      const QuantizeOptions& options);

}  // namespace isv
