// Model: a loaded transformer model: its hyper-parameters and weights, used in place from the
// GGUF file's memory map (no copies). Shapes below are ggml's [ne0, ne1]: a matrix [in, out] maps
// an input vector of length `in` to `out` outputs (out rows of `in` elements).
//
//   ISV_ASSIGN_OR_RETURN(std::unique_ptr<Model> model, Model::Load("model.gguf"));
//
// Load() validates every tensor the architecture needs: presence, shape and a type with kernels
// in this build; errors name the file and tensor ("tensor blk.3.attn_q.weight: expected
// [2048, 2048], got [2048, 1024]").
//
// Thread-safety: immutable after Load(); share it between contexts and threads freely.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "engine/gguf/gguf_file.h"
#include "engine/model/model_params.h"
#include "engine/tensor/tensor.h"

namespace isv {

// One transformer block. Absent tensors have data == nullptr (valid() is false).
struct LayerWeights {
  TensorView attn_norm;    // [n_embd] F32
  TensorView wq;           // [n_embd, n_embd_q]            llama, qwen2
  TensorView wk;           // [n_embd, n_embd_kv]           llama, qwen2
  TensorView wv;           // [n_embd, n_embd_kv]           llama, qwen2
  TensorView bq;           // [n_embd_q] F32                qwen2
  TensorView bk;           // [n_embd_kv] F32               qwen2
  TensorView bv;           // [n_embd_kv] F32               qwen2
  TensorView wqkv;         // [n_embd, n_embd_q + 2 n_embd_kv] rows Q|K|V   phi3
  TensorView wo;           // [n_embd_q, n_embd]
  TensorView ffn_norm;     // [n_embd] F32
  TensorView ffn_gate;     // [n_embd, n_ff]                llama, qwen2
  TensorView ffn_up;       // [n_embd, n_ff]; phi3: [n_embd, 2 n_ff] rows gate|up
  TensorView ffn_down;     // [n_ff, n_embd]
};

struct ModelWeights {
  TensorView token_embd;   // [n_embd, n_vocab]
  TensorView output_norm;  // [n_embd] F32
  TensorView output;       // [n_embd, n_vocab]; == token_embd when tied
  TensorView rope_freqs;   // [n_rot / 2] F32, llama3-style frequency factors (optional)
  TensorView rope_long;    // [n_rot / 2] F32, phi3 LongRoPE factors beyond n_ctx_orig (optional)
  TensorView rope_short;   // [n_rot / 2] F32, phi3 LongRoPE factors within n_ctx_orig (optional)
  std::vector<LayerWeights> layers;  // n_layer
};

class Model {
 public:
  // Opens and validates the GGUF file at `path`; by default the weights are read into huge pages
  // (GgufMemory::kHugePages: faster decode), GgufMemory::kMap uses them in place from the mmap.
  static StatusOr<std::unique_ptr<Model>> Load(const std::string& path, GgufMemory memory = GgufMemory::kHugePages);
  // Takes ownership of an opened file (tests build files in memory).
  static StatusOr<std::unique_ptr<Model>> FromGguf(std::unique_ptr<GgufFile> file);

  const ModelParams& params() const { return params_; }
  const ModelWeights& weights() const { return weights_; }
  // The file the weights live in (metadata for the tokenizer, chat template, ...).
  const GgufFile& file() const { return *file_; }

  // The RoPE frequency factors to use with a context of n_ctx cells (nullptr when none): the
  // llama3 rope_freqs tensor, else phi3's long factors when n_ctx > n_ctx_orig, else the short ones.
  const float* RopeFactors(int32_t n_ctx) const;

  // How many matrices were repacked at load into WeightLayout::kRows8 (see RepackForDecode).
  int rows8_matrices() const { return rows8_matrices_; }

 private:
  Model() = default;
  Status LoadWeights();
  // Repacks, in place, the matrices of the types with a kRows8 form (rows8_layout.h: every quantized
  // weight type) into WeightLayout::kRows8, whose decode kernel is about twice as fast per byte, where
  // this CPU's best level has one (TypeKernels::gemv_rows8) and the weights are a private copy
  // (GgufMemory::kHugePages; not in place from the mmap). No memory is added. Only for matrices with a
  // multiple of 8 rows. Costs ~0.1 s of load time per GB on one core of the development EPYC (RepackRows8
  // 10-14 GB/s, session 14).
  void RepackForDecode();

  std::unique_ptr<GgufFile> file_;
  ModelParams params_;
  ModelWeights weights_;
  int rows8_matrices_ = 0;
};

}  // namespace isv
