// GgufFile + GgufWriter: round trips of every value type and several tensor types, versions, and
// the shipped test models and vocab files. Malformed files are in gguf_malformed_test.cc.
#include "engine/gguf/gguf_file.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <limits>
#include <map>
#include <random>

#include <gtest/gtest.h>

#include "engine/gguf/gguf_test_util.h"
#include "engine/gguf/gguf_writer.h"

namespace isv {
namespace {

using testing::Array;
using testing::SameValue;
using testing::Str;

GgufValue U(GgufType t, uint64_t v) { return GgufValue(t, v); }
GgufValue I(GgufType t, int64_t v) { return GgufValue(t, v); }
GgufValue F(GgufType t, double v) { return GgufValue(t, v); }
GgufValue B(bool v) { return GgufValue(GgufType::kBool, v); }

// One value of every scalar type at or near its limits, keyed by a descriptive name.
std::vector<std::pair<std::string, GgufValue>> AllScalars() {
  return {
      {"t.uint8", U(GgufType::kUint8, 255)},
      {"t.int8", I(GgufType::kInt8, -128)},
      {"t.uint16", U(GgufType::kUint16, 65535)},
      {"t.int16", I(GgufType::kInt16, -32768)},
      {"t.uint32", U(GgufType::kUint32, 4294967295u)},
      {"t.int32", I(GgufType::kInt32, std::numeric_limits<int32_t>::min())},
      {"t.uint64", U(GgufType::kUint64, std::numeric_limits<uint64_t>::max())},
      {"t.int64", I(GgufType::kInt64, std::numeric_limits<int64_t>::min())},
      {"t.float32", F(GgufType::kFloat32, double{-0.1f})},  // exactly representable as float
      {"t.float64", F(GgufType::kFloat64, 3.141592653589793)},
      {"t.bool_true", B(true)},
      {"t.bool_false", B(false)},
      {"t.string", Str(std::string("h\xc3\xa9llo\0world", 12))},  // UTF-8 and an embedded NUL
      {"t.string_empty", Str("")},
  };
}

std::vector<std::pair<std::string, GgufValue>> AllArrays() {
  std::vector<std::pair<std::string, GgufValue>> out;
  // An array of each scalar type, three items (the scalar, a zero-ish value, the scalar again).
  for (const auto& [key, v] : AllScalars()) {
    GgufValue zero = v.type() == GgufType::kString ? Str("x")
                     : v.type() == GgufType::kBool ? B(false)
                     : v.is_float()                ? F(v.type(), 0.5)
                     : v.type() == GgufType::kInt8 || v.type() == GgufType::kInt16 ||
                             v.type() == GgufType::kInt32 || v.type() == GgufType::kInt64
                         ? I(v.type(), 7)
                         : U(v.type(), 7);
    out.emplace_back("arr." + key.substr(2), Array(v.type(), {v, zero, v}));
  }
  out.emplace_back("arr.empty_int32", Array(GgufType::kInt32, {}));
  // Arrays of arrays: [[1, 2], [], [3]] of int32, [["a"], ["b", "c"]], and three levels deep.
  out.emplace_back("arr.nested_int32",
                   Array(GgufType::kArray, {Array(GgufType::kInt32, {I(GgufType::kInt32, 1), I(GgufType::kInt32, 2)}),
                                            Array(GgufType::kInt32, {}),
                                            Array(GgufType::kInt32, {I(GgufType::kInt32, 3)})}));
  out.emplace_back("arr.nested_string", Array(GgufType::kArray, {Array(GgufType::kString, {Str("a")}),
                                                                 Array(GgufType::kString, {Str("b"), Str("c")})}));
  out.emplace_back("arr.three_levels",
                   Array(GgufType::kArray, {Array(GgufType::kArray, {Array(GgufType::kFloat64, {F(GgufType::kFloat64, 2.5)})})}));
  return out;
}

std::string RandomBytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng() & 0xFF);
  return s;
}

struct TensorSpec {
  std::string name;
  GgmlType type;
  std::vector<int64_t> ne;
  size_t n_bytes;  // computed by hand from the block layouts
};

