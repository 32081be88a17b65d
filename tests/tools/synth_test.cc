// `synth`: reproducible random-weight models at named shapes that load with our GGUF reader and
// carry the hyper-parameters, tensor shapes and tokenizer of the shape; quantized on the fly with
// the same types and bytes as `quantize`. Big shapes are checked through the plan (no big files).
#include <cmath>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "engine/gguf/gguf_file.h"
#include "engine/quant/model_quantizer.h"
#include "engine/synth/normal_fill.h"
#include "engine/synth/synth_model.h"
#include "engine/tokenizer/tokenizer.h"
#include "tools/tools_testutil.h"

namespace isv {
namespace {

using ::isv::testing::ReadAll;
using ::isv::testing::TempDir;
using ::isv::testing::TestdataFile;

std::vector<std::string> SharedDirs() { return {std::string(ISV_SHARED_DIR)}; }

TEST(NormalFillTest, MomentsOfAStandardNormal) {
  const int64_t n = int64_t{1} << 22;
  std::vector<float> x(n);
  FillNormal(42, x.data(), n);
  double m1 = 0, m2 = 0, m4 = 0;
  int64_t beyond3 = 0, beyond4 = 0;
  for (float v : x) {
    ASSERT_TRUE(std::isfinite(v));
    m1 += v;
    m2 += double{v} * v;
    m4 += double{v} * v * v * v;
    beyond3 += std::fabs(v) > 3;
    beyond4 += std::fabs(v) > 4;
  }
  m1 /= n;
  m2 /= n;
  m4 /= n;
  EXPECT_NEAR(m1, 0.0, 0.002);
  EXPECT_NEAR(m2, 1.0, 0.004);
  EXPECT_NEAR(m4 / (m2 * m2), 3.0, 0.03);
  EXPECT_NEAR(static_cast<double>(beyond3) / n, 0.0027, 0.0003);   // 2 * (1 - Phi(3))
  EXPECT_NEAR(static_cast<double>(beyond4) / n, 6.3e-5, 3e-5);     // tails are there
  // Same seed, same values; another seed, other values; a prefix does not depend on n.
  std::vector<float> y(1000), z(1000);
  FillNormal(42, y.data(), 1000);
  EXPECT_EQ(std::memcmp(x.data(), y.data(), 1000 * sizeof(float)), 0);
  FillNormal(43, z.data(), 1000);
  EXPECT_NE(std::memcmp(z.data(), y.data(), 1000 * sizeof(float)), 0);
  EXPECT_NE(StreamSeed(1, "a", 0), StreamSeed(1, "a", 1));
  EXPECT_NE(StreamSeed(1, "a", 0), StreamSeed(1, "b", 0));
  EXPECT_NE(StreamSeed(1, "a", 0), StreamSeed(2, "a", 0));
}

SynthOptions Options(const std::string& shape, const std::string& out, uint64_t seed) {
  SynthOptions o;
  o.shape = shape;
  o.out_path = out;
  o.seed = seed;
  o.vocab_search_dirs = SharedDirs();
  o.n_threads = 2;
  return o;
}

TEST(SynthTest, SameSeedSameBytesOtherSeedOtherWeights) {
  TempDir tmp;
  SynthOptions a = Options("tiny-llama", tmp.File("a.gguf"), 5);
  SynthOptions b = Options("tiny-llama", tmp.File("b.gguf"), 5);
  b.n_threads = 1;
  SynthOptions c = Options("tiny-llama", tmp.File("c.gguf"), 6);
  ASSERT_TRUE(WriteSynthModel(a).ok());
  ASSERT_TRUE(WriteSynthModel(b).ok());
  ASSERT_TRUE(WriteSynthModel(c).ok());
  const std::string fa = ReadAll(a.out_path), fb = ReadAll(b.out_path);
  ASSERT_GT(fa.size(), 5000000u);
  EXPECT_TRUE(fa == fb) << "same seed, different thread count: files differ";
  auto ga = GgufFile::Open(a.out_path);
  auto gc = GgufFile::Open(c.out_path);
  ASSERT_TRUE(ga.ok() && gc.ok());
  for (const TensorView& t : (*ga)->tensors()) {
    const TensorView* u = (*gc)->FindTensor(t.name);
    ASSERT_NE(u, nullptr);
    EXPECT_NE(std::memcmp(t.data, u->data, t.n_bytes()), 0) << t.name << " identical under another seed";
  }
  // A layer does not depend on how many layers follow it.
  SynthOptions d = Options("tiny-llama", tmp.File("d.gguf"), 5);
  d.n_layer = 1;
  ASSERT_TRUE(WriteSynthModel(d).ok());
  auto gd = GgufFile::Open(d.out_path);
  ASSERT_TRUE(gd.ok());
  EXPECT_EQ((*gd)->GetInt("llama.block_count").value(), 1);
  EXPECT_EQ((*gd)->FindTensor("blk.1.attn_q.weight"), nullptr);
  const TensorView* q1 = (*gd)->FindTensor("blk.0.attn_q.weight");
  const TensorView* q2 = (*ga)->FindTensor("blk.0.attn_q.weight");
  ASSERT_TRUE(q1 != nullptr && q2 != nullptr);
  EXPECT_EQ(std::memcmp(q1->data, q2->data, q1->n_bytes()), 0);
}

double Std(const TensorView& t, double center) {
  const float* x = static_cast<const float*>(t.data);
  double s = 0;
  for (int64_t i = 0; i < t.n_elements(); ++i) s += (x[i] - center) * (x[i] - center);
  return std::sqrt(s / static_cast<double>(t.n_elements()));
}

// Every tiny shape: loads, has the testdata README's hyper-parameters and tensor shapes, weights of
// the documented scales, and the tokenizer of its vocab file.
TEST(SynthTest, TinyShapesLoadWithExpectedHparamsAndTensors) {
  struct Expect {
    const char* shape;
    const char* arch;
    int n_head_kv, n_ff, n_vocab;
    bool tied, fused;
    const char* vocab;
  };
  TempDir tmp;
  for (const Expect& e : {Expect{"tiny-llama", "llama", 2, 512, 512, false, false, "models/stories260K.gguf"},
                          Expect{"tiny-qwen2", "qwen2", 2, 768, 50257, true, false, "vocab/ggml-vocab-gpt-2.gguf"},
                          Expect{"tiny-phi3", "phi3", 4, 512, 32064, false, true, "vocab/ggml-vocab-phi-3.gguf"}}) {
    const std::string vocab_path = TestdataFile(e.vocab);
    if (vocab_path.empty()) GTEST_SKIP() << "testdata absent (" << e.vocab << ")";
    SynthOptions o = Options(e.shape, tmp.File(std::string(e.shape) + ".gguf"), 1);
    StatusOr<SynthResult> r = WriteSynthModel(o);
    ASSERT_TRUE(r.ok()) << r.status().message();
    EXPECT_EQ(r->vocab_source, vocab_path);
    auto f = GgufFile::Open(o.out_path);
    ASSERT_TRUE(f.ok()) << f.status().message();
    const GgufFile& g = **f;
    const std::string a = e.arch;
    EXPECT_EQ(g.architecture(), a);
    EXPECT_NE(g.GetString("general.name").value().find("random weights"), std::string::npos);
    EXPECT_EQ(g.GetInt("general.file_type").value(), 0);
    EXPECT_EQ(g.GetInt(a + ".embedding_length").value(), 256);
    EXPECT_EQ(g.GetInt(a + ".block_count").value(), 2);
    EXPECT_EQ(g.GetInt(a + ".attention.head_count").value(), 4);
    EXPECT_EQ(g.GetInt(a + ".attention.head_count_kv").value(), e.n_head_kv);
    EXPECT_EQ(g.GetInt(a + ".feed_forward_length").value(), e.n_ff);
    EXPECT_EQ(g.GetInt(a + ".context_length").value(), 512);
    EXPECT_EQ(g.GetInt(a + ".rope.dimension_count").value(), 64);
    const int64_t kv = 64 * e.n_head_kv;
    const TensorView* embd = g.FindTensor("token_embd.weight");
    ASSERT_NE(embd, nullptr);
    EXPECT_EQ(embd->ne[0], 256);
    EXPECT_EQ(embd->ne[1], e.n_vocab);
    EXPECT_EQ(g.FindTensor("output.weight") == nullptr, e.tied);
    if (e.fused) {
      ASSERT_NE(g.FindTensor("blk.1.attn_qkv.weight"), nullptr);
      EXPECT_EQ(g.FindTensor("blk.1.attn_qkv.weight")->ne[1], 256 + 2 * kv);
      EXPECT_EQ(g.FindTensor("blk.1.ffn_up.weight")->ne[1], 2 * e.n_ff);
      EXPECT_EQ(g.FindTensor("blk.1.ffn_gate.weight"), nullptr);
    } else {
      ASSERT_NE(g.FindTensor("blk.1.attn_k.weight"), nullptr);
      EXPECT_EQ(g.FindTensor("blk.1.attn_k.weight")->ne[1], kv);
      EXPECT_EQ(g.FindTensor("blk.1.ffn_gate.weight")->ne[1], e.n_ff);
      EXPECT_EQ(g.FindTensor("blk.1.attn_v.bias") != nullptr, e.tied);  // qwen2 only
    }
    EXPECT_EQ(g.FindTensor("blk.0.ffn_down.weight")->ne[0], e.n_ff);
    // Scales: hidden 0.08 at n_embd 256, norms 1 + 0.1 N(0,1).
    EXPECT_NEAR(Std(*g.FindTensor("blk.0.ffn_down.weight"), 0.0), 0.08, 0.002);
    EXPECT_NEAR(Std(*g.FindTensor("blk.0.attn_norm.weight"), 1.0), 0.1, 0.02);
    EXPECT_NEAR(Std(*embd, 0.0), e.tied ? 0.5 : 1.0, 0.01);
    // Tokenizer keys copied unchanged.
    auto v = GgufFile::Open(vocab_path);
    ASSERT_TRUE(v.ok());
    int copied = 0;
    for (const auto& [key, value] : (*v)->metadata()) {
      if (key.rfind("tokenizer.", 0) != 0) continue;
      const GgufValue* mine = g.Find(key);
      ASSERT_NE(mine, nullptr) << key;
      EXPECT_EQ(mine->ToDisplayString(1000000), value.ToDisplayString(1000000)) << key;
      ++copied;
    }
    EXPECT_GE(copied, 4);
  }
}

// The named real shapes, through the plan (the files are hundreds of MB): parameter counts of the
// real models and the shapes of their tensors.
TEST(SynthTest, NamedShapesHaveRealHparams) {
  struct Expect {
    const char* shape;
    double params_m;  // the real model's parameter count, millions
    const char* tensor;
    int64_t ne0, ne1;
  };
  for (const Expect& e : {Expect{"qwen2.5-0.5b", 494.0, "blk.23.attn_k.weight", 896, 128},
                          Expect{"qwen2.5-0.5b", 494.0, "blk.0.ffn_down.weight", 4864, 896},
                          Expect{"llama-3.2-1b", 1235.8, "blk.15.attn_v.weight", 2048, 512},
                          Expect{"llama-3.2-1b", 1235.8, "rope_freqs.weight", 32, 1},
                          Expect{"phi-3-mini", 3821.1, "blk.31.attn_qkv.weight", 3072, 9216},
                          Expect{"phi-3-mini", 3821.1, "blk.0.ffn_up.weight", 3072, 16384},
                          Expect{"phi-3-mini", 3821.1, "output.weight", 3072, 32064}}) {
    SynthOptions o;
    o.shape = e.shape;
    StatusOr<SynthPlan> plan = PlanSynthModel(o);
    ASSERT_TRUE(plan.ok()) << plan.status().message();
    EXPECT_NEAR(plan->n_params / 1e6, e.params_m, 0.5) << e.shape;
    bool found = false;
    for (const SynthTensor& t : plan->tensors) {
      if (t.name != e.tensor) continue;
      found = true;
      EXPECT_EQ(t.ne[0], e.ne0) << e.tensor;
      EXPECT_EQ(t.ne.size() > 1 ? t.ne[1] : 1, e.ne1) << e.tensor;
    }
    EXPECT_TRUE(found) << e.shape << " " << e.tensor;
  }
  SynthOptions unknown;
  unknown.shape = "gpt-5";
  EXPECT_FALSE(PlanSynthModel(unknown).ok());
}

// qwen2.5-0.5b with one layer (and a small generated vocabulary to keep the file at a few MB),
// quantized to Q4_K_M while written: rows of 896 fall back to Q5_0 / Q8_0 (bench README note).
TEST(SynthTest, Qwen05bOneLayerQ4KMTypesInTheFile) {
  TempDir tmp;
  SynthOptions o = Options("qwen2.5-0.5b", tmp.File("q.gguf"), 3);
  o.n_layer = 1;
  o.n_vocab = 1024;
  o.ftype = FileType::kQ4_K_M;
  StatusOr<SynthResult> r = WriteSynthModel(o);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->vocab_source, "generated byte-level vocabulary");
  auto f = GgufFile::Open(o.out_path);
  ASSERT_TRUE(f.ok()) << f.status().message();
  const std::map<std::string, GgmlType> want = {
      {"token_embd.weight", GgmlType::kQ8_0},     {"output_norm.weight", GgmlType::kF32},
      {"blk.0.attn_q.weight", GgmlType::kQ5_0},   {"blk.0.attn_k.weight", GgmlType::kQ5_0},
      {"blk.0.attn_v.weight", GgmlType::kQ8_0},   {"blk.0.attn_output.weight", GgmlType::kQ5_0},
      {"blk.0.ffn_gate.weight", GgmlType::kQ5_0}, {"blk.0.ffn_up.weight", GgmlType::kQ5_0},
      {"blk.0.ffn_down.weight", GgmlType::kQ6_K}, {"blk.0.attn_q.bias", GgmlType::kF32},
      {"blk.0.attn_norm.weight", GgmlType::kF32}, {"blk.0.ffn_norm.weight", GgmlType::kF32}};
  EXPECT_EQ((*f)->tensors().size(), want.size() + 2);  // + k/v biases
  for (const auto& [name, type] : want) {
    const TensorView* t = (*f)->FindTensor(name);
    ASSERT_NE(t, nullptr) << name;
    EXPECT_EQ(t->type, type) << name << " is " << TypeName(t->type);
  }
  EXPECT_EQ((*f)->GetInt("general.file_type").value(), 15);
  // Generated vocabulary: padding typed UNUSED (5), not CONTROL.
  std::vector<int64_t> types = (*f)->GetIntArray("tokenizer.ggml.token_type").value();
  ASSERT_EQ(types.size(), 1024u);
  EXPECT_EQ(types[65], 1);
  EXPECT_EQ(types[256], 3);
  EXPECT_EQ(types[257], 5);
  EXPECT_EQ(types[1023], 5);
  // ... and it works as a byte-level BPE vocabulary: every byte is one token, round trip exact.
  StatusOr<std::unique_ptr<Tokenizer>> tok = Tokenizer::FromGguf(**f);
  ASSERT_TRUE(tok.ok()) << tok.status().message();
  const std::string text = "Hello, w\xc3\xb6rld! <|endoftext|> [PAD300]";
  const std::vector<int32_t> ids = (*tok)->Encode(text, false, false);
  EXPECT_EQ(ids.size(), text.size());
  EXPECT_EQ((*tok)->Decode(ids, false, false), text);
  EXPECT_EQ((*tok)->eos(), 256);
  EXPECT_TRUE((*tok)->IsEog(256));
}

// On-the-fly quantization = quantizing the F32 file afterwards, byte for byte.
TEST(SynthTest, QuantizedSynthEqualsQuantizeOfF32Synth) {
  TempDir tmp;
  SynthOptions f32 = Options("tiny-llama", tmp.File("f32.gguf"), 9);
  ASSERT_TRUE(WriteSynthModel(f32).ok());
  for (FileType ftype : {FileType::kQ4_K_M, FileType::kQ8_0, FileType::kF16}) {
    SynthOptions q = Options("tiny-llama", tmp.File("q.gguf"), 9);
    q.ftype = ftype;
    ASSERT_TRUE(WriteSynthModel(q).ok());
    ASSERT_TRUE(QuantizeGguf(f32.out_path, tmp.File("r.gguf"), {ftype, 2}).ok());
    EXPECT_TRUE(ReadAll(q.out_path) == ReadAll(tmp.File("r.gguf"))) << FileTypeName(ftype);
  }
}

// Same tensor names, order, shapes and types as llama-quantize's tiny-phi3 / tiny-qwen2 files.
TEST(SynthTest, TinyMixesLayOutLikeShippedFiles) {
  TempDir tmp;
  struct Case {
    const char* shape;
    const char* file;
    FileType ftype;
  };
  for (const Case& c : {Case{"tiny-phi3", "models/tiny-phi3-Q4_K_M.gguf", FileType::kQ4_K_M},
                        Case{"tiny-qwen2", "models/tiny-qwen2-Q4_K_M.gguf", FileType::kQ4_K_M}}) {
    const std::string ref_path = TestdataFile(c.file);
    if (ref_path.empty()) GTEST_SKIP() << "testdata absent";
    SynthOptions o = Options(c.shape, tmp.File("m.gguf"), 1);
    o.ftype = c.ftype;
    ASSERT_TRUE(WriteSynthModel(o).ok());
    auto ours = GgufFile::Open(o.out_path);
    auto ref = GgufFile::Open(ref_path);
    ASSERT_TRUE(ours.ok() && ref.ok());
    const auto& a = (*ours)->tensor_infos();
    const auto& b = (*ref)->tensor_infos();
    ASSERT_EQ(a.size(), b.size()) << c.shape;
    for (size_t i = 0; i < a.size(); ++i) {
      EXPECT_EQ(a[i].name, b[i].name) << c.shape << " #" << i;
      EXPECT_EQ(a[i].type, b[i].type) << a[i].name;
      EXPECT_EQ(a[i].n_dims, b[i].n_dims) << a[i].name;
      for (int d = 0; d < 4; ++d) EXPECT_EQ(a[i].ne[d], b[i].ne[d]) << a[i].name;
      EXPECT_EQ(a[i].offset, b[i].offset) << a[i].name;
    }
  }
}

TEST(SynthCliTest, WritesModelAndReportsErrors) {
  TempDir tmp;
  std::string out;
  ASSERT_EQ(isv::testing::RunBinary("synth tiny-llama " + tmp.File("t.gguf") + " --seed 3 --type q8_0 -t 2", &out), 0)
      << out;
  EXPECT_NE(out.find("tiny-llama"), std::string::npos) << out;
  auto f = GgufFile::Open(tmp.File("t.gguf"));
  ASSERT_TRUE(f.ok()) << f.status().message();
  EXPECT_EQ((*f)->GetInt("general.file_type").value(), 7);
  EXPECT_EQ(isv::testing::RunBinary("synth no-such-shape " + tmp.File("u.gguf"), &out), 1);
  EXPECT_NE(out.find("qwen2.5-0.5b"), std::string::npos) << out;  // lists the known shapes
  EXPECT_EQ(isv::testing::RunBinary("synth tiny-llama " + tmp.File("v.gguf") + " --type q7", &out), 1);
  const std::string gpt2 = TestdataFile("vocab/ggml-vocab-gpt-2.gguf");
  if (!gpt2.empty()) {  // a vocabulary of the wrong size is refused, naming both sizes
    EXPECT_EQ(isv::testing::RunBinary("synth tiny-llama " + tmp.File("w.gguf") + " --vocab " + gpt2, &out), 1);
    EXPECT_NE(out.find("50257"), std::string::npos) << out;
    EXPECT_NE(out.find("512"), std::string::npos) << out;
  }
  EXPECT_EQ(isv::testing::RunBinary("synth --help", &out), 0);
  for (const char* opt : {"--type", "--seed", "--vocab", "--layers", "--threads"})
    EXPECT_NE(out.find(opt), std::string::npos) << opt;
}

}  // namespace
}  // namespace isv
