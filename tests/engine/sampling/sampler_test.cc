// Sampler against independent expectations: hand-computed probabilities, a naive full-sort
// reference for top-k / top-p on a 150k vocabulary, a chi-square test of the draws, and the
// documented penalty formulas.
#include "engine/sampling/sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace isv {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

// Every filter off, temperature 1: the plain softmax distribution.
SamplingParams Plain(uint64_t seed = 1) {
  SamplingParams p;
  p.temperature = 1.0f;
  p.top_k = 0;
  p.top_p = 1.0f;
  p.min_p = 0.0f;
  p.seed = seed;
  return p;
}

std::vector<double> SoftmaxRef(const std::vector<float>& logits, double t = 1.0) {
  double m = -INFINITY;
  for (float l : logits) m = std::max(m, static_cast<double>(l));
  std::vector<double> p(logits.size());
  double s = 0;
  for (size_t i = 0; i < logits.size(); ++i) s += p[i] = std::exp((logits[i] - m) / t);
  for (double& x : p) x /= s;
  return p;
}

std::map<int32_t, float> AsMap(const std::vector<TokenProb>& d) {
  std::map<int32_t, float> m;
  for (const TokenProb& t : d) m[t.id] = t.p;
  return m;
}

std::vector<float> RandomLogits(size_t n, uint32_t seed, float scale = 3.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd(0.0f, scale);
  std::vector<float> v(n);
  for (float& x : v) x = nd(rng);
  return v;
}

// Token probabilities 0.5, 0.25, 0.15, 0.07, 0.03 placed at ids 3, 0, 4, 1, 2 (logit = ln p).
const std::vector<float> kFive = {std::log(0.25f), std::log(0.07f), std::log(0.03f), std::log(0.5f), std::log(0.15f)};

TEST(SamplerTest, GreedyIsArgmaxWithTiesToLowerId) {
  SamplingParams p;
  p.temperature = 0.0f;
  Sampler s(p, 5);
  EXPECT_EQ(s.Sample(std::vector<float>{1, 5, 3, 5, -2}), 1);
  EXPECT_EQ(s.Sample(std::vector<float>{-3, -1, -1, -2, -9}), 1);
  EXPECT_EQ(s.Sample(std::vector<float>{0, 0, 0, 0, 0}), 0);
  p.temperature = -1.0f;
  Sampler neg(p, 5);
  EXPECT_EQ(neg.Sample(std::vector<float>{1, 2, 7, 7, 0}), 2);
  const std::vector<TokenProb> d = neg.Distribution(std::vector<float>{1, 2, 7, 7, 0});
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].id, 2);
  EXPECT_EQ(d[0].p, 1.0f);
  for (uint32_t seed = 0; seed < 20; ++seed) {
    const std::vector<float> l = RandomLogits(5000, seed);
    EXPECT_EQ(s.Sample(std::span<const float>(l.data(), 5)), std::max_element(l.begin(), l.begin() + 5) - l.begin());
    Sampler big(p, 5000);
    EXPECT_EQ(big.Sample(l), std::max_element(l.begin(), l.end()) - l.begin());
  }
}

TEST(SamplerTest, TopK1EqualsGreedy) {
  SamplingParams g;
  g.temperature = 0.0f;
  SamplingParams k1 = Plain(7);
  k1.top_k = 1;
  k1.temperature = 1.5f;
  Sampler greedy(g, 2000), topk(k1, 2000);
  for (uint32_t seed = 0; seed < 50; ++seed) {
    std::vector<float> l = RandomLogits(2000, seed);
    if (seed % 5 == 0) l[1999] = l[17] = *std::max_element(l.begin(), l.end()) + 1;  // a tie
    EXPECT_EQ(topk.Sample(l), greedy.Sample(l)) << seed;
  }
}

TEST(SamplerTest, SameSeedSameSequenceDifferentSeedsDiffer) {
  const std::vector<float> l = {0.1f, 0.2f, 0.0f, 0.3f, -0.1f, 0.25f, 0.05f, 0.15f};
  auto run = [&](uint64_t seed) {
    Sampler s(Plain(seed), 8);
    std::vector<int32_t> out;
    for (int i = 0; i < 200; ++i) out.push_back(s.Sample(l));
    return out;
  };
  EXPECT_EQ(run(42), run(42));
  EXPECT_EQ(run(uint64_t{1} << 40), run(uint64_t{1} << 40));
  EXPECT_NE(run(42), run(43));
  EXPECT_NE(run(42), run((uint64_t{1} << 40) + 42));  // the high half of the seed matters
  EXPECT_EQ(Sampler(Plain(42), 8).seed(), 42u);
}

