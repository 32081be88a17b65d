#include "serving/engine_generator.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "engine/gguf/gguf_file.h"
#include "engine/kv/kv_cache.h"
#include "engine/model/context.h"
#include "engine/model/model_params.h"
#include "engine/template/chat_template.h"
#include "engine/vision/clip_encoder.h"
#include "engine/vision/image.h"

namespace isv {
namespace {

constexpr uint64_t kOverheadBytes = 16u << 20;  // scratch buffers, tokenizer, thread stacks

uint64_t KvBytes(const ModelParams& hp, int32_t n_ctx) {
  return KvCache::BytesFor(hp.n_layer, n_ctx, hp.n_embd_kv());
}

int32_t ContextLength(const ModelSpec& spec, const ModelParams& hp) {
  return spec.context_length > 0 ? spec.context_length : hp.n_ctx_train;
}

int Parallel(const ModelSpec& spec, const EngineOptions& options) {
  return std::max(1, spec.parallel > 0 ? spec.parallel : options.parallel);
}

// Cells of the KV pool: models.yaml kv_cache_tokens, else one full context per parallel sequence.
int32_t PoolCells(const ModelSpec& spec, const ModelParams& hp, const EngineOptions& options) {
  if (spec.kv_cache_tokens > 0) return spec.kv_cache_tokens;
  const int64_t cells = static_cast<int64_t>(ContextLength(spec, hp)) * Parallel(spec, options);
  return static_cast<int32_t>(std::min<int64_t>(cells, INT32_MAX / 2));
}

uint64_t MmprojBytes(const ModelSpec& spec) {
  if (spec.mmproj_path.empty()) return 0;
  std::error_code ec;
  const uint64_t n = std::filesystem::file_size(spec.mmproj_path, ec);
  return ec ? 0 : n;
}

// FNV-1a over the image's bytes: the identity of an image for the prefix cache.
uint64_t HashBytes(std::string_view bytes) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return h;
}

// Width of the projector's output (the rows it gives the language model).
int64_t ProjectorWidth(const ClipVisionModel& v) {
  return v.mm2_w() != nullptr ? v.mm2_w()->ne[1] : v.mm0_w().ne[1];
}

}  // namespace

StatusOr<uint64_t> EngineGenerator::EstimateBytes(const ModelSpec& spec, const EngineOptions& options) {
  ISV_ASSIGN_OR_RETURN(std::unique_ptr<GgufFile> file, GgufFile::Open(spec.path));
  ISV_ASSIGN_OR_RETURN(ModelParams hp, ReadModelParams(*file));
  std::error_code ec;
  uint64_t file_bytes = std::filesystem::file_size(spec.path, ec);
  if (ec) return NotFoundError("cannot stat " + spec.path);
  return file_bytes + KvBytes(hp, PoolCells(spec, hp, options)) + kOverheadBytes + MmprojBytes(spec);
}

StatusOr<std::unique_ptr<EngineGenerator>> EngineGenerator::Load(const ModelSpec& spec,
                                                                 const EngineOptions& options) {
  std::unique_ptr<EngineGenerator> g(new EngineGenerator());
  g->id_ = spec.id;
  ISV_ASSIGN_OR_RETURN(g->model_, Model::Load(spec.path, options.mmap ? GgufMemory::kMap : GgufMemory::kHugePages));
  ISV_ASSIGN_OR_RETURN(g->tokenizer_, Tokenizer::FromGguf(g->model_->file()));
  if (!spec.chat_template.empty()) {
    std::ifstream in(spec.chat_template, std::ios::binary);
    if (!in) return NotFoundError("cannot read chat_template " + spec.chat_template);
    std::ostringstream ss;
    ss << in.rdbuf();
    g->chat_template_ = ss.str();
  } else if (StatusOr<std::string> t = ChatTemplateFromGguf(g->model_->file()); t.ok()) {
    g->chat_template_ = *t;
  } else {
    g->chat_template_ = std::string(ChatmlFallback());
  }
  g->special_tokens_ = SpecialTokensFromGguf(g->model_->file());
  g->vocab_ = VocabPieces::For(*g->tokenizer_);
  g->tool_format_ = DetectToolCallFormat(g->chat_template_);
  const ModelParams& hp = g->model_->params();
  if (!spec.mmproj_path.empty()) {
    StatusOr<std::unique_ptr<ClipVisionModel>> v = ClipVisionModel::Open(spec.mmproj_path);
    if (!v.ok()) return Status(v.status().code(), "mmproj " + spec.mmproj_path + ": " + v.status().message());
    g->vision_ = std::move(*v);
    if (ProjectorWidth(*g->vision_) != hp.n_embd) {
      return InvalidArgumentError("mmproj " + spec.mmproj_path + ": projector output width " +
                                  std::to_string(ProjectorWidth(*g->vision_)) + " != the model's n_embd " +
                                  std::to_string(hp.n_embd));
    }
    g->vision_pool_ = std::make_unique<ThreadPool>(options.threads > 0 ? options.threads : 0);
  }
  ContextOptions copt;
  copt.n_ctx = PoolCells(spec, hp, options);
  copt.n_threads = options.threads;
  ISV_ASSIGN_OR_RETURN(std::unique_ptr<Context> context, Context::Create(*g->model_, copt));
  std::error_code ec;
  g->memory_bytes_ =
      std::filesystem::file_size(spec.path, ec) + KvBytes(hp, copt.n_ctx) + kOverheadBytes + MmprojBytes(spec);
  SchedulerOptions sopt;
  sopt.model_id = spec.id;
  sopt.parallel = Parallel(spec, options);
  sopt.max_queue = options.max_queue;
  sopt.step_tokens = options.step_tokens;
  sopt.n_ctx_seq = ContextLength(spec, hp);
  sopt.queue_timeout_s = options.queue_timeout_s;
  sopt.aging_s = options.aging_s;
  sopt.prefix_cache = options.prefix_cache;
  sopt.global = options.global;
  sopt.metrics = options.metrics;
  g->scheduler_ = std::make_unique<Scheduler>(std::move(context), g->vocab_, sopt);
  return g;
}

