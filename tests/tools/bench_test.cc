// `bench`: runs the forward pass on a real model and reports llama-bench-like figures; checked
// through the binary with tiny sizes (stories260K, pp16 / tg4, a small triad).
#include <memory>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "engine/gguf/gguf_file.h"
#include "engine/kernels/amx_q8_0.h"
#include "tools/tools_testutil.h"

namespace isv {
namespace {

using ::isv::testing::RunBinary;
using ::isv::testing::TestdataFile;

TEST(BenchCliTest, JsonOutputParsesWithConsistentFigures) {
  const std::string model = TestdataFile("models/stories260K.gguf");
  if (model.empty()) GTEST_SKIP() << "testdata absent (stories260K)";
  std::string out;
  ASSERT_EQ(RunBinary("bench " + model + " -p 16 -n 4 -r 2 -t 2 --bw-gib 0.05 --json", &out), 0) << out;
  nlohmann::json j = nlohmann::json::parse(out, nullptr, /*allow_exceptions=*/false);
  ASSERT_FALSE(j.is_discarded()) << "not one JSON object: " << out;
  auto file = GgufFile::Open(model);
  ASSERT_TRUE(file.ok());
  int64_t tensor_bytes = 0;
  for (const TensorView& t : (*file)->tensors()) tensor_bytes += static_cast<int64_t>(t.n_bytes());
  EXPECT_EQ(j["architecture"], "llama");
  EXPECT_EQ(j["file_size_bytes"].get<int64_t>(), static_cast<int64_t>((*file)->file_size()));
  EXPECT_EQ(j["tensor_bytes"].get<int64_t>(), tensor_bytes);
  EXPECT_EQ(j["threads"], 2);
  EXPECT_EQ(j["repetitions"], 2);
  EXPECT_EQ(j["amx"], AmxEnabled());
  for (const char* test : {"pp", "tg"}) {
    ASSERT_TRUE(j.contains(test)) << test;
    EXPECT_EQ(j[test]["samples"].size(), 2u) << test;
    double sum = 0;
    for (double s : j[test]["samples"]) {
      EXPECT_GT(s, 0.0) << test;
      sum += s;
    }
    EXPECT_NEAR(j[test]["tokens_per_s_mean"].get<double>(), sum / 2, 1e-6 * sum) << test;
    EXPECT_GE(j[test]["tokens_per_s_sd"].get<double>(), 0.0) << test;
  }
  EXPECT_EQ(j["pp"]["n_tokens"], 16);
  EXPECT_EQ(j["tg"]["n_tokens"], 4);
  // The process held at least the model's tensors.
  EXPECT_GT(j["peak_rss_bytes"].get<int64_t>(), tensor_bytes);
  const double bw = j["bandwidth"]["triad_gb_per_s"].get<double>();
  EXPECT_GT(bw, 0.1);
  EXPECT_NEAR(j["tg_roofline_tokens_per_s"].get<double>(), bw * 1e9 / tensor_bytes, 1e-6 * bw * 1e9 / tensor_bytes);
  EXPECT_NEAR(j["tg_fraction_of_roofline"].get<double>(),
              j["tg"]["tokens_per_s_mean"].get<double>() / j["tg_roofline_tokens_per_s"].get<double>(), 1e-9);
  const double read = j["bandwidth"]["read_gb_per_s"].get<double>();
  EXPECT_GT(read, 0.1);
  EXPECT_NEAR(j["tg_read_roofline_tokens_per_s"].get<double>(), read * 1e9 / tensor_bytes,
              1e-6 * read * 1e9 / tensor_bytes);
  EXPECT_NEAR(j["tg_fraction_of_read_roofline"].get<double>(),
              j["tg"]["tokens_per_s_mean"].get<double>() / j["tg_read_roofline_tokens_per_s"].get<double>(), 1e-9);
  // The weights' read pace before the first tg repetition and after each, and each repetition against the
  // mean of the two passes around it.
  const auto& reads = j["weights_read_gb_per_s"];
  ASSERT_EQ(reads.size(), 3u);
  for (double g : reads) EXPECT_GT(g, 0.0);
  const auto& fractions = j["tg_fraction_of_weights_read"]["samples"];
  ASSERT_EQ(fractions.size(), 2u);
  double fraction_sum = 0;
  for (size_t r = 0; r < 2; ++r) {
    const double pace = 0.5 * (reads[r].get<double>() + reads[r + 1].get<double>()) * 1e9 / tensor_bytes;
    EXPECT_NEAR(fractions[r].get<double>(), j["tg"]["samples"][r].get<double>() / pace,
                1e-9 * fractions[r].get<double>());
    fraction_sum += fractions[r].get<double>();
  }
  EXPECT_NEAR(j["tg_fraction_of_weights_read"]["mean"].get<double>(), fraction_sum / 2, 1e-9 * fraction_sum);
  // The service's default: weights in huge pages wherever the kernel offers THP.
  EXPECT_EQ(j["huge_pages"].get<bool>(), (*GgufFile::Open(model, GgufMemory::kHugePages))->huge_pages());
}

// --mmap 1 runs on the file's mapping (llama-bench's default) and says so.
TEST(BenchCliTest, MmapFlag) {
  const std::string model = TestdataFile("models/stories260K.gguf");
  if (model.empty()) GTEST_SKIP() << "testdata absent (stories260K)";
  std::string out;
  ASSERT_EQ(RunBinary("bench " + model + " -p 8 -n 2 -r 1 -t 1 --bw-gib 0 --mmap 1 --json", &out), 0) << out;
  const nlohmann::json j = nlohmann::json::parse(out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << out;
  EXPECT_FALSE(j["huge_pages"].get<bool>());
  EXPECT_EQ(j["rows8_matrices"].get<int>(), 0);  // nothing repacked in place from the mmap
  ASSERT_EQ(RunBinary("bench " + model + " -p 8 -n 2 -r 1 -t 1 --bw-gib 0 --mmap 1", &out), 0) << out;
  EXPECT_NE(out.find("weights: mmap"), std::string::npos) << out;
}

TEST(BenchCliTest, TableAndErrors) {
  const std::string model = TestdataFile("models/stories260K.gguf");
  if (model.empty()) GTEST_SKIP() << "testdata absent (stories260K)";
  std::string out;
  ASSERT_EQ(RunBinary("bench " + model + " -p 8 -n 2 -r 1 -t 1 --bw-gib 0", &out), 0) << out;
  EXPECT_NE(out.find("pp8"), std::string::npos) << out;
  EXPECT_NE(out.find("tg2"), std::string::npos) << out;
  EXPECT_NE(out.find("peak RSS"), std::string::npos) << out;
  EXPECT_EQ(RunBinary("bench /nonexistent.gguf", &out), 1);
  EXPECT_NE(out.find("error:"), std::string::npos) << out;
  EXPECT_EQ(RunBinary("bench " + model + " -p 0 -n 0", &out), 1);
}

// -d D: the tests start from a context holding D tokens (filled in batches of 512, so 600 takes two),
// named as llama-bench names them.
TEST(BenchCliTest, DepthStartsFromAFilledContext) {
  const std::string model = TestdataFile("models/stories260K.gguf");
  if (model.empty()) GTEST_SKIP() << "testdata absent (stories260K)";
  std::string out;
  ASSERT_EQ(RunBinary("bench " + model + " -p 8 -n 2 -d 600 -r 1 -t 1 --bw-gib 0 --json", &out), 0) << out;
  const nlohmann::json j = nlohmann::json::parse(out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << out;
  EXPECT_EQ(j["depth"].get<int>(), 600);
  EXPECT_GT(j["pp"]["tokens_per_s_mean"].get<double>(), 0);
  EXPECT_GT(j["tg"]["tokens_per_s_mean"].get<double>(), 0);
  ASSERT_EQ(RunBinary("bench " + model + " -p 8 -n 2 -d 600 -r 1 -t 1 --bw-gib 0", &out), 0) << out;
  EXPECT_NE(out.find("pp8 @ d600"), std::string::npos) << out;
  EXPECT_NE(out.find("tg2 @ d600"), std::string::npos) << out;
  // The context holds the depth: 2000 tokens of KV (5 layers x K and V x 32 fp16 = 640 bytes a token,
  // 1.28 MB) show in the peak RSS against depth 0.
  auto peak_rss = [&](int depth) {
    std::string o;
    const std::string args = " -p 0 -n 1 -d " + std::to_string(depth) + " -r 1 -t 2 --bw-gib 0 --json";
    EXPECT_EQ(RunBinary("bench " + model + args, &o), 0) << o;
    const nlohmann::json jd = nlohmann::json::parse(o, nullptr, false);
    return jd.is_discarded() ? 0.0 : jd["peak_rss_bytes"].get<double>();
  };
  EXPECT_GT(peak_rss(2000) - peak_rss(0), 0.9 * 2000 * 640);
  EXPECT_EQ(RunBinary("bench " + model + " -p 8 -n 2 -d -1", &out), 1) << out;
}

// bench-serve: every level's clients x requests x n tokens are generated and timed.
TEST(BenchServeCliTest, JsonLevelsCountEveryToken) {
  const std::string model = TestdataFile("models/stories260K.gguf");
  if (model.empty()) GTEST_SKIP() << "testdata absent (stories260K)";
  std::string out;
  ASSERT_EQ(RunBinary("bench-serve " + model + " -c 1,3 -r 2 -p 12 -n 5 -t 1 --json", &out), 0) << out;
  nlohmann::json j = nlohmann::json::parse(out, nullptr, /*allow_exceptions=*/false);
  ASSERT_FALSE(j.is_discarded()) << "not one JSON object: " << out;
  ASSERT_EQ(j["levels"].size(), 2u);
  for (const auto& [i, clients] : {std::pair{0, 1}, std::pair{1, 3}}) {
    const nlohmann::json& l = j["levels"][i];
    EXPECT_EQ(l["clients"], clients);
    EXPECT_EQ(l["requests"], clients * 2);
    EXPECT_EQ(l["generated_tokens"], clients * 2 * 5);
    EXPECT_GT(l["aggregate_tokens_per_s"].get<double>(), 0);
    EXPECT_LE(l["ttft_ms_p50"].get<double>(), l["ttft_ms_p99"].get<double>());
    EXPECT_LE(l["ttft_ms_p50"].get<double>(), l["latency_ms_p50"].get<double>());
  }
  EXPECT_EQ(RunBinary("bench-serve " + model + " -c 1,x", &out), 1);
  EXPECT_NE(out.find("--clients"), std::string::npos) << out;
}

}  // namespace
}  // namespace isv
