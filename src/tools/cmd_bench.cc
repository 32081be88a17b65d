// `inference-service bench MODEL.gguf`: llama-bench's pp/tg measurement with our engine.
//  * pp<p>: a prompt of p random tokens processed as one batch (tokens/s);
//  * tg<n>: n tokens generated one at a time from an empty context (tokens/s);
//  * with -d D, both start from a context already holding D tokens (llama-bench's -d: the speed at
//    that depth, where attention over the cache adds to the weights' cost); the D tokens are
//    processed before each run, untimed, in batches of kDepthBatch;
// each repeated r times (mean ± sd), after one warm-up run of each. Plus the peak resident
// memory, the model's file and tensor sizes, and a STREAM-like triad bandwidth measured with
// the same number of threads: token generation reads every weight once per token, so
// bandwidth / tensor bytes is its roofline, and tg is reported as a fraction of it (also against a
// read-only bandwidth, which decode's pure reads can exceed the triad's figure towards). The weights
// are in huge pages as in the service (--mmap 1: in place from the mmap, like llama-bench's
// default), and the bandwidth arrays in the same kind of memory.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/mem_bandwidth.h"
#include "core/process_stats.h"
#include "core/thread_pool.h"
#include "engine/kernels/amx_q8_0.h"
#include "engine/kernels/cpu_features.h"
#include "engine/model/context.h"
#include "engine/model/model.h"
#include "tools/cli_common.h"
#include "tools/commands.h"

