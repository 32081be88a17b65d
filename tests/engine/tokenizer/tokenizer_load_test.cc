// Loading a tokenizer from malformed tokenizer.ggml.* metadata: refused with an error that names
// the file and the key, never a crash.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "engine/gguf/gguf_file.h"
#include "engine/gguf/gguf_writer.h"
#include "engine/tokenizer/tokenizer.h"

namespace isv {
namespace {

struct VocabSpec {
  std::string model = "llama";
  bool with_tokens = true;
  size_t n_scores = 4;
  size_t n_types = 4;
};

Status LoadVocab(const VocabSpec& spec) {
  GgufWriter w;
  w.AddString("general.architecture", "llama");
  w.AddString("tokenizer.ggml.model", spec.model);
  if (spec.with_tokens) w.AddStringArray("tokenizer.ggml.tokens", {"<unk>", "<s>", "</s>", "\xe2\x96\x81" "a"});
  w.AddFloat32Array("tokenizer.ggml.scores", std::vector<float>(spec.n_scores, 0.0f));
  w.AddInt32Array("tokenizer.ggml.token_type", std::vector<int32_t>(spec.n_types, 1));
  StatusOr<std::unique_ptr<GgufFile>> f = GgufFile::FromBytes(w.Serialize(), "vocab.gguf");
  if (!f.ok()) return f.status();
  return Tokenizer::FromGguf(**f).status();
}

TEST(TokenizerLoadTest, WellFormedVocabularyLoads) { EXPECT_TRUE(LoadVocab({}).ok()) << LoadVocab({}).ToString(); }

TEST(TokenizerLoadTest, ErrorsNameTheFileAndKey) {
  struct Case {
    VocabSpec spec;
    const char* key;
  };
  VocabSpec no_tokens, short_scores, short_types, gpt2_without_merges;
  no_tokens.with_tokens = false;
  short_scores.n_scores = 2;
  short_types.n_types = 3;
  gpt2_without_merges.model = "gpt2";
  for (const Case& c : {Case{no_tokens, "tokenizer.ggml.tokens"}, Case{short_scores, "tokenizer.ggml.scores"},
                        Case{short_types, "tokenizer.ggml.token_type"},
                        Case{gpt2_without_merges, "tokenizer.ggml.merges"}}) {
    const Status s = LoadVocab(c.spec);
    ASSERT_FALSE(s.ok()) << c.key;
    EXPECT_EQ(s.message().rfind("vocab.gguf: ", 0), 0u) << s.message();
    EXPECT_NE(s.message().find(c.key), std::string::npos) << s.message();
  }
}

}  // namespace
}  // namespace isv
