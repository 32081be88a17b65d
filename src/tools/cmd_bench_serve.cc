// `inference-service bench-serve MODEL.gguf`: serving throughput of the continuous-batching
// scheduler, in process (no HTTP): for each concurrency level c, c clients each send `requests`
// requests one after another (random prompts of --prompt-tokens, --gen-tokens generated with
// ignore_eos, greedy), all through one EngineGenerator with parallel = the largest level. Reports
// aggregate generated tokens/s, time to first token p50/p99 (from submission: queueing included)
// and request latency p50, like vLLM's benchmark_serving / llama-server's parallel runs.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "serving/engine_generator.h"
#include "tools/cli_common.h"
#include "tools/commands.h"

namespace isv {
namespace {

struct BenchServeOptions {
  std::string model;
  std::string clients = "1,2,4,8";
  int requests = 4;  // per client
  int prompt_tokens = 100;
  int gen_tokens = 64;
  int32_t threads = 0;
  int step_tokens = 128;
  bool prefix_cache = false;
  bool json = false;
  uint32_t seed = 1234;
};

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const double idx = p * static_cast<double>(v.size() - 1);
  const size_t lo = static_cast<size_t>(idx);
  const size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (v[hi] - v[lo]) * (idx - static_cast<double>(lo));
}

StatusOr<std::vector<int>> ParseLevels(const std::string& text) {
  std::vector<int> levels;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    char* end = nullptr;
    const long v = std::strtol(item.c_str(), &end, 10);
    if (item.empty() || *end != '\0' || v < 1 || v > 256)
      return InvalidArgumentError("--clients: expected numbers 1..256 separated by commas, got '" + text + "'");
    levels.push_back(static_cast<int>(v));
  }
  if (levels.empty()) return InvalidArgumentError("--clients: empty");
  return levels;
}

struct LevelResult {
  int clients = 0;
  int requests = 0;
  double wall_s = 0;
  int64_t generated = 0;
  std::vector<double> ttft_ms, latency_ms;
};

