// Tokenizer built from a Vocab: dispatches Encode to the SPM / BPE / WordPiece encoders after the
// special-token split, and implements llama.cpp's token-to-piece and detokenize rules.
#include "engine/tokenizer/tokenizer.h"

#include <cstdio>
#include <cstdlib>

#include "engine/gguf/gguf_file.h"
#include "engine/tokenizer/encoders.h"
#include "engine/tokenizer/unicode.h"
#include "engine/tokenizer/vocab.h"

namespace isv {
namespace {

constexpr std::string_view kSpaceMarker = "\xE2\x96\x81";  // U+2581

std::string ReplaceAll(std::string_view s, std::string_view from, std::string_view to) {
  std::string out;
  out.reserve(s.size());
  size_t pos = 0;
  while (true) {
    size_t hit = s.find(from, pos);
    if (hit == std::string_view::npos) break;
    out.append(s.substr(pos, hit - pos)).append(to);
    pos = hit + from.size();
  }
  out.append(s.substr(pos));
  return out;
}

// Text of a byte-level BPE token: every code point back to its byte.
std::string DecodeByteLevel(const std::string& text) {
  std::string out;
  for (uint32_t cp : unicode::DecodeUtf8(text)) {
    int b = unicode::UnicodeToByte(cp);
    if (b >= 0) {
      out.push_back(static_cast<char>(b));
      continue;
    }
    std::string utf8;
    unicode::AppendUtf8(cp, &utf8);
    out += "[UNK_BYTE_0x";
    char hex[3];
    for (unsigned char c : utf8) {
      std::snprintf(hex, sizeof(hex), "%02x", c);
      out += hex;
    }
    out += text + "]";
  }
  return out;
}

// llama.cpp's clean_up_tokenization_spaces: " ?" " !" " ." " ," lose the space, a lone " ' "
// loses both, and " 's" " 'm" " 're" " 've" lose the space.
void CleanSpaces(std::string* text) {
  std::string& t = *text;
  size_t total = t.empty() ? 0 : 1;
  for (size_t i = 1, n = t.size(); i < n; ++i) {
    const char x = t[i];
    if (t[i - 1] == ' ' && (x == '?' || x == '!' || x == '.' || x == ',')) --total;
    t[total++] = x;
  }
  t.resize(total);
  total = t.empty() ? 0 : 1;
  for (size_t i = 1, n = t.size(); i < n; ++i) {
    const char x = t[i];
    if (x == '\'' && i + 1 < n && t[i - 1] == ' ' && t[i + 1] == ' ') {
      --total;       // the space before
      t[++i] = '\0';  // and the one after (skipped; a NUL is what a later look-back sees)
    }
    t[total++] = x;
  }
  t.resize(total);
  total = t.empty() ? 0 : 1;
  for (size_t i = 1, n = t.size(); i < n; ++i) {
    const char x = t[i];
    if (t[i - 1] == ' ' && x == '\'' && i + 1 < n) {
      const char x1 = t[i + 1];
      if (x1 == 's' || x1 == 'm') {
        --total;
      } else if (x1 != 't' && x1 != 'd' && i + 2 < n) {
        const char x2 = t[i + 2];
        if ((x1 == 'r' && x2 == 'e') || (x1 == 'v' && x2 == 'e')) --total;
      }
    }
    t[total++] = x;
  }
  t.resize(total);
}

class VocabTokenizer final : public Tokenizer {
 public:
  explicit VocabTokenizer(Vocab vocab) : vocab_(std::move(vocab)) {}

  Status Init() {
    if (vocab_.kind == VocabKind::kBpe) {
      ISV_ASSIGN_OR_RETURN(bpe_, BpeEncoder::Create(vocab_));
    }
    pieces_.resize(vocab_.text.size());
    for (int32_t id = 0; id < vocab_.n_tokens(); ++id) pieces_[id] = RenderPiece(id);
    return OkStatus();
  }