TEST(SamplerTest, DrawFrequenciesMatchSoftmaxOfLogitsOverTemperature) {
  const std::vector<float> l = {1.0f, 2.0f, 0.5f, -1.0f, 1.5f};
  SamplingParams p = Plain(1234);
  p.temperature = 0.7f;
  Sampler s(p, 5);
  const std::vector<double> want = SoftmaxRef(l, 0.7);
  const std::map<int32_t, float> d = AsMap(s.Distribution(l));
  ASSERT_EQ(d.size(), 5u);
  for (int i = 0; i < 5; ++i) EXPECT_NEAR(d.at(i), want[i], 1e-6) << i;

  constexpr int kDraws = 20000;
  std::vector<int> count(5, 0);
  for (int i = 0; i < kDraws; ++i) ++count.at(s.Sample(l));
  double chi2 = 0;
  for (int i = 0; i < 5; ++i) {
    const double e = kDraws * want[i];
    chi2 += (count[i] - e) * (count[i] - e) / e;
  }
  // 4 degrees of freedom: P(chi2 > 18.47) = 0.001 for a correct sampler.
  EXPECT_LT(chi2, 18.47) << "counts " << count[0] << " " << count[1] << " " << count[2] << " " << count[3] << " "
                         << count[4];
  // And a wrong temperature would be caught: T = 1 expectations give a huge chi2 with these counts.
  const std::vector<double> wrong = SoftmaxRef(l, 1.0);
  double chi2_wrong = 0;
  for (int i = 0; i < 5; ++i) chi2_wrong += (count[i] - kDraws * wrong[i]) * (count[i] - kDraws * wrong[i]) / (kDraws * wrong[i]);
  EXPECT_GT(chi2_wrong, 100.0);
}

TEST(SamplerTest, TopPKeepsSmallestPrefixReachingP) {
  SamplingParams p = Plain();
  p.top_p = 0.8f;  // 0.5 + 0.25 = 0.75 < 0.8 <= 0.90: keeps ids 3, 0, 4
  std::map<int32_t, float> d = AsMap(Sampler(p, 5).Distribution(kFive));
  ASSERT_EQ(d.size(), 3u);
  EXPECT_NEAR(d.at(3), 0.5 / 0.9, 1e-6);
  EXPECT_NEAR(d.at(0), 0.25 / 0.9, 1e-6);
  EXPECT_NEAR(d.at(4), 0.15 / 0.9, 1e-6);
  p.top_p = 0.4f;  // the top token alone reaches it
  d = AsMap(Sampler(p, 5).Distribution(kFive));
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d.count(3), 1u);
  p.top_p = 0.96f;  // 0.97 after four tokens
  d = AsMap(Sampler(p, 5).Distribution(kFive));
  EXPECT_EQ(d.size(), 4u);
  EXPECT_EQ(d.count(2), 0u);
  p.top_p = 0.0f;  // at least one token
  EXPECT_EQ(Sampler(p, 5).Distribution(kFive).size(), 1u);

  // Sampling never leaves the kept set, and reaches all of it.
  p.top_p = 0.8f;
  Sampler s(p, 5);
  std::set<int32_t> seen;
  for (int i = 0; i < 2000; ++i) seen.insert(s.Sample(kFive));
  EXPECT_EQ(seen, (std::set<int32_t>{0, 3, 4}));
}

