// The CLIP / SigLIP ViT forward pass and the llava projector on the CPU: image in, one embedding
// per image token out, in the language model's embedding space.
//
//   ThreadPool pool(0);
//   ISV_ASSIGN_OR_RETURN(ImageEmbedding emb, EmbedImage(*model, image, pool));
//   // emb.n_tokens rows of emb.n_embd floats, to be placed where the prompt's image marker is.
//
// The forward pass, as llava's vision tower computes it (and llama.cpp's clip graph):
//   patches (conv p x p, stride p, as a matmul over flattened patches) + bias
//   -> [class token] + patches, + learned position embeddings -> optional pre-LayerNorm
//   -> blocks: x += Wo MHA(LN1(x)) (Q/K/V/O with biases, softmax(QK^T / sqrt(d)));
//              x += Wdown act(Wup LN2(x))  (act: GELU (tanh), quick GELU or SiLU per the file)
//   -> hidden states of the feature layers (default: the output of block n_layer - 2, i.e.
//      n_layer - 1 blocks run; clip.vision.feature_layer overrides, several are concatenated)
//   -> optional post-LayerNorm (on the last state) -> drop the class token
//   -> projector mlp: GELU(W0 x + b0), then W2 . + b2 when present.
// Matrices go through MatMul (any weight type the kernels support); the rest is plain float code.
//
// Class-token order: HF CLIP puts the class token first (position row 0). llama.cpp b10176's
// llava graph appends it after the patches while still feeding positions 0..n and dropping row 0
// (llama.cpp issue #25814), which shifts every patch's position embedding and passes the class
// token on as an image token. The default here is HF's order; ClipEncodeOptions can reproduce
// llama.cpp's for comparisons. Encoders without a class embedding (SigLIP) are unaffected.
//
// Thread-safety: the functions are reentrant; the pool must not be used by another thread meanwhile.
#pragma once

#include <cstdint>
#include <vector>

#include "core/status.h"
#include "core/thread_pool.h"
#include "engine/vision/clip_model.h"
#include "engine/vision/image.h"

namespace isv {

struct ClipEncodeOptions {
  // true: llama.cpp b10176's class-token placement (see above), for comparisons only.
  bool llamacpp_class_token_order = false;
};

struct ImageEmbedding {
  int n_tokens = 0;         // image tokens (= patches)
  int n_embd = 0;           // the language model's width (projector output)
  std::vector<float> data;  // n_tokens x n_embd, row-major
};

// The preprocessed image for `model`: RGB resized into image_size x image_size (aspect kept,
// padded), normalized, CHW (3 x image_size x image_size floats).
std::vector<float> PreprocessImage(const ClipVisionModel& model, const RgbImage& image);

// Encoder + projector on a preprocessed image. InvalidArgument when chw does not hold
// 3 x image_size x image_size values.
StatusOr<ImageEmbedding> EncodeImage(const ClipVisionModel& model, const std::vector<float>& chw, ThreadPool& pool,
                                     const ClipEncodeOptions& options = {});

// PreprocessImage then EncodeImage.
StatusOr<ImageEmbedding> EmbedImage(const ClipVisionModel& model, const RgbImage& image, ThreadPool& pool,
                                    const ClipEncodeOptions& options = {});

}  // namespace isv
