#include "core/metrics.h"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

namespace isv {

struct Metrics::Families {
  prometheus::Family<prometheus::Counter>* requests;
  prometheus::Family<prometheus::Histogram>* request_duration;
  prometheus::Family<prometheus::Histogram>* ttft;
  prometheus::Family<prometheus::Histogram>* itl;
  prometheus::Family<prometheus::Counter>* prompt_tokens;
  prometheus::Family<prometheus::Counter>* completion_tokens;
  prometheus::Family<prometheus::Gauge>* model_loaded;
  prometheus::Family<prometheus::Gauge>* model_memory;
  prometheus::Family<prometheus::Histogram>* model_load;
};

namespace {

const prometheus::Histogram::BucketBoundaries& LatencyBuckets() {
  static const prometheus::Histogram::BucketBoundaries b = {
      0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120};
  return b;
}

const prometheus::Histogram::BucketBoundaries& TokenBuckets() {
  static const prometheus::Histogram::BucketBoundaries b = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                            0.1,   0.25,   0.5,   1,    2.5};
  return b;
}

}  // namespace

Metrics::Metrics()
    : registry_(std::make_shared<prometheus::Registry>()), f_(std::make_unique<Families>()) {
  using namespace prometheus;
  f_->requests = &BuildCounter()
                      .Name("inference_requests_total")
                      .Help("HTTP requests by route and status")
                      .Register(*registry_);
  f_->request_duration =
      &BuildHistogram()
           .Name("inference_request_duration_seconds")
           .Help("HTTP request latency, from headers received to response complete")
           .Register(*registry_);
  f_->ttft = &BuildHistogram()
                  .Name("inference_time_to_first_token_seconds")
                  .Help("Time to first generated token (after queueing)")
                  .Register(*registry_);
  f_->itl = &BuildHistogram()
                 .Name("inference_inter_token_latency_seconds")
                 .Help("Time between generated tokens")
                 .Register(*registry_);
  f_->prompt_tokens = &BuildCounter()
                           .Name("inference_prompt_tokens_total")
                           .Help("Prompt tokens processed")
                           .Register(*registry_);
  f_->completion_tokens = &BuildCounter()
                               .Name("inference_completion_tokens_total")
                               .Help("Tokens generated")
                               .Register(*registry_);
  f_->model_loaded = &BuildGauge()
                          .Name("inference_model_loaded")
                          .Help("1 when the model is loaded")
                          .Register(*registry_);
  f_->model_memory = &BuildGauge()
                          .Name("inference_model_memory_bytes")
                          .Help("Estimated memory of a loaded model")
                          .Register(*registry_);
  f_->model_load = &BuildHistogram()
                        .Name("inference_model_load_duration_seconds")
                        .Help("Model load time")
                        .Register(*registry_);
}

Metrics::~Metrics() = default;

void Metrics::ObserveRequest(const std::string& route, int status, double seconds) {
  f_->requests->Add({{"route", route}, {"status", std::to_string(status)}}).Increment();
  f_->request_duration->Add({{"route", route}}, LatencyBuckets()).Observe(seconds);
}

void Metrics::ObserveTimeToFirstToken(const std::string& model, double seconds) {
  f_->ttft->Add({{"model", model}}, LatencyBuckets()).Observe(seconds);
}

void Metrics::ObserveInterToken(const std::string& model, double seconds) {
  f_->itl->Add({{"model", model}}, TokenBuckets()).Observe(seconds);
}

void Metrics::AddTokens(const std::string& model, int prompt_tokens, int completion_tokens) {
  f_->prompt_tokens->Add({{"model", model}}).Increment(prompt_tokens);
  f_->completion_tokens->Add({{"model", model}}).Increment(completion_tokens);
}

void Metrics::SetModel(const std::string& model, bool loaded, double memory_bytes) {
  f_->model_loaded->Add({{"model", model}}).Set(loaded ? 1 : 0);
  f_->model_memory->Add({{"model", model}}).Set(loaded ? memory_bytes : 0);
}

void Metrics::ObserveModelLoad(const std::string& model, double seconds) {
  f_->model_load->Add({{"model", model}}, LatencyBuckets()).Observe(seconds);
}

std::string Metrics::Render() const {
  prometheus::TextSerializer serializer;
  return serializer.Serialize(registry_->Collect());
}

}  // namespace isv
