// SentencePiece-style tokenization as llama.cpp's llm_tokenizer_spm does it: start from single
// UTF-8 characters, repeatedly merge the adjacent pair whose concatenation is the vocabulary token
// with the highest score (ties: leftmost), then emit each symbol as its token or, failing that, as
// byte-fallback tokens <0xNN>.
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
  size_t start;  // byte offset in the text
  size_t n;      // bytes; 0 once merged into its left neighbour
};

struct Bigram {
  int left;
  int right;
  float score;
  size_t size;
};

struct BigramOrder {
  // std::priority_queue puts the "largest" on top: highest score, then smallest left index.
  bool operator()(const Bigram& a, const Bigram& b) const {
    return a.score < b.score || (a.score == b.score && a.left > b.left);
  }
};

int32_t ByteToken(const Vocab& vocab, uint8_t byte) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  const char buf[7] = {'<', '0', 'x', kHex[byte >> 4], kHex[byte & 15], '>', 0};
  int32_t id = vocab.Find(buf);
  if (id >= 0) return id;
  id = vocab.Find(std::string(1, static_cast<char>(byte)));
  return id >= 0 ? id : vocab.unk;
}

}  // namespace

void SpmEncode(const Vocab& vocab, std::string_view text, std::vector<int32_t>* out) {
  std::vector<Symbol> symbols;
  for (size_t offs = 0; offs < text.size();) {
    size_t len = std::min(unicode::Utf8SeqLen(text[offs]), text.size() - offs);
    int index = static_cast<int>(symbols.size());
    symbols.push_back({index - 1, offs + len == text.size() ? -1 : index + 1, offs, len});
    offs += len;
  }
  std::priority_queue<Bigram, std::vector<Bigram>, BigramOrder> queue;
  auto try_add = [&](int left, int right) {
    if (left < 0 || right < 0) return;
    const size_t size = symbols[left].n + symbols[right].n;
    int32_t id = vocab.Find(text.substr(symbols[left].start, size));
    if (id < 0) return;
    queue.push({left, right, vocab.score[id], size});
  };
  for (int i = 1; i < static_cast<int>(symbols.size()); ++i) try_add(i - 1, i);

  while (!queue.empty()) {
    Bigram b = queue.top();
    queue.pop();
    Symbol& left = symbols[b.left];
    Symbol& right = symbols[b.right];
    if (left.n == 0 || right.n == 0 || left.n + right.n != b.size) continue;  // stale
    left.n += right.n;
    right.n = 0;
    left.next = right.next;
    if (right.next >= 0) symbols[right.next].prev = b.left;
    try_add(left.prev, b.left);
    try_add(b.left, left.next);
  }

  for (int i = symbols.empty() ? -1 : 0; i != -1; i = symbols[i].next) {
    const Symbol& s = symbols[i];
    std::string_view piece = text.substr(s.start, s.n);
    int32_t id = vocab.Find(piece);
    if (id >= 0) {
      out->push_back(id);
      continue;
    }
    for (char c : piece) {
      int32_t byte_id = ByteToken(vocab, static_cast<uint8_t>(c));
      if (byte_id >= 0) out->push_back(byte_id);
    }
  }
}

}  // namespace isv
