#include "engine/model/golden_testutil.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <numeric>

namespace isv::golden {
namespace {

TopList ParseTop(const nlohmann::json& j) {
  TopList out;
  for (const auto& e : j) out.emplace_back(e[0].get<int32_t>(), e[1].get<float>());
  return out;
}

}  // namespace

std::string TestdataDir() { return std::string(ISV_SHARED_DIR) + "/testdata"; }

bool TestdataPresent() { return std::filesystem::exists(TestdataDir() + "/models"); }

Tolerance ToleranceFor(const std::string& stem) {
  if (stem == "stories260K" || stem == "tiny-llama-F32" || stem == "tiny-llama-F16") return {0.1f, 0.02f, 0.1f, 0.0f};
  if (stem == "tiny-llama-BF16") return {0.4f, 0.1f, 0.25f, 0.0f};
  return {3.0f, 0.5f, 1.5f, 0.85f};
}

bool LoadGolden(const std::string& path, Golden* golden) {
  std::ifstream in(path);
  if (!in) {
    ADD_FAILURE() << "cannot open " << path;
    return false;
  }
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(in);
    golden->model_file = j.at("model_file").get<std::string>();
    golden->n_vocab = j.at("model").at("n_vocab").get<int32_t>();
    for (const auto& p : j.at("prompts")) {
      GoldenPrompt g;
      g.prompt = p.at("prompt").get<std::string>();
      g.tokens = p.at("tokens").get<std::vector<int32_t>>();
      for (const auto& t : p.at("top10")) g.top10.push_back(ParseTop(t));
      g.last_logits = p.at("last_logits").get<std::vector<float>>();
      g.greedy = p.at("greedy").at("tokens").get<std::vector<int32_t>>();
      for (const auto& t : p.at("greedy").at("step_top5")) g.step_top5.push_back(ParseTop(t));
      golden->prompts.push_back(std::move(g));
    }
  } catch (const std::exception& e) {
    ADD_FAILURE() << path << ": " << e.what();
    return false;
  }
  return true;
}

TopList TopN(const float* logits, int32_t n_vocab, int n) {
  std::vector<int32_t> ids(n_vocab);
  std::iota(ids.begin(), ids.end(), 0);
  n = std::min<int>(n, n_vocab);
  std::partial_sort(ids.begin(), ids.begin() + n, ids.end(), [&](int32_t a, int32_t b) {
    return logits[a] != logits[b] ? logits[a] > logits[b] : a < b;
  });
  TopList out;
  for (int i = 0; i < n; ++i) out.emplace_back(ids[i], logits[ids[i]]);
  return out;
}

}  // namespace isv::golden
