// Scheduler: serves many requests at once on one model by continuous batching (Orca / vLLM
// style). One thread per model runs steps; each step is one Context::Forward over
//   - one token of every sequence that is decoding, then
//   - chunks of the prompts still being prefilled, up to `step_tokens` tokens in all,
// so sequences join and leave at token granularity and a long prompt delays the others' next token
// by at most one chunk. Results do not depend on batching: every row of a batch is computed exactly
// as it would be alone (kernels are per-row; tests/serving/scheduler_test.cc checks it bitwise).
//
// Admission: requests wait in a bounded RequestQueue (priority with aging, optional queue-wait
// deadline). A request starts when a sequence slot is free (`parallel` per model, and the server-
// wide ConcurrencyLimit) and the paged KV pool can hold its prompt plus max_tokens (capped by the
// per-sequence context): blocks are reserved up front, so a running sequence never runs out and
// never has to be preempted. Full prompt blocks already computed for the same tokens are shared
// (PrefixCache) and reported as cached tokens; cached blocks are evicted LRU when room is needed.
//
// Generate() runs on the caller's thread: it enqueues the request, then hands the text the
// scheduler produces to the caller's callbacks, so a slow client never stalls the model. A
// callback returning false or params.cancelled() returning true (client gone) removes the
// sequence at the next step and frees its blocks; a queued request is dropped before it runs.
//
// Thread-safety: Generate() and Snapshot() may be called from any thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "core/metrics.h"
#include "engine/model/batch.h"
#include "engine/model/context.h"
#include "serving/concurrency_limit.h"
#include "serving/generator.h"
#include "serving/prefix_cache.h"
#include "serving/request_queue.h"
#include "serving/token_sequence.h"

namespace isv {

struct SchedulerOptions {
  std::string model_id;        // for messages, metrics and slots
  int parallel = 4;            // sequences running at once
  int max_queue = 64;          // requests waiting; more get Busy (HTTP 429)
  int32_t step_tokens = 128;   // tokens per forward step (decode tokens + prefill chunk)
  int32_t n_ctx_seq = 0;       // positions one sequence may use; 0 = the whole pool
  double queue_timeout_s = 0;  // default queue-wait deadline (0 = none); per request overridable
  double aging_s = 10;         // a waiting request gains one priority level per aging_s seconds
  bool prefix_cache = true;
  ConcurrencyLimit* global = nullptr;  // server-wide running-sequence limit (may be null)
  Metrics* metrics = nullptr;          // may be null
  // Test hook: called on the scheduler thread before every forward step (may block or sleep to
  // make a test's timing deterministic). Empty in production.
  std::function<void()> before_step;
};

class Scheduler {
 public:
  // Takes the model's Context (its KV cache is the block pool); `vocab` must outlive the
  // scheduler. Starts the step thread.
  Scheduler(std::unique_ptr<Context> context, const VocabPieces& vocab, const SchedulerOptions& options);
  // Stops the step thread. Requests still queued or running end with Unavailable.
  ~Scheduler();

  // See Generator::Submit / Generate. Errors: Busy (queue full), Unavailable (queue-wait deadline
  // passed, scheduler stopping), Internal (engine failure). A cancelled request returns its partial
  // result with finish_reason "cancelled".
  StatusOr<std::unique_ptr<PendingGeneration>> Submit(const Prompt& prompt, const GenerationParams& params);
  StatusOr<GenerationResult> Generate(const Prompt& prompt, const GenerationParams& params,
                                      const TextCallback& on_text, const TokenTimeCallback& on_token);

  // What the model is doing now: slots (running sequences), queue depth by priority, KV blocks
  // (total, used, cached, free), prefix-cache hit statistics.
  nlohmann::ordered_json Snapshot() const;

  int32_t n_ctx_seq() const { return options_.n_ctx_seq; }

 private:
  using Clock = std::chrono::steady_clock;
  struct Request;
  class Pending;
  using RequestPtr = std::shared_ptr<Request>;

  void Loop();
  // REQUIRES: mu_ held. Drops cancelled and expired queued requests.
  void DropQueued(Clock::time_point now);
  // REQUIRES: mu_ held. Starts queued requests while slots and blocks allow.
  void Admit(Clock::time_point now);
  // Blocks reserved by running sequences but not yet taken from the pool.
  int32_t OutstandingBlocks() const;
  // Runs one forward step over the running sequences (scheduler thread, mu_ not held).
  void Step();
  // Ends a running request: caches its blocks, frees its sequence, wakes its caller.
  void Finish(Request& r, Status status);
  // REQUIRES: mu_ held, scheduler thread. Refreshes the view Snapshot() reports and the gauges.
  void PublishLocked();

  std::unique_ptr<Context> context_;
  const VocabPieces& vocab_;
  SchedulerOptions options_;
  PrefixCache prefix_;

  // Scheduler-thread state (the KV cache and prefix cache too).
  std::vector<RequestPtr> running_;  // in admission order
  std::vector<uint8_t> slot_used_;
  Batch batch_;
  std::vector<Request*> rows_;  // request of each logits row of the last batch
  int64_t prefix_lookup_tokens_ = 0;
  int64_t prefix_hit_tokens_ = 0;

  // Shared state, guarded by mu_.
  mutable std::mutex mu_;
  std::condition_variable cv_;
  RequestQueue<RequestPtr> queue_;
  bool stopping_ = false;
  int running_count_ = 0;         // running_.size(), for Submit()
  nlohmann::ordered_json view_;  // published by the scheduler thread
  std::thread thread_;
};

}  // namespace isv
