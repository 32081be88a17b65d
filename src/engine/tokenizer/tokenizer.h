// Tokenizer: text <-> token ids for a model's vocabulary, built from GGUF metadata
// (tokenizer.ggml.*): SentencePiece-style ("llama"), byte-level BPE ("gpt2", with the
// pre-tokenizer named by tokenizer.ggml.pre) and WordPiece ("bert"). Behaves like llama.cpp's
// llama_tokenize / llama_token_to_piece / llama_detokenize on the same file.
//
// Implementation: vocab.h (metadata and llama.cpp's defaults/fix-ups), special_tokens.cc (special
// token split), spm_tokenizer.cc, bpe_tokenizer.cc + pretokenizer.h, wordpiece_tokenizer.cc.
// Conformance: llama.cpp's vocab test vectors, special-token and model goldens (tests/engine/tokenizer).
//
// Thread-safety: immutable after construction; Encode/Decode may be called concurrently.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace isv {

class GgufFile;

// Token attributes from tokenizer.ggml.token_type (values as in GGUF).
enum class TokenType : int32_t {
  kUndefined = 0, kNormal = 1, kUnknown = 2, kControl = 3, kUserDefined = 4, kUnused = 5, kByte = 6,
};

class Tokenizer {
 public:
  // Reads the vocabulary from `file` (a full model or a vocab-only file). The Tokenizer copies what
  // it needs; `file` may be destroyed afterwards. Errors name the key that is missing or malformed.
  static StatusOr<std::unique_ptr<Tokenizer>> FromGguf(const GgufFile& file);
  virtual ~Tokenizer() = default;

  // Token ids of `text` (any bytes; invalid UTF-8 is handled as llama.cpp does). add_special: add
  // BOS (and EOS) as the vocabulary's add_bos / add_eos say (WordPiece: [CLS] ... [SEP]).
  // parse_special: recognise CONTROL tokens written in the text (USER_DEFINED ones always are;
  // UNUSED ones never). Ordinary text never yields a CONTROL token... except where llama.cpp itself
  // promotes an ordinary BPE token to CONTROL (e.g. Qwen's "</s>", see vocab.h).
  virtual std::vector<int32_t> Encode(std::string_view text, bool add_special, bool parse_special) const = 0;

  // The bytes of token `id` as llama_token_to_piece(lstrip = 0) gives them: SPM/WordPiece turn
  // U+2581 into spaces, byte-level BPE maps code points back to bytes, <0xNN> tokens give the byte.
  // CONTROL and UNKNOWN tokens render as their text only when `special` is true (else ""),
  // USER_DEFINED ones always; UNUSED/UNDEFINED ones and out-of-range ids give "". May be a partial
  // UTF-8 character (see StreamDecoder).
  virtual std::string TokenToPiece(int32_t id, bool special) const = 0;

  // llama_detokenize: the text of `ids`. SPM drops one leading space of the first piece (unless
  // remove_special removed a leading BOS); remove_special drops a leading BOS / trailing EOS where
  // add_bos / add_eos are set; unparse_special renders control tokens as text; vocabularies with
  // clean_spaces (gpt-2, llama-bpe, ...) then apply " ," -> "," style clean-up.
  virtual std::string Decode(const std::vector<int32_t>& ids, bool remove_special, bool unparse_special) const = 0;

  virtual int32_t n_vocab() const = 0;
  virtual int32_t bos() const = 0;   // -1 when none
  virtual int32_t eos() const = 0;   // -1 when none
  virtual bool add_bos() const = 0;
  virtual bool add_eos() const = 0;
  // End-of-generation tokens (EOS, EOT, EOM and the vocabulary's other stop tokens).
  virtual bool IsEog(int32_t id) const = 0;
  virtual TokenType token_type(int32_t id) const = 0;
  virtual const std::string& token_text(int32_t id) const = 0;  // the raw vocabulary string
};

// Turns a stream of token ids into text without ever emitting a partial UTF-8 character: bytes of an
// incomplete character (e.g. split across byte-fallback tokens) are held until it completes. The
// text is that of TokenToPiece (an SPM vocabulary's first piece keeps its leading space).
class StreamDecoder {
 public:
  // `tokenizer` must outlive the decoder.
  explicit StreamDecoder(const Tokenizer& tokenizer, bool special = false)
      : tokenizer_(tokenizer), special_(special) {}
  // The text that became complete with this token (possibly "").
  std::string Push(int32_t id);
  // Whatever is still held (an invalid/incomplete tail is returned as is).
  std::string Flush();

 private:
  const Tokenizer& tokenizer_;
  bool special_;
  std::string pending_;
};

}  // namespace isv