// Byte sizes by hand: f32 4/elem, f16 2/elem, q4_0 18 bytes per 32, q6_K 210 per 256, i8 1/elem.
std::vector<TensorSpec> Specs() {
  return {
      {"a.f32", GgmlType::kF32, {4, 3}, 4 * 3 * 4},
      {"b.f16", GgmlType::kF16, {8}, 8 * 2},
      {"c.q4_0", GgmlType::kQ4_0, {64, 2}, 2 * 2 * 18},
      {"d.q6_K", GgmlType::kQ6_K, {256, 1, 2}, 2 * 210},
      {"e.i8", GgmlType::kI8, {2, 3, 4}, 24},
      {"f.f32_4d", GgmlType::kF32, {2, 1, 3, 2}, 12 * 4},
      {"g.bf16_empty", GgmlType::kBF16, {0, 5}, 0},
  };
}

GgufWriter MakeWriter(uint32_t version, uint32_t alignment) {
  GgufWriter w;
  w.set_version(version);
  w.set_alignment(alignment);
  for (auto& [k, v] : AllScalars()) w.AddKv(k, v);
  for (auto& [k, v] : AllArrays()) w.AddKv(k, v);
  uint32_t seed = 1;
  for (const TensorSpec& t : Specs()) w.AddTensor(t.name, t.type, t.ne, RandomBytes(t.n_bytes, seed++));
  return w;
}

void ExpectMatches(const GgufFile& f, uint32_t version, uint32_t alignment) {
  EXPECT_EQ(f.version(), version);
  EXPECT_EQ(f.alignment(), alignment);
  std::vector<std::pair<std::string, GgufValue>> want = AllScalars();
  for (auto& kv : AllArrays()) want.push_back(kv);
  // The writer puts general.alignment first when it is not the default.
  const size_t skip = alignment != 32 ? 1 : 0;
  ASSERT_EQ(f.metadata().size(), want.size() + skip);
  if (skip) {
    EXPECT_EQ(f.metadata()[0].first, "general.alignment");
    EXPECT_EQ(f.metadata()[0].second.type(), GgufType::kUint32);
  }
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(f.metadata()[i + skip].first, want[i].first);
    const GgufValue* v = f.Find(want[i].first);
    ASSERT_NE(v, nullptr) << want[i].first;
    EXPECT_TRUE(SameValue(*v, want[i].second)) << want[i].first;
  }
  const std::vector<TensorSpec> specs = Specs();
  ASSERT_EQ(f.tensors().size(), specs.size());
  EXPECT_EQ(f.data_offset() % alignment, 0u);
  uint32_t seed = 1;
  for (const TensorSpec& s : specs) {
    const TensorView* t = f.FindTensor(s.name);
    ASSERT_NE(t, nullptr) << s.name;
    EXPECT_EQ(t->type, s.type) << s.name;
    EXPECT_EQ(t->n_dims, static_cast<int>(s.ne.size())) << s.name;
    for (int d = 0; d < 4; ++d) {
      EXPECT_EQ(t->ne[d], d < static_cast<int>(s.ne.size()) ? s.ne[d] : 1) << s.name << " dim " << d;
    }
    EXPECT_EQ(t->n_bytes(), s.n_bytes) << s.name;
    const std::string want_bytes = RandomBytes(s.n_bytes, seed++);
    EXPECT_EQ(std::string(static_cast<const char*>(t->data), t->n_bytes()), want_bytes) << s.name;
  }
  for (const GgufTensorInfo& info : f.tensor_infos()) {
    EXPECT_EQ(info.offset % alignment, 0u) << info.name;
    EXPECT_EQ(reinterpret_cast<uintptr_t>(f.FindTensor(info.name)->data) % alignment,
              reinterpret_cast<uintptr_t>(f.FindTensor(specs[0].name)->data) % alignment);
  }
}

