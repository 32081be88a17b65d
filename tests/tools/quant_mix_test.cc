// The per-tensor type rules of the quantization mixes, on the shapes of the benchmark models
// (expectations written out by hand from llama.cpp's rules and the bench README's notes).
#include <map>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "engine/quant/quant_mix.h"
#include "engine/synth/synth_model.h"

namespace isv {
namespace {

// tensor name -> type in the plan.
std::map<std::string, GgmlType> PlanTypes(const std::string& shape, FileType ftype, int n_layer = 0) {
  SynthOptions o;
  o.shape = shape;
  o.ftype = ftype;
  o.n_layer = n_layer;
  StatusOr<SynthPlan> plan = PlanSynthModel(o);
  EXPECT_TRUE(plan.ok()) << plan.status().message();
  std::map<std::string, GgmlType> out;
  if (!plan.ok()) return out;
  for (size_t i = 0; i < plan->tensors.size(); ++i) out[plan->tensors[i].name] = plan->types[i];
  return out;
}

std::string L(int il, const char* what) { return "blk." + std::to_string(il) + "." + what; }

// 24 layers: n/8 = 3, 7n/8 = 21; more bits for layers 0-2, 21-23 and (i - 3) % 3 == 2.
const std::set<int> kMoreBits24 = {0, 1, 2, 5, 8, 11, 14, 17, 20, 21, 22, 23};

TEST(QuantMixTest, Qwen05bQ4KMFallsBackForRowsOf896) {
  auto types = PlanTypes("qwen2.5-0.5b", FileType::kQ4_K_M);
  ASSERT_FALSE(types.empty());
  // Tied embedding = output matrix: Q6_K wanted, 896 % 256 != 0 -> Q8_0.
  EXPECT_EQ(types["token_embd.weight"], GgmlType::kQ8_0);
  EXPECT_EQ(types.count("output.weight"), 0u);
  EXPECT_EQ(types["output_norm.weight"], GgmlType::kF32);
  for (int il = 0; il < 24; ++il) {
    const bool more = kMoreBits24.count(il) > 0;
    // Rows of 896: Q4_K -> Q5_0 (the README's note), Q6_K -> Q8_0.
    for (const char* w : {"attn_q.weight", "attn_k.weight", "attn_output.weight", "ffn_gate.weight", "ffn_up.weight"})
      EXPECT_EQ(types[L(il, w)], GgmlType::kQ5_0) << L(il, w);
    EXPECT_EQ(types[L(il, "attn_v.weight")], more ? GgmlType::kQ8_0 : GgmlType::kQ5_0) << il;
    // ffn_down has rows of 4864 = 19 * 256: real K types.
    EXPECT_EQ(types[L(il, "ffn_down.weight")], more ? GgmlType::kQ6_K : GgmlType::kQ4_K) << il;
    for (const char* w : {"attn_norm.weight", "ffn_norm.weight", "attn_q.bias", "attn_k.bias", "attn_v.bias"})
      EXPECT_EQ(types[L(il, w)], GgmlType::kF32) << L(il, w);
  }
}

TEST(QuantMixTest, Qwen05bOneLayerAllLayersGetMoreBits) {
  // n = 1: 7n/8 = 0, so layer 0 is "last": attn_v Q6_K -> Q8_0, ffn_down Q6_K.
  auto types = PlanTypes("qwen2.5-0.5b", FileType::kQ4_K_M, 1);
  EXPECT_EQ(types["blk.0.attn_v.weight"], GgmlType::kQ8_0);
  EXPECT_EQ(types["blk.0.ffn_down.weight"], GgmlType::kQ6_K);
  EXPECT_EQ(types["blk.0.attn_q.weight"], GgmlType::kQ5_0);
}

TEST(QuantMixTest, Llama1bQ4KM) {
  auto types = PlanTypes("llama-3.2-1b", FileType::kQ4_K_M);
  // 16 layers: n/8 = 2, 7n/8 = 14: layers 0, 1, 4, 7, 10, 13, 14, 15.
  const std::set<int> more = {0, 1, 4, 7, 10, 13, 14, 15};
  EXPECT_EQ(types["token_embd.weight"], GgmlType::kQ6_K);  // tied: treated as the output
  EXPECT_EQ(types["rope_freqs.weight"], GgmlType::kF32);
  for (int il = 0; il < 16; ++il) {
    const GgmlType want = more.count(il) ? GgmlType::kQ6_K : GgmlType::kQ4_K;
    EXPECT_EQ(types[L(il, "attn_v.weight")], want) << il;
    EXPECT_EQ(types[L(il, "ffn_down.weight")], want) << il;
    EXPECT_EQ(types[L(il, "attn_q.weight")], GgmlType::kQ4_K) << il;
  }
}

TEST(QuantMixTest, Phi3QkvCountsAsAttnV) {
  auto types = PlanTypes("phi-3-mini", FileType::kQ5_K_M);
  // 32 layers: n/8 = 4, 7n/8 = 28.
  EXPECT_EQ(types["blk.0.attn_qkv.weight"], GgmlType::kQ6_K);
  EXPECT_EQ(types["blk.4.attn_qkv.weight"], GgmlType::kQ5_K);
  EXPECT_EQ(types["blk.6.attn_qkv.weight"], GgmlType::kQ6_K);  // (6 - 4) % 3 == 2
  EXPECT_EQ(types["blk.31.ffn_down.weight"], GgmlType::kQ6_K);
  EXPECT_EQ(types["blk.5.ffn_up.weight"], GgmlType::kQ5_K);
  EXPECT_EQ(types["output.weight"], GgmlType::kQ6_K);
  EXPECT_EQ(types["token_embd.weight"], GgmlType::kQ5_K);  // untied: the mix's default
}

// Tensor data sizes against the files of the bench README (made with llama-quantize at these
// shapes): qwen2.5-0.5b Q4_K_M 396 MB, Q8_0 529 MB; llama-3.2-1b Q4_K_M 804 MB, Q8_0 1317 MB.
// Those files also hold a few MB of tokenizer metadata, so: the Q8_0 - Q4_K_M difference must
// match (a wrong rule for token_embd or attn_v moves it by 10-30 MB), and each file must exceed
// its tensor data by a few MB only.
double PlannedMb(const char* shape, FileType ftype) {
  SynthOptions o;
  o.shape = shape;
  o.ftype = ftype;
  StatusOr<SynthPlan> plan = PlanSynthModel(o);
  EXPECT_TRUE(plan.ok());
  return plan.ok() ? plan->tensor_bytes / 1e6 : 0.0;
}

TEST(QuantMixTest, PlannedSizesMatchBenchReadme) {
  struct Case {
    const char* shape;
    double q4km_mb, q8_mb;
  };
  for (const Case& c : {Case{"qwen2.5-0.5b", 396, 529}, Case{"llama-3.2-1b", 804, 1317}}) {
    const double q4 = PlannedMb(c.shape, FileType::kQ4_K_M), q8 = PlannedMb(c.shape, FileType::kQ8_0);
    EXPECT_NEAR(q8 - q4, c.q8_mb - c.q4km_mb, 1.0) << c.shape;
    EXPECT_GT(c.q4km_mb - q4, 2.0) << c.shape;
    EXPECT_LT(c.q4km_mb - q4, 8.0) << c.shape;
    EXPECT_GT(c.q8_mb - q8, 2.0) << c.shape;
    EXPECT_LT(c.q8_mb - q8, 8.0) << c.shape;
  }
}

TEST(QuantMixTest, LlamaQuantizeOrderSortsByLayerNumber) {
  const std::vector<std::string> names = {"token_embd.weight", "blk.10.attn_q.weight", "blk.2.ffn_up.weight",
                                          "output.weight", "blk.2.attn_k.weight", "output_norm.weight"};
  std::vector<std::string> sorted;
  for (size_t i : LlamaQuantizeOrder(names)) sorted.push_back(names[i]);
  EXPECT_EQ(sorted, (std::vector<std::string>{"output.weight", "output_norm.weight", "token_embd.weight",
                                              "blk.2.attn_k.weight", "blk.2.ffn_up.weight", "blk.10.attn_q.weight"}));
}

TEST(QuantMixTest, FileTypeNames) {
  EXPECT_EQ(FileTypeFromName("q4_k_m"), FileType::kQ4_K_M);
  EXPECT_EQ(FileTypeFromName("BF16"), FileType::kBF16);
  EXPECT_EQ(static_cast<int>(*FileTypeFromName("Q8_0")), 7);
  EXPECT_FALSE(FileTypeFromName("q4_k_x").has_value());
  EXPECT_EQ(DefaultTensorType(FileType::kQ5_K_M), GgmlType::kQ5_K);
}

TEST(QuantMixTest, RowWithoutFallbackIsAnError) {
  MixModelInfo info{"llama", 1, 1, 1};
  StatusOr<std::vector<GgmlType>> r =
      ChooseTensorTypes(FileType::kQ8_0, info, {{"blk.0.ffn_down.weight", GgmlType::kF32, 2, 100}});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("blk.0.ffn_down.weight"), std::string::npos);
  // K type on a row of 100: Q4_K -> Q5_0 does not fit either -> F16.
  r = ChooseTensorTypes(FileType::kQ4_K_M, info, {{"blk.0.ffn_up.weight", GgmlType::kF32, 2, 100}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)[0], GgmlType::kF16);
}

}  // namespace
}  // namespace isv
