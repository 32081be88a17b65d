// Byte-level BPE as llama.cpp's llm_tokenizer_bpe: pre-tokenize, map every byte of a word to its
// GPT-2 code point, then repeatedly merge the adjacent pair with the lowest merge rank (ties:
// leftmost). Symbols that are not tokens fall back to single-byte tokens where those exist.
#include <queue>
#include <string>
#include <vector>

#include "engine/tokenizer/encoders.h"
#include "engine/tokenizer/unicode.h"

namespace isv {
namespace {

struct Symbol {
  int prev;
  int next;
  size_t start;
  size_t n;
};

struct Bigram {
  int left;
  int right;
  int rank;
  std::string text;
};

struct BigramOrder {
  // Top of the queue: lowest rank, then smallest left index.
  bool operator()(const Bigram& a, const Bigram& b) const {
    return a.rank > b.rank || (a.rank == b.rank && a.left > b.left);
  }
};

}  // namespace

StatusOr<std::unique_ptr<BpeEncoder>> BpeEncoder::Create(const Vocab& vocab) {
  ISV_ASSIGN_OR_RETURN(PreTokenizerInfo info, ResolvePreTokenizer(vocab.pre));
  ISV_ASSIGN_OR_RETURN(std::unique_ptr<PreTokenizer> pre, PreTokenizer::Create(info.family));
  return std::unique_ptr<BpeEncoder>(new BpeEncoder(vocab, std::move(pre)));
}

void BpeEncoder::Encode(std::string_view text, std::vector<int32_t>* out) const {
  for (const std::string& word : pre_->Split(text)) {
    std::string encoded;
    encoded.reserve(word.size() * 2);
    for (char c : word) encoded += unicode::ByteToUnicode(static_cast<uint8_t>(c));
    EncodeWord(encoded, out);
  }
}

void BpeEncoder::EncodeWord(const std::string& word, std::vector<int32_t>* out) const {
  if (word.empty()) return;
  if (vocab_.ignore_merges) {
    int32_t id = vocab_.Find(word);
    if (id >= 0) {
      out->push_back(id);
      return;
    }
  }
  std::vector<Symbol> symbols;
  for (size_t offs = 0; offs < word.size();) {
    size_t len = std::min(unicode::Utf8SeqLen(word[offs]), word.size() - offs);
    int index = static_cast<int>(symbols.size());
    symbols.push_back({index - 1, offs + len == word.size() ? -1 : index + 1, offs, len});
    offs += len;
  }
  std::string_view w(word);
  auto text_of = [&](const Symbol& s) { return w.substr(s.start, s.n); };
  std::priority_queue<Bigram, std::vector<Bigram>, BigramOrder> queue;
  auto try_add = [&](int left, int right) {
    if (left < 0 || right < 0) return;
    int rank = vocab_.MergeRank(text_of(symbols[left]), text_of(symbols[right]));
    if (rank < 0) return;
    queue.push({left, right, rank, std::string(w.substr(symbols[left].start, symbols[left].n + symbols[right].n))});
  };
  for (int i = 1; i < static_cast<int>(symbols.size()); ++i) try_add(i - 1, i);

  while (!queue.empty()) {
    Bigram b = queue.top();
    queue.pop();
    Symbol& left = symbols[b.left];
    Symbol& right = symbols[b.right];
    if (left.n == 0 || right.n == 0) continue;
    if (left.n + right.n != b.text.size() || w.substr(left.start, left.n + right.n) != b.text) continue;  // stale
    left.n += right.n;
    right.n = 0;
    left.next = right.next;
    if (right.next >= 0) symbols[right.next].prev = b.left;
    try_add(left.prev, b.left);
    try_add(b.left, left.next);
  }

  for (const Symbol& s : symbols) {
    if (s.n == 0) continue;
    std::string_view piece = text_of(s);
    int32_t id = vocab_.Find(piece);
    if (id >= 0) {
      out->push_back(id);
      continue;
    }
    for (char c : piece) {  // single (encoded) bytes that happen to be tokens
      int32_t byte_id = vocab_.Find(std::string(1, c));
      if (byte_id >= 0) out->push_back(byte_id);
    }
  }
}

}  // namespace isv
