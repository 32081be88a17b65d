// The continuous-batching scheduler on real test models: batch-invariant greedy outputs, chunked
// prefill interleaved with decoding, bounded queue, queue-wait deadline, priority order,
// cancellation freeing the slot and its blocks, prefix-cache reuse, and a KV pool too small for
// everyone at once.
#include "serving/scheduler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "engine/model/context.h"
#include "engine/model/model.h"
#include "engine/tokenizer/tokenizer.h"

namespace isv {
namespace {

const std::string kModels = std::string(ISV_SHARED_DIR) + "/testdata/models/";

// A loaded model with its tokenizer; builds schedulers over fresh contexts.
struct Loaded {
  std::unique_ptr<Model> model;
  std::unique_ptr<Tokenizer> tokenizer;
  VocabPieces vocab;

  static std::unique_ptr<Loaded> Open(const std::string& file) {
    if (!std::filesystem::exists(kModels + file)) return nullptr;
    auto l = std::make_unique<Loaded>();
    StatusOr<std::unique_ptr<Model>> m = Model::Load(kModels + file);
    if (!m.ok()) return nullptr;
    l->model = std::move(*m);
    StatusOr<std::unique_ptr<Tokenizer>> t = Tokenizer::FromGguf(l->model->file());
    if (!t.ok()) return nullptr;
    l->tokenizer = std::move(*t);
    l->vocab = VocabPieces::For(*l->tokenizer);
    return l;
  }

  std::unique_ptr<Scheduler> Make(SchedulerOptions o, int32_t pool_cells) {
    ContextOptions copt;
    copt.n_ctx = pool_cells;
    copt.n_threads = 2;
    StatusOr<std::unique_ptr<Context>> ctx = Context::Create(*model, copt);
    EXPECT_TRUE(ctx.ok());
    if (o.model_id.empty()) o.model_id = "test";
    return std::make_unique<Scheduler>(std::move(*ctx), vocab, o);
  }

