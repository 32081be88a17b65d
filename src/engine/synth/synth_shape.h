// SynthShape: the named model shapes `synth` can build (real models' hyper-parameters, and the
// tiny shapes of ../shared/testdata), and the list of tensors such a model holds, each with the
// distribution of its random values.
//
// Scales (as the testdata README's synthetic models, widened): hidden matrices ~ N(0, s^2) with
// s = 0.08 * sqrt(256 / n_embd); token embeddings 1.0 (untied) or 0.5 * sqrt(256 / n_embd) (tied,
// also the output matrix); output 0.6 * sqrt(256 / n_embd); norm weights 1 + 0.1 N(0, 1);
// biases 0.1 N(0, 1). So the logits have a standard deviation of ~8-10 at every width and the
// attention neither uniform nor one-hot.
//
// Plain data; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace isv {

struct SynthShape {
  std::string_view name;        // "qwen2.5-0.5b"
  std::string_view arch;        // general.architecture
  int n_embd = 0;
  int n_layer = 0;
  int n_head = 0;
  int n_head_kv = 0;
  int n_ff = 0;
  int n_vocab = 0;
  int n_ctx = 0;                // {arch}.context_length
  float rope_base = 10000.0f;
  float rms_eps = 1e-5f;
  bool tied = false;            // no output.weight; token_embd is the output matrix
  bool qkv_bias = false;        // qwen2: attn_{q,k,v}.bias
  bool fused = false;           // phi3: attn_qkv (rows Q|K|V) and ffn_up (rows gate|up)
  bool llama3_rope = false;     // rope_freqs tensor (llama 3.x frequency factors)
  std::string_view vocab_file;  // tokenizer source, relative to ../shared/testdata

  int head_dim() const { return n_embd / n_head; }
};

// How a tensor's values are drawn.
enum class SynthInit {
  kNormal,     // scale * N(0, 1)
  kNorm,       // 1 + scale * N(0, 1)
  kRopeFreqs,  // deterministic llama-3 frequency factors
};

struct SynthTensor {
  std::string name;
  std::vector<int64_t> ne;  // ggml order: ne[0] = row length
  SynthInit init = SynthInit::kNormal;
  float scale = 1.0f;
};

// The named shapes, in a stable order.
const std::vector<SynthShape>& SynthShapes();
// The shape called `name`, or nullopt.
std::optional<SynthShape> FindSynthShape(std::string_view name);
// "qwen2.5-0.5b, llama-3.2-1b, ..." for help and errors.
std::string SynthShapeNames();

// The tensors of `shape`, in the order a converter writes them (rope_freqs, token_embd, each
// layer's tensors, output_norm, output).
std::vector<SynthTensor> SynthTensors(const SynthShape& shape);

// llama-3 RoPE frequency factors for head_dim / 2 frequencies (factor 32, low 1, high 4,
// original context 8192, as Llama 3.2 ships them).
std::vector<float> Llama3RopeFactors(int head_dim, float rope_base);

}  // namespace isv
