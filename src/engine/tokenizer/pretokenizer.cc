#include "engine/tokenizer/pretokenizer.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <algorithm>
#include <initializer_list>

#include "engine/tokenizer/pretokenizer_scanners.h"
#include "engine/tokenizer/unicode.h"

namespace isv {
namespace {

using unicode::Flags;

// The expressions llama.cpp recognises and replaces by hand-written scanners.
constexpr const char* kGpt2Regex =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)";
constexpr const char* kLlama3Regex =
    "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| "
    "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
constexpr const char* kQwen2Regex =
    "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| "
    "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

const char* const kDeepseekLetters =
    "\\s?[A-Za-z\xC2\xB5\xC3\x80-\xC3\x96\xC3\x98-\xC3\xB6\xC3\xB8-\xC6\xBA\xC6\xBC-\xC6\xBF\xC7\x84-\xCA\x93"
    "\xCA\x95-\xCA\xAF\xCD\xB0-\xCD\xB3\xCD\xB6\xCD\xB7\xCD\xBB-\xCD\xBD\xCD\xBF\xCE\x86\xCE\x88-\xCE\x8A\xCE\x8C"
    "\xCE\x8E-\xCE\xA1\xCE\xA3-\xCF\xB5\xCF\xB7-\xD2\x81\xD2\x8A-\xD4\xAF\xD4\xB1-\xD5\x96\xE1\x82\xA0-\xE1\x83\x85"
    "\xE1\x8E\xA0-\xE1\x8F\xB5\xE1\x8F\xB8-\xE1\x8F\xBD\xE1\xB2\x90-\xE1\xB2\xBA\xE1\xB2\xBD-\xE1\xB2\xBF"
    "\xE1\xB4\x80-\xE1\xB4\xAB\xE1\xB5\xAB-\xE1\xB5\xB7\xE1\xB5\xB9-\xE1\xB6\x9A\xE1\xB8\x80-\xE1\xBC\x95"
    "\xE1\xBC\x98-\xE1\xBC\x9D\xE1\xBC\xA0-\xE1\xBD\x85\xE1\xBD\x88-\xE1\xBD\x8D\xE1\xBD\x90-\xE1\xBD\x97"
    "\xE1\xBD\x99\xE1\xBD\x9B\xE1\xBD\x9D\xE1\xBD\x9F-\xE1\xBD\xBD\xE1\xBE\x80-\xE1\xBE\xB4\xE1\xBE\xB6-\xE1\xBE\xBC"
    "\xE1\xBE\xBE\xE1\xBF\x82-\xE1\xBF\x84\xE1\xBF\x86-\xE1\xBF\x8C\xE1\xBF\x90-\xE1\xBF\x93\xE1\xBF\x96-\xE1\xBF\x9B"
    "\xE1\xBF\xA0-\xE1\xBF\xAC\xE1\xBF\xB2-\xE1\xBF\xB4\xE1\xBF\xB6-\xE1\xBF\xBC\xE2\x84\x82\xE2\x84\x87"
    "\xE2\x84\x8A-\xE2\x84\x93\xE2\x84\x95\xE2\x84\x99-\xE2\x84\x9D\xE2\x84\xA4\xE2\x84\xA6\xE2\x84\xA8"
    "\xE2\x84\xAA-\xE2\x84\xAD\xE2\x84\xAF-\xE2\x84\xB4\xE2\x84\xB9\xE2\x84\xBC-\xE2\x84\xBF\xE2\x85\x85-\xE2\x85\x89"
    "\xE2\x85\x8E\xE2\x86\x83\xE2\x86\x84\xE2\xB0\x80-\xE2\xB1\xBB\xE2\xB1\xBE-\xE2\xB3\xA4\xE2\xB3\xAB-\xE2\xB3\xAE"
    "\xE2\xB3\xB2\xE2\xB3\xB3\xEA\x99\x80-\xEA\x99\xAD\xEA\x9A\x80-\xEA\x9A\x9B\xEA\x9C\xA2-\xEA\x9D\xAF"
    "\xEA\x9D\xB1-\xEA\x9E\x87\xEA\x9E\x8B-\xEA\x9E\x8E\xEA\xAD\xB0-\xEA\xAE\xBF\xEF\xAC\x80-\xEF\xAC\x86"
    "\xEF\xAC\x93-\xEF\xAC\x97\xEF\xBC\xA1-\xEF\xBC\xBA\xEF\xBD\x81-\xEF\xBD\x9A\xF0\x90\x90\x80-\xF0\x90\x91\x8F"
    "\xF0\x90\x92\xB0-\xF0\x90\x93\x93\xF0\x90\x93\x98-\xF0\x90\x93\xBB\xF0\x90\xB2\x80-\xF0\x90\xB2\xB2"
    "\xF0\x90\xB3\x80-\xF0\x90\xB3\xB2\xF0\x91\xA2\xA0-\xF0\x91\xA3\x9F\xF0\x9E\xA4\x80-\xF0\x9E\xA5\x83]+";
// CJK / Hangul runs of the DeepSeek pre-tokenizers.
constexpr const char* kDeepseekCjk = "[\xE4\xB8\x80-\xE9\xBE\xA5\xE0\xA0\x80-\xE4\xB8\x80\xEA\xB0\x80-\xED\x9F\xBF]+";
constexpr const char* kDeepseekPunct =
    "\\s?[!-/:-~\xEF\xBC\x81-\xEF\xBC\x8F\xEF\xBC\x9A-\xEF\xBD\x9E\xE2\x80\x98-\xE2\x80\x9F\xE3\x80\x80-\xE3\x80\x82]+";
constexpr const char* kPoroRegex =
    " ?[^(\\s|.,!?\xE2\x80\xA6\xE3\x80\x82\xEF\xBC\x8C\xE3\x80\x81\xE0\xA5\xA4\xDB\x94\xD8\x8C)]+";
constexpr const char* kGpt4oRegex =
    "[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))*((?=[\\p{L}])([^A-Z]))+(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?"
    "|[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))+((?=[\\p{L}])([^A-Z]))*(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?"
    "|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
constexpr const char* kTekkenRegex =
    "[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))*((?=[\\p{L}])([^A-Z]))+|[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))+"
    "((?=[\\p{L}])([^A-Z]))*|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

struct Family {
  const char* name;
  std::initializer_list<const char*> regexes;
};

const Family kFamilies[] = {
    {"default", {"[\\p{P}\\$\\+<=>\\^~\\|]+", kGpt2Regex, "\\p{N}+", "[0-9][0-9][0-9]"}},
    {"gpt2", {kGpt2Regex}},
    {"llama3", {kLlama3Regex}},
    {"qwen2", {kQwen2Regex}},
    {"deepseek-llm", {"[\r\n]", kDeepseekLetters, kDeepseekPunct, "\\s+$", kDeepseekCjk, "\\p{N}+"}},
    {"deepseek-coder", {"[\r\n]", "\\s?\\p{L}+", "\\s?\\p{P}+", kDeepseekCjk, "\\p{N}"}},
    {"deepseek-v3",
     {"\\p{N}{1,3}", "[\xE4\xB8\x80-\xE9\xBE\xA5\xE3\x81\x80-\xE3\x82\x9F\xE3\x82\xA0-\xE3\x83\xBF]+",
      "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| "
      "?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+"}},
    {"falcon", {"[\\p{P}\\$\\+<=>\\^~\\|`]+", kGpt2Regex, "[0-9][0-9][0-9]"}},
    {"starcoder", {"\\p{N}", kGpt2Regex}},
    {"poro", {kPoroRegex}},
    {"viking", {kPoroRegex, "\\p{N}"}},
    {"gpt4o", {kGpt4oRegex}},
    {"tekken", {kTekkenRegex}},
    {"seed-coder",
     {"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1}| "
      "?[^\\s\\p{L}\\p{N}\\r\\n]+|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"}},
    {"bailingmoe",
     {"'(?:[sSdDmMtT]|[lL][lL]|[vV][eE]|[rR][eE])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| "
      "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]|\\s+(?!\\S)|\\s+"}},
};

bool In(const std::string& s, std::initializer_list<const char*> names) {
  for (const char* n : names) {
    if (s == n) return true;
  }
  return false;
}

// Category byte of a code point in llama.cpp's collapsed text.
char CollapsedByte(uint32_t cp) {
  if (cp < 128) return static_cast<char>(cp);
  uint16_t f = Flags(cp);
  if (f & unicode::kWhitespace) return '\x0B';
  switch (f & unicode::kCategoryMask) {
    case unicode::kNumber: return '\xD1';
    case unicode::kLetter: return '\xD2';
    case unicode::kPunctuation: return '\xD3';
    case unicode::kMark: return '\xD4';
    case unicode::kSymbol: return '\xD5';
    default: return '\xD0';
  }
}

// Rewrites \p{..} classes of `re` to the collapsed-byte classes (as llama.cpp does); sets
// *uses_categories when there was any.
std::string CollapseRegex(const std::string& re, bool* uses_categories) {
  struct Cat {
    const char* name;
    const char* cls;
  };
  static const Cat kCats[] = {
      {"\\p{N}", "\xD1" "0-9"}, {"\\p{L}", "\xD2" "A-Za-z"}, {"\\p{P}", "\xD3" "!-#%-*,-/:-;?-@\\[-\\]_\\{\\}"},
      {"\\p{M}", "\xD4"},       {"\\p{S}", "\xD5\\$\\+<->^`\\|"},
      {"\\p{Lu}", "\xD2" "A-Za-z"}, {"\\p{Ll}", "\xD2" "A-Za-z"}, {"\\p{Lt}", "\xD2" "A-Za-z"},
      {"\\p{Lm}", "\xD2" "A-Za-z"}, {"\\p{Lo}", "\xD2" "A-Za-z"},
  };
  *uses_categories = false;
  for (const Cat& c : kCats) {
    if (re.find(c.name) != std::string::npos) *uses_categories = true;
  }
  if (!*uses_categories) return re;
  std::string out;
  bool inside = false;
  for (size_t i = 0; i < re.size(); ++i) {
    if (re[i] == '[' && (i == 0 || re[i - 1] != '\\')) {
      out += '[';
      inside = true;
      continue;
    }
    if (inside && re[i] == ']' && re[i - 1] != '\\') {
      out += ']';
      inside = false;
      continue;
    }
    bool replaced = false;
    if (re.compare(i, 3, "\\p{") == 0) {
      size_t close = re.find('}', i + 3);
      if (close != std::string::npos) {
        std::string name = re.substr(i, close - i + 1);
        for (const Cat& c : kCats) {
          if (name == c.name) {
            out += inside ? "" : "[";
            out += c.cls;
            out += inside ? "" : "]";
            i = close;
            replaced = true;
            break;
          }
        }
      }
    }
    if (!replaced) out += re[i];
  }
  return out;
}

}  // namespace

