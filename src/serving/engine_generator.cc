#include "serving/engine_generator.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <sstream>

#include "engine/gguf/gguf_file.h"
#include "engine/kv/kv_cache.h"
#include "engine/model/batch.h"
#include "engine/model/model_params.h"
#include "engine/template/chat_template.h"
#include "serving/json_constraint.h"
#include "serving/stop_matcher.h"

namespace isv {
namespace {

using Clock = std::chrono::steady_clock;

double MsSince(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

constexpr int32_t kPrefillChunk = 256;
constexpr uint64_t kOverheadBytes = 16u << 20;  // scratch buffers, tokenizer, thread stacks

uint64_t KvBytes(const ModelParams& hp, int32_t n_ctx) {
  return KvCache::BytesFor(hp.n_layer, n_ctx, hp.n_embd_kv());
}

int32_t ContextLength(const ModelSpec& spec, const ModelParams& hp) {
  return spec.context_length > 0 ? spec.context_length : hp.n_ctx_train;
}

// Releases the ticket lock when a generation ends, however it ends.
class TicketGuard {
 public:
  TicketGuard(std::mutex& mu, std::condition_variable& cv, uint64_t* serving)
      : mu_(mu), cv_(cv), serving_(serving) {}
  ~TicketGuard() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++*serving_;
    }
    cv_.notify_all();
  }

 private:
  std::mutex& mu_;
  std::condition_variable& cv_;
  uint64_t* serving_;
};

}  // namespace

StatusOr<uint64_t> EngineGenerator::EstimateBytes(const ModelSpec& spec) {
  ISV_ASSIGN_OR_RETURN(std::unique_ptr<GgufFile> file, GgufFile::Open(spec.path));
  ISV_ASSIGN_OR_RETURN(ModelParams hp, ReadModelParams(*file));
  std::error_code ec;
  uint64_t file_bytes = std::filesystem::file_size(spec.path, ec);
  if (ec) return NotFoundError("cannot stat " + spec.path);
  return file_bytes + KvBytes(hp, ContextLength(spec, hp)) + kOverheadBytes;
}

StatusOr<std::unique_ptr<EngineGenerator>> EngineGenerator::Load(const ModelSpec& spec,
                                                                 const EngineOptions& options) {
  std::unique_ptr<EngineGenerator> g(new EngineGenerator());
  g->id_ = spec.id;
  g->max_queue_ = options.max_queue;
  ISV_ASSIGN_OR_RETURN(g->model_, Model::Load(spec.path));
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
  g->pieces_.resize(g->tokenizer_->n_vocab());
  for (int32_t id = 0; id < g->tokenizer_->n_vocab(); ++id)
    g->pieces_[id] = g->tokenizer_->TokenToPiece(id, false);
  g->tool_format_ = DetectToolCallFormat(g->chat_template_);
  const ModelParams& hp = g->model_->params();
  ContextOptions copt;
  copt.n_ctx = ContextLength(spec, hp);
  copt.n_threads = options.threads;
  ISV_ASSIGN_OR_RETURN(g->context_, Context::Create(*g->model_, copt));
  std::error_code ec;
  g->memory_bytes_ =
      std::filesystem::file_size(spec.path, ec) + KvBytes(hp, copt.n_ctx) + kOverheadBytes;
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
  p.tokens = tokenizer_->Encode(p.text, add_special, /*parse_special=*/input.is_chat);
  if (p.tokens.empty()) return InvalidArgumentError("the prompt is empty");
  if (static_cast<int32_t>(p.tokens.size()) >= n_ctx()) {
    return OutOfRangeError("the prompt has " + std::to_string(p.tokens.size()) +
                           " tokens; model '" + id_ + "' has a context of " +
                           std::to_string(n_ctx()) + " tokens");
  }
  return p;
}

StatusOr<GenerationResult> EngineGenerator::Generate(const Prompt& prompt,
                                                     const GenerationParams& params,
                                                     const TextCallback& on_text,
                                                     const TokenTimeCallback& on_token) {
  Clock::time_point queued = Clock::now();
  uint64_t ticket;
  {
    std::unique_lock<std::mutex> lock(mu_);
    if (next_ticket_ - serving_ > static_cast<uint64_t>(max_queue_)) {
      return UnavailableError("model '" + id_ +
                              "' is busy: " + std::to_string(next_ticket_ - serving_) +
                              " requests are queued (INFERENCE_MAX_QUEUE)");
    }
    ticket = next_ticket_++;
    cv_.wait(lock, [&] { return serving_ == ticket; });
  }
  TicketGuard guard(mu_, cv_, &serving_);
  GenerationResult result;
  result.queue_ms = MsSince(queued);
  ISV_RETURN_IF_ERROR(RunLocked(prompt, params, on_text, on_token, &result));
  return result;
}

