#include "engine/synth/synth_mmproj.h"

#include <cmath>
#include <cstdio>
#include <vector>

#include "core/thread_pool.h"
#include "engine/gguf/gguf_writer.h"
#include "engine/quant/row_quantizer.h"
#include "engine/synth/normal_fill.h"

namespace isv {
namespace {

struct MmprojShape {
  const char* name;
  bool clip;  // true: CLIP-like (class token, pre-LN, quick GELU); false: SigLIP-like
  int image_size, patch_size, width, heads, n_ff, layers, text_embd;
};
constexpr MmprojShape kShapes[] = {
    {"clip-tiny", true, 32, 8, 64, 4, 128, 3, 256},
    {"siglip-tiny", false, 32, 8, 64, 4, 128, 3, 256},
    // LLaVA 1.5's CLIP ViT-L/14-336 as the legacy converter stores it (23 of 24 blocks), to 4096.
    {"clip-vit-l-336", true, 336, 14, 1024, 16, 4096, 23, 4096},
    // Moondream2-sized SigLIP (so400m/14 at 378), to 2048.
    {"siglip-so400m-378", false, 378, 14, 1152, 16, 4304, 27, 2048},
};

class Builder {
 public:
  Builder(GgufWriter& w, uint64_t seed, GgmlType type) : w_(w), seed_(seed), type_(type) {}

  // A vector (F32) of `n` values offset + scale * N(0, 1).
  void Vector(const std::string& name, std::vector<int64_t> ne, float offset, float scale) {
    int64_t n = 1;
    for (int64_t d : ne) n *= d;
    std::vector<float> v = Values(name, n, offset, scale);
    w_.AddTensor(name, GgmlType::kF32, std::move(ne), std::string(reinterpret_cast<const char*>(v.data()), n * 4));
  }

  // A weight matrix in the chosen type, N(0, 1 / fan_in) where fan_in = the product of all but the
  // last dimension. Rows too short for a quantized type's blocks (the patch kernel's rows of
  // `patch` values) are stored F16, as llama.cpp's quantizer keeps them.
  Status Matrix(const std::string& name, std::vector<int64_t> ne) {
    int64_t n = 1;
    for (int64_t d : ne) n *= d;
    const int64_t fan_in = n / ne.back();
    std::vector<float> v = Values(name, n, 0.0f, 1.0f / std::sqrt(static_cast<float>(fan_in)));
    const GgmlType type = ne[0] % TypeTraits(type_).block_size == 0 ? type_ : GgmlType::kF16;
    ISV_ASSIGN_OR_RETURN(RowQuantizeFn quantize, FileQuantizer(type));
    const int64_t rows = n / ne[0];
    std::string bytes(RowSize(type, ne[0]) * static_cast<size_t>(rows), '\0');
    ThreadPool pool(1);
    QuantizeRows(pool, quantize, type, v.data(), bytes.data(), rows, ne[0]);
    w_.AddTensor(name, type, std::move(ne), std::move(bytes));
    return OkStatus();
  }

 private:
  std::vector<float> Values(const std::string& name, int64_t n, float offset, float scale) const {
    std::vector<float> v(static_cast<size_t>(n));
    FillNormal(StreamSeed(seed_, name, 0), v.data(), n);
    for (float& x : v) x = offset + scale * x;
    return v;
  }