TEST(SamplerTest, MinPKeepsTokensAtLeastMinPTimesTheBest) {
  SamplingParams p = Plain();
  p.min_p = 0.2f;  // threshold 0.1: keeps 0.5, 0.25, 0.15
  std::map<int32_t, float> d = AsMap(Sampler(p, 5).Distribution(kFive));
  ASSERT_EQ(d.size(), 3u);
  EXPECT_NEAR(d.at(3), 0.5 / 0.9, 1e-6);
  EXPECT_NEAR(d.at(4), 0.15 / 0.9, 1e-6);
  p.min_p = 0.1f;  // threshold 0.05: 0.07 stays, 0.03 goes
  d = AsMap(Sampler(p, 5).Distribution(kFive));
  EXPECT_EQ(d.size(), 4u);
  EXPECT_EQ(d.count(1), 1u);
  EXPECT_EQ(d.count(2), 0u);
  p.min_p = 0.55f;  // threshold 0.275: only the best
  d = AsMap(Sampler(p, 5).Distribution(kFive));
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d.count(3), 1u);

  p = Plain(5);
  p.min_p = 0.2f;
  Sampler s(p, 5);
  std::set<int32_t> seen;
  for (int i = 0; i < 2000; ++i) seen.insert(s.Sample(kFive));
  EXPECT_EQ(seen, (std::set<int32_t>{0, 3, 4}));
}

TEST(SamplerTest, ChainOrderTopKTopPMinPThenTemperature) {
  SamplingParams p = Plain();
  p.top_k = 2;
  p.min_p = 0.6f;  // among the top 2 (0.5, 0.25): 0.25 / 0.5 < 0.6
  EXPECT_EQ(Sampler(p, 5).Distribution(kFive).size(), 1u);
  p = Plain();
  p.top_p = 0.95f;  // keeps 0.5, 0.25, 0.15, 0.07 (0.97)
  p.min_p = 0.2f;   // then drops 0.07
  p.temperature = 2.0f;
  const std::map<int32_t, float> d = AsMap(Sampler(p, 5).Distribution(kFive));
  ASSERT_EQ(d.size(), 3u);
  // Temperature comes last: p_i^(1/T) renormalized over the kept tokens.
  const double z = std::sqrt(0.5) + std::sqrt(0.25) + std::sqrt(0.15);
  EXPECT_NEAR(d.at(3), std::sqrt(0.5) / z, 1e-6);
  EXPECT_NEAR(d.at(0), std::sqrt(0.25) / z, 1e-6);
  EXPECT_NEAR(d.at(4), std::sqrt(0.15) / z, 1e-6);
}

// Reference for top-k then top-p on a large vocabulary: full sort, then cumulative softmax.
std::vector<int32_t> ReferenceKeep(const std::vector<float>& l, int k, double top_p) {
  std::vector<int32_t> ids(l.size());
  std::iota(ids.begin(), ids.end(), 0);
  std::sort(ids.begin(), ids.end(), [&](int32_t a, int32_t b) { return l[a] > l[b] || (l[a] == l[b] && a < b); });
  if (k > 0 && static_cast<size_t>(k) < ids.size()) ids.resize(k);
  if (top_p < 1.0) {
    const double m = l[ids[0]];
    double total = 0;
    std::vector<int32_t> by_id = ids;
    std::sort(by_id.begin(), by_id.end());
    for (int32_t i : by_id) total += std::exp(l[i] - m);
    double cum = 0;
    for (size_t i = 0; i < ids.size(); ++i) {
      cum += std::exp(l[ids[i]] - m);
      if (cum >= top_p * total) {
        ids.resize(i + 1);
        break;
      }
    }
  }
  return ids;
}

TEST(SamplerTest, LargeVocabularyTopKAndTopPMatchFullSortReference) {
  constexpr int kVocab = 150000;
  for (uint32_t seed : {1u, 2u, 3u}) {
    const std::vector<float> l = RandomLogits(kVocab, seed, seed == 3 ? 0.5f : 3.0f);
    for (auto [k, top_p] : std::vector<std::pair<int, float>>{{40, 1.0f}, {40, 0.9f}, {0, 0.9f}, {0, 0.5f}, {1000, 0.99f}}) {
      SCOPED_TRACE("seed " + std::to_string(seed) + " k " + std::to_string(k) + " p " + std::to_string(top_p));
      SamplingParams p = Plain();
      p.top_k = k;
      p.top_p = top_p;
      const std::vector<TokenProb> d = Sampler(p, kVocab).Distribution(l);
      const std::vector<int32_t> want = ReferenceKeep(l, k, top_p);
      ASSERT_EQ(d.size(), want.size());
      for (size_t i = 0; i < d.size(); ++i) EXPECT_EQ(d[i].id, want[i]) << i;
      double sum = 0;
      for (const TokenProb& t : d) sum += t.p;
      EXPECT_NEAR(sum, 1.0, 1e-5);
    }
  }
}