StatusOr<PreTokenizerInfo> ResolvePreTokenizer(const std::string& pre) {
  PreTokenizerInfo info;
  if (pre.empty() || pre == "default") {
    info.family = "default";
  } else if (In(pre, {"llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2",
                      "jina-v5-nano", "dbrx", "smaug-bpe", "glm4", "chatglm-bpe"})) {
    info.family = "llama3";
    bool llama3 = !In(pre, {"dbrx", "smaug-bpe", "glm4", "chatglm-bpe"});
    info.ignore_merges = llama3;
    info.force_add_bos = llama3;
    info.drop_bos = In(pre, {"glm4", "chatglm-bpe"});
  } else if (pre == "deepseek-llm" || pre == "deepseek-coder") {
    info.family = pre;
    info.clean_spaces = false;
  } else if (In(pre, {"deepseek-v3", "hunyuan-dense", "joyai-llm"})) {
    info.family = "deepseek-v3";
    info.clean_spaces = false;
  } else if (pre == "falcon") {
    info.family = "falcon";
  } else if (In(pre, {"starcoder", "refact", "codeshell", "exaone", "minerva-7b", "mellum2"})) {
    info.family = "starcoder";
  } else if (In(pre, {"command-r", "smollm"})) {
    info.family = "starcoder";
    info.clean_spaces = false;
  } else if (In(pre, {"gpt-2", "phi-2", "jina-es", "jina-de", "gigachat", "jina-v2-es", "jina-v2-de", "a.x-4.0",
                      "mellum", "modern-bert", "jina-v1-en", "jina-v2-code", "roberta-bpe", "mpt", "olmo", "jais",
                      "exaone4"})) {
    info.family = "gpt2";
  } else if (In(pre, {"trillion", "granite-docling"})) {
    info.family = "gpt2";
    info.clean_spaces = false;
  } else if (In(pre, {"stablelm2", "megrez"})) {
    info.family = "qwen2";
  } else if (In(pre, {"qwen2", "deepseek-r1-qwen", "kormo", "f2llmv2", "hunyuan", "solar-open", "grok-2"})) {
    info.family = "qwen2";
    info.clean_spaces = false;
  } else if (In(pre, {"bloom", "gpt3-finnish"})) {
    info.family = "poro";
  } else if (pre == "poro-chat") {
    info.family = "poro";
    info.clean_spaces = false;
  } else if (pre == "viking") {
    info.family = "viking";
    info.clean_spaces = false;
  } else if (In(pre, {"gpt-4o", "llama4", "kanana2", "talkie", "minimax-m2"})) {
    info.family = "gpt4o";
    info.clean_spaces = false;
  } else if (pre == "tekken") {
    info.family = "tekken";
    info.clean_spaces = false;
    info.ignore_merges = true;
    info.force_add_bos = true;
  } else if (pre == "seed-coder") {
    info.family = "seed-coder";
    info.clean_spaces = false;
  } else if (In(pre, {"bailingmoe", "bailingmoe2", "llada-moe"})) {
    info.family = "bailingmoe";
    info.clean_spaces = false;
  } else {
    return InvalidArgumentError("tokenizer.ggml.pre: unknown pre-tokenizer '" + pre + "'");
  }
  return info;
}

