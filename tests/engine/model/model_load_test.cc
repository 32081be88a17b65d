// Model loading: hyper-parameter keys, architecture refusal, tensor shape / presence / type
// validation and tied embeddings, on small GGUF files built in memory.
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/gguf/gguf_file.h"
#include "engine/gguf/gguf_writer.h"
#include "engine/model/model.h"

namespace isv {
namespace {

constexpr int kEmbd = 8, kVocab = 16, kFf = 12, kHead = 2, kHeadKv = 1;

struct TinySpec {
  std::string arch = "llama";
  bool with_output = true;
  bool with_eps = true;
  int64_t wq_out = kEmbd;  // rows of blk.0.attn_q.weight
  GgmlType wq_type = GgmlType::kF32;
  GgmlType attn_norm_type = GgmlType::kF32;
  std::string omit;                          // a metadata key or tensor name left out of the file
  std::map<std::string, uint32_t> extra_u32;  // metadata added (or replacing a default value)
};

StatusOr<std::unique_ptr<Model>> BuildTiny(const TinySpec& spec) {
  GgufWriter w;
  const std::string a = spec.arch;
  auto u32 = [&](const std::string& key, uint32_t value) {
    if (key == spec.omit || spec.extra_u32.count(key)) return;
    w.AddUint32(key, value);
  };
  auto tensor = [&](const std::string& name, GgmlType type, std::vector<int64_t> shape) {
    if (name == spec.omit) return;
    int64_t rows = 1;
    for (size_t i = 1; i < shape.size(); ++i) rows *= shape[i];
    w.AddTensor(name, type, shape, std::string(RowSize(type, shape[0]) * rows, '\0'));
  };
  if (spec.omit != "general.architecture") w.AddString("general.architecture", a);
  u32(a + ".context_length", 64);
  u32(a + ".embedding_length", kEmbd);
  u32(a + ".block_count", 1);
  u32(a + ".feed_forward_length", kFf);
  u32(a + ".attention.head_count", kHead);
  u32(a + ".attention.head_count_kv", kHeadKv);
  for (const auto& [key, value] : spec.extra_u32) w.AddUint32(key, value);
  if (spec.with_eps && spec.omit != a + ".attention.layer_norm_rms_epsilon")
    w.AddFloat32(a + ".attention.layer_norm_rms_epsilon", 1e-5f);
  const int64_t kv = kEmbd / kHead * kHeadKv;
  tensor("token_embd.weight", GgmlType::kF32, {kEmbd, kVocab});
  tensor("output_norm.weight", GgmlType::kF32, {kEmbd});
  if (spec.with_output) tensor("output.weight", GgmlType::kF32, {kEmbd, kVocab});
  tensor("blk.0.attn_norm.weight", spec.attn_norm_type, {kEmbd});
  tensor("blk.0.attn_q.weight", spec.wq_type, {kEmbd, spec.wq_out});
  tensor("blk.0.attn_k.weight", GgmlType::kF32, {kEmbd, kv});
  tensor("blk.0.attn_v.weight", GgmlType::kF32, {kEmbd, kv});
  tensor("blk.0.attn_output.weight", GgmlType::kF32, {kEmbd, kEmbd});
  tensor("blk.0.ffn_norm.weight", GgmlType::kF32, {kEmbd});
  tensor("blk.0.ffn_gate.weight", GgmlType::kF32, {kEmbd, kFf});
  tensor("blk.0.ffn_up.weight", GgmlType::kF32, {kEmbd, kFf});
  tensor("blk.0.ffn_down.weight", GgmlType::kF32, {kFf, kEmbd});
  StatusOr<std::unique_ptr<GgufFile>> f = GgufFile::FromBytes(w.Serialize(), "tiny.gguf");
  if (!f.ok()) return f.status();
  return Model::FromGguf(std::move(*f));
}

TEST(ModelLoadTest, LoadsHyperParameters) {
  StatusOr<std::unique_ptr<Model>> m = BuildTiny({});
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  const ModelParams& hp = (*m)->params();
  EXPECT_EQ(hp.arch, Arch::kLlama);
  EXPECT_EQ(hp.n_vocab, kVocab);
  EXPECT_EQ(hp.n_embd, kEmbd);
  EXPECT_EQ(hp.n_head_kv, kHeadKv);
  EXPECT_EQ(hp.head_dim, kEmbd / kHead);
  EXPECT_EQ(hp.n_rot, kEmbd / kHead);  // default: the head dimension
  EXPECT_EQ(hp.rope_style, RopeStyle::kNormal);
  EXPECT_FLOAT_EQ(hp.rope_freq_base, 10000.0f);
  EXPECT_FALSE(hp.tied_output);
  EXPECT_EQ((*m)->RopeFactors(64), nullptr);
}

TEST(ModelLoadTest, RefusesUnknownArchitecture) {
  TinySpec spec;
  spec.arch = "gpt2";
  StatusOr<std::unique_ptr<Model>> m = BuildTiny(spec);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("architecture gpt2 is not supported"), std::string::npos)
      << m.status().message();
}

TEST(ModelLoadTest, MissingKeyIsNamed) {
  TinySpec spec;
  spec.with_eps = false;
  StatusOr<std::unique_ptr<Model>> m = BuildTiny(spec);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("tiny.gguf"), std::string::npos) << m.status().message();
  EXPECT_NE(m.status().message().find("llama.attention.layer_norm_rms_epsilon"), std::string::npos)
      << m.status().message();
}

