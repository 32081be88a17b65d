#include "engine/model/model.h"

#include <string>

#include "engine/kernels/kernels.h"
#include "engine/kernels/rows8_layout.h"

namespace isv {
namespace {

std::string ShapeString(const int64_t* ne, int n_dims) {
  std::string s = "[";
  for (int i = 0; i < n_dims; ++i) s += (i ? ", " : "") + std::to_string(ne[i]);
  return s + "]";
}

// Looks up and validates one tensor of the model.
class TensorLoader {
 public:
  explicit TensorLoader(const GgufFile& file) : file_(file) {}

  // Returns the view of `name` after checking shape (trailing 1s ignored) and kernel support;
  // an absent optional tensor gives an empty view.
  StatusOr<TensorView> Get(const std::string& name, std::vector<int64_t> shape, bool required = true,
                           bool f32_only = false) const {
    const TensorView* t = file_.FindTensor(name);
    if (t == nullptr) {
      if (!required) return TensorView{};
      return InvalidArgumentError(file_.path() + ": tensor " + name + " is missing");
    }
    bool match = true;
    for (int i = 0; i < 4; ++i) {
      const int64_t want = i < static_cast<int>(shape.size()) ? shape[i] : 1;
      if (t->ne[i] != want) match = false;
    }
    if (!match)
      return InvalidArgumentError(file_.path() + ": tensor " + name + ": expected " +
                                  ShapeString(shape.data(), static_cast<int>(shape.size())) + ", got " +
                                  ShapeString(t->ne, t->n_dims));
    if (f32_only && t->type != GgmlType::kF32)
      return UnimplementedError(file_.path() + ": tensor " + name + ": type " + std::string(TypeName(t->type)) +
                                " is not supported here (expected f32)");
    if (!f32_only) ISV_RETURN_IF_ERROR(CheckKernels(name, t->type));
    return *t;
  }

 private:
  Status CheckKernels(const std::string& name, GgmlType type) const {
    const TypeKernels& k = GetKernels(type);
    const bool ok = TypeTraits(type).supported && k.to_float != nullptr && k.vec_dot != nullptr &&
                    GetKernels(k.vec_dot_type).from_float != nullptr;
    if (!ok)
      return UnimplementedError(file_.path() + ": tensor " + name + ": type " + std::string(TypeName(type)) +
                                " has no kernels in this build");
    return OkStatus();
  }

