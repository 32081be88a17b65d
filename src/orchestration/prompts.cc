#include "orchestration/prompts.h"

#include <cctype>
#include <string>

namespace isv::prompts {
namespace {

std::string LowerHead(std::string_view text, size_t n) {
  size_t i = 0;
  while (i < text.size() && (std::isspace(static_cast<unsigned char>(text[i])) ||
                             std::string_view("*#>\"'`_-").find(text[i]) != std::string_view::npos))
    ++i;
  std::string out;
  for (; i < text.size() && out.size() < n; ++i) {
    char c = static_cast<char>(std::tolower(static_cast<unsigned char>(text[i])));
    out.push_back(c == '\xe2' ? '\'' : c);           // a curly apostrophe's lead byte (see below)
    if (c == '\xe2' && i + 2 < text.size()) i += 2;  // U+2019 is 3 bytes: E2 80 99
  }
  return out;
}

}  // namespace

bool IsRefusal(std::string_view text) {
  static const char* kPhrases[] = {"i can't",       "i cannot",      "i can not",   "i'm sorry",
                                   "i am sorry",    "sorry, i",      "as an ai",    "i won't",
                                   "i will not",    "i'm unable",    "i am unable", "i'm not able",
                                   "i am not able", "i must decline"};
  std::string head = LowerHead(text, 40);
  for (const char* p : kPhrases) {
    if (head.rfind(p, 0) == 0) return true;
  }
  return false;
}

bool IsApproval(std::string_view text) {
  std::string head = LowerHead(text, 9);
  if (head.rfind("approved", 0) != 0) return false;
  return head.size() == 8 || !std::isalnum(static_cast<unsigned char>(head[8]));
}

int CitedAnswer(std::string_view text, int n) {
  std::string lower;
  for (size_t i = 0; i < text.size() && i < 200; ++i)
    lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(text[i]))));
  size_t pos = 0;
  while ((pos = lower.find("answer", pos)) != std::string::npos) {
    size_t i = pos + 6;
    while (i < lower.size() && (lower[i] == ' ' || lower[i] == '#')) ++i;
    int v = 0;
    size_t digits = 0;
    while (i < lower.size() && std::isdigit(static_cast<unsigned char>(lower[i])) && digits < 3) {
      v = v * 10 + (lower[i] - '0');
      ++i;
      ++digits;
    }
    if (digits > 0 && v >= 1 && v <= n) return v;
    pos += 6;
  }
  return 0;
}

}  // namespace isv::prompts