TEST(GgufFileTest, RoundTripInMemoryV3Alignment64) {
  const std::string bytes = MakeWriter(3, 64).Serialize();
  StatusOr<std::unique_ptr<GgufFile>> f = GgufFile::FromBytes(bytes, "rt.gguf");
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  ExpectMatches(**f, 3, 64);
}

TEST(GgufFileTest, RoundTripV2DefaultAlignment) {
  StatusOr<std::unique_ptr<GgufFile>> f = GgufFile::FromBytes(MakeWriter(2, 32).Serialize(), "rt2.gguf");
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  ExpectMatches(**f, 2, 32);
}

TEST(GgufFileTest, RoundTripThroughFileWithOpen) {
  char path[] = "/tmp/isv_gguf_rt_XXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  close(fd);
  GgufWriter w = MakeWriter(3, 128);
  ASSERT_TRUE(w.WriteFile(path).ok());
  {
    StatusOr<std::unique_ptr<GgufFile>> f = GgufFile::Open(path);
    ASSERT_TRUE(f.ok()) << f.status().ToString();
    EXPECT_EQ((*f)->path(), path);
    EXPECT_EQ((*f)->file_size(), w.Serialize().size());
    ExpectMatches(**f, 3, 128);
  }
  std::remove(path);
}

TEST(GgufFileTest, TypedGetters) {
  GgufWriter w;
  w.AddString("general.architecture", "llama");
  w.AddUint32("llama.block_count", 2);
  w.AddFloat32("llama.eps", 1e-5f);
  w.AddBool("flag", true);
  w.AddStringArray("toks", {"a", "b"});
  w.AddFloat32Array("scores", {0.5f, -1.0f});
  w.AddInt32Array("types", {1, 6});
  auto f = GgufFile::FromBytes(w.Serialize(), "g.gguf");
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  const GgufFile& g = **f;
  EXPECT_EQ(g.architecture(), "llama");
  EXPECT_EQ(*g.GetInt("llama.block_count"), 2);
  EXPECT_FLOAT_EQ(static_cast<float>(*g.GetFloat("llama.eps")), 1e-5f);
  EXPECT_EQ(*g.GetFloat("llama.block_count"), 2.0);  // integers are accepted as numbers
  EXPECT_TRUE(*g.GetBool("flag"));
  EXPECT_EQ(*g.GetStringArray("toks"), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(*g.GetFloatArray("scores"), (std::vector<float>{0.5f, -1.0f}));
  EXPECT_EQ(*g.GetIntArray("types"), (std::vector<int64_t>{1, 6}));
  EXPECT_EQ(*g.GetIntOr("absent", 7), 7);
  EXPECT_EQ(g.GetInt("absent").status().code(), StatusCode::kNotFound);
  const Status wrong = g.GetInt("general.architecture").status();
  EXPECT_EQ(wrong.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(wrong.message().find("g.gguf"), std::string::npos);
  EXPECT_NE(wrong.message().find("general.architecture"), std::string::npos);
  EXPECT_FALSE(g.GetIntOr("general.architecture", 1).ok());  // present but wrong type
  EXPECT_FALSE(g.GetStringArray("scores").ok());
}

TEST(GgufFileTest, Version1IsRefused) {
  GgufWriter w = MakeWriter(1, 32);
  StatusOr<std::unique_ptr<GgufFile>> f = GgufFile::FromBytes(w.Serialize(), "old.gguf");
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().code(), StatusCode::kUnimplemented);
  EXPECT_NE(f.status().message().find("old.gguf"), std::string::npos);
  EXPECT_NE(f.status().message().find("version 1 is not supported"), std::string::npos) << f.status().message();
}

TEST(GgufFileTest, OpenMissingAndEmptyFiles) {
  StatusOr<std::unique_ptr<GgufFile>> missing = GgufFile::Open("/nonexistent/dir/x.gguf");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("/nonexistent/dir/x.gguf"), std::string::npos);

  char path[] = "/tmp/isv_gguf_empty_XXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  close(fd);
  StatusOr<std::unique_ptr<GgufFile>> empty = GgufFile::Open(path);
  std::remove(path);
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(empty.status().message().find(path), std::string::npos);
  EXPECT_NE(empty.status().message().find("empty file"), std::string::npos);

  StatusOr<std::unique_ptr<GgufFile>> dir = GgufFile::Open("/tmp");
  EXPECT_FALSE(dir.ok());
}