TEST(ModelLoadTest, WrongShapeIsNamed) {
  TinySpec spec;
  spec.wq_out = 4;
  StatusOr<std::unique_ptr<Model>> m = BuildTiny(spec);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("tensor blk.0.attn_q.weight: expected [8, 8], got [8, 4]"), std::string::npos)
      << m.status().message();
}

TEST(ModelLoadTest, TypeWithoutKernelsIsRefused) {
  TinySpec spec;
  spec.wq_type = GgmlType::kI32;  // a GGUF type the engine does not compute with
  StatusOr<std::unique_ptr<Model>> m = BuildTiny(spec);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), StatusCode::kUnimplemented);
  EXPECT_NE(m.status().message().find("blk.0.attn_q.weight: type i32"), std::string::npos) << m.status().message();
}

TEST(ModelLoadTest, TiedEmbeddingsBecomeTheOutput) {
  TinySpec spec;
  spec.with_output = false;
  StatusOr<std::unique_ptr<Model>> m = BuildTiny(spec);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_TRUE((*m)->params().tied_output);
  EXPECT_EQ((*m)->weights().output.data, (*m)->weights().token_embd.data);
}

// Every key the llama architecture cannot do without: leaving one out is refused with an error that
// names the file and the key.
class MissingRequiredKeyTest : public testing::TestWithParam<std::string> {};

TEST_P(MissingRequiredKeyTest, IsRefusedNamingFileAndKey) {
  TinySpec spec;
  spec.omit = GetParam();
  StatusOr<std::unique_ptr<Model>> m = BuildTiny(spec);
  ASSERT_FALSE(m.ok()) << "loaded without " << GetParam();
  EXPECT_NE(m.status().message().find("tiny.gguf"), std::string::npos) << m.status().message();
  EXPECT_NE(m.status().message().find(GetParam()), std::string::npos) << m.status().message();
}

INSTANTIATE_TEST_SUITE_P(Llama, MissingRequiredKeyTest,
                         testing::Values("general.architecture", "llama.context_length", "llama.embedding_length",
                                         "llama.block_count", "llama.feed_forward_length",
                                         "llama.attention.head_count", "llama.attention.layer_norm_rms_epsilon"));

// Every tensor a llama layer needs: leaving one out is refused naming the file and the tensor.
class MissingTensorTest : public testing::TestWithParam<std::string> {};

TEST_P(MissingTensorTest, IsRefusedNamingFileAndTensor) {
  TinySpec spec;
  spec.omit = GetParam();
  StatusOr<std::unique_ptr<Model>> m = BuildTiny(spec);
  ASSERT_FALSE(m.ok()) << "loaded without " << GetParam();
  EXPECT_NE(m.status().message().find("tiny.gguf"), std::string::npos) << m.status().message();
  EXPECT_NE(m.status().message().find("tensor " + GetParam() + " is missing"), std::string::npos)
      << m.status().message();
}

INSTANTIATE_TEST_SUITE_P(Llama, MissingTensorTest,
                         testing::Values("token_embd.weight", "output_norm.weight", "blk.0.attn_norm.weight",
                                         "blk.0.attn_q.weight", "blk.0.attn_k.weight", "blk.0.attn_v.weight",
                                         "blk.0.attn_output.weight", "blk.0.ffn_norm.weight",
                                         "blk.0.ffn_gate.weight", "blk.0.ffn_up.weight",
                                         "blk.0.ffn_down.weight"));

TEST(ModelLoadTest, ZeroValuedKeyIsRefused) {
  TinySpec spec;
  spec.extra_u32["llama.block_count"] = 0;
  StatusOr<std::unique_ptr<Model>> m = BuildTiny(spec);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("llama.block_count has invalid value 0"), std::string::npos)
      << m.status().message();
}

TEST(ModelLoadTest, HeadCountNotDividingIsRefused) {
  TinySpec spec;
  spec.extra_u32["llama.attention.head_count_kv"] = 3;  // 2 heads, 3 kv heads
  StatusOr<std::unique_ptr<Model>> m = BuildTiny(spec);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("is not a multiple of head_count_kv"), std::string::npos)
      << m.status().message();
}

// n_head * head_dim would overflow 32 bits (2^16 * 2^16): refused before any shape arithmetic.
TEST(ModelLoadTest, HugeHeadProductIsRefused) {
  TinySpec spec;
  spec.extra_u32["llama.attention.head_count"] = 1 << 16;
  spec.extra_u32["llama.attention.head_count_kv"] = 1 << 16;
  spec.extra_u32["llama.attention.key_length"] = 1 << 16;
  spec.extra_u32["llama.attention.value_length"] = 1 << 16;
  StatusOr<std::unique_ptr<Model>> m = BuildTiny(spec);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("is too large"), std::string::npos) << m.status().message();
}

TEST(ModelLoadTest, QuantizedNormIsRefused) {
  TinySpec spec;
  spec.attn_norm_type = GgmlType::kF16;  // norms must be f32
  StatusOr<std::unique_ptr<Model>> m = BuildTiny(spec);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("blk.0.attn_norm.weight: type f16 is not supported here"), std::string::npos)
      << m.status().message();
}

}  // namespace
}  // namespace isv
