#include "engine/model/model_params.h"

#include <string>

#include "engine/gguf/gguf_file.h"

namespace isv {
namespace {

// Reads a required integer key; the error names the file and the key.
StatusOr<int32_t> RequiredInt(const GgufFile& f, const std::string& key) {
  StatusOr<int64_t> v = f.GetInt(key);
  if (!v.ok()) {
    if (v.status().code() == StatusCode::kNotFound)
      return InvalidArgumentError(f.path() + ": required metadata key " + key + " is missing");
    return v.status().WithContext(f.path());
  }
  if (*v <= 0 || *v > (int64_t{1} << 30))
    return InvalidArgumentError(f.path() + ": metadata key " + key + " has invalid value " + std::to_string(*v));
  return static_cast<int32_t>(*v);
}

StatusOr<int32_t> OptionalInt(const GgufFile& f, const std::string& key, int32_t fallback) {
  StatusOr<int64_t> v = f.GetIntOr(key, fallback);
  if (!v.ok()) return v.status().WithContext(f.path());
  if (*v <= 0 || *v > (int64_t{1} << 30))
    return InvalidArgumentError(f.path() + ": metadata key " + key + " has invalid value " + std::to_string(*v));
  return static_cast<int32_t>(*v);
}

StatusOr<float> OptionalFloat(const GgufFile& f, const std::string& key, float fallback) {
  StatusOr<double> v = f.GetFloatOr(key, fallback);
  if (!v.ok()) return v.status().WithContext(f.path());
  return static_cast<float>(*v);
}

Status ReadRopeScaling(const GgufFile& f, const std::string& p, ModelParams& hp) {
  ISV_ASSIGN_OR_RETURN(std::string type, f.GetStringOr(p + "rope.scaling.type", "linear"));
  if (type == "none") {
    hp.rope_scaling = RopeScaling::kNone;
  } else if (type == "linear") {
    hp.rope_scaling = RopeScaling::kLinear;
  } else if (type == "longrope") {
    hp.rope_scaling = RopeScaling::kLongRope;
  } else if (type == "yarn") {
    return UnimplementedError(f.path() + ": rope scaling type yarn is not supported");
  } else {
    return InvalidArgumentError(f.path() + ": unknown rope scaling type '" + type + "' in " + p +
                                "rope.scaling.type");
  }
  float factor = 0.0f;
  if (f.Find(p + "rope.scaling.factor") != nullptr) {
    ISV_ASSIGN_OR_RETURN(factor, OptionalFloat(f, p + "rope.scaling.factor", 0.0f));
  } else {
    ISV_ASSIGN_OR_RETURN(factor, OptionalFloat(f, p + "rope.scale_linear", 0.0f));
  }
  if (factor < 0.0f) return InvalidArgumentError(f.path() + ": negative rope scaling factor");
  hp.rope_freq_scale = factor == 0.0f ? 1.0f : 1.0f / factor;
  if (hp.rope_scaling == RopeScaling::kNone) hp.rope_freq_scale = 1.0f;
  ISV_ASSIGN_OR_RETURN(hp.rope_attn_factor, OptionalFloat(f, p + "rope.scaling.attn_factor", 1.0f));
  ISV_ASSIGN_OR_RETURN(hp.n_ctx_orig, OptionalInt(f, p + "rope.scaling.original_context_length", hp.n_ctx_train));
  return OkStatus();
}

}  // namespace

std::string_view ArchName(Arch arch) {
  switch (arch) {
    case Arch::kLlama: return "llama";
    case Arch::kQwen2: return "qwen2";
    case Arch::kPhi3: return "phi3";
  }
  return "?";
}

StatusOr<ModelParams> ReadModelParams(const GgufFile& f) {
  ModelParams hp;
  if (f.tensors().empty())
    return InvalidArgumentError(f.path() + ": the file has no tensors (a vocabulary-only file?); a model is needed");
  hp.arch_name = f.architecture();
  if (hp.arch_name.empty())
    return InvalidArgumentError(f.path() + ": required metadata key general.architecture is missing");
  if (hp.arch_name == "llama") {
    hp.arch = Arch::kLlama;
    hp.rope_style = RopeStyle::kNormal;
  } else if (hp.arch_name == "qwen2") {
    hp.arch = Arch::kQwen2;
    hp.rope_style = RopeStyle::kNeox;
  } else if (hp.arch_name == "phi3") {
    hp.arch = Arch::kPhi3;
    hp.rope_style = RopeStyle::kNeox;
  } else {
    return UnimplementedError(f.path() + ": architecture " + hp.arch_name + " is not supported");
  }
  const std::string p = hp.arch_name + ".";
  ISV_ASSIGN_OR_RETURN(hp.n_ctx_train, RequiredInt(f, p + "context_length"));
  ISV_ASSIGN_OR_RETURN(hp.n_embd, RequiredInt(f, p + "embedding_length"));
  ISV_ASSIGN_OR_RETURN(hp.n_layer, RequiredInt(f, p + "block_count"));
  ISV_ASSIGN_OR_RETURN(hp.n_ff, RequiredInt(f, p + "feed_forward_length"));
  ISV_ASSIGN_OR_RETURN(hp.n_head, RequiredInt(f, p + "attention.head_count"));
  ISV_ASSIGN_OR_RETURN(hp.n_head_kv, OptionalInt(f, p + "attention.head_count_kv", hp.n_head));
  if (hp.n_head % hp.n_head_kv != 0)
    return InvalidArgumentError(f.path() + ": " + p + "attention.head_count (" + std::to_string(hp.n_head) +
                                ") is not a multiple of head_count_kv (" + std::to_string(hp.n_head_kv) + ")");
  if (hp.n_embd % hp.n_head != 0 && f.Find(p + "attention.key_length") == nullptr)
    return InvalidArgumentError(f.path() + ": embedding_length is not a multiple of head_count");
  ISV_ASSIGN_OR_RETURN(hp.head_dim, OptionalInt(f, p + "attention.key_length", hp.n_embd / hp.n_head));
  if (int64_t{hp.n_head} * hp.head_dim > (int64_t{1} << 30))
    return InvalidArgumentError(f.path() + ": " + p + "attention.head_count (" + std::to_string(hp.n_head) +
                                ") times the head dimension (" + std::to_string(hp.head_dim) + ") is too large");
  ISV_ASSIGN_OR_RETURN(int32_t head_dim_v, OptionalInt(f, p + "attention.value_length", hp.head_dim));
  if (head_dim_v != hp.head_dim)
    return UnimplementedError(f.path() + ": attention.value_length != key_length is not supported");
  ISV_ASSIGN_OR_RETURN(hp.n_rot, OptionalInt(f, p + "rope.dimension_count", hp.head_dim));
  if (hp.n_rot > hp.head_dim || hp.n_rot % 2 != 0)
    return InvalidArgumentError(f.path() + ": " + p + "rope.dimension_count " + std::to_string(hp.n_rot) +
                                " must be even and <= the head dimension " + std::to_string(hp.head_dim));
  if (f.Find(p + "attention.layer_norm_rms_epsilon") == nullptr)
    return InvalidArgumentError(f.path() + ": required metadata key " + p +
                                "attention.layer_norm_rms_epsilon is missing");
  ISV_ASSIGN_OR_RETURN(hp.rms_eps, OptionalFloat(f, p + "attention.layer_norm_rms_epsilon", 1e-5f));
  ISV_ASSIGN_OR_RETURN(hp.rope_freq_base, OptionalFloat(f, p + "rope.freq_base", 10000.0f));
  if (!(hp.rms_eps > 0.0f) || !(hp.rope_freq_base > 0.0f))
    return InvalidArgumentError(f.path() + ": rms epsilon and rope.freq_base must be positive");
  ISV_RETURN_IF_ERROR(ReadRopeScaling(f, p, hp));

  const TensorView* embd = f.FindTensor("token_embd.weight");
  if (embd == nullptr) return InvalidArgumentError(f.path() + ": tensor token_embd.weight is missing");
  if (embd->ne[1] <= 0 || embd->ne[1] > (int64_t{1} << 24))
    return InvalidArgumentError(f.path() + ": tensor token_embd.weight has an invalid vocabulary size");
  hp.n_vocab = static_cast<int32_t>(embd->ne[1]);
  hp.tied_output = f.FindTensor("output.weight") == nullptr;
  return hp;
}

}  // namespace isv
