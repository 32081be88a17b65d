#include "serving/scheduler.h"

#include <algorithm>
#include <atomic>
#include <span>
#include <string>

namespace isv {
namespace {

using Clock = std::chrono::steady_clock;

double MsBetween(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

int32_t CeilDiv(int64_t a, int32_t b) { return static_cast<int32_t>((a + b - 1) / b); }

}  // namespace

// One request: its input (owned by the Generate() caller, which outlives it), the scheduler
// thread's state while it runs, and the channel to the caller (guarded by `mu`).
struct Scheduler::Request {
  const Prompt* prompt = nullptr;
  GenerationParams params;
  Clock::time_point submitted;
  std::atomic<bool> cancel{false};

  // Scheduler thread only.
  std::unique_ptr<TokenSequence> seq;
  int32_t slot = -1;          // KV sequence id
  int32_t n_fed = 0;          // positions whose keys/values are stored
  int32_t next_token = -1;    // sampled token to feed next (decoding), -1 while prefilling
  int32_t shared_blocks = 0;  // prefix blocks taken from the cache
  int32_t reserved_blocks = 0;  // pool blocks reserved for it beyond the shared prefix
  int32_t cached_tokens = 0;
  Clock::time_point admitted, last_token;
  bool got_first_token = false;

  // Shared with the caller.
  std::mutex mu;
  std::condition_variable cv;
  std::string text;            // produced, not yet handed to the caller
  std::vector<double> gaps_ms;  // inter-token gaps, not yet handed over
  std::vector<TokenLogprob> logprobs;  // of tokens produced, not yet handed over
  bool started = false;  // admitted: the model is working on it
  bool done = false;
  Status status;
  GenerationResult result;
};

Scheduler::Scheduler(std::unique_ptr<Context> context, const VocabPieces& vocab, const SchedulerOptions& options)
    : context_(std::move(context)),
      vocab_(vocab),
      options_(options),
      prefix_(&context_->kv_cache()),
      slot_used_(std::max(1, options.parallel), 0),
      queue_(std::max(0, options.max_queue), options.aging_s) {
  options_.parallel = std::max(1, options_.parallel);
  options_.step_tokens = std::max<int32_t>(options_.step_tokens, options_.parallel + 1);
  if (options_.n_ctx_seq <= 0 || options_.n_ctx_seq > context_->n_ctx()) options_.n_ctx_seq = context_->n_ctx();
  {
    std::lock_guard<std::mutex> lock(mu_);
    PublishLocked();
  }
  thread_ = std::thread([this] { Loop(); });
}

Scheduler::~Scheduler() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

// The caller's side of a request: waits on the request's channel, hands text over, watches for
// the client going away.
class Scheduler::Pending : public PendingGeneration {
 public:
  Pending(Scheduler* scheduler, RequestPtr r) : scheduler_(scheduler), r_(std::move(r)) {}
  ~Pending() override {
    if (!waited_) {
      Cancel();
      std::unique_lock<std::mutex> lock(r_->mu);
      r_->cv.wait(lock, [&] { return r_->done; });
    }
  }

  Status WaitUntilStarted() override {
    std::unique_lock<std::mutex> lock(r_->mu);
    r_->cv.wait(lock, [&] { return r_->started || r_->done; });
    if (r_->started) return OkStatus();
    if (!r_->status.ok()) return r_->status;
    return CancelledError("the client went away before generation started");
  }

  StatusOr<GenerationResult> Wait(const TextCallback& on_text, const TokenTimeCallback& on_token) override {
    bool cancelled = false;
    std::string text;
    std::vector<double> gaps;
    std::vector<TokenLogprob> logprobs;
    while (true) {
      bool done;
      {
        std::unique_lock<std::mutex> lock(r_->mu);
        r_->cv.wait(lock, [&] {
          return r_->done || !r_->text.empty() || !r_->gaps_ms.empty() || !r_->logprobs.empty();
        });
        text.swap(r_->text);
        gaps.swap(r_->gaps_ms);
        logprobs.swap(r_->logprobs);
        done = r_->done;
      }
      if (on_token) {
        for (double g : gaps) on_token(g);
      }
      gaps.clear();
      if (!logprobs.empty() && !cancelled && r_->params.on_logprobs) r_->params.on_logprobs(logprobs);
      logprobs.clear();
      if (!text.empty() && !cancelled && !on_text(text)) cancelled = true;
      text.clear();
      if (done) break;
      if (cancelled) Cancel();
    }
    waited_ = true;
    std::lock_guard<std::mutex> lock(r_->mu);
    if (!r_->status.ok()) return r_->status;
    return r_->result;
  }

