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
//   clip-vit-l-336     LLaVA 1.5's encoder (336 / 14: 576 tokens, width 1024, 16 heads, n_ff
//                      4096, 23 stored blocks as the legacy converter writes them) -> 4096.
//   siglip-so400m-378  Moondream2-sized SigLIP (378 / 14: 729 tokens, width 1152, 16 heads, n_ff
//                      4304, 27 blocks) -> 2048. Both big shapes are for speed measurements.
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
  int n_embd_text = 0;             // projector output width (a multiple of 32); 0: the shape's
  int n_layer = 0;                 // > 0: override the shape's block count
  uint64_t seed = 1;
};

// "clip-tiny, siglip-tiny, ...".
std::string SynthMmprojShapeNames();
bool IsSynthMmprojShape(const std::string& name);

// The file image. InvalidArgument for an unknown shape, type or bad sizes.
StatusOr<std::string> SerializeSynthMmproj(const SynthMmprojOptions& options);
// Writes it to `path`.
Status WriteSynthMmproj(const SynthMmprojOptions& options, const std::string& path);

}  // namespace isv
