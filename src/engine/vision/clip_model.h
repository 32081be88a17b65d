// ClipVisionModel: the vision half of a llava-style multimodal model, loaded from an "mmproj"
// GGUF as llama.cpp's mtmd reads it: a CLIP / SigLIP ViT (`v.*` tensors, `clip.vision.*` keys)
// and a projector (`mm.*` tensors) that maps its patch features into the language model's
// embedding space.
//
//   ISV_ASSIGN_OR_RETURN(std::unique_ptr<ClipVisionModel> m, ClipVisionModel::Open("mmproj.gguf"));
//   m->hparams().n_patches() ...  (encode with clip_encoder.h)
//
// Supported: projector `mlp` (LLaVA 1.5 / BakLLaVA / ShareGPT4V / Moondream-style: mm.0, GELU,
// optional mm.2) over a ViT with optional class embedding, pre- and post-LayerNorm, separate
// Q/K/V with biases, a GELU / quick-GELU / SiLU MLP, and the llava feature-layer selection.
// Other projector types llama.cpp knows (ldp, resampler, qwen2vl_merger, gemma3, pixtral, ...)
// are refused with Unimplemented, unknown ones with InvalidArgument; llava-1.6 "anyres" files
// (clip.vision.image_grid_pinpoints) are refused too (their tiling is not implemented).
//
// Thread-safety: immutable after Open(); tensor views point into the GgufFile it owns.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "engine/gguf/gguf_file.h"
#include "engine/tensor/tensor.h"
#include "engine/vision/preprocess.h"

namespace isv {

enum class ClipActivation { kGelu, kQuickGelu, kSilu };

struct ClipHparams {
  std::string projector;         // "mlp"
  int image_size = 0;            // clip.vision.image_size (square input)
  int patch_size = 0;            // clip.vision.patch_size
  int n_embd = 0;                // ViT width
  int n_head = 0;
  int n_ff = 0;
  int n_layer = 0;               // blocks stored in the file
  int projection_dim = 0;        // clip.vision.projection_dim (informational)
  float eps = 1e-6f;             // LayerNorm epsilon
  std::array<float, 3> image_mean = {0, 0, 0};
  std::array<float, 3> image_std = {1, 1, 1};
  ClipActivation ffn_act = ClipActivation::kQuickGelu;  // clip.use_gelu / clip.use_silu, else quick GELU
  std::vector<int> feature_layers;  // clip.vision.feature_layer (hidden-state indices; 0 = encoder input)
  int n_layer_run = 0;           // blocks actually run (see clip_encoder.h)
  int n_embd_out = 0;            // projector output width = the language model's n_embd
  bool has_class_embd = false;
  // Preprocessing (llama.cpp's choices for fixed-size llava images).
  ResizeAlgo resize_algo = ResizeAlgo::kBicubic;
  std::array<uint8_t, 3> pad_color = {122, 116, 104};

  int n_patches_side() const { return image_size / patch_size; }
  int n_patches() const { return n_patches_side() * n_patches_side(); }
  int n_pos() const { return n_patches() + (has_class_embd ? 1 : 0); }
  int head_dim() const { return n_embd / n_head; }
};

// One ViT block. Vectors are F32 copies of the file's 1-D tensors; matrices are views.
struct ClipLayer {
  std::vector<float> ln1_w, ln1_b, ln2_w, ln2_b;
  TensorView q_w, k_w, v_w, o_w;
  std::vector<float> q_b, k_b, v_b, o_b;    // empty when the file has none
  TensorView ffn_up_w, ffn_down_w;          // up: n_embd -> n_ff, down: n_ff -> n_embd
  std::vector<float> ffn_up_b, ffn_down_b;  // empty when absent
};

class ClipVisionModel {
 public:
  // Opens and validates the mmproj file at `path`.
  static StatusOr<std::unique_ptr<ClipVisionModel>> Open(const std::string& path);
  // Same from an opened file (tests build files in memory).
  static StatusOr<std::unique_ptr<ClipVisionModel>> FromGguf(std::unique_ptr<GgufFile> file);

  const ClipHparams& hparams() const { return hparams_; }
  const GgufFile& file() const { return *file_; }

  // Patch embedding as a matrix: n_embd rows of 3 * patch * patch inputs ordered channel, row,
  // column (the conv kernel [p, p, 3, n_embd] of the file, read as 2-D).
  const TensorView& patch_w() const { return patch_w_; }
  const std::vector<float>& patch_b() const { return patch_b_; }   // empty when absent
  const std::vector<float>& class_embd() const { return class_embd_; }  // empty when absent
  const std::vector<float>& pos_embd() const { return pos_embd_; }  // n_pos x n_embd
  const std::vector<float>& pre_ln_w() const { return pre_ln_w_; }  // empty when absent
  const std::vector<float>& pre_ln_b() const { return pre_ln_b_; }
  const std::vector<float>& post_ln_w() const { return post_ln_w_; }
  const std::vector<float>& post_ln_b() const { return post_ln_b_; }
  const std::vector<ClipLayer>& layers() const { return layers_; }
  // Projector `mlp`: mm.0 (n_embd * n_features -> hidden), GELU, optional mm.2 (hidden -> out).
  const TensorView& mm0_w() const { return mm0_w_; }
  const std::vector<float>& mm0_b() const { return mm0_b_; }
  const TensorView* mm2_w() const { return mm2_w_.valid() ? &mm2_w_ : nullptr; }
  const std::vector<float>& mm2_b() const { return mm2_b_; }

 private:
  ClipVisionModel() = default;
  Status LoadHparams();
  Status LoadTensors();

  std::unique_ptr<GgufFile> file_;
  ClipHparams hparams_;
  TensorView patch_w_;
  std::vector<float> patch_b_, class_embd_, pos_embd_, pre_ln_w_, pre_ln_b_, post_ln_w_, post_ln_b_;
  std::vector<ClipLayer> layers_;
  TensorView mm0_w_, mm2_w_;
  std::vector<float> mm0_b_, mm2_b_;
};

}  // namespace isv