 private:
  void Cancel() {
    if (!r_->cancel.exchange(true)) scheduler_->cv_.notify_all();
  }

  Scheduler* scheduler_;
  RequestPtr r_;
  bool waited_ = false;
};

StatusOr<std::unique_ptr<PendingGeneration>> Scheduler::Submit(const Prompt& prompt, const GenerationParams& params) {
  const int32_t n_prompt = static_cast<int32_t>(prompt.tokens.size());
  if (n_prompt == 0) return InvalidArgumentError("the prompt is empty");
  if (n_prompt >= options_.n_ctx_seq)
    return OutOfRangeError("the prompt has " + std::to_string(n_prompt) + " tokens; model '" + options_.model_id +
                           "' has a context of " + std::to_string(options_.n_ctx_seq) + " tokens");
  auto r = std::make_shared<Request>();
  r->prompt = &prompt;
  r->params = params;
  r->submitted = Clock::now();
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return UnavailableError("model '" + options_.model_id + "' is being unloaded");
    // Requests that a free slot takes at once do not count against INFERENCE_MAX_QUEUE.
    if (!queue_.Push(r, params.priority, r->submitted, options_.parallel - running_count_)) {
      return BusyError("model '" + options_.model_id + "' is busy: " + std::to_string(queue_.size()) +
                       " requests are queued (INFERENCE_MAX_QUEUE=" + std::to_string(queue_.max_size()) + ")");
    }
  }
  cv_.notify_all();
  return std::unique_ptr<PendingGeneration>(new Pending(this, std::move(r)));
}

StatusOr<GenerationResult> Scheduler::Generate(const Prompt& prompt, const GenerationParams& params,
                                               const TextCallback& on_text, const TokenTimeCallback& on_token) {
  ISV_ASSIGN_OR_RETURN(std::unique_ptr<PendingGeneration> pending, Submit(prompt, params));
  return pending->Wait(on_text, on_token);
}

void Scheduler::Loop() {
  while (true) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      if (stopping_) break;
      const Clock::time_point now = Clock::now();
      DropQueued(now);
      Admit(now);
      PublishLocked();
      if (running_.empty()) {
        // Idle: wake for a new request, or to re-check deadlines and cancellations of waiting ones.
        cv_.wait_for(lock, queue_.empty() ? std::chrono::milliseconds(1000) : std::chrono::milliseconds(20));
        continue;
      }
    }
    Step();
  }
  // Stopping: whatever is left ends with Unavailable.
  const Status gone = UnavailableError("model '" + options_.model_id + "' was unloaded");
  std::vector<RequestPtr> left = running_;
  for (const RequestPtr& r : left) Finish(*r, gone);
  std::lock_guard<std::mutex> lock(mu_);
  queue_.RemoveIf([](const RequestPtr&, Clock::time_point) { return true; },
                  [&](RequestPtr& r) {
                    std::lock_guard<std::mutex> rl(r->mu);
                    r->status = gone;
                    r->done = true;
                    r->cv.notify_all();
                  });
}

void Scheduler::DropQueued(Clock::time_point now) {
  queue_.RemoveIf(
      [&](const RequestPtr& r, Clock::time_point enqueued) {
        if (r->params.cancelled && r->params.cancelled()) r->cancel = true;
        if (r->cancel.load()) return true;
        const double timeout = r->params.queue_timeout_s > 0 ? r->params.queue_timeout_s : options_.queue_timeout_s;
        return timeout > 0 && std::chrono::duration<double>(now - enqueued).count() >= timeout;
      },
      [&](RequestPtr& r) {
        std::lock_guard<std::mutex> rl(r->mu);
        if (r->cancel.load()) {
          r->result.finish_reason = "cancelled";
          r->result.prompt_tokens = static_cast<int32_t>(r->prompt->tokens.size());
          r->result.queue_ms = MsBetween(r->submitted, now);
        } else {
          r->status = UnavailableError("model '" + options_.model_id + "' is busy: the request waited " +
                                       std::to_string(static_cast<int>(MsBetween(r->submitted, now) / 1000)) +
                                       " s in the queue without starting (queue timeout)");
        }
        r->done = true;
        r->cv.notify_all();
      });
}

