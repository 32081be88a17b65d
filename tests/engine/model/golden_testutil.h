// Helpers of the golden tests: where the shared test data lives, what llama.cpp's golden files
// (../shared/testdata/golden/<stem>.json) hold, and the tolerances of the testdata README
// ("Suggested tolerances") for each kind of weight file.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace isv::golden {

// ../shared/testdata (from the ISV_SHARED_DIR compile definition).
std::string TestdataDir();
bool TestdataPresent();

// Bounds for one model file, by its weight type.
struct Tolerance {
  float logit;        // any logit in top10 / last_logits / step_top5
  float mean_last;    // mean |diff| over last_logits
  float margin;       // top-1 must match where the golden top1 - top2 margin is >= this
  float min_top1;     // overall top-1 agreement at prompt positions (fraction)
};
// F32/F16 files (stories260K, tiny-llama-F32/-F16), BF16, or quantized, chosen by the file stem.
Tolerance ToleranceFor(const std::string& stem);

using TopList = std::vector<std::pair<int32_t, float>>;  // (id, logit), logit descending

struct GoldenPrompt {
  std::string prompt;
  std::vector<int32_t> tokens;
  std::vector<TopList> top10;       // per prompt position
  std::vector<float> last_logits;   // n_vocab
  std::vector<int32_t> greedy;      // generated tokens (EOG not included)
  std::vector<TopList> step_top5;   // logits that chose each greedy token (n or n+1 entries)
};

struct Golden {
  std::string model_file;
  int32_t n_vocab = 0;
  std::vector<GoldenPrompt> prompts;
};

// Parses golden/<stem>.json; fails the current test (and returns false) on error.
bool LoadGolden(const std::string& path, Golden* golden);

// Top-n (id, logit) of logits, ties to the lower id.
TopList TopN(const float* logits, int32_t n_vocab, int n);

}  // namespace isv::golden