// ---- The shipped files (../shared/testdata). Expected values are from testdata/README.md and
// testdata/vocab/README.md.

std::filesystem::path TestData() { return std::filesystem::path(ISV_SHARED_DIR) / "testdata"; }

TEST(GgufShippedTest, EveryModelAndVocabFileOpens) {
  if (!std::filesystem::exists(TestData() / "models")) GTEST_SKIP() << "testdata absent: " << TestData();
  int n_files = 0;
  for (const char* dir : {"models", "vocab"}) {
    for (const auto& e : std::filesystem::directory_iterator(TestData() / dir)) {
      if (e.path().extension() != ".gguf") continue;
      ++n_files;
      StatusOr<std::unique_ptr<GgufFile>> f = GgufFile::Open(e.path().string());
      ASSERT_TRUE(f.ok()) << f.status().ToString();
      EXPECT_EQ((*f)->version(), 3u) << e.path();
      EXPECT_FALSE((*f)->architecture().empty()) << e.path();
      if (std::string(dir) == "vocab") {
        EXPECT_TRUE((*f)->tensors().empty()) << e.path();
      }
    }
  }
  EXPECT_EQ(n_files, 15 + 15);
}

// GgufMemory::kHugePages gives the same file as the mmap: same metadata and tensor directory, every
// tensor's bytes identical; the copy starts on a 2 MiB boundary (what THP needs) and is writable
// private memory, not the file.
TEST(GgufShippedTest, HugePageCopyEqualsTheMapping) {
  if (!std::filesystem::exists(TestData() / "models")) GTEST_SKIP() << "testdata absent: " << TestData();
  int n_files = 0;
  for (const auto& e : std::filesystem::directory_iterator(TestData() / "models")) {
    if (e.path().extension() != ".gguf") continue;
    StatusOr<std::unique_ptr<GgufFile>> mapped = GgufFile::Open(e.path().string(), GgufMemory::kMap);
    StatusOr<std::unique_ptr<GgufFile>> copied = GgufFile::Open(e.path().string(), GgufMemory::kHugePages);
    ASSERT_TRUE(mapped.ok()) << mapped.status().ToString();
    ASSERT_TRUE(copied.ok()) << copied.status().ToString();
    EXPECT_FALSE((*mapped)->huge_pages());
    EXPECT_EQ((*copied)->file_size(), (*mapped)->file_size());
    EXPECT_EQ((*copied)->metadata().size(), (*mapped)->metadata().size());
    ASSERT_EQ((*copied)->tensors().size(), (*mapped)->tensors().size()) << e.path();
    for (size_t i = 0; i < (*mapped)->tensors().size(); ++i) {
      const TensorView& a = (*mapped)->tensors()[i];
      const TensorView& b = (*copied)->tensors()[i];
      EXPECT_EQ(a.name, b.name);
      ASSERT_EQ(a.n_bytes(), b.n_bytes());
      EXPECT_NE(a.data, b.data);
      EXPECT_EQ(std::memcmp(a.data, b.data, a.n_bytes()), 0) << e.path() << " tensor " << a.name;
    }
    if ((*copied)->huge_pages()) {
      const uint8_t* start = static_cast<const uint8_t*>((*copied)->tensors()[0].data) - (*copied)->data_offset() -
                             (*copied)->tensor_infos()[0].offset;
      EXPECT_EQ(reinterpret_cast<uintptr_t>(start) % (uintptr_t{2} << 20), 0u) << e.path();
    }
    ++n_files;
  }
  EXPECT_EQ(n_files, 15);
}

struct ModelFacts {
  const char* file;
  size_t bytes;
  const char* arch;
  int n_tensors;
  int64_t n_embd;
  int64_t n_layer;
  int64_t file_type;  // -1: key absent
  int64_t n_vocab;
};