int32_t Scheduler::OutstandingBlocks() const {
  const KvCache& kv = context_->kv_cache();
  int32_t n = 0;
  for (const RequestPtr& r : running_) {
    const int32_t taken = static_cast<int32_t>(kv.Blocks(r->slot).size()) - r->shared_blocks;
    n += std::max(0, r->reserved_blocks - taken);
  }
  return n;
}

void Scheduler::Admit(Clock::time_point now) {
  KvCache& kv = context_->kv_cache();
  const int32_t bs = kv.block_size();
  while (static_cast<int>(running_.size()) < options_.parallel && !queue_.empty()) {
    const int i = queue_.Best(now);
    const RequestPtr& r = queue_.at(i);
    const std::vector<int32_t>& tokens = r->prompt->tokens;
    const int32_t n_prompt = static_cast<int32_t>(tokens.size());
    const int64_t max_new = r->params.max_tokens < 0 ? options_.n_ctx_seq : r->params.max_tokens;
    const int32_t total = static_cast<int32_t>(std::min<int64_t>(n_prompt + max_new, options_.n_ctx_seq));
    // At least the last prompt token is computed: its logits start the generation.
    std::vector<int32_t> hit =
        options_.prefix_cache ? prefix_.Match(tokens, (n_prompt - 1) / bs) : std::vector<int32_t>{};
    const int32_t need = CeilDiv(total, bs) - static_cast<int32_t>(hit.size());
    const int32_t outstanding = OutstandingBlocks();
    const int32_t available = kv.n_free_blocks() + prefix_.evictable() - prefix_.CountEvictable(hit) - outstanding;
    if (need > available) break;  // waits for running sequences to free blocks (head of line)
    if (options_.global != nullptr && !options_.global->TryAcquire()) break;

    RequestPtr req = queue_.Take(i);
    int32_t slot = 0;
    while (slot_used_[slot]) ++slot;
    slot_used_[slot] = 1;
    req->slot = slot;
    if (!hit.empty()) {
      Status s = kv.ShareBlocks(slot, hit);  // cannot fail: the slot is empty, the blocks are cached
      (void)s;
    }
    const int32_t deficit = outstanding + need - kv.n_free_blocks();
    if (deficit > 0) prefix_.Evict(deficit);
    req->shared_blocks = static_cast<int32_t>(hit.size());
    req->reserved_blocks = need;
    req->n_fed = req->shared_blocks * bs;
    req->cached_tokens = req->n_fed;
    req->admitted = now;
    req->seq = std::make_unique<TokenSequence>(vocab_, tokens, req->params, options_.n_ctx_seq);
    prefix_lookup_tokens_ += n_prompt;
    prefix_hit_tokens_ += req->cached_tokens;
    if (options_.metrics != nullptr) {
      options_.metrics->ObserveQueueWait(options_.model_id, MsBetween(req->submitted, now) / 1000);
      options_.metrics->AddPrefixLookup(options_.model_id, n_prompt, req->cached_tokens);
    }
    {
      std::lock_guard<std::mutex> rl(req->mu);
      req->started = true;
    }
    req->cv.notify_all();
    running_.push_back(std::move(req));
    running_count_ = static_cast<int>(running_.size());
    if (running_.back()->seq->EndsBeforeSampling()) {
      // max_tokens 0: nothing to compute; it ends ("length") at the start of the next step.
      StatusOr<TokenSequence::Step> none = running_.back()->seq->OnLogits({});
      (void)none;
    }
  }
}

