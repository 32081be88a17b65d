#include "api/choice_mux.h"

#include <thread>

namespace isv {

LogprobCallback ChoiceMux::LogprobHook(int index) {
  return [this, index](const std::vector<TokenLogprob>& entries) {
    if (n_ == 1) {
      if (direct_logprobs_) direct_logprobs_(index, entries);
      return;
    }
    Push({index, false, {}, entries});
  };
}

void ChoiceMux::Push(Event e) {
  std::lock_guard<std::mutex> lock(mu_);
  events_.push_back(std::move(e));
  cv_.notify_one();
}

std::vector<StatusOr<GenerationResult>> ChoiceMux::Run(std::vector<std::unique_ptr<PendingGeneration>>& pendings,
                                                       const TextSink& on_text, const LogprobSink& on_logprobs,
                                                       const TokenTimeCallback& on_token) {
  std::vector<StatusOr<GenerationResult>> results(pendings.size(), InternalError("choice not waited for"));
  if (pendings.size() == 1) {
    direct_logprobs_ = on_logprobs;
    results[0] = pendings[0]->Wait([&](std::string_view text) { return on_text(0, text); }, on_token);
    return results;
  }
  running_ = static_cast<int>(pendings.size());
  std::vector<std::thread> threads;
  threads.reserve(pendings.size());
  for (size_t i = 0; i < pendings.size(); ++i) {
    threads.emplace_back([this, i, &pendings, &results, &on_token] {
      const int index = static_cast<int>(i);
      StatusOr<GenerationResult> r = pendings[i]->Wait(
          [this, index](std::string_view text) {
            std::lock_guard<std::mutex> lock(mu_);
            if (stop_) return false;
            events_.push_back({index, true, std::string(text), {}});
            cv_.notify_one();
            return true;
          },
          on_token);
      std::lock_guard<std::mutex> lock(mu_);
      results[i] = std::move(r);
      --running_;
      cv_.notify_one();
    });
  }
  while (true) {
    Event e;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return !events_.empty() || running_ == 0; });
      if (stop_) events_.clear();  // the client is gone: what the choices still queue is dropped
      if (events_.empty()) {
        if (running_ == 0) break;  // every choice ended and all its events were handed over
        continue;
      }
      e = std::move(events_.front());
      events_.pop_front();
    }
    if (!e.is_text) {
      on_logprobs(e.index, e.logprobs);
    } else if (!on_text(e.index, e.text)) {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;  // each choice's next text callback returns false and cancels it
    }
  }
  for (std::thread& t : threads) t.join();
  return results;
}

}  // namespace isv
