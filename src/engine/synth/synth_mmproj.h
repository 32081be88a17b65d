// WriteSynthMmproj: a tiny llava-style vision projector file ("mmproj" GGUF) with random weights,
// laid out as llama.cpp's mtmd reads it (clip.* keys, v.* / mm.* tensors, projector `mlp`), so
// that the vision encoder can be tested without a real model and compared with llama.cpp.
//
// Named shapes (SynthMmprojShapeNames()):
//   clip-tiny    CLIP-like: image 32x32, patch 8 (16 patches), width 64, 4 heads, n_ff 128,
//                3 blocks (llava runs 2), class embedding, pre-LayerNorm, quick GELU,
//                projector mm.0 [64 -> 256], GELU, mm.2 [256 -> 256] (tiny-llama's n_embd).
//   siglip-tiny  SigLIP-like: same sizes without class embedding and pre-LayerNorm, with a
//                post-LayerNorm and GELU (tanh) in the MLP, clip.vision.feature_layer = [3]
//                (all blocks run).
// Scales: matrices N(0, 1/fan_in) (the patch kernel stays F16 when the type is Q8_0), biases 0.1 N(0,1), LayerNorm weights 1 + 0.1 N(0,1),
// class / position embeddings 0.5 N(0,1). Reproducible: the same options give the same bytes.
//
// Thread-safety: independent calls may run concurrently.
#pragma once

#include <cstdint>
#include <string>

#include "core/status.h"
#include "engine/tensor/ggml_type.h"

namespace isv {

struct SynthMmprojOptions {
  std::string shape = "clip-tiny";
  GgmlType type = GgmlType::kF16;  // weight matrices: F32, F16 or Q8_0 (1-D tensors are F32)
  int n_embd_text = 256;           // projector output width (> 0)
  int n_layer = 0;                 // > 0: override the shape's block count
  uint64_t seed = 1;
};

// "clip-tiny, siglip-tiny".
std::string SynthMmprojShapeNames();
bool IsSynthMmprojShape(const std::string& name);

// The file image. InvalidArgument for an unknown shape, type or bad sizes.
StatusOr<std::string> SerializeSynthMmproj(const SynthMmprojOptions& options);
// Writes it to `path`.
Status WriteSynthMmproj(const SynthMmprojOptions& options, const std::string& path);

}  // namespace isv