struct PreTokenizer::Regex {
  pcre2_code* code = nullptr;
  ~Regex() { pcre2_code_free(code); }
};

PreTokenizer::~PreTokenizer() = default;

std::vector<std::string> PreTokenizer::FamilyRegexes(const std::string& family) {
  for (const Family& f : kFamilies) {
    if (family == f.name) return std::vector<std::string>(f.regexes.begin(), f.regexes.end());
  }
  return {};
}

StatusOr<std::unique_ptr<PreTokenizer>> PreTokenizer::Create(const std::string& family) {
  std::vector<std::string> regexes = FamilyRegexes(family);
  if (regexes.empty()) return InvalidArgumentError("unknown pre-tokenizer family '" + family + "'");
  return FromRegexes(regexes);
}

StatusOr<std::unique_ptr<PreTokenizer>> PreTokenizer::FromRegexes(const std::vector<std::string>& regexes) {
  std::unique_ptr<PreTokenizer> pt(new PreTokenizer());
  for (const std::string& s : regexes) {
    Step step;
    if (s == kGpt2Regex) {
      step.custom = Custom::kGpt2;
    } else if (s == kLlama3Regex) {
      step.custom = Custom::kLlama3;
    } else if (s == kQwen2Regex) {
      step.custom = Custom::kQwen2;
    } else {
      std::string pattern = CollapseRegex(s, &step.collapsed);
      uint32_t options = PCRE2_DOLLAR_ENDONLY | (step.collapsed ? 0 : (PCRE2_UTF | PCRE2_NO_UTF_CHECK));
      int err = 0;
      PCRE2_SIZE err_off = 0;
      step.regex = std::make_unique<Regex>();
      step.regex->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(), options, &err,
                                       &err_off, nullptr);
      if (step.regex->code == nullptr) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(err, msg, sizeof(msg));
        return InvalidArgumentError("pre-tokenizer regex '" + s + "': " + reinterpret_cast<char*>(msg));
      }
      pcre2_jit_compile(step.regex->code, PCRE2_JIT_COMPLETE);
    }
    pt->steps_.push_back(std::move(step));
  }
  return pt;
}

