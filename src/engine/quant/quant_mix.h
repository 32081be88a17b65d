// Quantization mixes: llama.cpp's file types (general.file_type, "Q4_K_M", ...) and the rules that
// pick each tensor's type inside a mix, so that our `quantize` writes the tensor types
// llama-quantize writes (no importance matrix, no overrides).
//
//   std::vector<MixTensor> ts = ...;  // in llama-quantize's processing order (SortLikeLlamaQuantize)
//   ISV_ASSIGN_OR_RETURN(std::vector<GgmlType> types, ChooseTensorTypes(FileType::kQ4_K_M, info, ts));
//
// The rules (learned from llama.cpp's llama_tensor_get_type, b10176), for the mixes supported here:
//  * only tensors of >= 2 dims whose name ends in "weight" (and not "_norm.weight", expert gates,
//    positional embeddings, ...) are quantized; everything else keeps its type (norms, biases, rope
//    factors stay F32);
//  * the output matrix (and token_embd when there is no output.weight: tied embeddings) gets Q6_K
//    in every quantized mix except Q8_0, or Q8_0 when its rows are not a multiple of the mix's
//    block size;
//  * attn_v / attn_qkv and ffn_down get more bits in some layers (Q4_K_M, Q5_K_M: Q6_K in the
//    first and last eighth and every third layer between, "use_more_bits"); Q2_K / Q3_K_* / Q4_K_S /
//    IQ4 mixes have their own bumps; attn_output is bumped in Q2_K / Q3_K_M / Q3_K_L;
//  * a type whose block does not divide the row length falls back: Q4_K -> Q5_0, Q5_K -> Q5_1,
//    Q6_K -> Q8_0, Q2_K / Q3_K -> Q4_0, IQ4_XS -> IQ4_NL, then F16 if that does not fit either.
// The layer counters advance in processing order, exactly as in llama-quantize (which processes
// tensors sorted by layer number, then name).
//
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "engine/tensor/ggml_type.h"

namespace isv {

// llama.cpp's llama_ftype numbers (the value of general.file_type).
enum class FileType : int {
  kAllF32 = 0, kF16 = 1, kQ4_0 = 2, kQ4_1 = 3, kQ8_0 = 7, kQ5_0 = 8, kQ5_1 = 9,
  kQ2_K = 10, kQ3_K_S = 11, kQ3_K_M = 12, kQ3_K_L = 13, kQ4_K_S = 14, kQ4_K_M = 15,
  kQ5_K_S = 16, kQ5_K_M = 17, kQ6_K = 18, kIQ4_NL = 25, kIQ4_XS = 30, kBF16 = 32,
};

// "Q4_K_M", "q8_0", "f16", "BF16", "F32", ... (case-insensitive); nullopt for an unknown name.
std::optional<FileType> FileTypeFromName(std::string_view name);
// The canonical upper-case name ("Q4_K_M").
std::string_view FileTypeName(FileType t);
// Every supported name, comma-separated (for --help and error messages).
std::string FileTypeNames();
// The type most tensors of the mix get (Q4_K for Q4_K_M, F16 for F16, ...).
GgmlType DefaultTensorType(FileType t);

// What the rules need to know about the model.
struct MixModelInfo {
  std::string arch;     // general.architecture
  int n_layer = 0;      // {arch}.block_count
  int n_head = 1;       // {arch}.attention.head_count
  int n_head_kv = 1;    // {arch}.attention.head_count_kv
  int n_gqa() const { return n_head_kv > 0 ? n_head / n_head_kv : 1; }
};

// One tensor as the rules see it.
struct MixTensor {
  std::string name;
  GgmlType type = GgmlType::kF32;  // its type in the input file
  int n_dims = 0;
  int64_t ne0 = 0;                 // row length
};

// True when llama-quantize would quantize this tensor at all (2-D+ "*weight", not a norm, ...).
bool TensorAllowsQuantization(const MixTensor& t);

// The output type of every tensor of `tensors` (given in processing order) under mix `ftype`.
// Errors: a row length that no type of the mix (nor its fallbacks) can hold.
StatusOr<std::vector<GgmlType>> ChooseTensorTypes(FileType ftype, const MixModelInfo& model,
                                                  const std::vector<MixTensor>& tensors);

// llama-quantize's tensor order: non-layer tensors first, then by layer number ("blk.N."),
// ties by name (byte order). Returns the permutation: order[k] = index into `names`.
std::vector<size_t> LlamaQuantizeOrder(const std::vector<std::string>& names);

}  // namespace isv
