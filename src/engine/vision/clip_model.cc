#include "engine/vision/clip_model.h"

#include <algorithm>
#include <set>

#include "engine/kernels/matmul.h"

namespace isv {
namespace {

// Projector types llama.cpp's mtmd knows (clip-impl.h) that this engine does not run yet.
constexpr const char* kKnownProjectors[] = {
    "ldp", "ldpv2", "mlp_norm", "resampler", "adapter", "qwen2vl_merger", "qwen2.5vl_merger", "qwen3vl_merger",
    "step3vl", "gemma3", "gemma3nv", "gemma4v", "gemma4uv", "phi4", "idefics3", "pixtral", "internvl", "llama4",
    "qwen2.5o", "lfm2", "kimivl", "paddleocr", "lightonocr", "cogvlm", "janus_pro", "dots_ocr", "deepseekocr",
    "deepseekocr2", "glm4v", "youtuvl", "yasa2", "kimik25", "nemotron_v2_vl", "exaone4_5", "hunyuanvl",
    "minicpmv4_6", "mimovl", "minimax_m3", "granite4_vision", "ultravox", "qwen2a", "qwen3a", "glma", "voxtral",
    "meralion", "musicflamingo", "gemma3na", "gemma4a", "gemma4ua", "lfm2a", "granite_speech", "mimo_audio",
    "parakeet"};

std::string Shape(const TensorView& t) {
  std::string s = "[";
  for (int i = 0; i < std::max(1, t.n_dims); ++i) s += (i ? ", " : "") + std::to_string(t.ne[i]);
  return s + "]";
}

// The tensor `name` as a computable matrix of ne1 rows of ne0 elements, or an error naming it.
StatusOr<TensorView> Matrix(const GgufFile& f, const std::string& name, int64_t ne0, int64_t ne1) {
  const TensorView* t = f.FindTensor(name);
  if (t == nullptr) return InvalidArgumentError(f.path() + ": missing tensor " + name);
  if (t->n_dims != 2 || t->ne[0] != ne0 || t->ne[1] != ne1)
    return InvalidArgumentError(f.path() + ": tensor " + name + " has shape " + Shape(*t) + ", expected [" +
                                std::to_string(ne0) + ", " + std::to_string(ne1) + "]");
  if (!TypeTraits(t->type).supported)
    return UnimplementedError(f.path() + ": tensor " + name + " has unsupported type " + std::string(TypeName(t->type)));
  return *t;
}

// The tensor `name` (n elements, any supported type) as floats; empty when absent and !required.
StatusOr<std::vector<float>> Vector(const GgufFile& f, const std::string& name, int64_t n, bool required) {
  const TensorView* t = f.FindTensor(name);
  if (t == nullptr) {
    if (required) return InvalidArgumentError(f.path() + ": missing tensor " + name);
    return std::vector<float>();
  }
  if (t->n_elements() != n)
    return InvalidArgumentError(f.path() + ": tensor " + name + " has shape " + Shape(*t) + ", expected " +
                                std::to_string(n) + " elements");
  if (!TypeTraits(t->type).supported)
    return UnimplementedError(f.path() + ": tensor " + name + " has unsupported type " + std::string(TypeName(t->type)));
  std::vector<float> out(static_cast<size_t>(n));
  for (int64_t r = 0; r < t->n_rows(); ++r) DequantizeRow(*t, r, out.data() + r * t->ne[0]);
  return out;
}

StatusOr<int> PositiveInt(const GgufFile& f, const std::string& key, int64_t max) {
  ISV_ASSIGN_OR_RETURN(int64_t v, f.GetInt(key));
  if (v <= 0 || v > max)
    return InvalidArgumentError(f.path() + ": " + key + " = " + std::to_string(v) + " is out of range [1, " +
                                std::to_string(max) + "]");
  return static_cast<int>(v);
}

std::string Blk(int il, const char* what) { return "v.blk." + std::to_string(il) + "." + what; }

}  // namespace

StatusOr<std::unique_ptr<ClipVisionModel>> ClipVisionModel::Open(const std::string& path) {
  ISV_ASSIGN_OR_RETURN(std::unique_ptr<GgufFile> f, GgufFile::Open(path));
  return FromGguf(std::move(f));
}

StatusOr<std::unique_ptr<ClipVisionModel>> ClipVisionModel::FromGguf(std::unique_ptr<GgufFile> file) {
  std::unique_ptr<ClipVisionModel> m(new ClipVisionModel());
  m->file_ = std::move(file);
  ISV_RETURN_IF_ERROR(m->LoadHparams());
  ISV_RETURN_IF_ERROR(m->LoadTensors());
  return m;
}

Status ClipVisionModel::LoadHparams() {
  const GgufFile& f = *file_;
  ClipHparams& h = hparams_;
  ISV_ASSIGN_OR_RETURN(bool has_vision, f.GetBoolOr("clip.has_vision_encoder", true));
  if (!has_vision) return InvalidArgumentError(f.path() + ": clip.has_vision_encoder is false (no vision encoder)");
  ISV_ASSIGN_OR_RETURN(h.projector, f.GetStringOr("clip.projector_type", ""));
  if (h.projector.empty()) {
    ISV_ASSIGN_OR_RETURN(h.projector, f.GetStringOr("clip.vision.projector_type", ""));
  }
  if (h.projector.empty())
    return InvalidArgumentError(f.path() + ": no clip.projector_type (not an mmproj file?)");
  if (h.projector != "mlp") {
    for (const char* known : kKnownProjectors)
      if (h.projector == known)
        return UnimplementedError(f.path() + ": projector type '" + h.projector +
                                  "' is not supported yet (supported: mlp)");
    return InvalidArgumentError(f.path() + ": unknown projector type '" + h.projector + "'");
  }
  if (f.Find("clip.vision.image_grid_pinpoints") != nullptr)
    return UnimplementedError(f.path() + ": llava-1.6 'anyres' tiling (clip.vision.image_grid_pinpoints) is not "
                              "supported yet");
  ISV_ASSIGN_OR_RETURN(h.image_size, PositiveInt(f, "clip.vision.image_size", 8192));
  ISV_ASSIGN_OR_RETURN(h.patch_size, PositiveInt(f, "clip.vision.patch_size", 1024));
  ISV_ASSIGN_OR_RETURN(h.n_embd, PositiveInt(f, "clip.vision.embedding_length", 1 << 16));
  ISV_ASSIGN_OR_RETURN(h.n_head, PositiveInt(f, "clip.vision.attention.head_count", 1024));
  ISV_ASSIGN_OR_RETURN(h.n_ff, PositiveInt(f, "clip.vision.feed_forward_length", 1 << 20));
  ISV_ASSIGN_OR_RETURN(h.n_layer, PositiveInt(f, "clip.vision.block_count", 1024));
  ISV_ASSIGN_OR_RETURN(int64_t proj_dim, f.GetIntOr("clip.vision.projection_dim", 0));
  h.projection_dim = static_cast<int>(std::clamp<int64_t>(proj_dim, 0, 1 << 20));
  ISV_ASSIGN_OR_RETURN(double eps, f.GetFloatOr("clip.vision.attention.layer_norm_epsilon", 1e-6));
  if (!(eps > 0 && eps < 1)) return InvalidArgumentError(f.path() + ": layer_norm_epsilon out of range");
  h.eps = static_cast<float>(eps);
  if (h.image_size % h.patch_size != 0)
    return InvalidArgumentError(f.path() + ": image_size " + std::to_string(h.image_size) +
                                " is not a multiple of patch_size " + std::to_string(h.patch_size));
  if (h.n_embd % h.n_head != 0)
    return InvalidArgumentError(f.path() + ": embedding_length is not a multiple of head_count");
  ISV_ASSIGN_OR_RETURN(std::vector<float> mean, f.GetFloatArray("clip.vision.image_mean"));
  ISV_ASSIGN_OR_RETURN(std::vector<float> std, f.GetFloatArray("clip.vision.image_std"));
  if (mean.size() < 3 || std.size() < 3)
    return InvalidArgumentError(f.path() + ": clip.vision.image_mean / image_std need 3 values");
  for (int c = 0; c < 3; ++c) {
    if (!(std[c] > 0)) return InvalidArgumentError(f.path() + ": clip.vision.image_std values must be positive");
    h.image_mean[c] = mean[c];
    h.image_std[c] = std[c];
  }
  ISV_ASSIGN_OR_RETURN(bool use_gelu, f.GetBoolOr("clip.use_gelu", false));
  ISV_ASSIGN_OR_RETURN(bool use_silu, f.GetBoolOr("clip.use_silu", false));
  if (use_gelu && use_silu) return InvalidArgumentError(f.path() + ": both clip.use_gelu and clip.use_silu are set");
  h.ffn_act = use_gelu ? ClipActivation::kGelu : use_silu ? ClipActivation::kSilu : ClipActivation::kQuickGelu;

  // Feature layers (hidden-state indices, 0 = the encoder's input). Without the key llava's
  // "second to last layer" is taken as llama.cpp does: n_layer - 1 blocks are run.
  if (f.Find("clip.vision.feature_layer") != nullptr) {
    ISV_ASSIGN_OR_RETURN(std::vector<int64_t> layers, f.GetIntArray("clip.vision.feature_layer"));
    for (int64_t l : layers) {
      if (l < 0) continue;  // -1 marks an unset slot
      if (l > h.n_layer)
        return InvalidArgumentError(f.path() + ": clip.vision.feature_layer " + std::to_string(l) +
                                    " is beyond the " + std::to_string(h.n_layer) + " blocks");
      h.feature_layers.push_back(static_cast<int>(l));
    }
    std::sort(h.feature_layers.begin(), h.feature_layers.end());
    h.feature_layers.erase(std::unique(h.feature_layers.begin(), h.feature_layers.end()), h.feature_layers.end());
  }
  h.n_layer_run = h.feature_layers.empty() ? h.n_layer - 1 : h.feature_layers.back();
  return OkStatus();
}

Status ClipVisionModel::LoadTensors() {
  const GgufFile& f = *file_;
  ClipHparams& h = hparams_;
  const int64_t e = h.n_embd, p = h.patch_size;
  const TensorView* patch = f.FindTensor("v.patch_embd.weight");
  if (patch == nullptr) return InvalidArgumentError(f.path() + ": missing tensor v.patch_embd.weight");
  if (patch->ne[0] != p || patch->ne[1] != p || patch->ne[2] != 3 || patch->ne[3] != e)
    return InvalidArgumentError(f.path() + ": tensor v.patch_embd.weight has shape " + Shape(*patch) + ", expected [" +
                                std::to_string(p) + ", " + std::to_string(p) + ", 3, " + std::to_string(e) + "]");
  if (!TypeTraits(patch->type).supported || (p * p * 3) % TypeTraits(patch->type).block_size != 0)
    return UnimplementedError(f.path() + ": tensor v.patch_embd.weight has unsupported type " +
                              std::string(TypeName(patch->type)));
  if (f.FindTensor("v.patch_embd.weight.1") != nullptr)
    return UnimplementedError(f.path() + ": a second patch embedding (v.patch_embd.weight.1) is not supported");
  patch_w_ = *patch;
  patch_w_.n_dims = 2;
  patch_w_.ne[0] = p * p * 3;
  patch_w_.ne[1] = e;
  patch_w_.ne[2] = patch_w_.ne[3] = 1;
  ISV_ASSIGN_OR_RETURN(patch_b_, Vector(f, "v.patch_embd.bias", e, false));
  ISV_ASSIGN_OR_RETURN(class_embd_, Vector(f, "v.class_embd", e, false));
  h.has_class_embd = !class_embd_.empty();
  const TensorView* pos = f.FindTensor("v.position_embd.weight");
  if (pos == nullptr) return InvalidArgumentError(f.path() + ": missing tensor v.position_embd.weight");
  if (pos->n_dims != 2 || pos->ne[0] != e || pos->ne[1] < h.n_pos())
    return InvalidArgumentError(f.path() + ": tensor v.position_embd.weight has shape " + Shape(*pos) +
                                ", expected [" + std::to_string(e) + ", >= " + std::to_string(h.n_pos()) + "]");
  ISV_ASSIGN_OR_RETURN(pos_embd_, Vector(f, "v.position_embd.weight", pos->n_elements(), true));
  pos_embd_.resize(static_cast<size_t>(h.n_pos() * e));
  ISV_ASSIGN_OR_RETURN(pre_ln_w_, Vector(f, "v.pre_ln.weight", e, false));
  ISV_ASSIGN_OR_RETURN(pre_ln_b_, Vector(f, "v.pre_ln.bias", e, false));
  ISV_ASSIGN_OR_RETURN(post_ln_w_, Vector(f, "v.post_ln.weight", e, false));
  ISV_ASSIGN_OR_RETURN(post_ln_b_, Vector(f, "v.post_ln.bias", e, false));

  layers_.resize(h.n_layer);
  for (int il = 0; il < h.n_layer; ++il) {
    ClipLayer& l = layers_[il];
    if (f.FindTensor(Blk(il, "attn_qkv.weight")) != nullptr)
      return UnimplementedError(f.path() + ": fused " + Blk(il, "attn_qkv") + " is not supported");
    ISV_ASSIGN_OR_RETURN(l.ln1_w, Vector(f, Blk(il, "ln1.weight"), e, true));
    ISV_ASSIGN_OR_RETURN(l.ln1_b, Vector(f, Blk(il, "ln1.bias"), e, false));
    ISV_ASSIGN_OR_RETURN(l.ln2_w, Vector(f, Blk(il, "ln2.weight"), e, true));
    ISV_ASSIGN_OR_RETURN(l.ln2_b, Vector(f, Blk(il, "ln2.bias"), e, false));
    ISV_ASSIGN_OR_RETURN(l.q_w, Matrix(f, Blk(il, "attn_q.weight"), e, e));
    ISV_ASSIGN_OR_RETURN(l.k_w, Matrix(f, Blk(il, "attn_k.weight"), e, e));
    ISV_ASSIGN_OR_RETURN(l.v_w, Matrix(f, Blk(il, "attn_v.weight"), e, e));
    ISV_ASSIGN_OR_RETURN(l.o_w, Matrix(f, Blk(il, "attn_out.weight"), e, e));
    ISV_ASSIGN_OR_RETURN(l.q_b, Vector(f, Blk(il, "attn_q.bias"), e, false));
    ISV_ASSIGN_OR_RETURN(l.k_b, Vector(f, Blk(il, "attn_k.bias"), e, false));
    ISV_ASSIGN_OR_RETURN(l.v_b, Vector(f, Blk(il, "attn_v.bias"), e, false));
    ISV_ASSIGN_OR_RETURN(l.o_b, Vector(f, Blk(il, "attn_out.bias"), e, false));
    if (f.FindTensor(Blk(il, "ffn_gate.weight")) != nullptr)
      return UnimplementedError(f.path() + ": gated FFN (" + Blk(il, "ffn_gate") + ") is not supported");
    // Files from the legacy llava converter name fc1 / fc2 the other way round; as llama.cpp,
    // recognise them by shape (a "down" that takes n_embd inputs is the up projection).
    std::string up = Blk(il, "ffn_up"), down = Blk(il, "ffn_down");
    const TensorView* down_t = f.FindTensor(down + ".weight");
    if (down_t != nullptr && down_t->ne[0] == e && f.FindTensor(up + ".weight") != nullptr) std::swap(up, down);
    ISV_ASSIGN_OR_RETURN(l.ffn_up_w, Matrix(f, up + ".weight", e, h.n_ff));
    ISV_ASSIGN_OR_RETURN(l.ffn_up_b, Vector(f, up + ".bias", h.n_ff, false));
    ISV_ASSIGN_OR_RETURN(l.ffn_down_w, Matrix(f, down + ".weight", h.n_ff, e));
    ISV_ASSIGN_OR_RETURN(l.ffn_down_b, Vector(f, down + ".bias", e, false));
  }

  int n_features = 0;
  for (int il = 0; il <= h.n_layer_run; ++il)
    if (std::binary_search(h.feature_layers.begin(), h.feature_layers.end(), il)) ++n_features;
  n_features = std::max(n_features, 1);
  const TensorView* mm0 = f.FindTensor("mm.0.weight");
  if (mm0 == nullptr) return InvalidArgumentError(f.path() + ": missing tensor mm.0.weight (mlp projector)");
  const int64_t hidden = mm0->ne[1];
  ISV_ASSIGN_OR_RETURN(mm0_w_, Matrix(f, "mm.0.weight", e * n_features, hidden));
  ISV_ASSIGN_OR_RETURN(mm0_b_, Vector(f, "mm.0.bias", hidden, true));
  h.n_embd_out = static_cast<int>(hidden);
  if (const TensorView* mm2 = f.FindTensor("mm.2.weight"); mm2 != nullptr) {
    ISV_ASSIGN_OR_RETURN(mm2_w_, Matrix(f, "mm.2.weight", hidden, mm2->ne[1]));
    ISV_ASSIGN_OR_RETURN(mm2_b_, Vector(f, "mm.2.bias", mm2->ne[1], true));
    h.n_embd_out = static_cast<int>(mm2->ne[1]);
  }
  return OkStatus();
}

}  // namespace isv