namespace {

// Splits every chunk with a PCRE2 expression; matches and gaps both become pieces.
// `subject` holds one code unit per code point (collapsed) or the UTF-8 text with `byte_to_cp`.
std::vector<size_t> SplitWithRegex(pcre2_code* code, const std::string& subject, const std::vector<size_t>* cp_to_byte,
                                   const std::vector<size_t>& chunks) {
  std::vector<size_t> out;
  out.reserve(chunks.size());
  pcre2_match_data* md = pcre2_match_data_create_from_pattern(code, nullptr);
  auto byte_of = [&](size_t cp) { return cp_to_byte ? (*cp_to_byte)[cp] : cp; };
  size_t start_cp = 0;
  for (size_t len : chunks) {
    const size_t b0 = byte_of(start_cp), b1 = byte_of(start_cp + len);
    const auto* subj = reinterpret_cast<PCRE2_SPTR>(subject.data() + b0);
    const size_t n_bytes = b1 - b0;
    // Map a byte offset inside the chunk back to a code point offset inside the chunk.
    auto cp_at = [&](size_t byte_off) -> size_t {
      if (!cp_to_byte) return byte_off;
      auto it = std::lower_bound(cp_to_byte->begin() + start_cp, cp_to_byte->begin() + start_cp + len + 1, b0 + byte_off);
      return static_cast<size_t>(it - (cp_to_byte->begin() + start_cp));
    };
    size_t last = 0;  // code points of this chunk already assigned to pieces
    size_t offset = 0;
    while (offset <= n_bytes) {
      int rc = pcre2_match(code, subj, n_bytes, offset, cp_to_byte ? PCRE2_NO_UTF_CHECK : 0, md, nullptr);
      if (rc < 0) break;
      const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md);
      size_t m0 = cp_at(ov[0]), m1 = cp_at(ov[1]);
      if (m0 > last) out.push_back(m0 - last);
      if (m1 > m0) out.push_back(m1 - m0);
      last = std::max(last, m1);
      if (ov[1] > ov[0]) {
        offset = ov[1];
      } else {  // empty match: step over one character
        if (ov[1] >= n_bytes) break;
        offset = ov[1] + 1;
        while (cp_to_byte && offset < n_bytes && (subj[offset] & 0xC0) == 0x80) ++offset;
      }
    }
    if (last < len) out.push_back(len - last);
    start_cp += len;
  }
  pcre2_match_data_free(md);
  return out;
}

}  // namespace