namespace isv {
namespace {

struct BenchOptions {
  std::string model;
  int n_prompt = 512;
  int n_gen = 128;
  int depth = 0;
  int reps = 5;
  int32_t threads = 0;
  bool json = false;
  double bw_gib = 1.0;
  uint32_t seed = 1234;
  bool mmap = false;
};

struct Series {
  std::vector<double> samples;  // tokens per second, one per repetition
  double Mean() const {
    double s = 0;
    for (double x : samples) s += x;
    return samples.empty() ? 0 : s / samples.size();
  }
  double Sd() const {
    if (samples.size() < 2) return 0;
    const double m = Mean();
    double s = 0;
    for (double x : samples) s += (x - m) * (x - m);
    return std::sqrt(s / (samples.size() - 1));
  }
};

double Seconds(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Prompt tokens per untimed batch that fills the context to the test's depth (llama-bench's default
// micro-batch).
constexpr int kDepthBatch = 512;

// Empties the cache, then fills it with `depth` random tokens of sequence 0 (untimed).
Status FillToDepth(Context& ctx, int depth, std::mt19937& rng) {
  ctx.kv_cache().Clear();
  std::uniform_int_distribution<int32_t> token(0, ctx.model().params().n_vocab - 1);
  Batch b;
  for (int first = 0; first < depth; first += kDepthBatch) {
    b.Clear();
    const int end = std::min(depth, first + kDepthBatch);
    for (int i = first; i < end; ++i) b.Add(token(rng), i, 0, i + 1 == end, /*is_prefill=*/true);
    ISV_RETURN_IF_ERROR(ctx.Forward(b));
  }
  return OkStatus();
}

// One prompt of n random tokens as a single batch after `depth` cached tokens; returns seconds.
StatusOr<double> RunPrompt(Context& ctx, int depth, int n, std::mt19937& rng) {
  ISV_RETURN_IF_ERROR(FillToDepth(ctx, depth, rng));
  std::uniform_int_distribution<int32_t> token(0, ctx.model().params().n_vocab - 1);
  Batch b;
  for (int i = 0; i < n; ++i) b.Add(token(rng), depth + i, 0, i + 1 == n, /*is_prefill=*/true);
  const auto t0 = std::chrono::steady_clock::now();
  ISV_RETURN_IF_ERROR(ctx.Forward(b));
  return Seconds(t0);
}

// n single-token steps after `depth` cached tokens; returns seconds.
StatusOr<double> RunGeneration(Context& ctx, int depth, int n, std::mt19937& rng) {
  ISV_RETURN_IF_ERROR(FillToDepth(ctx, depth, rng));
  std::uniform_int_distribution<int32_t> token(0, ctx.model().params().n_vocab - 1);
  Batch b;
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < n; ++i) {
    b.Clear();
    b.Add(token(rng), depth + i, 0, true);
    ISV_RETURN_IF_ERROR(ctx.Forward(b));
  }
  return Seconds(t0);
}

int RunBench(const BenchOptions& opt) {
  if (opt.n_prompt < 0 || opt.n_gen < 0 || opt.depth < 0 || opt.reps < 1 || (opt.n_prompt == 0 && opt.n_gen == 0)) {
    std::fprintf(stderr, "error: need -p >= 0, -n >= 0 (not both 0), -d >= 0 and -r >= 1\n");
    return 1;
  }
  StatusOr<std::unique_ptr<Model>> model = Model::Load(opt.model, opt.mmap ? GgufMemory::kMap : GgufMemory::kHugePages);
  if (!model.ok()) return ReportError(model.status());
  const int threads = opt.threads > 0 ? opt.threads : ThreadPool::DefaultThreadCount();
  ThreadPool pool(threads);
  const int64_t n_ctx = std::max<int64_t>(1, int64_t{opt.depth} + std::max(opt.n_prompt, opt.n_gen));
  if (Status fits = CheckContextFits(**model, n_ctx); !fits.ok()) return ReportError(fits);
  StatusOr<std::unique_ptr<Context>> ctx =
      Context::Create(**model, {.n_ctx = static_cast<int32_t>(n_ctx), .pool = &pool});
  if (!ctx.ok()) return ReportError(ctx.status());

  // The weights' bytes (one region: the file's data section), read between the tg repetitions.
  const GgufFile& file = (*model)->file();
  const uint8_t *weights_begin = nullptr, *weights_end = nullptr;
  for (const TensorView& t : file.tensors()) {
    const uint8_t* p = static_cast<const uint8_t*>(t.data);
    if (weights_begin == nullptr || p < weights_begin) weights_begin = p;
    weights_end = std::max(weights_end, p + t.n_bytes());
  }
  const bool read_weights = opt.bw_gib > 0 && opt.n_gen > 0 && weights_begin != nullptr;
  std::vector<double> weight_reads;  // GB/s: before the first tg repetition and after each

  std::mt19937 rng(opt.seed);
  Series pp, tg;
  if (opt.n_prompt > 0) {
    StatusOr<double> warm = RunPrompt(**ctx, opt.depth, opt.n_prompt, rng);
    if (!warm.ok()) return ReportError(warm.status());
    for (int r = 0; r < opt.reps; ++r) {
      StatusOr<double> s = RunPrompt(**ctx, opt.depth, opt.n_prompt, rng);
      if (!s.ok()) return ReportError(s.status());
      pp.samples.push_back(opt.n_prompt / *s);
    }
  }
  if (opt.n_gen > 0) {
    StatusOr<double> warm = RunGeneration(**ctx, opt.depth, 1, rng);
    if (!warm.ok()) return ReportError(warm.status());
    auto read_pass = [&] {
      if (read_weights) {
        weight_reads.push_back(ReadPassGbPerS(pool, weights_begin, static_cast<size_t>(weights_end - weights_begin)));
      }
    };
    read_pass();
    for (int r = 0; r < opt.reps; ++r) {
      StatusOr<double> s = RunGeneration(**ctx, opt.depth, opt.n_gen, rng);
      if (!s.ok()) return ReportError(s.status());
      tg.samples.push_back(opt.n_gen / *s);
      read_pass();
    }
  }
  const int64_t peak_rss = PeakRssBytes();  // before the triad arrays
  int64_t tensor_bytes = 0, n_params = 0;
  for (const TensorView& t : file.tensors()) {
    tensor_bytes += static_cast<int64_t>(t.n_bytes());
    n_params += t.n_elements();
  }
  // tg repetition r against the weights' read pace around it (the mean of the passes before and after).
  std::vector<double> weights_fraction;
  for (size_t r = 0; read_weights && r < tg.samples.size(); ++r) {
    const double pace = 0.5 * (weight_reads[r] + weight_reads[r + 1]) * 1e9 / static_cast<double>(tensor_bytes);
    weights_fraction.push_back(tg.samples[r] / pace);
  }
  const Series weights_series{weights_fraction};
  ctx->reset();
  TriadResult bw, rd;
  if (opt.bw_gib > 0) {
    const size_t bytes = static_cast<size_t>(opt.bw_gib * 1073741824.0);
    bw = MeasureTriadBandwidth(pool, bytes, 5, file.huge_pages());
    rd = MeasureReadBandwidth(pool, bytes, 5, file.huge_pages());
  }
  const double roofline = bw.best_gb_per_s > 0 ? bw.best_gb_per_s * 1e9 / static_cast<double>(tensor_bytes) : 0;
  const double read_roofline = rd.best_gb_per_s > 0 ? rd.best_gb_per_s * 1e9 / static_cast<double>(tensor_bytes) : 0;
  const std::string at_depth = opt.depth > 0 ? " @ d" + std::to_string(opt.depth) : "";
  const std::string test_pp = "pp" + std::to_string(opt.n_prompt) + at_depth;
  const std::string test_tg = "tg" + std::to_string(opt.n_gen) + at_depth;
  const std::string ftype = file.Find("general.file_type") ? file.Find("general.file_type")->ToDisplayString() : "-";

  if (opt.json) {
    nlohmann::json j;
    j["model"] = opt.model;
    j["architecture"] = file.architecture();
    j["file_type"] = ftype;
    j["file_size_bytes"] = FileSizeBytes(opt.model);
    j["tensor_bytes"] = tensor_bytes;
    j["n_params"] = n_params;
    j["threads"] = threads;
    j["isa"] = std::string(IsaName(BestIsa()));
    j["huge_pages"] = file.huge_pages();
    j["rows8_matrices"] = (*model)->rows8_matrices();  // repacked at load (Model::RepackForDecode)
    j["amx"] = AmxEnabled();  // the AMX Q8_0 prompt kernel (kernels/amx_q8_0.h) is in use
    j["repetitions"] = opt.reps;
    j["depth"] = opt.depth;
    auto series = [](int n, const Series& s) {
      return nlohmann::json{{"n_tokens", n}, {"tokens_per_s_mean", s.Mean()}, {"tokens_per_s_sd", s.Sd()},
                            {"samples", s.samples}};
    };
    if (opt.n_prompt > 0) j["pp"] = series(opt.n_prompt, pp);
    if (opt.n_gen > 0) j["tg"] = series(opt.n_gen, tg);
    j["peak_rss_bytes"] = peak_rss;
    if (opt.bw_gib > 0) {
      j["bandwidth"] = {{"triad_gb_per_s", bw.best_gb_per_s}, {"triad_mean_gb_per_s", bw.mean_gb_per_s},
                        {"bytes_per_pass", bw.bytes_per_pass}, {"read_gb_per_s", rd.best_gb_per_s},
                        {"read_mean_gb_per_s", rd.mean_gb_per_s}};
      j["tg_roofline_tokens_per_s"] = roofline;
      j["tg_read_roofline_tokens_per_s"] = read_roofline;
      if (opt.n_gen > 0) {
        j["tg_fraction_of_roofline"] = tg.Mean() / roofline;
        j["tg_fraction_of_read_roofline"] = tg.Mean() / read_roofline;
        j["weights_read_gb_per_s"] = weight_reads;
        j["tg_fraction_of_weights_read"] = {{"mean", weights_series.Mean()}, {"samples", weights_fraction}};
      }
    }
    std::printf("%s\n", j.dump().c_str());
    return 0;
  }
  std::printf("model: %s (%s, file type %s, %.1f M params, file %.1f MiB, tensors %.1f MiB)\n", opt.model.c_str(),
              file.architecture().c_str(), ftype.c_str(), n_params / 1e6, FileSizeBytes(opt.model) / 1048576.0,
              tensor_bytes / 1048576.0);
  const int rows8 = (*model)->rows8_matrices();
  const std::string weights = std::string(file.huge_pages() ? "huge pages" : "mmap") +
                              (rows8 > 0 ? " (" + std::to_string(rows8) + " matrices in 8-row groups)" : "");
  std::printf("threads: %d, isa: %s, amx: %s, weights: %s, repetitions: %d\n\n", threads,
              std::string(IsaName(BestIsa())).c_str(), AmxEnabled() ? "yes (Q8_0 prompt tokens)" : "no",
              weights.c_str(), opt.reps);
  const int w = static_cast<int>(std::max<size_t>(8, std::max(test_pp.size(), test_tg.size())));
  std::printf("| %-*s | %23s |\n|%s|-------------------------|\n", w, "test", "t/s", std::string(w + 2, '-').c_str());
  if (opt.n_prompt > 0) std::printf("| %-*s | %12.2f ± %8.2f |\n", w, test_pp.c_str(), pp.Mean(), pp.Sd());
  if (opt.n_gen > 0) std::printf("| %-*s | %12.2f ± %8.2f |\n", w, test_tg.c_str(), tg.Mean(), tg.Sd());
  std::printf("\npeak RSS: %.1f MiB\n", peak_rss / 1048576.0);
  if (opt.bw_gib > 0) {
    std::printf("memory bandwidth (triad, %d threads, %.2f GiB): %.1f GB/s; read only: %.1f GB/s\n", threads,
                bw.bytes_per_pass / 1073741824.0, bw.best_gb_per_s, rd.best_gb_per_s);
    std::printf("tg roofline (bandwidth / tensor bytes): %.1f t/s (read only: %.1f t/s)", roofline, read_roofline);
    if (opt.n_gen > 0) {
      std::printf("; %s reaches %.0f%% of it (%.0f%%)", test_tg.c_str(), 100.0 * tg.Mean() / roofline,
                  100.0 * tg.Mean() / read_roofline);
    }
    std::printf("\n");
    if (!weights_fraction.empty()) {
      auto join = [](const std::vector<double>& v, double scale, const char* format) {
        std::string out;
        char buf[32];
        for (double x : v) {
          std::snprintf(buf, sizeof(buf), format, scale * x);
          out += (out.empty() ? "" : " / ") + std::string(buf);
        }
        return out;
      };
      const std::string reads = join(weight_reads, 1, "%.1f"), fractions = join(weights_fraction, 100, "%.0f%%");
      std::printf(
          "weights read between the %s repetitions: %s GB/s; each repetition at %s of that pace (mean %.0f%%)\n",
          test_tg.c_str(), reads.c_str(), fractions.c_str(), 100.0 * weights_series.Mean());
    }
  }
  return 0;
}

}  // namespace

void AddBenchCommand(CLI::App& app, int* exit_code) {
  auto opt = std::make_shared<BenchOptions>();
  CLI::App* cmd = app.add_subcommand("bench", "Measure prompt processing (pp) and generation (tg) speed, like llama-bench");
  cmd->add_option("model", opt->model, "GGUF model file")->required();
  cmd->add_option("-p,--n-prompt", opt->n_prompt, "Prompt tokens processed as one batch (0: skip pp; default 512)");
  cmd->add_option("-n,--n-gen", opt->n_gen, "Tokens generated one at a time (0: skip tg; default 128)");
  cmd->add_option("-d,--depth", opt->depth,
                  "Tokens already in the context when each test starts, like llama-bench's -d (filled untimed; "
                  "default 0)");
  cmd->add_option("-r,--repetitions", opt->reps, "Repetitions of each test, after one warm-up (default 5)");
  AddThreadsOption(cmd, &opt->threads);
  cmd->add_flag("--json", opt->json, "Print one JSON object instead of the table");
  cmd->add_option("--bw-gib", opt->bw_gib, "GiB of memory for the bandwidth triad, at most 1024 (0: skip it and the read passes over the "
                  "weights between the tg repetitions; default 1)")
      ->check(CLI::Range(0.0, 1024.0));
  cmd->add_option("--seed", opt->seed, "Seed of the random prompt tokens (default 1234)");
  cmd->add_option("--mmap", opt->mmap,
                  "1: use the weights in place from the file's mmap (like llama-bench's default); 0 (default): "
                  "read them into transparent huge pages and repack Q4_0 / Q4_1 / Q5_0 / Q5_1 / Q8_0 / IQ4_NL / Q2_K / "
                  "Q3_K / Q4_K / Q5_K / Q6_K / IQ4_XS matrices into 8-row groups, as the service does unless "
                  "INFERENCE_MMAP=1");
  cmd->callback([opt, exit_code] { *exit_code = RunBench(*opt); });
}

}  // namespace isv