  Prompt Encode(const std::string& text) const {
    Prompt p;
    p.text = text;
    p.tokens = tokenizer->Encode(text, /*add_special=*/true, /*parse_special=*/false);
    return p;
  }
};

GenerationParams Greedy(int32_t max_tokens) {
  GenerationParams p;
  p.sampling.temperature = 0;
  p.max_tokens = max_tokens;
  p.ignore_eos = true;
  return p;
}

struct Outcome {
  Status status;
  GenerationResult result;
  std::string text;
};

Outcome RunOne(Scheduler& s, const Prompt& prompt, const GenerationParams& params) {
  Outcome o;
  StatusOr<GenerationResult> r = s.Generate(prompt, params, [&](std::string_view t) {
    o.text.append(t);
    return true;
  }, {});
  if (r.ok()) {
    o.result = *r;
  } else {
    o.status = r.status();
  }
  return o;
}

const std::vector<std::string> kPrompts = {
    "Once upon a time, there was a little girl named Lily.",
    "The dog ran to the park",
    "Tom and Sue wanted to play with the big red ball, but",
    "One day",
    "The sun was shining and the birds were singing. A little boy named Tim went outside to",
    "She saw a cat",
    "There was a big tree in the garden. Every day",
    "Mom said",
};

// Eight concurrent greedy requests produce exactly what each produces alone, on an F32 model and
// on quantized ones (the multi-token kernels must match the one-token path bit for bit).
class BatchInvariance : public ::testing::TestWithParam<std::string> {};

TEST_P(BatchInvariance, EightConcurrentEqualAlone) {
  std::unique_ptr<Loaded> m = Loaded::Open(GetParam());
  if (!m) GTEST_SKIP() << "../shared/testdata/models/" << GetParam() << " absent";
  std::vector<std::string> alone;
  {
    SchedulerOptions o;
    o.parallel = 1;
    o.prefix_cache = false;
    std::unique_ptr<Scheduler> s = m->Make(o, 512);
    for (const std::string& p : kPrompts) {
      Outcome out = RunOne(*s, m->Encode(p), Greedy(24));
      ASSERT_TRUE(out.status.ok()) << out.status.ToString();
      EXPECT_EQ(out.result.completion_tokens, 24);
      alone.push_back(out.text);
    }
  }
  SchedulerOptions o;
  o.parallel = 8;
  o.step_tokens = 32;  // prompts are prefilled in chunks while others decode
  o.n_ctx_seq = 256;
  std::unique_ptr<Scheduler> s = m->Make(o, 8 * 256);
  std::vector<Prompt> prompts;
  for (const std::string& p : kPrompts) prompts.push_back(m->Encode(p));
  std::vector<std::future<Outcome>> futures;
  for (const Prompt& p : prompts)
    futures.push_back(std::async(std::launch::async, [&, ptr = &p] { return RunOne(*s, *ptr, Greedy(24)); }));
  for (size_t i = 0; i < futures.size(); ++i) {
    Outcome out = futures[i].get();
    ASSERT_TRUE(out.status.ok()) << out.status.ToString();
    EXPECT_EQ(out.text, alone[i]) << "prompt " << i;
    EXPECT_EQ(out.result.finish_reason, "length");
  }
}

INSTANTIATE_TEST_SUITE_P(Models, BatchInvariance,
                         ::testing::Values("stories260K.gguf", "tiny-llama-Q8_0.gguf", "tiny-llama-Q4_0.gguf",
                                           "tiny-llama-Q4_K_M.gguf", "tiny-qwen2-Q4_K_M.gguf"),
                         [](const auto& info) {
                           std::string n = info.param.substr(0, info.param.find('.'));
                           for (char& c : n) c = std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
                           return n;
                         });

// A long prompt arriving while another request decodes is prefilled in chunks of step_tokens:
// every step that feeds a chunk of it also decodes a token of the running request. Observed from
// the scheduler's own view of each step (Snapshot() in before_step, i.e. what the step is about to
// run), not from the callbacks: those run on the callers' threads, which may lag the scheduler by
// any number of pieces on a loaded machine (CI once counted 14 of A's pieces where 21 steps ran).
TEST(SchedulerTest, LongPromptDoesNotStallRunningDecode) {
  std::unique_ptr<Loaded> m = Loaded::Open("stories260K.gguf");
  if (!m) GTEST_SKIP() << "stories260K absent";
  std::string long_text;
  while (m->Encode(long_text).tokens.size() < 320) long_text += "The little bird sang a song in the tall green tree. ";
  const Prompt long_prompt = m->Encode(long_text);
  const Prompt short_prompt = m->Encode("Once upon a time");
  const int n_long = static_cast<int>(long_prompt.tokens.size());

  std::atomic<Scheduler*> scheduler{nullptr};
  std::vector<nlohmann::ordered_json> steps;  // the slots of every step (scheduler thread only)
  SchedulerOptions o;
  o.parallel = 2;
  o.step_tokens = 16;
  o.prefix_cache = false;
  o.before_step = [&] {
    if (Scheduler* s = scheduler.load()) steps.push_back(s->Snapshot()["slots"]);
  };
  std::unique_ptr<Scheduler> s = m->Make(o, 1024);
  scheduler = s.get();

  std::promise<void> a_running;
  int a_pieces = 0;
  auto a = std::async(std::launch::async, [&] {
    return s->Generate(short_prompt, Greedy(200),
                       [&](std::string_view) {
                         if (++a_pieces == 3) a_running.set_value();
                         return true;
                       },
                       {});
  });
  a_running.get_future().wait();
  StatusOr<GenerationResult> b = s->Generate(long_prompt, Greedy(1), [](std::string_view) { return true; }, {});
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  ASSERT_TRUE(a.get().ok());
  scheduler = nullptr;  // the steps are all recorded: both requests have returned

  // Every step that prefilled part of the long prompt (B) also decoded the short one (A), and fed
  // at most step_tokens - 1 prompt tokens (one token of the step is A's).
  int b_steps = 0, prev_prefilled = -1, prev_a_done = -1;
  for (size_t i = 0; i < steps.size(); ++i) {
    const nlohmann::ordered_json* a_slot = nullptr;
    const nlohmann::ordered_json* b_slot = nullptr;
    for (const nlohmann::ordered_json& slot : steps[i])
      (slot["prompt_tokens"].get<int>() == n_long ? b_slot : a_slot) = &slot;
    if (b_slot == nullptr || (*b_slot)["state"] != "prefill") continue;
    SCOPED_TRACE("step " + std::to_string(i) + ": " + steps[i].dump());
    ++b_steps;
    ASSERT_NE(a_slot, nullptr) << "the running request left the batch while the prompt was prefilled";
    EXPECT_EQ((*a_slot)["state"], "decode");
    const int prefilled = (*b_slot)["prefilled_tokens"].get<int>();
    const int a_done = (*a_slot)["completion_tokens"].get<int>();
    if (prev_prefilled >= 0) {
      EXPECT_GT(prefilled, prev_prefilled);
      EXPECT_LE(prefilled - prev_prefilled, o.step_tokens - 1);
      EXPECT_EQ(a_done, prev_a_done + 1) << "the running request did not get one token per step";
    }
    prev_prefilled = prefilled;
    prev_a_done = a_done;
  }
  // 320+ prompt tokens at <= 15 per step take at least 22 steps.
  EXPECT_GE(b_steps, (n_long + o.step_tokens - 2) / (o.step_tokens - 1))
      << "a " << n_long << "-token prompt was prefilled in " << b_steps << " steps";
}

// Blocks the scheduler thread at its next step until released (deterministic contention).
struct StepGate {
  std::mutex mu;
  std::condition_variable cv;
  bool open = false;
  std::atomic<int> waiting{0};
  void Wait() {
    std::unique_lock<std::mutex> lock(mu);
    ++waiting;
    cv.wait(lock, [&] { return open; });
    --waiting;
  }
  void Open() {
    {
      std::lock_guard<std::mutex> lock(mu);
      open = true;
    }
    cv.notify_all();
  }
  void WaitUntilBlocked() {
    while (waiting.load() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
};

TEST(SchedulerTest, FullQueueIsBusyAndPriorityDecidesOrder) {
  std::unique_ptr<Loaded> m = Loaded::Open("stories260K.gguf");
  if (!m) GTEST_SKIP() << "stories260K absent";
  StepGate gate;
  std::unique_ptr<Scheduler> s;
  std::vector<int> started;  // priority of the running request at each step (scheduler thread)
  SchedulerOptions o;
  o.parallel = 1;
  o.max_queue = 3;
  o.before_step = [&] {
    gate.Wait();
    nlohmann::ordered_json snap = s->Snapshot();
    if (!snap["slots"].empty()) {
      const int prio = snap["slots"][0]["priority"];
      if (started.empty() || started.back() != prio) started.push_back(prio);
    }
  };
  s = m->Make(o, 512);
  const Prompt prompt = m->Encode("Once upon a time");
  auto submit = [&](int priority) {
    GenerationParams p = Greedy(4);
    p.priority = priority;
    return std::async(std::launch::async, [&, p] { return RunOne(*s, prompt, p); });
  };
  auto first = submit(9);
  gate.WaitUntilBlocked();  // the first request runs; the scheduler is held at its first step
  auto low = submit(5);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  auto urgent = submit(0);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  auto normal = submit(2);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  // Three are waiting: a fourth is refused at once.
  Outcome busy = RunOne(*s, prompt, Greedy(4));
  EXPECT_EQ(busy.status.code(), StatusCode::kBusy) << busy.status.ToString();
  EXPECT_NE(busy.status.message().find("INFERENCE_MAX_QUEUE"), std::string::npos);
  gate.Open();
  for (auto* f : {&first, &low, &urgent, &normal}) EXPECT_TRUE(f->get().status.ok());
  EXPECT_EQ(started, (std::vector<int>{9, 0, 2, 5}));
}

TEST(SchedulerTest, QueueDeadlineIsUnavailable) {
  std::unique_ptr<Loaded> m = Loaded::Open("stories260K.gguf");
  if (!m) GTEST_SKIP() << "stories260K absent";
  SchedulerOptions o;
  o.parallel = 1;
  o.before_step = [] { std::this_thread::sleep_for(std::chrono::milliseconds(10)); };  // a slow model
  std::unique_ptr<Scheduler> s = m->Make(o, 512);
  const Prompt prompt = m->Encode("Once upon a time");
  auto running = std::async(std::launch::async, [&] { return RunOne(*s, prompt, Greedy(100)); });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  GenerationParams p = Greedy(4);
  p.queue_timeout_s = 0.2;
  const auto t0 = std::chrono::steady_clock::now();
  Outcome late = RunOne(*s, prompt, p);
  const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(late.status.code(), StatusCode::kUnavailable) << late.status.ToString();
  EXPECT_GE(waited, 0.2);
  EXPECT_LT(waited, 0.9);  // well before the running request's ~1 s
  EXPECT_TRUE(running.get().status.ok());
}

// A caller that stops reading ends its sequence at the next step: the slot and its blocks are free
// and a waiting request starts at once.
TEST(SchedulerTest, CancelFreesSlotAndBlocks) {
  std::unique_ptr<Loaded> m = Loaded::Open("stories260K.gguf");
  if (!m) GTEST_SKIP() << "stories260K absent";
  SchedulerOptions o;
  o.parallel = 1;
  o.prefix_cache = false;
  o.before_step = [] { std::this_thread::sleep_for(std::chrono::milliseconds(2)); };
  std::unique_ptr<Scheduler> s = m->Make(o, 512);
  const Prompt prompt = m->Encode("Once upon a time");
  int pieces = 0;
  auto cancelled = std::async(std::launch::async, [&] {
    return s->Generate(prompt, Greedy(400), [&](std::string_view) { return ++pieces < 5; }, {});
  });
  // A second request waits for the only slot; it must not wait for 400 tokens.
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  Outcome next = RunOne(*s, prompt, Greedy(4));
  StatusOr<GenerationResult> c = cancelled.get();
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->finish_reason, "cancelled");
  EXPECT_LT(c->completion_tokens, 100);
  ASSERT_TRUE(next.status.ok());
  EXPECT_LT(next.result.queue_ms, 400 * 2.0);  // it did not wait for the cancelled one to finish
  nlohmann::ordered_json snap = s->Snapshot();
  EXPECT_EQ(snap["running"], 0);
  EXPECT_EQ(snap["kv_cache"]["blocks_used"], 0) << snap.dump();

  // A queued request whose client left is dropped before it runs.
  StepGate gate;
  SchedulerOptions o2 = o;
  o2.before_step = [&] { gate.Wait(); };
  std::unique_ptr<Scheduler> s2 = m->Make(o2, 512);
  auto holder = std::async(std::launch::async, [&] { return RunOne(*s2, prompt, Greedy(2)); });
  gate.WaitUntilBlocked();
  std::atomic<bool> gone{false};
  GenerationParams p = Greedy(4);
  p.cancelled = [&] { return gone.load(); };
  StatusOr<std::unique_ptr<PendingGeneration>> pending = s2->Submit(prompt, p);
  ASSERT_TRUE(pending.ok());
  gone = true;
  // The scheduler is held mid-step; once released, it drops the request before starting it.
  std::thread opener([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    gate.Open();
  });
  Status started = (*pending)->WaitUntilStarted();
  opener.join();
  EXPECT_EQ(started.code(), StatusCode::kCancelled) << started.ToString();
  EXPECT_TRUE(holder.get().status.ok());
  EXPECT_EQ(s2->Snapshot()["running"], 0);
}

// A repeated system prompt is served from the prefix cache: cached tokens are reported and the
// output is exactly the uncached one.
TEST(SchedulerTest, PrefixCacheReusesRepeatedSystemPrompt) {
  std::unique_ptr<Loaded> m = Loaded::Open("stories260K.gguf");
  if (!m) GTEST_SKIP() << "stories260K absent";
  const std::string system = "Lily and Tom were best friends. They liked to play in the park near their house. ";
  const Prompt first = m->Encode(system + "One day they found a ball.");
  const Prompt second = m->Encode(system + "Tom saw a big dog.");

  SchedulerOptions plain;
  plain.parallel = 1;
  plain.prefix_cache = false;
  std::unique_ptr<Scheduler> uncached = m->Make(plain, 512);
  Outcome expected = RunOne(*uncached, second, Greedy(16));

  SchedulerOptions o;
  o.parallel = 1;
  std::unique_ptr<Scheduler> s = m->Make(o, 512);
  Outcome a = RunOne(*s, first, Greedy(16));
  ASSERT_TRUE(a.status.ok());
  EXPECT_EQ(a.result.cached_tokens, 0);
  Outcome b = RunOne(*s, second, Greedy(16));
  ASSERT_TRUE(b.status.ok());
  // Whole blocks of the shared prefix are reused.
  size_t common = 0;
  while (common < first.tokens.size() && common < second.tokens.size() && first.tokens[common] == second.tokens[common])
    ++common;
  EXPECT_EQ(b.result.cached_tokens, static_cast<int32_t>(common / KvCache::kDefaultBlockSize * KvCache::kDefaultBlockSize));
  EXPECT_GT(b.result.cached_tokens, 0);
  EXPECT_EQ(b.text, expected.text);
  // The same prompt again: everything but the last block's tail comes from the cache.
  Outcome c = RunOne(*s, second, Greedy(16));
  EXPECT_EQ(c.text, expected.text);
  EXPECT_EQ(c.result.cached_tokens,
            static_cast<int32_t>((second.tokens.size() - 1) / KvCache::kDefaultBlockSize * KvCache::kDefaultBlockSize));
  nlohmann::ordered_json snap = s->Snapshot();
  EXPECT_GT(snap["prefix_cache"]["hit_ratio"].get<double>(), 0.0);
}

// A multi-turn prompt (an earlier prompt + the tokens generated for it + more) hits only the earlier
// PROMPT's blocks: blocks of generated tokens hold decode-kernel K/V, which would differ in the last
// bits from what the prefill kernels compute for the same tokens in a prompt. So the cached run is
// exactly the cold one, on a model whose weights have prefill kernels.
TEST(SchedulerTest, PrefixCacheKeepsPromptBlocksOnlySoCachedEqualsCold) {
  std::unique_ptr<Loaded> m = Loaded::Open("tiny-llama-Q8_0.gguf");
  if (!m) GTEST_SKIP() << "tiny-llama-Q8_0 absent";
  Prompt first;
  for (int32_t i = 0; i < 20; ++i) first.tokens.push_back(1 + (i * 37) % 500);
  // The tokens the scheduler generates for `first`, greedily: prompt flagged, then one token per step.
  std::vector<int32_t> generated;
  {
    auto ctx = Context::Create(*m->model, {.n_ctx = 64, .n_threads = 2});
    ASSERT_TRUE(ctx.ok());
    Batch b;
    for (size_t i = 0; i < first.tokens.size(); ++i)
      b.Add(first.tokens[i], static_cast<int32_t>(i), 0, i + 1 == first.tokens.size(), true);
    for (int32_t pos = static_cast<int32_t>(first.tokens.size()); generated.size() < 16; ++pos) {
      ASSERT_TRUE((*ctx)->Forward(b).ok());
      std::span<const float> l = (*ctx)->Logits((*ctx)->n_outputs() - 1);
      const int32_t next = static_cast<int32_t>(std::max_element(l.begin(), l.end()) - l.begin());
      generated.push_back(next);
      b.Clear();
      b.Add(next, pos, 0, true);
    }
  }
  Prompt second = first;
  second.tokens.insert(second.tokens.end(), generated.begin(), generated.end());
  for (int32_t t : {5, 9, 77, 3}) second.tokens.push_back(t);

  SchedulerOptions plain;
  plain.parallel = 1;
  plain.prefix_cache = false;
  Outcome cold = RunOne(*m->Make(plain, 256), second, Greedy(12));
  ASSERT_TRUE(cold.status.ok());

  SchedulerOptions o;
  o.parallel = 1;
  std::unique_ptr<Scheduler> s = m->Make(o, 256);
  Outcome a = RunOne(*s, first, Greedy(16));
  ASSERT_TRUE(a.status.ok());
  Outcome b = RunOne(*s, second, Greedy(12));
  ASSERT_TRUE(b.status.ok());
  EXPECT_EQ(b.result.cached_tokens, KvCache::kDefaultBlockSize);  // the prompt's one full block, no more
  EXPECT_EQ(b.text, cold.text);
}

// A KV pool that holds only one request's reservation at a time: the others wait for blocks
// instead of failing, and every one completes.
TEST(SchedulerTest, SmallPoolMakesRequestsWaitForBlocks) {
  std::unique_ptr<Loaded> m = Loaded::Open("stories260K.gguf");
  if (!m) GTEST_SKIP() << "stories260K absent";
  SchedulerOptions o;
  o.parallel = 4;
  o.prefix_cache = false;
  std::unique_ptr<Scheduler> s = m->Make(o, 64);  // 4 blocks of 16
  const Prompt prompt = m->Encode("Once upon a time, there was a little girl");  // ~12 tokens
  std::vector<std::future<Outcome>> futures;
  for (int i = 0; i < 4; ++i)
    futures.push_back(std::async(std::launch::async, [&] { return RunOne(*s, prompt, Greedy(30)); }));
  std::string first_text;
  for (auto& f : futures) {
    Outcome out = f.get();
    ASSERT_TRUE(out.status.ok()) << out.status.ToString();
    EXPECT_EQ(out.result.completion_tokens, 30);
    if (first_text.empty()) first_text = out.text;
    EXPECT_EQ(out.text, first_text);
  }
}

// INFERENCE_MAX_RUNNING: a limit shared by two models' schedulers holds the second model's
// request in its queue while the first model runs, and lets it start when that one ends.
TEST(SchedulerTest, GlobalLimitIsSharedAcrossModels) {
  std::unique_ptr<Loaded> m = Loaded::Open("stories260K.gguf");
  if (!m) GTEST_SKIP() << "stories260K absent";
  ConcurrencyLimit global(1);
  StepGate gate;
  SchedulerOptions a_opt;
  a_opt.global = &global;
  a_opt.before_step = [&] { gate.Wait(); };
  SchedulerOptions b_opt;
  b_opt.global = &global;
  std::unique_ptr<Scheduler> a = m->Make(a_opt, 512), b = m->Make(b_opt, 512);
  const Prompt prompt = m->Encode("Once upon a time");
  auto on_a = std::async(std::launch::async, [&] { return RunOne(*a, prompt, Greedy(4)); });
  gate.WaitUntilBlocked();
  EXPECT_EQ(global.in_use(), 1);
  auto on_b = std::async(std::launch::async, [&] { return RunOne(*b, prompt, Greedy(4)); });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  nlohmann::ordered_json snap = b->Snapshot();
  EXPECT_EQ(snap["running"], 0) << snap.dump();
  EXPECT_EQ(snap["queued"], 1) << snap.dump();
  gate.Open();
  Outcome ra = on_a.get(), rb = on_b.get();
  EXPECT_TRUE(ra.status.ok());
  ASSERT_TRUE(rb.status.ok());
  EXPECT_EQ(rb.text, ra.text);
  EXPECT_GE(rb.result.queue_ms, 90);
  EXPECT_EQ(global.in_use(), 0);
}

}  // namespace
}  // namespace isv