void Scheduler::Step() {
  // Sequences whose caller went away (or that need no step) end here.
  for (size_t i = 0; i < running_.size();) {
    Request& r = *running_[i];
    if (r.params.cancelled && r.params.cancelled()) r.cancel = true;
    if (r.cancel.load() || r.seq->finished()) {
      r.seq->Cancel();
      Finish(r, OkStatus());
    } else {
      ++i;
    }
  }
  if (running_.empty()) return;

  batch_.Clear();
  rows_.clear();
  for (const RequestPtr& r : running_) {  // one token of every decoding sequence
    if (r->next_token < 0) continue;
    batch_.Add(r->next_token, r->n_fed, r->slot, true);
    rows_.push_back(r.get());
  }
  int32_t budget = options_.step_tokens - batch_.size();
  std::vector<std::pair<Request*, int32_t>> prefilled;  // (request, tokens added this step)
  // then prompt chunks, oldest first: flagged as prompt tokens (prefill kernels), after every
  // decode token as Batch requires
  for (const RequestPtr& r : running_) {
    const std::vector<int32_t>& tokens = r->prompt->tokens;
    const int32_t n_prompt = static_cast<int32_t>(tokens.size());
    if (r->next_token >= 0 || r->n_fed >= n_prompt || budget <= 0) continue;
    const int32_t take = std::min(budget, n_prompt - r->n_fed);
    const int32_t n_embd = context_->model().params().n_embd;
    for (int32_t p = r->n_fed; p < r->n_fed + take; ++p) {
      // Image spans feed their embedding rows (their pseudo token ids only key the prefix cache).
      if (const float* row = r->prompt->images.empty() ? nullptr : r->prompt->ImageRow(p))
        batch_.AddEmbedding(row, n_embd, p, r->slot, p + 1 == n_prompt, /*is_prefill=*/true);
      else
        batch_.Add(tokens[p], p, r->slot, p + 1 == n_prompt, /*is_prefill=*/true);
    }
    if (r->n_fed + take == n_prompt) rows_.push_back(r.get());
    prefilled.emplace_back(r.get(), take);
    budget -= take;
  }
  if (options_.before_step) options_.before_step();
  if (options_.metrics != nullptr) {
    options_.metrics->ObserveBatch(options_.model_id, batch_.size(),
                                   static_cast<int>(running_.size()));
  }
  if (Status s = context_->Forward(batch_); !s.ok()) {
    const Status failed = InternalError("model '" + options_.model_id + "': " + s.message());
    std::vector<RequestPtr> all = running_;
    for (const RequestPtr& r : all) Finish(*r, failed);
    return;
  }
  for (Request* r : rows_) {
    if (r->next_token >= 0) ++r->n_fed;
  }
  for (auto& [r, take] : prefilled) {
    r->n_fed += take;
    if (options_.prefix_cache && r->n_fed == static_cast<int32_t>(r->prompt->tokens.size()))
      prefix_.Insert(r->prompt->tokens, context_->kv_cache().Blocks(r->slot));
  }

  const Clock::time_point now = Clock::now();
  for (size_t row = 0; row < rows_.size(); ++row) {
    Request& r = *rows_[row];
    StatusOr<TokenSequence::Step> step = r.seq->OnLogits(context_->Logits(static_cast<int32_t>(row)));
    if (!step.ok()) {
      // Keeps the code: a grammar the matcher cannot follow is the request's fault (400), not ours.
      Finish(r, Status(step.status().code(), "model '" + options_.model_id + "': " + step.status().message()));
      continue;
    }
    {
      std::lock_guard<std::mutex> lock(r.mu);
      if (!r.got_first_token) {
        r.got_first_token = true;
        r.result.time_to_first_token_ms = MsBetween(r.submitted, now);
      } else {
        r.gaps_ms.push_back(MsBetween(r.last_token, now));
      }
      r.text += step->text;
      for (TokenLogprob& lp : step->logprobs) r.logprobs.push_back(std::move(lp));
    }
    r.last_token = now;
    r.cv.notify_all();
    r.next_token = step->feed;
    if (r.seq->finished()) Finish(r, OkStatus());
  }
}

