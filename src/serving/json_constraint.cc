#include "serving/json_constraint.h"

namespace isv {
namespace {

bool IsWs(unsigned char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }
bool IsDigit(unsigned char c) { return c >= '0' && c <= '9'; }
bool IsHex(unsigned char c) {
  return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

}  // namespace

bool JsonConstraint::Feed(std::string_view text) {
  for (char ch : text) {
    if (!Step(static_cast<unsigned char>(ch))) return false;
  }
  return true;
}

bool JsonConstraint::Whitespace() { return ++ws_run_ <= kMaxWhitespace; }

bool JsonConstraint::StartValue(unsigned char c) {
  switch (c) {
    case '{':
    case '[':
      if (depth_ == kMaxDepth) return false;
      stack_[depth_++] = static_cast<char>(c);
      state_ = c == '{' ? State::kObjectKeyOrEnd : State::kArrayValueOrEnd;
      return true;
    case '"':
      state_ = State::kString;
      string_is_key_ = false;
      return true;
    case '-':
      state_ = State::kNumMinus;
      return true;
    case '0':
      state_ = State::kNumZero;
      return true;
    case 't':
      literal_ = "true";
      break;
    case 'f':
      literal_ = "false";
      break;
    case 'n':
      literal_ = "null";
      break;
    default:
      if (c >= '1' && c <= '9') {
        state_ = State::kNumInt;
        return true;
      }
      return false;
  }
  literal_pos_ = 1;
  state_ = State::kLiteral;
  return true;
}

bool JsonConstraint::Close(unsigned char c) {
  if (depth_ == 0) return false;
  char open = stack_[depth_ - 1];
  if ((c == '}' && open != '{') || (c == ']' && open != '[')) return false;
  --depth_;
  ValueDone();
  return true;
}

bool JsonConstraint::Step(unsigned char c) {
  bool in_token = state_ == State::kString || state_ == State::kStringEscape ||
                  state_ == State::kStringUnicode || state_ == State::kLiteral ||
                  (state_ >= State::kNumMinus && state_ <= State::kNumExp);
  if (!in_token && IsWs(c)) return state_ != State::kDone && state_ != State::kTop && Whitespace();
  if (!in_token) ws_run_ = 0;
  switch (state_) {
    case State::kTop:
      if (c != '{') return false;
      return StartValue(c);
    case State::kValue:
      return StartValue(c);
    case State::kArrayValueOrEnd:
      return c == ']' ? Close(c) : StartValue(c);
    case State::kObjectKeyOrEnd:
      if (c == '}') return Close(c);
      [[fallthrough]];
    case State::kObjectKey:
      if (c != '"') return false;
      state_ = State::kString;
      string_is_key_ = true;
      return true;
    case State::kColon:
      if (c != ':') return false;
      state_ = State::kValue;
      return true;
    case State::kAfterValue:
      if (c == ',') {
        state_ = stack_[depth_ - 1] == '{' ? State::kObjectKey : State::kValue;
        return true;
      }
      return (c == '}' || c == ']') && Close(c);
    case State::kString:
      if (c == '"') {
        if (string_is_key_) {
          state_ = State::kColon;
        } else {
          ValueDone();
        }
        return true;
      }
      if (c == '\\') {
        state_ = State::kStringEscape;
        return true;
      }
      return c >= 0x20;
    case State::kStringEscape:
      if (c == 'u') {
        state_ = State::kStringUnicode;
        unicode_left_ = 4;
        return true;
      }
      if (c == '"' || c == '\\' || c == '/' || c == 'b' || c == 'f' || c == 'n' || c == 'r' ||
          c == 't') {
        state_ = State::kString;
        return true;
      }
      return false;
    case State::kStringUnicode:
      if (!IsHex(c)) return false;
      if (--unicode_left_ == 0) state_ = State::kString;
      return true;
    case State::kNumMinus:
      if (c == '0') {
        state_ = State::kNumZero;
        return true;
      }
      if (IsDigit(c)) {
        state_ = State::kNumInt;
        return true;
      }
      return false;
    case State::kNumZero:
    case State::kNumInt:
      if (IsDigit(c) && state_ == State::kNumInt) return true;
      if (c == '.') {
        state_ = State::kNumFracStart;
        return true;
      }
      if (c == 'e' || c == 'E') {
        state_ = State::kNumExpStart;
        return true;
      }
      break;  // the number ends here
    case State::kNumFracStart:
      if (!IsDigit(c)) return false;
      state_ = State::kNumFrac;
      return true;
    case State::kNumFrac:
      if (IsDigit(c)) return true;
      if (c == 'e' || c == 'E') {
        state_ = State::kNumExpStart;
        return true;
      }
      break;
    case State::kNumExpStart:
      if (c == '+' || c == '-') {
        state_ = State::kNumExpSign;
        return true;
      }
      [[fallthrough]];
    case State::kNumExpSign:
      if (!IsDigit(c)) return false;
      state_ = State::kNumExp;
      return true;
    case State::kNumExp:
      if (IsDigit(c)) return true;
      break;
    case State::kLiteral:
      if (static_cast<char>(c) != literal_[literal_pos_]) return false;
      if (literal_[++literal_pos_] == '\0') ValueDone();
      return true;
    case State::kDone:
      return false;
  }
  // A complete number followed by a byte that is not part of it: the number is a finished value
  // (numbers never stand at the top level, so depth_ > 0) and the byte is read after it.
  ValueDone();
  return Step(c);
}

}  // namespace isv
