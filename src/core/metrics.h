// Metrics: the service's Prometheus metrics (prometheus-cpp core), rendered in the text exposition
// format for GET /metrics. Names follow Prometheus conventions with the `inference_` prefix:
//
//   inference_requests_total{route,status}          counter
//   inference_request_duration_seconds{route}        histogram
//   inference_time_to_first_token_seconds{model}     histogram
//   inference_inter_token_latency_seconds{model}     histogram
//   inference_prompt_tokens_total{model}             counter
//   inference_completion_tokens_total{model}         counter
//   inference_model_loaded{model}                    gauge (1 loaded, 0 not)
//   inference_model_memory_bytes{model}              gauge
//   inference_model_load_duration_seconds{model}     histogram
//   inference_queue_depth{model,priority}            gauge (requests waiting)
//   inference_queue_wait_seconds{model}              histogram (submission to start)
//   inference_running_sequences{model}               gauge
//   inference_batch_tokens{model}                    histogram (tokens per scheduler step)
//   inference_batch_sequences{model}                 histogram (sequences running per step)
//   inference_kv_blocks{model,state}                 gauge (state: used | free | cached)
//   inference_prefix_cache_prompt_tokens_total{model} counter (prompt tokens looked up)
//   inference_prefix_cache_hit_tokens_total{model}   counter (of which found cached)
//
// Thread-safe (prometheus-cpp metrics are atomic; family lookups are locked by the library).
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>

namespace prometheus {
class Registry;
}

namespace isv {

class Metrics {
 public:
  Metrics();
  ~Metrics();

  void ObserveRequest(const std::string& route, int status, double seconds);
  void ObserveTimeToFirstToken(const std::string& model, double seconds);
  void ObserveInterToken(const std::string& model, double seconds);
  void AddTokens(const std::string& model, int prompt_tokens, int completion_tokens);
  void SetModel(const std::string& model, bool loaded, double memory_bytes);
  void ObserveModelLoad(const std::string& model, double seconds);

  // Scheduler (serving/scheduler.h).
  void ObserveQueueWait(const std::string& model, double seconds);
  void ObserveBatch(const std::string& model, int tokens, int sequences);
  void AddPrefixLookup(const std::string& model, int prompt_tokens, int cached_tokens);
  // Current state: running sequences, waiting requests per priority, KV blocks.
  void SetSchedulerState(const std::string& model, int running, const std::map<int, int>& queued_by_priority,
                         int blocks_used, int blocks_free, int blocks_cached);

  // The text exposition format (Content-Type: text/plain; version=0.0.4).
  std::string Render() const;

 private:
  struct Families;
  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<Families> f_;
  std::mutex seen_mu_;
  std::map<std::string, std::set<int>> seen_priorities_;  // gauges to reset when a queue empties
};

}  // namespace isv