TEST(SamplerTest, TopKTiesGoToLowerIds) {
  SamplingParams p = Plain();
  p.top_k = 3;
  const std::map<int32_t, float> d = AsMap(Sampler(p, 10).Distribution(std::vector<float>(10, 1.0f)));
  ASSERT_EQ(d.size(), 3u);
  EXPECT_EQ(d.begin()->first, 0);
  EXPECT_EQ(d.rbegin()->first, 2);
  EXPECT_NEAR(d.at(1), 1.0 / 3, 1e-6);
}

TEST(SamplerTest, ApplyPenaltiesFollowsTheFormula) {
  std::vector<float> l = {2.0f, -1.0f, 0.5f, 3.0f, 0.0f};
  const std::vector<int32_t> window = {0, 1, 1, 4, 7, -1};  // 7 and -1 are out of range: ignored
  ApplyPenalties(l, window, 2.0f, 0.1f, 0.3f);
  EXPECT_FLOAT_EQ(l[0], 2.0f / 2 - (1 * 0.1f + 0.3f));   // positive: divided
  EXPECT_FLOAT_EQ(l[1], -1.0f * 2 - (2 * 0.1f + 0.3f));  // negative: multiplied, counted twice
  EXPECT_FLOAT_EQ(l[2], 0.5f);                           // absent from the window
  EXPECT_FLOAT_EQ(l[3], 3.0f);
  EXPECT_FLOAT_EQ(l[4], 0.0f - (0.1f + 0.3f));           // zero: multiplied (stays 0)

  std::vector<float> same = {2.0f, -1.0f};
  ApplyPenalties(same, window, 1.0f, 0.0f, 0.0f);  // neutral
  EXPECT_EQ(same, (std::vector<float>{2.0f, -1.0f}));
}

TEST(SamplerTest, PenaltiesUseOnlyTheLastRepeatLastNAcceptedTokens) {
  const std::vector<float> l = {1.0f, 1.0f, -0.5f, 0.2f};
  SamplingParams p = Plain();
  p.repeat_penalty = 1.5f;
  p.frequency_penalty = 0.25f;
  p.presence_penalty = 0.5f;
  p.repeat_last_n = 3;
  Sampler s(p, 4);
  for (int32_t t : {0, 0, 2, 2, 1}) s.Accept(t);  // window: 2, 2, 1
  std::vector<float> want = l;
  want[2] = -0.5f * 1.5f - (2 * 0.25f + 0.5f);
  want[1] = 1.0f / 1.5f - (0.25f + 0.5f);
  const std::vector<double> ref = SoftmaxRef(want);
  const std::map<int32_t, float> d = AsMap(s.Distribution(l));
  ASSERT_EQ(d.size(), 4u);
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(d.at(i), ref[i], 1e-6) << i;

  p.repeat_last_n = 0;  // off
  Sampler off(p, 4);
  for (int32_t t : {0, 0, 2}) off.Accept(t);
  const std::map<int32_t, float> d0 = AsMap(off.Distribution(l));
  const std::vector<double> ref0 = SoftmaxRef(l);
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(d0.at(i), ref0[i], 1e-6) << i;

  // Greedy sees penalties too: token 0 wins until it is penalized.
  SamplingParams g;
  g.temperature = 0.0f;
  g.repeat_penalty = 2.0f;
  Sampler gs(g, 4);
  const std::vector<float> lg = {1.0f, 0.8f, 0.0f, 0.0f};
  EXPECT_EQ(gs.Sample(lg), 0);
  gs.Accept(0);
  EXPECT_EQ(gs.Sample(lg), 1);
}

