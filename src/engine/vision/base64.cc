#include "engine/vision/base64.h"

#include <cstdint>

namespace isv {
namespace {

// The 6-bit value of a base64 digit, -1 for a non-digit.
int DigitValue(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+' || c == '-') return 62;
  if (c == '/' || c == '_') return 63;
  return -1;
}

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

bool StartsWithNoCase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    char c = s[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != prefix[i]) return false;
  }
  return true;
}

}  // namespace

StatusOr<std::string> DecodeBase64(std::string_view text) {
  std::string out;
  out.reserve(text.size() / 4 * 3);
  uint32_t acc = 0;
  int n_digits = 0;   // digits in the current 4-digit group
  int n_padding = 0;  // '=' seen
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (IsSpace(c)) continue;
    if (c == '=') {
      if (n_digits < 2) return InvalidArgumentError("base64: misplaced '=' at offset " + std::to_string(i));
      ++n_padding;
      if (n_digits + n_padding > 4) return InvalidArgumentError("base64: too much '=' padding at offset " + std::to_string(i));
      continue;
    }
    const int v = DigitValue(c);
    if (v < 0) return InvalidArgumentError("base64: invalid character at offset " + std::to_string(i));
    if (n_padding > 0) return InvalidArgumentError("base64: data after '=' padding at offset " + std::to_string(i));
    acc = (acc << 6) | static_cast<uint32_t>(v);
    if (++n_digits == 4) {
      out.push_back(static_cast<char>(acc >> 16));
      out.push_back(static_cast<char>((acc >> 8) & 0xFF));
      out.push_back(static_cast<char>(acc & 0xFF));
      acc = 0;
      n_digits = 0;
    }
  }
  if (n_padding > 0 && n_digits + n_padding != 4) return InvalidArgumentError("base64: incomplete '=' padding");
  if (n_digits == 1) return InvalidArgumentError("base64: truncated input (a dangling digit at the end)");
  if (n_digits == 2) out.push_back(static_cast<char>(acc >> 4));
  if (n_digits == 3) {
    out.push_back(static_cast<char>(acc >> 10));
    out.push_back(static_cast<char>((acc >> 2) & 0xFF));
  }
  return out;
}

StatusOr<DataUrl> ParseDataUrl(std::string_view url) {
  if (!StartsWithNoCase(url, "data:")) return InvalidArgumentError("not a data: URL");
  const size_t comma = url.find(',');
  if (comma == std::string_view::npos) return InvalidArgumentError("data: URL without ',' before its payload");
  std::string_view header = url.substr(5, comma - 5);
  constexpr std::string_view kBase64 = ";base64";
  if (header.size() < kBase64.size() || !StartsWithNoCase(header.substr(header.size() - kBase64.size()), kBase64))
    return InvalidArgumentError("data: URL is not base64-encoded (expected ';base64,' before the payload)");
  header.remove_suffix(kBase64.size());
  DataUrl result;
  result.media_type = std::string(header.substr(0, header.find(';')));
  ISV_ASSIGN_OR_RETURN(result.bytes, DecodeBase64(url.substr(comma + 1)));
  return result;
}

StatusOr<std::string> DecodeImagePayload(std::string_view text) {
  if (StartsWithNoCase(text, "data:")) {
    ISV_ASSIGN_OR_RETURN(DataUrl url, ParseDataUrl(text));
    return std::move(url.bytes);
  }
  return DecodeBase64(text);
}

}  // namespace isv
