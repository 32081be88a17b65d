// ModelParams: the hyper-parameters of a transformer model, read from a GGUF file's `{arch}.*`
// metadata keys with llama.cpp's defaults for the optional ones.
//
//   ISV_ASSIGN_OR_RETURN(ModelParams hp, ReadModelParams(file));
//
// Supported architectures: llama, qwen2, phi3. Anything else is refused with
// "architecture X is not supported". Missing required keys name the file and the key.
// Plain value type; copy freely.
#pragma once

#include <cstdint>
#include <string>

#include "core/status.h"

namespace isv {

class GgufFile;

enum class Arch { kLlama, kQwen2, kPhi3 };

// How RoPE rotates a head: adjacent pairs (2i, 2i+1) ("normal", llama) or pairs (i, i + n_rot/2)
// ("NeoX", qwen2, phi3).
enum class RopeStyle { kNormal, kNeox };

// rope.scaling.type; "none" disables freq_scale. YaRN is refused at load (not implemented).
enum class RopeScaling { kNone, kLinear, kLongRope };

struct ModelParams {
  Arch arch = Arch::kLlama;
  std::string arch_name;       // general.architecture
  int32_t n_vocab = 0;         // rows of token_embd
  int32_t n_ctx_train = 0;     // {arch}.context_length
  int32_t n_embd = 0;          // {arch}.embedding_length
  int32_t n_layer = 0;         // {arch}.block_count
  int32_t n_head = 0;          // {arch}.attention.head_count
  int32_t n_head_kv = 0;       // {arch}.attention.head_count_kv (default n_head)
  int32_t head_dim = 0;        // {arch}.attention.key_length (default n_embd / n_head)
  int32_t n_rot = 0;           // {arch}.rope.dimension_count (default head_dim)
  int32_t n_ff = 0;            // {arch}.feed_forward_length
  float rms_eps = 1e-5f;       // {arch}.attention.layer_norm_rms_epsilon
  float rope_freq_base = 10000.0f;   // {arch}.rope.freq_base
  float rope_freq_scale = 1.0f;      // 1 / {arch}.rope.scaling.factor (linear), else 1
  RopeScaling rope_scaling = RopeScaling::kLinear;
  int32_t n_ctx_orig = 0;            // {arch}.rope.scaling.original_context_length (default n_ctx_train)
  float rope_attn_factor = 1.0f;     // {arch}.rope.scaling.attn_factor: multiplies cos/sin (phi3 LongRoPE)
  RopeStyle rope_style = RopeStyle::kNormal;
  bool tied_output = false;          // no output.weight: token_embd doubles as the output matrix

  int32_t n_embd_q() const { return n_head * head_dim; }
  int32_t n_embd_kv() const { return n_head_kv * head_dim; }
  int32_t n_gqa() const { return n_head / n_head_kv; }
};

// Reads and validates the hyper-parameters of `file` (tensor shapes are checked later, by Model).
StatusOr<ModelParams> ReadModelParams(const GgufFile& file);

std::string_view ArchName(Arch arch);

}  // namespace isv
