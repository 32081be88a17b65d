#include "engine/synth/synth_shape.h"

#include <cmath>

namespace isv {
namespace {

SynthShape Make(std::string_view name, std::string_view arch, int n_embd, int n_layer, int n_head, int n_head_kv,
                int n_ff, int n_vocab, int n_ctx, float rope_base, float rms_eps, std::string_view vocab) {
  SynthShape s;
  s.name = name;
  s.arch = arch;
  s.n_embd = n_embd;
  s.n_layer = n_layer;
  s.n_head = n_head;
  s.n_head_kv = n_head_kv;
  s.n_ff = n_ff;
  s.n_vocab = n_vocab;
  s.n_ctx = n_ctx;
  s.rope_base = rope_base;
  s.rms_eps = rms_eps;
  s.vocab_file = vocab;
  return s;
}

std::vector<SynthShape> BuildShapes() {
  std::vector<SynthShape> v;
  SynthShape qwen = Make("qwen2.5-0.5b", "qwen2", 896, 24, 14, 2, 4864, 151936, 32768, 1e6f, 1e-6f,
                         "vocab/ggml-vocab-qwen2.gguf");
  qwen.tied = qwen.qkv_bias = true;
  v.push_back(qwen);
  SynthShape llama = Make("llama-3.2-1b", "llama", 2048, 16, 32, 8, 8192, 128256, 131072, 500000.0f, 1e-5f,
                          "vocab/ggml-vocab-llama-bpe.gguf");
  llama.tied = llama.llama3_rope = true;
  v.push_back(llama);
  SynthShape phi = Make("phi-3-mini", "phi3", 3072, 32, 32, 32, 8192, 32064, 4096, 10000.0f, 1e-5f,
                        "vocab/ggml-vocab-phi-3.gguf");
  phi.fused = true;
  v.push_back(phi);
  v.push_back(Make("tiny-llama", "llama", 256, 2, 4, 2, 512, 512, 512, 10000.0f, 1e-5f, "models/stories260K.gguf"));
  SynthShape tq = Make("tiny-qwen2", "qwen2", 256, 2, 4, 2, 768, 50257, 512, 1e6f, 1e-6f, "vocab/ggml-vocab-gpt-2.gguf");
  tq.tied = tq.qkv_bias = true;
  v.push_back(tq);
  SynthShape tp = Make("tiny-phi3", "phi3", 256, 2, 4, 4, 512, 32064, 512, 10000.0f, 1e-5f, "vocab/ggml-vocab-phi-3.gguf");
  tp.fused = true;
  v.push_back(tp);
  return v;
}

}  // namespace

const std::vector<SynthShape>& SynthShapes() {
  static const std::vector<SynthShape> shapes = BuildShapes();
  return shapes;
}

std::optional<SynthShape> FindSynthShape(std::string_view name) {
  for (const SynthShape& s : SynthShapes())
    if (s.name == name) return s;
  return std::nullopt;
}

std::string SynthShapeNames() {
  std::string out;
  for (const SynthShape& s : SynthShapes()) {
    if (!out.empty()) out += ", ";
    out += s.name;
  }
  return out;
}

std::vector<SynthTensor> SynthTensors(const SynthShape& s) {
  const int64_t d = s.n_embd, q = int64_t{s.n_head} * s.head_dim(), kv = int64_t{s.n_head_kv} * s.head_dim();
  const float width = std::sqrt(256.0f / static_cast<float>(s.n_embd));
  const float hidden = 0.08f * width;
  std::vector<SynthTensor> t;
  if (s.llama3_rope) t.push_back({"rope_freqs.weight", {s.head_dim() / 2}, SynthInit::kRopeFreqs, 0.0f});
  t.push_back({"token_embd.weight", {d, s.n_vocab}, SynthInit::kNormal, s.tied ? 0.5f * width : 1.0f});
  for (int il = 0; il < s.n_layer; ++il) {
    const std::string p = "blk." + std::to_string(il) + ".";
    t.push_back({p + "attn_norm.weight", {d}, SynthInit::kNorm, 0.1f});
    if (s.fused) {
      t.push_back({p + "attn_qkv.weight", {d, q + 2 * kv}, SynthInit::kNormal, hidden});
    } else {
      t.push_back({p + "attn_q.weight", {d, q}, SynthInit::kNormal, hidden});
      t.push_back({p + "attn_k.weight", {d, kv}, SynthInit::kNormal, hidden});
      t.push_back({p + "attn_v.weight", {d, kv}, SynthInit::kNormal, hidden});
      if (s.qkv_bias) {
        t.push_back({p + "attn_q.bias", {q}, SynthInit::kNormal, 0.1f});
        t.push_back({p + "attn_k.bias", {kv}, SynthInit::kNormal, 0.1f});
        t.push_back({p + "attn_v.bias", {kv}, SynthInit::kNormal, 0.1f});
      }
    }
    t.push_back({p + "attn_output.weight", {q, d}, SynthInit::kNormal, hidden});
    t.push_back({p + "ffn_norm.weight", {d}, SynthInit::kNorm, 0.1f});
    if (s.fused) {
      t.push_back({p + "ffn_up.weight", {d, 2 * int64_t{s.n_ff}}, SynthInit::kNormal, hidden});
      t.push_back({p + "ffn_down.weight", {s.n_ff, d}, SynthInit::kNormal, hidden});
    } else {
      t.push_back({p + "ffn_gate.weight", {d, s.n_ff}, SynthInit::kNormal, hidden});
      t.push_back({p + "ffn_down.weight", {s.n_ff, d}, SynthInit::kNormal, hidden});
      t.push_back({p + "ffn_up.weight", {d, s.n_ff}, SynthInit::kNormal, hidden});
    }
  }
  t.push_back({"output_norm.weight", {d}, SynthInit::kNorm, 0.1f});
  if (!s.tied) t.push_back({"output.weight", {d, s.n_vocab}, SynthInit::kNormal, 0.6f * width});
  return t;
}

std::vector<float> Llama3RopeFactors(int head_dim, float rope_base) {
  const double factor = 32.0, low_freq_factor = 1.0, high_freq_factor = 4.0, original_ctx = 8192.0;
  const double low_freq_wavelen = original_ctx / low_freq_factor;
  const double high_freq_wavelen = original_ctx / high_freq_factor;
  const double two_pi = 6.283185307179586;
  std::vector<float> out;
  for (int i = 0; i < head_dim; i += 2) {
    const double freq = 1.0 / std::pow(static_cast<double>(rope_base), static_cast<double>(i) / head_dim);
    const double wavelen = two_pi / freq;
    double f;
    if (wavelen < high_freq_wavelen) {
      f = 1.0;
    } else if (wavelen > low_freq_wavelen) {
      f = factor;
    } else {
      const double smooth = (original_ctx / wavelen - low_freq_factor) / (high_freq_factor - low_freq_factor);
      f = 1.0 / ((1.0 - smooth) / factor + smooth);
    }
    out.push_back(static_cast<float>(f));
  }
  return out;
}

}  // namespace isv
