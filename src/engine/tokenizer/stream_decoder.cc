#include "engine/tokenizer/tokenizer.h"
#include "engine/tokenizer/unicode.h"

namespace isv {

std::string StreamDecoder::Push(int32_t id) {
  pending_ += tokenizer_.TokenToPiece(id, special_);
  const size_t n = unicode::CompleteUtf8Prefix(pending_);
  std::string out = pending_.substr(0, n);
  pending_.erase(0, n);
  return out;
}

std::string StreamDecoder::Flush() {
  std::string out;
  out.swap(pending_);
  return out;
}

}  // namespace isv