  std::vector<int32_t> Encode(std::string_view text, bool add_special, bool parse_special) const override {
    std::vector<int32_t> out;
    const std::vector<TextFragment> frags = PartitionSpecialTokens(vocab_, text, parse_special);
    const bool bos = add_special && (vocab_.kind == VocabKind::kWpm || vocab_.add_bos) && vocab_.bos >= 0;
    if (bos) out.push_back(vocab_.bos);
    bool prev_special = true;  // SPM: a space goes in front of the text and after each special token
    for (const TextFragment& f : frags) {
      if (f.token >= 0) {
        out.push_back(f.token);
        prev_special = true;
        continue;
      }
      std::string_view raw = text.substr(f.offset, f.length);
      switch (vocab_.kind) {
        case VocabKind::kSpm: {
          std::string s = (vocab_.add_space_prefix && prev_special) ? " " : "";
          s.append(raw);
          SpmEncode(vocab_, ReplaceAll(s, " ", kSpaceMarker), &out);
          break;
        }
        case VocabKind::kBpe:
          bpe_->Encode(raw, &out);
          break;
        case VocabKind::kWpm:
          WpmEncode(vocab_, raw, &out);
          break;
      }
      prev_special = false;
    }
    if (add_special) {
      if (vocab_.kind == VocabKind::kWpm) {
        if (vocab_.sep >= 0) out.push_back(vocab_.sep);
      } else if (vocab_.add_eos && vocab_.eos >= 0) {
        out.push_back(vocab_.eos);
      }
    }
    return out;
  }

  std::string TokenToPiece(int32_t id, bool special) const override {
    if (id < 0 || id >= vocab_.n_tokens()) return "";
    if (!special && (vocab_.attr[id] & (kAttrUnknown | kAttrControl))) return "";
    return pieces_[id];
  }

  std::string Decode(const std::vector<int32_t>& ids, bool remove_special, bool unparse_special) const override {
    size_t begin = 0, end = ids.size();
    bool remove_space = vocab_.add_space_prefix;
    if (remove_special && vocab_.add_bos && end > begin && ids[begin] == vocab_.bos) {
      remove_space = false;
      ++begin;
    }
    if (remove_special && vocab_.add_eos && end > begin && ids[end - 1] == vocab_.eos) --end;
    std::string text;
    for (size_t i = begin; i < end; ++i) {
      std::string piece = TokenToPiece(ids[i], unparse_special);
      size_t skip = (remove_space && !piece.empty() && piece[0] == ' ') ? 1 : 0;
      text.append(piece, skip);
      remove_space = false;
    }
    if (vocab_.clean_spaces) CleanSpaces(&text);
    return text;
  }

  int32_t n_vocab() const override { return vocab_.n_tokens(); }
  int32_t bos() const override { return vocab_.bos; }
  int32_t eos() const override { return vocab_.eos; }
  bool add_bos() const override { return vocab_.add_bos; }
  bool add_eos() const override { return vocab_.add_eos; }
  bool IsEog(int32_t id) const override { return id >= 0 && vocab_.eog.count(id) > 0; }
  TokenType token_type(int32_t id) const override {
    return id >= 0 && id < vocab_.n_tokens() ? vocab_.type[id] : TokenType::kUndefined;
  }
  const std::string& token_text(int32_t id) const override {
    static const std::string kEmpty;
    return id >= 0 && id < vocab_.n_tokens() ? vocab_.text[id] : kEmpty;
  }

 private:
  // The piece of `id` with special = true (llama.cpp's token-to-piece cache).
  std::string RenderPiece(int32_t id) const {
    const uint32_t attr = vocab_.attr[id];
    const std::string& text = vocab_.text[id];
    if (attr & (kAttrUnknown | kAttrControl | kAttrUserDefined)) return text;
    if (attr & kAttrNormal) {
      return vocab_.kind == VocabKind::kBpe ? DecodeByteLevel(text) : ReplaceAll(text, kSpaceMarker, " ");
    }
    if ((attr & kAttrByte) && vocab_.kind != VocabKind::kWpm && text.size() >= 5) {
      return std::string(1, static_cast<char>(std::strtol(text.substr(3, 2).c_str(), nullptr, 16)));
    }
    return "";
  }

  Vocab vocab_;
  std::unique_ptr<BpeEncoder> bpe_;
  std::vector<std::string> pieces_;
};

}  // namespace

StatusOr<std::unique_ptr<Tokenizer>> Tokenizer::FromGguf(const GgufFile& file) {
  // Errors name the file (the GgufFile getters already do; the vocabulary checks do not).
  auto named = [&file](const Status& s) {
    return s.message().rfind(file.path(), 0) == 0 ? s : s.WithContext(file.path());
  };
  StatusOr<Vocab> vocab = Vocab::Load(file);
  if (!vocab.ok()) return named(vocab.status());
  auto tok = std::make_unique<VocabTokenizer>(std::move(*vocab));
  if (Status s = tok->Init(); !s.ok()) return named(s);
  return std::unique_ptr<Tokenizer>(std::move(tok));
}

}  // namespace isv