StatusOr<Prompt> EngineGenerator::PreparePrompt(const PromptInput& input) const {
  Prompt p;
  p.tool_format = tool_format_;
  if (input.is_chat) {
    nlohmann::ordered_json ctx = special_tokens_;
    ctx["messages"] = input.messages;
    ctx["add_generation_prompt"] = true;
    if (!input.tools.is_null()) ctx["tools"] = input.tools;
    StatusOr<std::string> text = RenderChatTemplate(chat_template_, ctx, {});
    if (!text.ok()) {
      return InvalidArgumentError("chat template of model '" + id_ +
                                  "' failed: " + text.status().message());
    }
    p.text = std::move(*text);
  } else {
    p.text = input.prompt;
  }
  // Templates usually write the BOS token themselves; add it only when the text lacks it.
  bool add_special = tokenizer_->add_bos();
  if (tokenizer_->bos() >= 0) {
    const std::string& bos = tokenizer_->token_text(tokenizer_->bos());
    if (!bos.empty() && p.text.rfind(bos, 0) == 0) add_special = false;
  }
  if (!input.images.empty()) {
    if (vision_ == nullptr) {
      return InvalidArgumentError("model '" + id_ + "' takes no images (no mmproj in models.yaml): " +
                                  input.images[0].param);
    }
    ISV_RETURN_IF_ERROR(TokenizeWithImages(input, add_special, &p));
  } else {
    p.tokens = tokenizer_->Encode(p.text, add_special, /*parse_special=*/input.is_chat);
  }
  if (p.tokens.empty()) return InvalidArgumentError("the prompt is empty");
  if (static_cast<int32_t>(p.tokens.size()) >= n_ctx()) {
    return OutOfRangeError("the prompt has " + std::to_string(p.tokens.size()) +
                           " tokens; model '" + id_ + "' has a context of " +
                           std::to_string(n_ctx()) + " tokens");
  }
  return p;
}

Status EngineGenerator::TokenizeWithImages(const PromptInput& input, bool add_special, Prompt* p) const {
  // Text pieces between markers are tokenized separately (only the first may get BOS), as mtmd does.
  std::vector<std::string_view> pieces;
  std::string_view rest = p->text;
  for (size_t at; (at = rest.find(kImageMarker)) != std::string_view::npos;) {
    pieces.push_back(rest.substr(0, at));
    rest.remove_prefix(at + kImageMarker.size());
  }
  pieces.push_back(rest);
  if (pieces.size() - 1 != input.images.size()) {
    return InvalidArgumentError("the prompt has " + std::to_string(pieces.size() - 1) + " image markers (" +
                                std::string(kImageMarker) + ") for " + std::to_string(input.images.size()) +
                                " images");
  }
  for (size_t i = 0; i < pieces.size(); ++i) {
    std::vector<int32_t> t = tokenizer_->Encode(std::string(pieces[i]), i == 0 && add_special, input.is_chat);
    p->tokens.insert(p->tokens.end(), t.begin(), t.end());
    if (i == input.images.size()) break;
    const PromptImageInput& in = input.images[i];
    StatusOr<RgbImage> image = DecodeImage(in.bytes);
    if (!image.ok()) return Status(image.status().code(), in.param + ": " + image.status().message());
    StatusOr<ImageEmbedding> emb = [&] {
      std::lock_guard<std::mutex> lock(vision_mu_);
      return EmbedImage(*vision_, *image, *vision_pool_);
    }();
    if (!emb.ok()) return Status(emb.status().code(), in.param + ": " + emb.status().message());
    PromptImageSpan span;
    span.offset = static_cast<int32_t>(p->tokens.size());
    span.n_rows = emb->n_tokens;
    span.n_embd = emb->n_embd;
    span.rows = std::make_shared<const std::vector<float>>(std::move(emb->data));
    const uint64_t h = HashBytes(in.bytes);
    for (int32_t r = 0; r < span.n_rows; ++r) p->tokens.push_back(ImagePseudoToken(h, r));
    p->images.push_back(std::move(span));
  }
  return OkStatus();
}

}  // namespace isv