  GgufWriter& w_;
  uint64_t seed_;
  GgmlType type_;
};

}  // namespace

std::string SynthMmprojShapeNames() {
  std::string names;
  for (const MmprojShape& s : kShapes) names += std::string(names.empty() ? "" : ", ") + s.name;
  return names;
}

bool IsSynthMmprojShape(const std::string& name) {
  for (const MmprojShape& s : kShapes)
    if (name == s.name) return true;
  return false;
}

StatusOr<std::string> SerializeSynthMmproj(const SynthMmprojOptions& o) {
  const MmprojShape* shape = nullptr;
  for (const MmprojShape& s : kShapes)
    if (o.shape == s.name) shape = &s;
  if (shape == nullptr)
    return InvalidArgumentError("unknown mmproj shape '" + o.shape + "' (known: " + SynthMmprojShapeNames() + ")");
  if (o.type != GgmlType::kF32 && o.type != GgmlType::kF16 && o.type != GgmlType::kQ8_0)
    return InvalidArgumentError("mmproj weight type must be f32, f16 or q8_0");
  const int n_embd_text = o.n_embd_text > 0 ? o.n_embd_text : shape->text_embd;
  if (o.n_embd_text < 0 || n_embd_text > (1 << 16) || n_embd_text % 32 != 0)
    return InvalidArgumentError("projector width must be a positive multiple of 32 (at most 65536)");
  if (o.n_layer < 0 || o.n_layer > 64) return InvalidArgumentError("mmproj layers must be between 1 and 64");
  const bool clip = shape->clip;
  const int n_layer = o.n_layer > 0 ? o.n_layer : shape->layers;
  const int image_size = shape->image_size, patch = shape->patch_size, width = shape->width;
  const int heads = shape->heads, n_ff = shape->n_ff;
  const int n_patches = (image_size / patch) * (image_size / patch);
  const int n_pos = n_patches + (clip ? 1 : 0);

  GgufWriter w;
  w.AddString("general.architecture", "clip");
  w.AddString("general.type", "mmproj");
  w.AddString("general.name", std::string(shape->name) + " (random weights)");
  w.AddString("general.description", "random weights (seed " + std::to_string(o.seed) + "), not a trained model; "
                                     "made by inference-service synth for tests");
  w.AddUint32("general.file_type", o.type == GgmlType::kF32 ? 0 : o.type == GgmlType::kF16 ? 1 : 7);
  w.AddBool("clip.has_vision_encoder", true);
  w.AddBool("clip.has_text_encoder", false);
  w.AddBool("clip.has_llava_projector", true);
  w.AddString("clip.projector_type", "mlp");
  w.AddBool("clip.use_gelu", !clip);
  w.AddUint32("clip.vision.image_size", image_size);
  w.AddUint32("clip.vision.patch_size", patch);
  w.AddUint32("clip.vision.embedding_length", width);
  w.AddUint32("clip.vision.feed_forward_length", n_ff);
  w.AddUint32("clip.vision.projection_dim", static_cast<uint32_t>(n_embd_text));
  w.AddUint32("clip.vision.attention.head_count", heads);
  w.AddFloat32("clip.vision.attention.layer_norm_epsilon", clip ? 1e-5f : 1e-6f);
  w.AddUint32("clip.vision.block_count", static_cast<uint32_t>(n_layer));
  if (!clip) w.AddInt32Array("clip.vision.feature_layer", {n_layer});
  // CLIP's and SigLIP's published normalization constants.
  if (clip) {
    w.AddFloat32Array("clip.vision.image_mean", {0.48145466f, 0.4578275f, 0.40821073f});
    w.AddFloat32Array("clip.vision.image_std", {0.26862954f, 0.26130258f, 0.27577711f});
  } else {
    w.AddFloat32Array("clip.vision.image_mean", {0.5f, 0.5f, 0.5f});
    w.AddFloat32Array("clip.vision.image_std", {0.5f, 0.5f, 0.5f});
  }

  Builder b(w, o.seed, o.type);
  ISV_RETURN_IF_ERROR(b.Matrix("v.patch_embd.weight", {patch, patch, 3, width}));
  b.Vector("v.patch_embd.bias", {width}, 0.0f, 0.1f);
  if (clip) b.Vector("v.class_embd", {width}, 0.0f, 0.5f);
  b.Vector("v.position_embd.weight", {width, n_pos}, 0.0f, 0.5f);
  if (clip) {
    b.Vector("v.pre_ln.weight", {width}, 1.0f, 0.1f);
    b.Vector("v.pre_ln.bias", {width}, 0.0f, 0.1f);
  }
  for (int il = 0; il < n_layer; ++il) {
    const std::string p = "v.blk." + std::to_string(il) + ".";
    for (const char* m : {"attn_q", "attn_k", "attn_v", "attn_out"}) {
      ISV_RETURN_IF_ERROR(b.Matrix(p + m + ".weight", {width, width}));
      b.Vector(p + m + ".bias", {width}, 0.0f, 0.1f);
    }
    b.Vector(p + "ln1.weight", {width}, 1.0f, 0.1f);
    b.Vector(p + "ln1.bias", {width}, 0.0f, 0.1f);
    ISV_RETURN_IF_ERROR(b.Matrix(p + "ffn_up.weight", {width, n_ff}));
    b.Vector(p + "ffn_up.bias", {n_ff}, 0.0f, 0.1f);
    ISV_RETURN_IF_ERROR(b.Matrix(p + "ffn_down.weight", {n_ff, width}));
    b.Vector(p + "ffn_down.bias", {width}, 0.0f, 0.1f);
    b.Vector(p + "ln2.weight", {width}, 1.0f, 0.1f);
    b.Vector(p + "ln2.bias", {width}, 0.0f, 0.1f);
  }
  if (!clip) {
    b.Vector("v.post_ln.weight", {width}, 1.0f, 0.1f);
    b.Vector("v.post_ln.bias", {width}, 0.0f, 0.1f);
  }
  ISV_RETURN_IF_ERROR(b.Matrix("mm.0.weight", {width, n_embd_text}));
  b.Vector("mm.0.bias", {n_embd_text}, 0.0f, 0.1f);
  ISV_RETURN_IF_ERROR(b.Matrix("mm.2.weight", {n_embd_text, n_embd_text}));
  b.Vector("mm.2.bias", {n_embd_text}, 0.0f, 0.1f);
  return w.Serialize();
}

Status WriteSynthMmproj(const SynthMmprojOptions& options, const std::string& path) {
  ISV_ASSIGN_OR_RETURN(std::string bytes, SerializeSynthMmproj(options));
  FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return NotFoundError(path + ": cannot open for writing");
  const bool ok = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
  if (std::fclose(f) != 0 || !ok) return InternalError(path + ": write failed");
  return OkStatus();
}

}  // namespace isv