int RunBenchServe(const BenchServeOptions& o) {
  StatusOr<std::vector<int>> levels = ParseLevels(o.clients);
  if (!levels.ok()) return ReportError(levels.status());
  if (o.requests < 1 || o.prompt_tokens < 1 || o.gen_tokens < 1)
    return ReportError(InvalidArgumentError("--requests, --prompt-tokens and --gen-tokens must be >= 1"));
  const int max_clients = *std::max_element(levels->begin(), levels->end());
  ModelSpec spec;
  spec.id = std::filesystem::path(o.model).filename().string();
  spec.path = o.model;
  spec.context_length = ((o.prompt_tokens + o.gen_tokens + 16 + 15) / 16) * 16;
  spec.parallel = max_clients;
  EngineOptions eopt;
  eopt.threads = o.threads;
  eopt.parallel = max_clients;
  eopt.max_queue = max_clients * o.requests;
  eopt.step_tokens = o.step_tokens;
  eopt.prefix_cache = o.prefix_cache;
  StatusOr<std::unique_ptr<EngineGenerator>> gen = EngineGenerator::Load(spec, eopt);
  if (!gen.ok()) return ReportError(gen.status());
  const int32_t n_vocab = (*gen)->vocab_size();

  std::mt19937 rng(o.seed);
  auto random_prompt = [&] {
    Prompt p;
    std::uniform_int_distribution<int32_t> tok(0, n_vocab - 1);
    for (int i = 0; i < o.prompt_tokens; ++i) p.tokens.push_back(tok(rng));
    return p;
  };
  GenerationParams params;
  params.sampling.temperature = 0;
  params.max_tokens = o.gen_tokens;
  params.ignore_eos = true;

  {  // warm-up: page the weights in, grow the scratch buffers
    Prompt p = random_prompt();
    StatusOr<GenerationResult> r = (*gen)->Generate(p, params, [](std::string_view) { return true; }, {});
    if (!r.ok()) return ReportError(r.status());
  }

  std::vector<LevelResult> results;
  for (int clients : *levels) {
    LevelResult lr;
    lr.clients = clients;
    std::vector<std::vector<Prompt>> prompts(clients);
    for (auto& list : prompts)
      for (int i = 0; i < o.requests; ++i) list.push_back(random_prompt());
    std::vector<std::vector<GenerationResult>> per_client(clients);
    std::vector<std::vector<double>> latencies(clients);
    std::vector<Status> errors(clients);
    const auto t0 = std::chrono::steady_clock::now();
    std::vector<std::thread> threads;
    for (int c = 0; c < clients; ++c) {
      threads.emplace_back([&, c] {
        for (const Prompt& p : prompts[c]) {
          const auto r0 = std::chrono::steady_clock::now();
          StatusOr<GenerationResult> r = (*gen)->Generate(p, params, [](std::string_view) { return true; }, {});
          if (!r.ok()) {
            errors[c] = r.status();
            return;
          }
          latencies[c].push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - r0).count());
          per_client[c].push_back(*r);
        }
      });
    }
    for (std::thread& t : threads) t.join();
    lr.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    for (int c = 0; c < clients; ++c) {
      if (!errors[c].ok()) return ReportError(errors[c]);
      for (const GenerationResult& r : per_client[c]) {
        lr.generated += r.completion_tokens;
        lr.ttft_ms.push_back(r.time_to_first_token_ms);
        ++lr.requests;
      }
      lr.latency_ms.insert(lr.latency_ms.end(), latencies[c].begin(), latencies[c].end());
    }
    results.push_back(std::move(lr));
  }

  if (o.json) {
    nlohmann::ordered_json j = {{"model", o.model},
                                {"prompt_tokens", o.prompt_tokens},
                                {"gen_tokens", o.gen_tokens},
                                {"requests_per_client", o.requests},
                                {"step_tokens", o.step_tokens},
                                {"prefix_cache", o.prefix_cache},
                                {"levels", nlohmann::ordered_json::array()}};
    for (const LevelResult& r : results) {
      j["levels"].push_back({{"clients", r.clients},
                             {"requests", r.requests},
                             {"wall_s", r.wall_s},
                             {"generated_tokens", r.generated},
                             {"aggregate_tokens_per_s", r.generated / r.wall_s},
                             {"ttft_ms_p50", Percentile(r.ttft_ms, 0.5)},
                             {"ttft_ms_p99", Percentile(r.ttft_ms, 0.99)},
                             {"latency_ms_p50", Percentile(r.latency_ms, 0.5)}});
    }
    std::printf("%s\n", j.dump(2).c_str());
    return 0;
  }
  std::printf("model %s: %d prompt tokens, %d generated (ignore_eos, greedy), %d requests per client, prefix cache %s\n",
              o.model.c_str(), o.prompt_tokens, o.gen_tokens, o.requests, o.prefix_cache ? "on" : "off");
  std::printf("| clients | requests | aggregate gen tok/s | TTFT p50 ms | TTFT p99 ms | latency p50 ms |\n");
  std::printf("|---:|---:|---:|---:|---:|---:|\n");
  for (const LevelResult& r : results) {
    std::printf("| %d | %d | %.1f | %.0f | %.0f | %.0f |\n", r.clients, r.requests, r.generated / r.wall_s,
                Percentile(r.ttft_ms, 0.5), Percentile(r.ttft_ms, 0.99), Percentile(r.latency_ms, 0.5));
  }
  return 0;
}

}  // namespace

void AddBenchServeCommand(CLI::App& app, int* exit_code) {
  auto opt = std::make_shared<BenchServeOptions>();
  CLI::App* cmd = app.add_subcommand(
      "bench-serve", "Measure serving throughput and time to first token for 1, 2, 4, 8 concurrent clients");
  cmd->add_option("model", opt->model, "GGUF model file")->required();
  cmd->add_option("-c,--clients", opt->clients, "Concurrency levels, comma-separated (default 1,2,4,8)");
  cmd->add_option("-r,--requests", opt->requests, "Requests each client sends one after another (default 4)");
  cmd->add_option("-p,--prompt-tokens", opt->prompt_tokens, "Random prompt tokens per request (default 100)");
  cmd->add_option("-n,--gen-tokens", opt->gen_tokens, "Tokens generated per request, ignoring EOS (default 64)");
  cmd->add_option("--step-tokens", opt->step_tokens, "Tokens per scheduler step (default 128)");
  cmd->add_flag("--prefix-cache", opt->prefix_cache, "Enable the prefix cache (off: random prompts share nothing)");
  AddThreadsOption(cmd, &opt->threads);
  cmd->add_flag("--json", opt->json, "Print one JSON object instead of the table");
  cmd->add_option("--seed", opt->seed, "Seed of the random prompts (default 1234)");
  cmd->callback([opt, exit_code] { *exit_code = RunBenchServe(*opt); });
}

}  // namespace isv
