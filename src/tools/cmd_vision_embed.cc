// `inference-service vision-embed MMPROJ.gguf IMAGE`: runs a llava-style vision encoder and
// projector on one image and prints the embedding's shape, a checksum and its first values (for
// inspection and for comparisons with llama.cpp).
#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>
#include <string>

#include "core/thread_pool.h"
#include "engine/vision/base64.h"
#include "engine/vision/clip_encoder.h"
#include "engine/vision/clip_model.h"
#include "engine/vision/image.h"
#include "tools/cli_common.h"
#include "tools/commands.h"

namespace isv {
namespace {

struct VisionEmbedOptions {
  std::string mmproj;
  std::string image;
  bool base64 = false;
  bool llamacpp_order = false;
  int values = 8;
  std::string dump;
  int32_t threads = 0;
};

const char* ActivationName(ClipActivation a) {
  return a == ClipActivation::kGelu ? "gelu" : a == ClipActivation::kSilu ? "silu" : "quick_gelu";
}

int RunVisionEmbed(const VisionEmbedOptions& opt) {
  StatusOr<std::unique_ptr<ClipVisionModel>> model = ClipVisionModel::Open(opt.mmproj);
  if (!model.ok()) return ReportError(model.status());
  const ClipHparams& h = (*model)->hparams();
  StatusOr<std::string> bytes = ReadWholeFile(opt.image);
  if (!bytes.ok()) return ReportError(bytes.status());
  if (opt.base64) {
    bytes = DecodeImagePayload(*bytes);
    if (!bytes.ok()) return ReportError(bytes.status().WithContext(opt.image));
  }
  StatusOr<RgbImage> image = DecodeImage(*bytes);
  if (!image.ok()) return ReportError(image.status().WithContext(opt.image));

  ThreadPool pool(opt.threads);
  ClipEncodeOptions eo;
  eo.llamacpp_class_token_order = opt.llamacpp_order;
  const auto start = std::chrono::steady_clock::now();
  StatusOr<ImageEmbedding> emb = EmbedImage(**model, *image, pool, eo);
  if (!emb.ok()) return ReportError(emb.status());
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();

  std::printf("mmproj: %s: projector %s, image %d, patch %d, width %d, %d heads, n_ff %d, %d blocks (%d run), %s, "
              "class token %s\n",
              opt.mmproj.c_str(), h.projector.c_str(), h.image_size, h.patch_size, h.n_embd, h.n_head, h.n_ff,
              h.n_layer, h.n_layer_run, ActivationName(h.ffn_act), h.has_class_embd ? "yes" : "no");
  std::printf("image: %s: %dx%d\n", opt.image.c_str(), image->width, image->height);
  double sum = 0, sum_abs = 0, sum_sq = 0;
  for (float v : emb->data) {
    sum += v;
    sum_abs += std::fabs(v);
    sum_sq += static_cast<double>(v) * v;
  }
  std::printf("embedding: %d x %d (tokens x n_embd), in %.1f ms\n", emb->n_tokens, emb->n_embd, ms);
  std::printf("checksum: sum %.6f, sum|x| %.6f, l2 %.6f\n", sum, sum_abs, std::sqrt(sum_sq));
  std::printf("first values:");
  for (int i = 0; i < opt.values && i < static_cast<int>(emb->data.size()); ++i) std::printf(" %.6f", emb->data[i]);
  std::printf("\n");
  if (!opt.dump.empty()) {
    FILE* f = std::fopen(opt.dump.c_str(), "wb");
    if (f == nullptr) return ReportError(NotFoundError(opt.dump + ": cannot open for writing"));
    const bool ok = std::fwrite(emb->data.data(), sizeof(float), emb->data.size(), f) == emb->data.size();
    if (std::fclose(f) != 0 || !ok) return ReportError(InternalError(opt.dump + ": write failed"));
  }
  return 0;
}

}  // namespace

void AddVisionEmbedCommand(CLI::App& app, int* exit_code) {
  auto opt = std::make_shared<VisionEmbedOptions>();
  CLI::App* cmd = app.add_subcommand(
      "vision-embed", "Run a llava-style vision encoder + projector (mmproj GGUF) on an image; print the embeddings");
  cmd->add_option("mmproj", opt->mmproj, "Vision projector GGUF file (llama.cpp's mmproj format)")->required();
  cmd->add_option("image", opt->image, "PNG or JPEG file (with --base64: a file holding base64 or a data: URL)")
      ->required();
  cmd->add_flag("--base64", opt->base64, "The image file holds base64 text or a data:image/...;base64, URL");
  cmd->add_flag("--llamacpp-cls-order", opt->llamacpp_order,
                "Place the class token as llama.cpp b10176 does (after the patches; its issue #25814) instead of "
                "first, as CLIP defines it; for comparisons with llama.cpp only");
  cmd->add_option("--values", opt->values, "How many leading values to print (default 8)")->check(CLI::Range(0, 1 << 20));
  cmd->add_option("--dump", opt->dump, "Also write the embeddings as raw little-endian float32 to this file");
  AddThreadsOption(cmd, &opt->threads);
  cmd->callback([opt, exit_code] { *exit_code = RunVisionEmbed(*opt); });
}

}  // namespace isv
