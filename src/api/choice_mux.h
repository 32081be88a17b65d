// ChoiceMux: the `n` generations of one completion request (OpenAI's `n` choices), waited for
// together and handed to the request's HTTP thread as events tagged with the choice index.
//
// Each choice is its own PendingGeneration in the scheduler (they batch like separate requests).
// With one choice, Run() waits on the calling thread itself, as a plain request does; with several,
// one thread per choice waits on its generation and queues its text / logprobs, and the calling
// thread hands the events to the sinks in the order they arrived (per choice, in generation order).
//
//   ChoiceMux mux(n);
//   params_i.on_logprobs = mux.LogprobHook(i);      // before Submit
//   ... Submit each choice into pendings ...
//   auto results = mux.Run(pendings, on_text, on_logprobs, on_token);
//
// A text sink returning false (client gone, shutdown) cancels every choice. Not copyable; Run()
// once. The token-time callback may be called from the choice threads (it must be thread-safe).
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "serving/generator.h"

namespace isv {

class ChoiceMux {
 public:
  using TextSink = std::function<bool(int index, std::string_view text)>;
  using LogprobSink = std::function<void(int index, const std::vector<TokenLogprob>& entries)>;

  explicit ChoiceMux(int n) : n_(n) {}
  ChoiceMux(const ChoiceMux&) = delete;
  ChoiceMux& operator=(const ChoiceMux&) = delete;

  // The GenerationParams::on_logprobs of choice `index`. The ChoiceMux must outlive the request.
  LogprobCallback LogprobHook(int index);

  // Waits for every pending generation (pendings.size() == n), calling on_text / on_logprobs on
  // this thread; returns each choice's result, in index order.
  std::vector<StatusOr<GenerationResult>> Run(std::vector<std::unique_ptr<PendingGeneration>>& pendings,
                                              const TextSink& on_text, const LogprobSink& on_logprobs,
                                              const TokenTimeCallback& on_token);

 private:
  struct Event {
    int index;
    bool is_text;
    std::string text;
    std::vector<TokenLogprob> logprobs;
  };
  void Push(Event e);

  const int n_;
  LogprobSink direct_logprobs_;  // one choice: logprobs go straight to the sink
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Event> events_;
  int running_ = 0;
  bool stop_ = false;  // a sink said the client is gone: the choice threads cancel
};

}  // namespace isv