std::vector<std::string> PreTokenizer::Split(std::string_view text) const {
  std::vector<uint32_t> cps = unicode::DecodeUtf8(text);
  std::vector<size_t> chunks;
  if (!cps.empty()) chunks.push_back(cps.size());
  std::string collapsed, utf8;
  std::vector<size_t> cp_to_byte;
  for (const Step& step : steps_) {
    std::vector<size_t> next;
    next.reserve(chunks.size() * 2);
    if (step.custom != Custom::kNone) {
      size_t start = 0;
      for (size_t len : chunks) {
        if (step.custom == Custom::kGpt2) {
          SplitGpt2(cps, start, start + len, &next);
        } else {
          SplitLlama3Like(cps, start, start + len, step.custom == Custom::kLlama3, &next);
        }
        start += len;
      }
    } else if (step.collapsed) {
      if (collapsed.empty()) {
        collapsed.resize(cps.size());
        for (size_t i = 0; i < cps.size(); ++i) collapsed[i] = CollapsedByte(cps[i]);
      }
      next = SplitWithRegex(step.regex->code, collapsed, nullptr, chunks);
    } else {
      if (cp_to_byte.empty()) {
        cp_to_byte.reserve(cps.size() + 1);
        for (uint32_t cp : cps) {
          cp_to_byte.push_back(utf8.size());
          // Non-ASCII spaces become \v (as llama.cpp does for std::wregex); surrogates, which
          // PCRE2 cannot take, become U+FFFD.
          uint32_t c = cp > 0x7F && unicode::IsWhitespace(cp) ? 0x0B : cp;
          if (c >= 0xD800 && c <= 0xDFFF) c = unicode::kReplacement;
          unicode::AppendUtf8(c, &utf8);
        }
        cp_to_byte.push_back(utf8.size());
      }
      next = SplitWithRegex(step.regex->code, utf8, &cp_to_byte, chunks);
    }
    chunks = std::move(next);
  }
  std::vector<std::string> words;
  words.reserve(chunks.size());
  size_t start = 0;
  for (size_t len : chunks) {
    std::string w;
    for (size_t i = start; i < start + len; ++i) unicode::AppendUtf8(cps[i], &w);
    words.push_back(std::move(w));
    start += len;
  }
  return words;
}

}  // namespace isv