void Scheduler::Finish(Request& r, Status status) {
  KvCache& kv = context_->kv_cache();
  if (options_.prefix_cache && status.ok()) {
    // Keep the blocks of the prompt tokens fed so far (a request cancelled during its prefill too)
    // for later requests. Not those of generated tokens: their K/V came from the decode kernels,
    // while a later prompt holding the same tokens computes them with the prefill kernels (another
    // summation order, kernels/prefill.h) — sharing them would make a cached run differ from a cold
    // one in the last bits. A multi-turn chat still reuses everything up to the latest answer.
    const std::span<const int32_t> prompt(r.prompt->tokens);
    prefix_.Insert(prompt.first(std::min<size_t>(prompt.size(), static_cast<size_t>(r.n_fed))), kv.Blocks(r.slot));
  }
  kv.RemoveFrom(r.slot);
  if (options_.global != nullptr) options_.global->Release();
  const Clock::time_point now = Clock::now();
  slot_used_[r.slot] = 0;
  auto it = std::find_if(running_.begin(), running_.end(), [&](const RequestPtr& p) { return p.get() == &r; });
  RequestPtr keep = std::move(*it);  // r stays alive until its caller has been told
  running_.erase(it);
  {
    std::lock_guard<std::mutex> lock(mu_);
    running_count_ = static_cast<int>(running_.size());
    PublishLocked();  // the caller may look at the slots as soon as it is told
  }
  std::lock_guard<std::mutex> rl(r.mu);
  r.status = std::move(status);
  GenerationResult& res = r.result;
  res.finish_reason = r.seq->finish_reason();
  res.prompt_tokens = static_cast<int32_t>(r.prompt->tokens.size());
  res.cached_tokens = r.cached_tokens;
  res.completion_tokens = r.seq->completion_tokens();
  res.queue_ms = MsBetween(r.submitted, r.admitted);
  res.inference_ms = MsBetween(r.admitted, now);
  r.done = true;
  r.cv.notify_all();
}

void Scheduler::PublishLocked() {
  const KvCache& kv = context_->kv_cache();
  const Clock::time_point now = Clock::now();
  nlohmann::ordered_json slots = nlohmann::ordered_json::array();
  for (const RequestPtr& r : running_) {
    const int32_t n_prompt = static_cast<int32_t>(r->prompt->tokens.size());
    slots.push_back({{"slot", r->slot},
                     {"state", r->n_fed < n_prompt && r->next_token < 0 ? "prefill" : "decode"},
                     {"priority", r->params.priority},
                     {"prompt_tokens", n_prompt},
                     {"cached_tokens", r->cached_tokens},
                     {"prefilled_tokens", std::min(r->n_fed, n_prompt)},
                     {"completion_tokens", r->seq->completion_tokens()},
                     {"running_ms", static_cast<int64_t>(MsBetween(r->admitted, now))}});
  }
  nlohmann::ordered_json queued = nlohmann::ordered_json::object();
  std::map<int, int> depth = queue_.DepthByPriority();
  for (const auto& [prio, n] : depth) queued[std::to_string(prio)] = n;
  const int32_t cached = prefix_.size();
  const int32_t free_blocks = kv.n_free_blocks();
  view_ = {{"parallel", options_.parallel},
           {"running", running_.size()},
           {"slots", slots},
           {"queued", queue_.size()},
           {"queued_by_priority", queued},
           {"kv_cache",
            {{"block_size", kv.block_size()},
             {"blocks_total", kv.n_blocks()},
             {"blocks_free", free_blocks},
             {"blocks_cached", cached},
             {"blocks_used", kv.n_blocks() - free_blocks}}},
           {"prefix_cache",
            {{"enabled", options_.prefix_cache},
             {"prompt_tokens", prefix_lookup_tokens_},
             {"cached_tokens", prefix_hit_tokens_},
             {"hit_ratio", prefix_lookup_tokens_ > 0
                               ? static_cast<double>(prefix_hit_tokens_) / static_cast<double>(prefix_lookup_tokens_)
                               : 0.0}}}};
  if (options_.metrics != nullptr) {
    options_.metrics->SetSchedulerState(options_.model_id, static_cast<int>(running_.size()), depth,
                                        kv.n_blocks() - free_blocks, free_blocks, cached);
  }
}

nlohmann::ordered_json Scheduler::Snapshot() const {
  std::lock_guard<std::mutex> lock(mu_);
  return view_;
}

}  // namespace isv
