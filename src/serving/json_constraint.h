// JsonConstraint: an incremental checker for "the text so far is the beginning of one JSON object"
// (OpenAI's response_format {"type": "json_object"}). Generation feeds it each token's text; the
// sampler only considers tokens whose text keeps the prefix valid, and generation ends when the
// object is complete.
//
//   JsonConstraint c;
//   JsonConstraint probe = c;               // cheap copy (no heap)
//   if (probe.Feed(piece)) { /* token allowed */ }
//   c.Feed(chosen_piece); if (c.done()) stop;
//
// Grammar: RFC 8259 values, top level an object that starts at the first byte (no leading
// whitespace), nesting up to 64 levels, at most 16 whitespace bytes in a row (so that a model
// cannot pad forever). Bytes >= 0x80 are accepted inside strings
// (UTF-8 validity is the decoder's business). Plain value type; not synchronised.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace isv {

class JsonConstraint {
 public:
  // Feeds `text`; returns false (and the state is then unspecified) if some byte cannot continue a
  // JSON object prefix. An empty text is accepted.
  bool Feed(std::string_view text);
  // True once the top-level object has been closed.
  bool done() const { return state_ == State::kDone; }

 private:
  enum class State : uint8_t {
    kTop,
    kValue,
    kArrayValueOrEnd,
    kObjectKeyOrEnd,
    kObjectKey,
    kColon,
    kAfterValue,
    kString,
    kStringEscape,
    kStringUnicode,
    kNumMinus,
    kNumZero,
    kNumInt,
    kNumFracStart,
    kNumFrac,
    kNumExpStart,
    kNumExpSign,
    kNumExp,
    kLiteral,
    kDone,
  };
  static constexpr int kMaxDepth = 64;
  static constexpr int kMaxWhitespace = 16;

  bool Step(unsigned char c);
  bool StartValue(unsigned char c);
  bool Close(unsigned char c);
  bool Whitespace();
  void ValueDone() { state_ = depth_ == 0 ? State::kDone : State::kAfterValue; }

  State state_ = State::kTop;
  bool string_is_key_ = false;
  uint8_t unicode_left_ = 0;
  uint8_t ws_run_ = 0;
  const char* literal_ = nullptr;  // "true" / "false" / "null" while in kLiteral
  uint8_t literal_pos_ = 0;
  int depth_ = 0;
  std::array<char, kMaxDepth> stack_{};  // '{' or '['
};

}  // namespace isv