TEST(GgufShippedTest, ModelFactsFromReadme) {
  if (!std::filesystem::exists(TestData() / "models")) GTEST_SKIP() << "testdata absent: " << TestData();
  const ModelFacts facts[] = {
      {"stories260K.gguf", 1185376, "llama", 48, 64, 5, -1, 512},
      {"tiny-llama-F32.gguf", 5784960, "llama", 21, 256, 2, 0, 512},
      {"tiny-llama-BF16.gguf", 2901408, "llama", 21, 256, 2, 32, 512},
      {"tiny-llama-F16.gguf", 2901408, "llama", 21, 256, 2, 1, 512},
      {"tiny-llama-IQ4_XS.gguf", 821664, "llama", 21, 256, 2, 30, 512},
      {"tiny-llama-Q2_K.gguf", 602016, "llama", 21, 256, 2, 10, 512},
      {"tiny-llama-Q3_K_M.gguf", 757664, "llama", 21, 256, 2, 12, 512},
      {"tiny-llama-Q4_0.gguf", 862624, "llama", 21, 256, 2, 2, 512},
      {"tiny-llama-Q4_K_M.gguf", 904864, "llama", 21, 256, 2, 15, 512},
      {"tiny-llama-Q5_K_M.gguf", 1048224, "llama", 21, 256, 2, 17, 512},
      {"tiny-llama-Q6_K.gguf", 1200544, "llama", 21, 256, 2, 18, 512},
      {"tiny-llama-Q8_0.gguf", 1549728, "llama", 21, 256, 2, 7, 512},
      // phi3: token_embd, 2 x (attn_norm, attn_qkv, attn_output, ffn_norm, ffn_up, ffn_down), output_norm, output
      {"tiny-phi3-Q4_K_M.gguf", 12904384, "phi3", 15, 256, 2, 15, 32064},
      // qwen2: token_embd, 2 x (attn_norm, q, k, v, 3 biases, attn_output, ffn_norm, gate, down, up), output_norm
      {"tiny-qwen2-Q4_K_M.gguf", 13275552, "qwen2", 26, 256, 2, 15, 50257},
      {"tiny-qwen2-Q8_0.gguf", 17118784, "qwen2", 26, 256, 2, 7, 50257},
  };
  for (const ModelFacts& m : facts) {
    SCOPED_TRACE(m.file);
    StatusOr<std::unique_ptr<GgufFile>> f = GgufFile::Open((TestData() / "models" / m.file).string());
    ASSERT_TRUE(f.ok()) << f.status().ToString();
    const GgufFile& g = **f;
    const std::string a = m.arch;
    EXPECT_EQ(g.file_size(), m.bytes);
    EXPECT_EQ(g.architecture(), a);
    EXPECT_EQ(g.alignment(), 32u);
    EXPECT_EQ(static_cast<int>(g.tensors().size()), m.n_tensors);
    EXPECT_EQ(*g.GetInt(a + ".embedding_length"), m.n_embd);
    EXPECT_EQ(*g.GetInt(a + ".block_count"), m.n_layer);
    EXPECT_EQ(*g.GetIntOr("general.file_type", -1), m.file_type);
    EXPECT_EQ(static_cast<int64_t>(g.GetStringArray("tokenizer.ggml.tokens")->size()), m.n_vocab);
    if (a != "llama" || m.n_embd == 256) {
      EXPECT_EQ(*g.GetInt(a + ".context_length"), 512);
      EXPECT_EQ(*g.GetInt(a + ".rope.dimension_count"), 64);
    }
    const TensorView* embd = g.FindTensor("token_embd.weight");
    ASSERT_NE(embd, nullptr);
    EXPECT_EQ(embd->ne[0], m.n_embd);
    EXPECT_EQ(embd->ne[1], m.n_vocab);
    const TensorView* norm = g.FindTensor("output_norm.weight");
    ASSERT_NE(norm, nullptr);
    EXPECT_EQ(norm->type, GgmlType::kF32);
    EXPECT_EQ(norm->n_dims, 1);
  }
}

