// Model loading: hyper-parameter keys, architecture refusal, tensor shape / presence / type
// validation and tied embeddings, on small GGUF files built in memory.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "engine/gguf/gguf_file.h"
#include "engine/gguf/gguf_writer.h"
#include "engine/model/model.h"

namespace isv {
namespace {

constexpr int kEmbd = 8, kVocab = 16, kFf = 12, kHead = 2, kHeadKv = 1;

std::string F32Zeros(int64_t n) { return std::string(static_cast<size_t>(n) * 4, '\0'); }

struct TinySpec {
  std::string arch = "llama";
  bool with_output = true;
  bool with_eps = true;
  int64_t wq_out = kEmbd;  // rows of blk.0.attn_q.weight
  GgmlType wq_type = GgmlType::kF32;
};

StatusOr<std::unique_ptr<Model>> BuildTiny(const TinySpec& spec) {
  GgufWriter w;
  const std::string a = spec.arch;
  w.AddString("general.architecture", a);
  w.AddUint32(a + ".context_length", 64);
  w.AddUint32(a + ".embedding_length", kEmbd);
  w.AddUint32(a + ".block_count", 1);
  w.AddUint32(a + ".feed_forward_length", kFf);
  w.AddUint32(a + ".attention.head_count", kHead);
  w.AddUint32(a + ".attention.head_count_kv", kHeadKv);
  if (spec.with_eps) w.AddFloat32(a + ".attention.layer_norm_rms_epsilon", 1e-5f);
  const int64_t kv = kEmbd / kHead * kHeadKv;
  w.AddTensor("token_embd.weight", GgmlType::kF32, {kEmbd, kVocab}, F32Zeros(kEmbd * kVocab));
  w.AddTensor("output_norm.weight", GgmlType::kF32, {kEmbd}, F32Zeros(kEmbd));
  if (spec.with_output) w.AddTensor("output.weight", GgmlType::kF32, {kEmbd, kVocab}, F32Zeros(kEmbd * kVocab));
  w.AddTensor("blk.0.attn_norm.weight", GgmlType::kF32, {kEmbd}, F32Zeros(kEmbd));
  const size_t q_bytes = RowSize(spec.wq_type, kEmbd) * spec.wq_out;
  w.AddTensor("blk.0.attn_q.weight", spec.wq_type, {kEmbd, spec.wq_out}, std::string(q_bytes, '\0'));
  w.AddTensor("blk.0.attn_k.weight", GgmlType::kF32, {kEmbd, kv}, F32Zeros(kEmbd * kv));
  w.AddTensor("blk.0.attn_v.weight", GgmlType::kF32, {kEmbd, kv}, F32Zeros(kEmbd * kv));
  w.AddTensor("blk.0.attn_output.weight", GgmlType::kF32, {kEmbd, kEmbd}, F32Zeros(kEmbd * kEmbd));
  w.AddTensor("blk.0.ffn_norm.weight", GgmlType::kF32, {kEmbd}, F32Zeros(kEmbd));
  w.AddTensor("blk.0.ffn_gate.weight", GgmlType::kF32, {kEmbd, kFf}, F32Zeros(kEmbd * kFf));
  w.AddTensor("blk.0.ffn_up.weight", GgmlType::kF32, {kEmbd, kFf}, F32Zeros(kEmbd * kFf));
  w.AddTensor("blk.0.ffn_down.weight", GgmlType::kF32, {kFf, kEmbd}, F32Zeros(kEmbd * kFf));
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

}  // namespace
}  // namespace isv
