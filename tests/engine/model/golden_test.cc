// Golden tests: every model file in ../shared/testdata/models against llama.cpp's prompt token
// ids, logits and greedy continuations in golden/<stem>.json, with the README's suggested tolerances. One test per
// model file; a file whose tensor types have no kernels in this build is skipped, naming the type.
// At the end the fidelity table (max / mean logit diff, top-1 agreement) is printed.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/model/batch.h"
#include "engine/model/context.h"
#include "engine/model/golden_testutil.h"
#include "engine/model/model.h"
#include "engine/tokenizer/tokenizer.h"

namespace isv::golden {
namespace {

struct FidelityRow {
  double max_diff = 0;         // over top10, last_logits and step_top5 entries
  double mean_last_diff = 0;   // worst prompt's mean |diff| over last_logits
  int top1_agree = 0;
  int top1_total = 0;
  int greedy_checked = 0;      // greedy steps that had to match (margin above threshold)
  int greedy_total = 0;
};
std::map<std::string, FidelityRow>& FidelityRows() {
  static std::map<std::string, FidelityRow> rows;
  return rows;
}

class FidelityTablePrinter : public ::testing::Environment {
 public:
  void TearDown() override {
    if (FidelityRows().empty()) return;
    std::printf("\nfidelity vs llama.cpp b10176 goldens (prompt positions + greedy steps)\n");
    std::printf("%-20s %10s %10s %12s %14s\n", "model", "max|d|", "mean|d|", "top1", "greedy-forced");
    for (const auto& [stem, r] : FidelityRows())
      std::printf("%-20s %10.4f %10.4f %6d/%-5d %8d/%-5d\n", stem.c_str(), r.max_diff, r.mean_last_diff,
                  r.top1_agree, r.top1_total, r.greedy_checked, r.greedy_total);
  }
};
const auto* const kPrinter = ::testing::AddGlobalTestEnvironment(new FidelityTablePrinter);

std::vector<std::string> ModelStems() {
  std::vector<std::string> stems;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(TestdataDir() + "/models", ec)) {
    if (e.path().extension() == ".gguf") stems.push_back(e.path().stem().string());
  }
  std::sort(stems.begin(), stems.end());
  if (stems.empty()) stems.push_back("testdata-absent");
  return stems;
}

// Compares our logits with golden (id, logit) pairs; returns the largest |diff|.
double CompareTop(const TopList& golden, std::span<const float> ours, float tol, const std::string& where) {
  double worst = 0;
  for (const auto& [id, logit] : golden) {
    const double d = std::fabs(ours[id] - logit);
    worst = std::max(worst, d);
    EXPECT_LE(d, tol) << where << " token " << id << ": ours " << ours[id] << " golden " << logit;
  }
  return worst;
}

class GoldenTest : public ::testing::TestWithParam<std::string> {};

TEST_P(GoldenTest, MatchesLlamaCpp) {
  const std::string stem = GetParam();
  if (!TestdataPresent()) GTEST_SKIP() << "../shared/testdata absent";
  const std::string model_path = TestdataDir() + "/models/" + stem + ".gguf";
  const std::string golden_path = TestdataDir() + "/golden/" + stem + ".json";
  if (!std::filesystem::exists(golden_path)) GTEST_SKIP() << "no golden file for " << stem;

  StatusOr<std::unique_ptr<Model>> model = Model::Load(model_path);
  if (!model.ok() && model.status().code() == StatusCode::kUnimplemented)
    GTEST_SKIP() << "kernel missing: " << model.status().message();
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  Golden golden;
  ASSERT_TRUE(LoadGolden(golden_path, &golden));
  const int32_t n_vocab = (*model)->params().n_vocab;
  ASSERT_EQ(n_vocab, golden.n_vocab);

  StatusOr<std::unique_ptr<Tokenizer>> tokenizer = Tokenizer::FromGguf((*model)->file());
  ASSERT_TRUE(tokenizer.ok()) << tokenizer.status().ToString();

  StatusOr<std::unique_ptr<Context>> ctx = Context::Create(**model, {.n_ctx = 512, .n_threads = 2});
  ASSERT_TRUE(ctx.ok()) << ctx.status().ToString();
  const Tolerance tol = ToleranceFor(stem);
  FidelityRow row;

  for (size_t pi = 0; pi < golden.prompts.size(); ++pi) {
    const GoldenPrompt& g = golden.prompts[pi];
    const std::string where = stem + " prompt " + std::to_string(pi + 1);
    // The prompt's token ids, as llama_tokenize(add_special = true, parse_special = false) gives them.
    EXPECT_EQ((*tokenizer)->Encode(g.prompt, /*add_special=*/true, /*parse_special=*/false), g.tokens) << where;

    // The golden ids drive the forward pass (a tokenizer bug must not hide a forward-pass result).
    (*ctx)->kv_cache().Clear();
    Batch batch;
    // Flagged as prompt tokens, as the server sends prompts (the prefill kernels where the type has one).
    for (size_t i = 0; i < g.tokens.size(); ++i) batch.Add(g.tokens[i], static_cast<int32_t>(i), 0, true, true);
    ASSERT_TRUE((*ctx)->Forward(batch).ok());
    ASSERT_EQ((*ctx)->n_outputs(), static_cast<int32_t>(g.tokens.size()));

    // Every prompt position: the golden top-10 logits, and the top-1 id where the margin is clear.
    for (size_t pos = 0; pos < g.tokens.size(); ++pos) {
      std::span<const float> ours = (*ctx)->Logits(static_cast<int32_t>(pos));
      const TopList& top = g.top10[pos];
      row.max_diff = std::max(row.max_diff, CompareTop(top, ours, tol.logit, where + " pos " + std::to_string(pos)));
      const int32_t our_top1 = TopN(ours.data(), n_vocab, 1)[0].first;
      ++row.top1_total;
      if (our_top1 == top[0].first) ++row.top1_agree;
      if (top[0].second - top[1].second >= tol.margin) {
        EXPECT_EQ(our_top1, top[0].first) << where << " pos " << pos << " (golden margin "
                                          << top[0].second - top[1].second << ")";
      }
    }
    // The full last-position logits.
    std::span<const float> last = (*ctx)->Logits(static_cast<int32_t>(g.tokens.size()) - 1);
    double sum = 0;
    for (int32_t id = 0; id < n_vocab; ++id) {
      const double d = std::fabs(last[id] - g.last_logits[id]);
      sum += d;
      row.max_diff = std::max(row.max_diff, d);
      if (d > tol.logit) ADD_FAILURE() << where << " last_logits[" << id << "]: ours " << last[id] << " golden " << g.last_logits[id];
    }
    const double mean = sum / n_vocab;
    row.mean_last_diff = std::max(row.mean_last_diff, mean);
    EXPECT_LE(mean, tol.mean_last) << where << " mean |diff| of last_logits";

    // Greedy continuation, teacher-forced with the golden tokens: our argmax must pick the golden
    // token until the first step whose golden margin is below the threshold; the step logits are
    // compared at every step.
    bool forced_only = false;
    for (size_t k = 0; k < g.step_top5.size(); ++k) {
      if (k > 0) {
        batch.Clear();
        batch.Add(g.greedy[k - 1], static_cast<int32_t>(g.tokens.size() + k - 1), 0, true);
        ASSERT_TRUE((*ctx)->Forward(batch).ok());
      }
      std::span<const float> ours = (*ctx)->Logits((*ctx)->n_outputs() - 1);
      const TopList& top = g.step_top5[k];
      const std::string step = where + " greedy step " + std::to_string(k);
      row.max_diff = std::max(row.max_diff, CompareTop(top, ours, tol.logit, step));
      if (top[0].second - top[1].second < tol.margin) forced_only = true;
      ++row.greedy_total;
      if (!forced_only) {
        ++row.greedy_checked;
        const int32_t chosen = k < g.greedy.size() ? g.greedy[k] : top[0].first;
        EXPECT_EQ(TopN(ours.data(), n_vocab, 1)[0].first, chosen) << step;
      }
    }
  }
  if (tol.min_top1 > 0) {
    EXPECT_GE(row.top1_agree, tol.min_top1 * row.top1_total) << "overall top-1 agreement";
  }
  FidelityRows()[stem] = row;
}

std::string ParamName(const ::testing::TestParamInfo<std::string>& info) {
  std::string s = info.param;
  for (char& c : s) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return s;
}

INSTANTIATE_TEST_SUITE_P(Models, GoldenTest, ::testing::ValuesIn(ModelStems()), ParamName);

}  // namespace
}  // namespace isv::golden