TEST(GgufShippedTest, TinyLlamaQ4KMTensorTypesAndShapes) {
  const auto path = TestData() / "models" / "tiny-llama-Q4_K_M.gguf";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << "testdata absent: " << path;
  StatusOr<std::unique_ptr<GgufFile>> f = GgufFile::Open(path.string());
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  const GgufFile& g = **f;
  const std::map<std::string, std::pair<GgmlType, std::vector<int64_t>>> want = {
      {"token_embd.weight", {GgmlType::kQ4_K, {256, 512}}},
      {"output.weight", {GgmlType::kQ6_K, {256, 512}}},
      {"output_norm.weight", {GgmlType::kF32, {256}}},
      {"blk.0.attn_v.weight", {GgmlType::kQ4_K, {256, 128}}},
      {"blk.1.attn_v.weight", {GgmlType::kQ6_K, {256, 128}}},
      {"blk.0.ffn_down.weight", {GgmlType::kQ4_K, {512, 256}}},
      {"blk.1.ffn_down.weight", {GgmlType::kQ6_K, {512, 256}}},
      {"blk.1.ffn_gate.weight", {GgmlType::kQ4_K, {256, 512}}},
      {"blk.0.attn_norm.weight", {GgmlType::kF32, {256}}},
  };
  for (const auto& [name, tw] : want) {
    const TensorView* t = g.FindTensor(name);
    ASSERT_NE(t, nullptr) << name;
    EXPECT_EQ(t->type, tw.first) << name;
    ASSERT_EQ(t->n_dims, static_cast<int>(tw.second.size())) << name;
    for (size_t d = 0; d < tw.second.size(); ++d) EXPECT_EQ(t->ne[d], tw.second[d]) << name;
  }
  // Norm weights are 1 + 0.1*N(0,1): every element positive and near 1.
  const TensorView* norm = g.FindTensor("output_norm.weight");
  const float* w = static_cast<const float*>(norm->data);
  for (int i = 0; i < 256; ++i) {
    EXPECT_GT(w[i], 0.4f);
    EXPECT_LT(w[i], 1.6f);
  }
}

TEST(GgufShippedTest, VocabFactsFromReadme) {
  if (!std::filesystem::exists(TestData() / "vocab")) GTEST_SKIP() << "testdata absent: " << TestData();
  struct VocabFacts {
    const char* file;
    const char* arch;
    const char* model;
    int64_t n_vocab;
  };
  const VocabFacts facts[] = {
      {"ggml-vocab-bert-bge.gguf", "bert", "bert", 30522},
      {"ggml-vocab-deepseek-coder.gguf", "llama", "gpt2", 32256},
      {"ggml-vocab-falcon.gguf", "falcon", "gpt2", 65024},
      {"ggml-vocab-gpt-2.gguf", "gpt2", "gpt2", 50257},
      {"ggml-vocab-llama-spm.gguf", "llama", "llama", 32000},
      {"ggml-vocab-phi-3.gguf", "phi3", "llama", 32064},
      {"ggml-vocab-qwen2.gguf", "qwen2", "gpt2", 151936},
      {"ggml-vocab-llama-bpe.gguf", "llama", "gpt2", 128256},
      {"ggml-vocab-baichuan.gguf", "baichuan", "llama", 64000},
  };
  for (const VocabFacts& v : facts) {
    SCOPED_TRACE(v.file);
    StatusOr<std::unique_ptr<GgufFile>> f = GgufFile::Open((TestData() / "vocab" / v.file).string());
    ASSERT_TRUE(f.ok()) << f.status().ToString();
    EXPECT_EQ((*f)->architecture(), v.arch);
    EXPECT_EQ(*(*f)->GetString("tokenizer.ggml.model"), v.model);
    EXPECT_EQ(static_cast<int64_t>((*f)->GetStringArray("tokenizer.ggml.tokens")->size()), v.n_vocab);
  }
}

}  // namespace
}  // namespace isv