TEST(SamplerTest, LogitBiasShiftsAndMinusInfinityBans) {
  const std::vector<float> l = {0.0f, 1.0f, 5.0f, 0.5f};
  SamplingParams g;
  g.temperature = 0.0f;
  g.logit_bias = {{2, -kInf}};
  EXPECT_EQ(Sampler(g, 4).Sample(l), 1);
  g.logit_bias = {{0, 10.0f}, {99, 1.0f}, {-3, 1.0f}};  // out-of-range ids are ignored
  EXPECT_EQ(Sampler(g, 4).Sample(l), 0);

  SamplingParams p = Plain(9);
  p.logit_bias = {{2, -kInf}};
  Sampler s(p, 4);
  const std::map<int32_t, float> d = AsMap(s.Distribution(l));
  EXPECT_EQ(d.count(2), 0u);
  std::vector<float> rest = {0.0f, 1.0f, 0.5f};
  const std::vector<double> ref = SoftmaxRef(rest);
  EXPECT_NEAR(d.at(0), ref[0], 1e-6);
  EXPECT_NEAR(d.at(1), ref[1], 1e-6);
  EXPECT_NEAR(d.at(3), ref[2], 1e-6);
  for (int i = 0; i < 3000; ++i) ASSERT_NE(s.Sample(l), 2);
}

TEST(SamplerTest, DegenerateLogits) {
  SamplingParams p = Plain(3);
  Sampler s(p, 4);
  // NaN never wins; all-banned falls back to token 0 instead of crashing.
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (int i = 0; i < 100; ++i) EXPECT_NE(s.Sample(std::vector<float>{nan, 0.0f, nan, 0.0f}) % 2, 0);
  EXPECT_EQ(s.Sample(std::vector<float>(4, -kInf)), 0);
  // +inf dominates.
  EXPECT_EQ(s.Sample(std::vector<float>{0.0f, kInf, 1.0f, 2.0f}), 1);
  // Logits spanning more than a float's range, on a vocabulary large enough for bucketed top-p.
  std::vector<float> wide = RandomLogits(5000, 4);
  wide[10] = std::numeric_limits<float>::max();
  wide[11] = -std::numeric_limits<float>::max();
  SamplingParams tp = Plain(3);
  tp.top_p = 0.9f;
  EXPECT_EQ(Sampler(tp, 5000).Sample(wide), 10);
  p.min_p = 2.0f;  // nonsense min_p still leaves the best token
  EXPECT_EQ(Sampler(p, 4).Sample(std::vector<float>{0.0f, 3.0f, 1.0f, 2.0f}), 1);
}

}  // namespace
}  // namespace isv

namespace isv {
namespace {

TEST(ValidateSamplingParamsTest, AcceptsDefaultsAndDocumentedOffValues) {
  EXPECT_TRUE(ValidateSamplingParams(SamplingParams{}).ok());
  SamplingParams p;
  p.temperature = -1.0f;  // greedy
  p.top_k = -3;           // off
  p.top_p = 1.5f;         // off
  p.min_p = 0.0f;
  p.logit_bias[5] = -std::numeric_limits<float>::infinity();  // a ban
  EXPECT_TRUE(ValidateSamplingParams(p).ok());
}

TEST(ValidateSamplingParamsTest, RefusesNonFiniteAndOutOfDomainValues) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  struct Case {
    void (*set)(SamplingParams&, float);
    float value;
    const char* name;
  };
  const Case cases[] = {
      {[](SamplingParams& p, float v) { p.temperature = v; }, nan, "temperature"},
      {[](SamplingParams& p, float v) { p.temperature = v; }, inf, "temperature"},
      {[](SamplingParams& p, float v) { p.top_p = v; }, nan, "top_p"},
      {[](SamplingParams& p, float v) { p.top_p = v; }, -0.5f, "top_p"},
      {[](SamplingParams& p, float v) { p.min_p = v; }, -0.1f, "min_p"},
      {[](SamplingParams& p, float v) { p.repeat_penalty = v; }, 0.0f, "repeat_penalty"},
      {[](SamplingParams& p, float v) { p.presence_penalty = v; }, nan, "presence_penalty"},
      {[](SamplingParams& p, float v) { p.frequency_penalty = v; }, -inf, "frequency_penalty"},
      {[](SamplingParams& p, float v) { p.logit_bias[3] = v; }, nan, "logit bias"},
  };
  for (const Case& c : cases) {
    SamplingParams p;
    c.set(p, c.value);
    const Status s = ValidateSamplingParams(p);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << c.name << " = " << c.value;
    EXPECT_NE(s.message().find(c.name), std::string::npos) << s.message();
  }
}

}  // namespace
}  // namespace isv
