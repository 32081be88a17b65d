#include "engine/synth/synth_vocab.h"

#include <memory>

#include "engine/gguf/gguf_file.h"

namespace isv {
namespace {

// llama.cpp's token types.
constexpr int32_t kNormal = 1, kControl = 3, kUnused = 5;

// UTF-8 encoding of code point cp (< 0x800 here).
std::string Utf8(uint32_t cp) {
  std::string s;
  if (cp < 0x80) {
    s += static_cast<char>(cp);
  } else {
    s += static_cast<char>(0xC0 | (cp >> 6));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  }
  return s;
}

// GPT-2's printable spelling of each byte: printable Latin-1 bytes stand for themselves, the
// others map in order to U+0100 and up.
std::vector<std::string> ByteSpellings() {
  std::vector<std::string> out(256);
  uint32_t next = 256;
  for (uint32_t b = 0; b < 256; ++b) {
    const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
    out[b] = Utf8(printable ? b : next++);
  }
  return out;
}

}  // namespace

StatusOr<GgufKvList> CopyTokenizerKeys(const std::string& path, int n_vocab) {
  ISV_ASSIGN_OR_RETURN(std::unique_ptr<GgufFile> f, GgufFile::Open(path));
  const GgufValue* tokens = f->Find("tokenizer.ggml.tokens");
  if (tokens == nullptr || !tokens->is_array())
    return InvalidArgumentError(path + ": no tokenizer.ggml.tokens array");
  if (tokens->AsArray().size() != static_cast<size_t>(n_vocab))
    return InvalidArgumentError(path + ": vocabulary has " + std::to_string(tokens->AsArray().size()) +
                                " tokens, the shape needs " + std::to_string(n_vocab));
  GgufKvList out;
  for (const auto& [key, value] : f->metadata())
    if (key.rfind("tokenizer.", 0) == 0) out.emplace_back(key, value);
  return out;
}

StatusOr<GgufKvList> ByteLevelVocab(int n_vocab) {
  if (n_vocab < 257) return InvalidArgumentError("a byte-level vocabulary needs at least 257 tokens");
  GgufArray tokens(GgufType::kString);
  GgufArray types(GgufType::kInt32);
  tokens.reserve(n_vocab);
  types.reserve(n_vocab);
  auto add = [&](std::string text, int64_t type) {
    tokens.push_back(GgufValue(GgufType::kString, std::move(text)));
    types.push_back(GgufValue(GgufType::kInt32, type));
  };
  for (const std::string& s : ByteSpellings()) add(s, kNormal);
  add("<|endoftext|>", kControl);
  for (int id = 257; id < n_vocab; ++id) add("[PAD" + std::to_string(id) + "]", kUnused);
  GgufKvList out;
  out.emplace_back("tokenizer.ggml.model", GgufValue(GgufType::kString, std::string("gpt2")));
  out.emplace_back("tokenizer.ggml.pre", GgufValue(GgufType::kString, std::string("default")));
  out.emplace_back("tokenizer.ggml.tokens", GgufValue(GgufType::kArray, std::move(tokens)));
  out.emplace_back("tokenizer.ggml.token_type", GgufValue(GgufType::kArray, std::move(types)));
  out.emplace_back("tokenizer.ggml.merges", GgufValue(GgufType::kArray, GgufArray(GgufType::kString)));
  out.emplace_back("tokenizer.ggml.bos_token_id", GgufValue(GgufType::kUint32, uint64_t{256}));
  out.emplace_back("tokenizer.ggml.eos_token_id", GgufValue(GgufType::kUint32, uint64_t{256}));
  return out;
}

}  // namespace isv