  const GgufFile& file_;
};

std::string Blk(int il, const char* name) { return "blk." + std::to_string(il) + "." + name; }

}  // namespace

StatusOr<std::unique_ptr<Model>> Model::Load(const std::string& path, GgufMemory memory) {
  ISV_ASSIGN_OR_RETURN(std::unique_ptr<GgufFile> file, GgufFile::Open(path, memory));
  return FromGguf(std::move(file));
}

StatusOr<std::unique_ptr<Model>> Model::FromGguf(std::unique_ptr<GgufFile> file) {
  std::unique_ptr<Model> model(new Model());
  model->file_ = std::move(file);
  ISV_ASSIGN_OR_RETURN(model->params_, ReadModelParams(*model->file_));
  ISV_RETURN_IF_ERROR(model->LoadWeights());
  return model;
}

Status Model::LoadWeights() {
  const ModelParams& hp = params_;
  const TensorLoader t(*file_);
  const int64_t n_embd = hp.n_embd, n_vocab = hp.n_vocab, n_ff = hp.n_ff;
  const int64_t n_q = hp.n_embd_q(), n_kv = hp.n_embd_kv();
  ModelWeights& w = weights_;
  ISV_ASSIGN_OR_RETURN(w.token_embd, t.Get("token_embd.weight", {n_embd, n_vocab}));
  ISV_ASSIGN_OR_RETURN(w.output_norm, t.Get("output_norm.weight", {n_embd}, true, true));
  if (hp.tied_output) {
    w.output = w.token_embd;
  } else {
    ISV_ASSIGN_OR_RETURN(w.output, t.Get("output.weight", {n_embd, n_vocab}));
  }
  ISV_ASSIGN_OR_RETURN(w.rope_freqs, t.Get("rope_freqs.weight", {hp.n_rot / 2}, false, true));
  ISV_ASSIGN_OR_RETURN(w.rope_long, t.Get("rope_factors_long.weight", {hp.n_rot / 2}, false, true));
  ISV_ASSIGN_OR_RETURN(w.rope_short, t.Get("rope_factors_short.weight", {hp.n_rot / 2}, false, true));

  w.layers.resize(hp.n_layer);
  for (int il = 0; il < hp.n_layer; ++il) {
    LayerWeights& l = w.layers[il];
    ISV_ASSIGN_OR_RETURN(l.attn_norm, t.Get(Blk(il, "attn_norm.weight"), {n_embd}, true, true));
    ISV_ASSIGN_OR_RETURN(l.ffn_norm, t.Get(Blk(il, "ffn_norm.weight"), {n_embd}, true, true));
    ISV_ASSIGN_OR_RETURN(l.wo, t.Get(Blk(il, "attn_output.weight"), {n_q, n_embd}));
    ISV_ASSIGN_OR_RETURN(l.ffn_down, t.Get(Blk(il, "ffn_down.weight"), {n_ff, n_embd}));
    if (hp.arch == Arch::kPhi3) {
      ISV_ASSIGN_OR_RETURN(l.wqkv, t.Get(Blk(il, "attn_qkv.weight"), {n_embd, n_q + 2 * n_kv}));
      ISV_ASSIGN_OR_RETURN(l.ffn_up, t.Get(Blk(il, "ffn_up.weight"), {n_embd, 2 * n_ff}));
      continue;
    }
    ISV_ASSIGN_OR_RETURN(l.wq, t.Get(Blk(il, "attn_q.weight"), {n_embd, n_q}));
    ISV_ASSIGN_OR_RETURN(l.wk, t.Get(Blk(il, "attn_k.weight"), {n_embd, n_kv}));
    ISV_ASSIGN_OR_RETURN(l.wv, t.Get(Blk(il, "attn_v.weight"), {n_embd, n_kv}));
    ISV_ASSIGN_OR_RETURN(l.ffn_gate, t.Get(Blk(il, "ffn_gate.weight"), {n_embd, n_ff}));
    ISV_ASSIGN_OR_RETURN(l.ffn_up, t.Get(Blk(il, "ffn_up.weight"), {n_embd, n_ff}));
    // Biases: required by qwen2, accepted when present in llama files.
    const bool biases_required = hp.arch == Arch::kQwen2;
    ISV_ASSIGN_OR_RETURN(l.bq, t.Get(Blk(il, "attn_q.bias"), {n_q}, biases_required, true));
    ISV_ASSIGN_OR_RETURN(l.bk, t.Get(Blk(il, "attn_k.bias"), {n_kv}, biases_required, true));
    ISV_ASSIGN_OR_RETURN(l.bv, t.Get(Blk(il, "attn_v.bias"), {n_kv}, biases_required, true));
  }
  RepackForDecode();
  return OkStatus();
}

void Model::RepackForDecode() {
  auto repack = [&](TensorView& v) {
    if (!v.valid() || !HasRows8Layout(v.type) || GetKernels(v.type).gemv_rows8 == nullptr) return;
    if (v.ne[1] % kRows8Group != 0 || v.ne[2] != 1 || v.ne[3] != 1) return;
    TensorView* in_file = file_->MutableTensor(v.name);
    if (in_file == nullptr) return;  // in place from the mmap: read-only
    if (in_file->layout == WeightLayout::kRows) {
      RepackRows8(v.type, v.ne[0], v.ne[1], static_cast<uint8_t*>(const_cast<void*>(in_file->data)));
      in_file->layout = WeightLayout::kRows8;
      ++rows8_matrices_;
    }
    v.layout = in_file->layout;
  };
  // The matrices MatMul reads; token_embd only where it is the (tied) output too: its rows are looked
  // up per prompt token (DequantizeRow restores one from its group), while as the output it is the
  // largest matrix of a small model's decode step (llama-3.2-1b: 215 MB of Q6_K in an 804 MB file).
  for (LayerWeights& l : weights_.layers) {
    for (TensorView* v : {&l.wq, &l.wk, &l.wv, &l.wqkv, &l.wo, &l.ffn_gate, &l.ffn_up, &l.ffn_down}) repack(*v);
  }
  if (params_.tied_output) {
    repack(weights_.token_embd);
    weights_.output.layout = weights_.token_embd.layout;
  } else {
    repack(weights_.output);
  }
}

const float* Model::RopeFactors(int32_t n_ctx) const {
  const TensorView* chosen = nullptr;
  if (weights_.rope_freqs.valid()) {
    chosen = &weights_.rope_freqs;
  } else if (n_ctx > params_.n_ctx_orig) {
    chosen = &weights_.rope_long;
  } else {
    chosen = &weights_.rope_short;
  }
  return chosen->valid() ? static_cast<const float*>(chosen->data) : nullptr;
}

}  // namespace isv