int32_t EngineGenerator::SampleJson(Sampler& sampler, std::span<const float> logits,
                                    const JsonConstraint& json, std::vector<float>* masked,
                                    std::vector<int32_t>* order) const {
  // Candidates are tried best logit first; the first kKeep that fit become the distribution the
  // sampler draws from (a top-k over valid tokens). Most steps decide within the first window.
  constexpr int32_t kWindow = 4096;
  constexpr int32_t kKeep = 64;
  const int32_t n = static_cast<int32_t>(std::min(logits.size(), pieces_.size()));
  order->resize(n);
  std::iota(order->begin(), order->end(), 0);
  auto better = [&](int32_t a, int32_t b) {
    return logits[a] > logits[b] || (logits[a] == logits[b] && a < b);
  };
  const int32_t window = std::min(n, kWindow);
  std::partial_sort(order->begin(), order->begin() + window, order->end(), better);
  masked->assign(logits.size(), -INFINITY);
  int32_t kept = 0;
  for (int32_t i = 0; i < n && kept < kKeep; ++i) {
    if (i == window) std::sort(order->begin() + window, order->end(), better);
    int32_t id = (*order)[i];
    if (pieces_[id].empty()) continue;
    JsonConstraint probe = json;
    if (probe.Feed(pieces_[id])) {
      (*masked)[id] = logits[id];
      ++kept;
    }
  }
  return kept == 0 ? -1 : sampler.Sample(*masked);
}

Status EngineGenerator::RunLocked(const Prompt& prompt, const GenerationParams& params,
                                  const TextCallback& on_text, const TokenTimeCallback& on_token,
                                  GenerationResult* result) {
  Clock::time_point start = Clock::now();
  const int32_t n_prompt = static_cast<int32_t>(prompt.tokens.size());
  result->prompt_tokens = n_prompt;
  if (n_prompt >= n_ctx()) return OutOfRangeError("the prompt does not fit the context");
  context_->kv_cache().Clear();

  Sampler sampler(params.sampling, model_->params().n_vocab);
  for (int32_t t : prompt.tokens) sampler.Accept(t);
  Batch batch;
  for (int32_t i = 0; i < n_prompt; i += kPrefillChunk) {
    batch.Clear();
    int32_t end = std::min(n_prompt, i + kPrefillChunk);
    for (int32_t j = i; j < end; ++j) batch.Add(prompt.tokens[j], j, 0, j + 1 == n_prompt);
    ISV_RETURN_IF_ERROR(context_->Forward(batch).WithContext("prefill"));
  }

  StreamDecoder decoder(*tokenizer_);
  StopMatcher stop(params.stop);
  JsonConstraint json;
  std::vector<float> masked;
  std::vector<int32_t> order;
  int32_t pos = n_prompt;
  Clock::time_point last_token = Clock::now();
  result->finish_reason = "length";
  bool cancelled = false;
  auto emit = [&](const std::string& text) {
    if (!text.empty() && !cancelled && !on_text(text)) cancelled = true;
  };
  while (true) {
    if (params.max_tokens >= 0 && result->completion_tokens >= params.max_tokens) break;
    std::span<const float> logits = context_->Logits(context_->n_outputs() - 1);
    int32_t token = params.json_object ? SampleJson(sampler, logits, json, &masked, &order)
                                       : sampler.Sample(logits);
    if (token < 0)
      return InternalError("no token of model '" + id_ + "' can continue the JSON object");
    sampler.Accept(token);
    double since = MsSince(last_token);
    last_token = Clock::now();
    if (result->completion_tokens == 0) {
      result->time_to_first_token_ms = MsSince(start);
    } else if (on_token) {
      on_token(since);
    }
    if (!params.ignore_eos && tokenizer_->IsEog(token)) {
      result->finish_reason = "stop";
      break;
    }
    ++result->completion_tokens;
    emit(stop.Push(decoder.Push(token)));
    if (stop.stopped()) {
      result->finish_reason = "stop";
      break;
    }
    if (params.json_object && json.Feed(pieces_[token]) && json.done()) {
      result->finish_reason = "stop";
      break;
    }
    if (cancelled) break;
    if (pos >= n_ctx()) break;  // no KV cell left for this token: "length"
    if (params.max_tokens >= 0 && result->completion_tokens >= params.max_tokens) break;
    batch.Clear();
    batch.Add(token, pos++, 0, true);
    ISV_RETURN_IF_ERROR(context_->Forward(batch).WithContext("decode"));
  }
  if (!stop.stopped() && !cancelled) {
    emit(stop.Push(decoder.Flush()));
    if (!stop.stopped()) emit(stop.Flush());
    if (stop.stopped()) result->finish_reason = "stop";
  }
  if (cancelled) result->finish_reason = "cancelled";
  context_->kv_cache().Clear();
  result->inference_ms = MsSince(start);
  return OkStatus();
}

}  // namespace isv
