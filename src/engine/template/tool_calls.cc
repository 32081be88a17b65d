#include "engine/template/tool_calls.h"

#include <cstdint>
#include <optional>

#include <nlohmann/json.hpp>

namespace isv {
namespace {

using Json = nlohmann::ordered_json;

std::string_view Trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return s.substr(b, e - b);
}

// Trims exactly one leading and one trailing newline (XML-style parameter values).
std::string_view TrimOneNewline(std::string_view s) {
  if (!s.empty() && s.front() == '\n') s.remove_prefix(1);
  if (!s.empty() && s.back() == '\n') s.remove_suffix(1);
  return s;
}

std::optional<Json> ParseJson(std::string_view s) {
  Json j = Json::parse(s.begin(), s.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return std::nullopt;
  return j;
}

// End (one past) of the JSON object/array starting at s[start] ('{' or '['), or npos.
size_t JsonValueEnd(std::string_view s, size_t start) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = start; i < s.size(); ++i) {
    char c = s[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') in_string = true;
    else if (c == '{' || c == '[') ++depth;
    else if (c == '}' || c == ']') {
      if (--depth == 0) return i + 1;
    }
  }
  return std::string_view::npos;
}

std::string MakeId(const std::string& name, const std::string& args, size_t index) {
  uint64_t h = 1469598103934665603ull;
  auto mix = [&](std::string_view s) {
    for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  };
  mix(name);
  mix(args);
  mix(std::to_string(index));
  static const char kAlnum[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  std::string id = "call_";
  for (int i = 0; i < 9; ++i) {
    id += kAlnum[h % 62];
    h /= 62;
    if (h == 0) h = 0x9E3779B97F4A7C15ull + i;
  }
  return id;
}

// Arguments given as an object, or as a string holding a JSON object -> compact JSON text.
std::optional<std::string> ArgumentsText(const Json& args) {
  if (args.is_object()) return args.dump();
  if (args.is_string()) {
    std::optional<Json> inner = ParseJson(args.get<std::string>());
    if (inner && inner->is_object()) return inner->dump();
  }
  return std::nullopt;
}

class Builder {
 public:
  // Adds a call; returns false when the arguments are not a JSON object.
  bool Add(std::string name, const Json& args, std::string id = {}) {
    std::optional<std::string> text = ArgumentsText(args);
    if (!text || name.empty()) return false;
    if (id.empty()) id = MakeId(name, *text, out_.tool_calls.size());
    out_.tool_calls.push_back({std::move(id), std::move(name), std::move(*text)});
    return true;
  }
  bool AddText(std::string name, std::string_view args_json, std::string id = {}) {
    std::optional<Json> j = ParseJson(Trim(args_json));
    return j && Add(std::move(name), *j, std::move(id));
  }
  // {"name": ..., "arguments"|"parameters": {...}[, "id": ...]}
  bool AddObject(const Json& obj) {
    if (!obj.is_object() || !obj.contains("name") || !obj["name"].is_string()) return false;
    Json args = obj.contains("arguments") ? obj["arguments"]
                : obj.contains("parameters") ? obj["parameters"] : Json::object();
    std::string id = obj.contains("id") && obj["id"].is_string() ? obj["id"].get<std::string>() : "";
    return Add(obj["name"].get<std::string>(), args, id);
  }
  void AppendContent(std::string_view s) { content_ += s; }
  ParsedToolCalls Finish() {
    out_.content = std::string(Trim(content_));
    return std::move(out_);
  }

 private:
  std::string content_;
  ParsedToolCalls out_;
};

// Generic "<open>body<close>" scanner: calls on_block(body) for each block; text outside goes to
// content. A missing close at the very end takes the rest of the text as the body.
template <typename Fn>
bool ScanBlocks(std::string_view text, std::string_view open, std::string_view close, Builder& b, Fn on_block) {
  size_t pos = 0;
  while (true) {
    size_t start = text.find(open, pos);
    if (start == std::string_view::npos) {
      b.AppendContent(text.substr(pos));
      return true;
    }
    b.AppendContent(text.substr(pos, start - pos));
    size_t body = start + open.size();
    size_t end = text.find(close, body);
    std::string_view inner = text.substr(body, end == std::string_view::npos ? std::string_view::npos : end - body);
    if (!on_block(inner)) return false;
    if (end == std::string_view::npos) return true;
    pos = end + close.size();
  }
}

bool ParseHermes(std::string_view text, Builder& b) {
  return ScanBlocks(text, "<tool_call>", "</tool_call>", b, [&](std::string_view inner) {
    std::optional<Json> j = ParseJson(Trim(inner));
    return j && b.AddObject(*j);
  });
}

// name.call(key="value", n=1) as Llama 3.1 prints built-in tool calls.
bool ParsePythonCall(std::string_view s, Builder& b) {
  size_t dot = s.find(".call(");
  if (dot == std::string_view::npos || s.back() != ')') return false;
  std::string name(Trim(s.substr(0, dot)));
  std::string_view args = s.substr(dot + 6, s.size() - dot - 7);
  Json obj = Json::object();
  size_t i = 0;
  while (true) {
    while (i < args.size() && (args[i] == ' ' || args[i] == ',')) ++i;
    if (i >= args.size()) break;
    size_t eq = args.find('=', i);
    if (eq == std::string_view::npos) return false;
    std::string key(Trim(args.substr(i, eq - i)));
    i = eq + 1;
    while (i < args.size() && args[i] == ' ') ++i;
    if (i < args.size() && (args[i] == '"' || args[i] == '\'')) {
      char q = args[i];
      std::string val;
      size_t j = i + 1;
      for (; j < args.size() && args[j] != q; ++j) {
        if (args[j] == '\\' && j + 1 < args.size()) ++j;
        val += args[j];
      }
      if (j >= args.size()) return false;
      obj[key] = val;
      i = j + 1;
    } else {
      size_t j = args.find(',', i);
      std::string_view raw = Trim(args.substr(i, j == std::string_view::npos ? std::string_view::npos : j - i));
      std::optional<Json> v = ParseJson(raw);
      if (!v) return false;
      obj[key] = *v;
      i = j == std::string_view::npos ? args.size() : j;
    }
  }
  return b.Add(name, obj);
}

bool ParseLlama3(std::string_view text, Builder& b) {
  std::string_view t = Trim(text);
  size_t tag = t.find("<|python_tag|>");
  if (tag != std::string_view::npos) {
    b.AppendContent(t.substr(0, tag));
    std::string_view rest = Trim(t.substr(tag + 14));
    size_t eom = rest.find("<|eom_id|>");
    if (eom != std::string_view::npos) rest = Trim(rest.substr(0, eom));
    if (!rest.empty() && rest[0] == '{') {
      std::optional<Json> j = ParseJson(rest);
      return j && b.AddObject(*j);
    }
    return ParsePythonCall(rest, b);
  }
  if (t.empty() || t[0] != '{') {
    b.AppendContent(t);
    return true;
  }
  // One or more JSON objects, optionally separated by ';'.
  size_t pos = 0;
  while (pos < t.size()) {
    size_t end = JsonValueEnd(t, pos);
    if (end == std::string_view::npos) return false;
    std::optional<Json> j = ParseJson(t.substr(pos, end - pos));
    if (!j || !j->is_object() || !j->contains("name") ||
        !(j->contains("parameters") || j->contains("arguments"))) {
      return false;
    }
    if (!b.AddObject(*j)) return false;
    pos = end;
    while (pos < t.size() && (std::isspace(static_cast<unsigned char>(t[pos])) || t[pos] == ';')) ++pos;
    if (pos < t.size() && t[pos] != '{') return false;
  }
  return true;
}

bool ParseMistral(std::string_view text, Builder& b) {
  static constexpr std::string_view kTag = "[TOOL_CALLS]";
  size_t tag = text.find(kTag);
  if (tag == std::string_view::npos) {
    b.AppendContent(text);
    return true;
  }
  b.AppendContent(text.substr(0, tag));
  std::string_view rest = text.substr(tag);
  while (rest.substr(0, kTag.size()) == kTag) {
    rest = Trim(rest.substr(kTag.size()));
    if (!rest.empty() && rest[0] == '[') {  // JSON array form
      size_t end = JsonValueEnd(rest, 0);
      if (end == std::string_view::npos) return false;
      std::optional<Json> j = ParseJson(rest.substr(0, end));
      if (!j || !j->is_array() || j->empty()) return false;
      for (const Json& call : *j) {
        if (!b.AddObject(call)) return false;
      }
      rest = Trim(rest.substr(end));
      continue;
    }
    // name[CALL_ID]id[ARGS]{...}
    size_t args = rest.find("[ARGS]");
    if (args == std::string_view::npos) return false;
    std::string_view head = rest.substr(0, args);
    std::string id;
    size_t cid = head.find("[CALL_ID]");
    if (cid != std::string_view::npos) {
      id = std::string(Trim(head.substr(cid + 9)));
      head = head.substr(0, cid);
    }
    std::string_view body = rest.substr(args + 6);
    size_t end = body.empty() || body[0] != '{' ? std::string_view::npos : JsonValueEnd(body, 0);
    if (end == std::string_view::npos) return false;
    if (!b.AddText(std::string(Trim(head)), body.substr(0, end), id)) return false;
    rest = Trim(body.substr(end));
  }
  b.AppendContent(rest);
  return true;
}

bool ParseFunctionaryV31(std::string_view text, Builder& b) {
  size_t pos = 0;
  while (true) {
    size_t start = text.find("<function=", pos);
    if (start == std::string_view::npos) break;
    b.AppendContent(text.substr(pos, start - pos));
    size_t gt = text.find('>', start);
    if (gt == std::string_view::npos) return false;
    std::string name(text.substr(start + 10, gt - start - 10));
    size_t end = text.find("</function>", gt);
    std::string_view body = text.substr(gt + 1, end == std::string_view::npos ? std::string_view::npos : end - gt - 1);
    if (!b.AddText(name, body)) return false;
    if (end == std::string_view::npos) return true;
    pos = end + 11;
  }
  b.AppendContent(text.substr(pos));
  return true;
}

bool ParseFunctionaryV32(std::string_view text, Builder& b) {
  std::string full = ">>>" + std::string(text.substr(0, 3) == ">>>" ? text.substr(3) : text);
  std::string_view t = full;
  size_t pos = 0;
  while (pos < t.size()) {
    size_t next = t.find(">>>", pos + 3);
    std::string_view seg = t.substr(pos + 3, next == std::string_view::npos ? std::string_view::npos : next - pos - 3);
    size_t nl = seg.find('\n');
    if (nl == std::string_view::npos) return false;
    std::string name(Trim(seg.substr(0, nl)));
    std::string_view body = seg.substr(nl + 1);
    if (name == "all") {
      b.AppendContent(body);
    } else if (!b.AddText(name, body)) {
      return false;
    }
    if (next == std::string_view::npos) break;
    pos = next;
  }
  return true;
}

bool ParseDeepSeek(std::string_view text, Builder& b) {
  static constexpr std::string_view kCallsBegin = "<｜tool▁calls▁begin｜>", kCallsEnd = "<｜tool▁calls▁end｜>";
  static constexpr std::string_view kCallBegin = "<｜tool▁call▁begin｜>", kCallEnd = "<｜tool▁call▁end｜>";
  static constexpr std::string_view kSep = "<｜tool▁sep｜>";
  size_t begin = text.find(kCallsBegin);
  if (begin == std::string_view::npos) {
    b.AppendContent(text);
    return true;
  }
  b.AppendContent(text.substr(0, begin));
  size_t end = text.find(kCallsEnd, begin);
  std::string_view section = text.substr(begin + kCallsBegin.size(),
                                         end == std::string_view::npos ? std::string_view::npos
                                                                       : end - begin - kCallsBegin.size());
  Builder scratch;  // content between calls inside the section is dropped
  if (!ScanBlocks(section, kCallBegin, kCallEnd, scratch, [&](std::string_view call) {
        size_t sep = call.find(kSep);
        if (sep == std::string_view::npos) return false;
        std::string_view head = Trim(call.substr(0, sep));
        std::string_view rest = call.substr(sep + kSep.size());
        if (head == "function") {  // R1: function<sep>name\n```json\n{...}\n```
          size_t nl = rest.find('\n');
          if (nl == std::string_view::npos) return false;
          std::string name(Trim(rest.substr(0, nl)));
          std::string_view body = rest.substr(nl + 1);
          size_t fence = body.find("```json");
          if (fence != std::string_view::npos) body = body.substr(fence + 7);
          size_t close = body.rfind("```");
          if (close != std::string_view::npos) body = body.substr(0, close);
          return b.AddText(name, body);
        }
        return b.AddText(std::string(head), rest);
      })) {
    return false;
  }
  if (end != std::string_view::npos) b.AppendContent(text.substr(end + kCallsEnd.size()));
  return true;
}

// A parameter value: JSON when it parses (numbers, objects, true/false), else the raw string.
Json XmlValue(std::string_view raw) {
  std::optional<Json> j = ParseJson(Trim(raw));
  if (j && !j->is_string()) return *j;
  return Json(std::string(raw));
}

bool ParseQwen3Coder(std::string_view text, Builder& b) {
  return ScanBlocks(text, "<tool_call>", "</tool_call>", b, [&](std::string_view inner) {
    inner = Trim(inner);
    if (inner.substr(0, 10) != "<function=") return false;
    size_t gt = inner.find('>');
    if (gt == std::string_view::npos) return false;
    std::string name(Trim(inner.substr(10, gt - 10)));
    Json args = Json::object();
    size_t pos = gt + 1;
    while (true) {
      size_t p = inner.find("<parameter=", pos);
      if (p == std::string_view::npos) break;
      size_t pgt = inner.find('>', p);
      size_t pend = inner.find("</parameter>", pgt);
      if (pgt == std::string_view::npos || pend == std::string_view::npos) return false;
      std::string key(Trim(inner.substr(p + 11, pgt - p - 11)));
      args[key] = XmlValue(TrimOneNewline(inner.substr(pgt + 1, pend - pgt - 1)));
      pos = pend + 12;
    }
    return b.Add(name, args);
  });
}

bool ParseKimiK2(std::string_view text, Builder& b) {
  static constexpr std::string_view kSectionBegin = "<|tool_calls_section_begin|>";
  static constexpr std::string_view kSectionEnd = "<|tool_calls_section_end|>";
  size_t begin = text.find(kSectionBegin);
  if (begin == std::string_view::npos) {
    b.AppendContent(text);
    return true;
  }
  b.AppendContent(text.substr(0, begin));
  size_t end = text.find(kSectionEnd, begin);
  std::string_view section = text.substr(begin + kSectionBegin.size(),
                                         end == std::string_view::npos ? std::string_view::npos
                                                                       : end - begin - kSectionBegin.size());
  Builder scratch;
  if (!ScanBlocks(section, "<|tool_call_begin|>", "<|tool_call_end|>", scratch, [&](std::string_view call) {
        size_t arg = call.find("<|tool_call_argument_begin|>");
        if (arg == std::string_view::npos) return false;
        std::string id(Trim(call.substr(0, arg)));  // functions.NAME:INDEX
        std::string name = id;
        if (name.rfind("functions.", 0) == 0) name = name.substr(10);
        size_t colon = name.rfind(':');
        if (colon != std::string::npos) name = name.substr(0, colon);
        return b.AddText(name, call.substr(arg + 28), id);
      })) {
    return false;
  }
  if (end != std::string_view::npos) b.AppendContent(text.substr(end + kSectionEnd.size()));
  return true;
}

bool ParseGlm(std::string_view text, Builder& b) {
  return ScanBlocks(text, "<tool_call>", "</tool_call>", b, [&](std::string_view inner) {
    size_t first = inner.find("<arg_key>");
    std::string name(Trim(inner.substr(0, first)));
    Json args = Json::object();
    size_t pos = first;
    while (pos != std::string_view::npos) {
      size_t kend = inner.find("</arg_key>", pos);
      size_t vbeg = inner.find("<arg_value>", kend);
      size_t vend = inner.find("</arg_value>", vbeg);
      if (kend == std::string_view::npos || vbeg == std::string_view::npos || vend == std::string_view::npos) {
        return false;
      }
      std::string key(Trim(inner.substr(pos + 9, kend - pos - 9)));
      args[key] = XmlValue(inner.substr(vbeg + 11, vend - vbeg - 11));
      pos = inner.find("<arg_key>", vend);
    }
    return b.Add(name, args);
  });
}

bool ParseMiniMax(std::string_view text, Builder& b) {
  return ScanBlocks(text, "<minimax:tool_call>", "</minimax:tool_call>", b, [&](std::string_view inner) {
    size_t pos = 0;
    bool any = false;
    while (true) {
      size_t inv = inner.find("<invoke name=\"", pos);
      if (inv == std::string_view::npos) break;
      size_t q = inner.find("\">", inv + 14);
      size_t inv_end = inner.find("</invoke>", q);
      if (q == std::string_view::npos || inv_end == std::string_view::npos) return false;
      std::string name(inner.substr(inv + 14, q - inv - 14));
      Json args = Json::object();
      size_t p = q;
      while (true) {
        size_t pp = inner.find("<parameter name=\"", p);
        if (pp == std::string_view::npos || pp > inv_end) break;
        size_t pq = inner.find("\">", pp + 17);
        size_t pe = inner.find("</parameter>", pq);
        if (pq == std::string_view::npos || pe == std::string_view::npos) return false;
        args[std::string(inner.substr(pp + 17, pq - pp - 17))] = XmlValue(inner.substr(pq + 2, pe - pq - 2));
        p = pe + 12;
      }
      if (!b.Add(name, args)) return false;
      any = true;
      pos = inv_end + 9;
    }
    return any;
  });
}

}  // namespace

std::string_view ToolCallFormatName(ToolCallFormat format) {
  switch (format) {
    case ToolCallFormat::kNone: return "none";
    case ToolCallFormat::kHermes: return "hermes";
    case ToolCallFormat::kLlama3: return "llama3";
    case ToolCallFormat::kMistral: return "mistral";
    case ToolCallFormat::kFunctionaryV31: return "functionary-v3.1";
    case ToolCallFormat::kFunctionaryV32: return "functionary-v3.2";
    case ToolCallFormat::kDeepSeek: return "deepseek";
    case ToolCallFormat::kQwen3Coder: return "qwen3-coder";
    case ToolCallFormat::kKimiK2: return "kimi-k2";
    case ToolCallFormat::kGlm: return "glm";
    case ToolCallFormat::kMiniMax: return "minimax";
  }
  return "none";
}

ToolCallFormat DetectToolCallFormat(std::string_view src) {
  auto has = [&](std::string_view s) { return src.find(s) != std::string_view::npos; };
  if (has("<minimax:tool_call>")) return ToolCallFormat::kMiniMax;
  if (has("<|tool_call_begin|>")) return ToolCallFormat::kKimiK2;
  if (has("<｜tool▁sep｜>") || has("<｜tool▁call▁begin｜>")) return ToolCallFormat::kDeepSeek;
  if (has("<function=") && has("<parameter=")) return ToolCallFormat::kQwen3Coder;
  if (has("<arg_key>")) return ToolCallFormat::kGlm;
  if (has("<function=")) return ToolCallFormat::kFunctionaryV31;
  if (has(">>>all") || (has(">>>") && has("functions {"))) return ToolCallFormat::kFunctionaryV32;
  if (has("[TOOL_CALLS]")) return ToolCallFormat::kMistral;
  if (has("<tool_call>")) return ToolCallFormat::kHermes;
  if (has("<|python_tag|>") || (has("<|start_header_id|>") && has("parameters"))) return ToolCallFormat::kLlama3;
  return ToolCallFormat::kNone;
}

ParsedToolCalls ParseToolCalls(std::string_view text, ToolCallFormat format) {
  Builder b;
  bool ok = true;
  switch (format) {
    case ToolCallFormat::kNone: b.AppendContent(text); break;
    case ToolCallFormat::kHermes: ok = ParseHermes(text, b); break;
    case ToolCallFormat::kLlama3: ok = ParseLlama3(text, b); break;
    case ToolCallFormat::kMistral: ok = ParseMistral(text, b); break;
    case ToolCallFormat::kFunctionaryV31: ok = ParseFunctionaryV31(text, b); break;
    case ToolCallFormat::kFunctionaryV32: ok = ParseFunctionaryV32(text, b); break;
    case ToolCallFormat::kDeepSeek: ok = ParseDeepSeek(text, b); break;
    case ToolCallFormat::kQwen3Coder: ok = ParseQwen3Coder(text, b); break;
    case ToolCallFormat::kKimiK2: ok = ParseKimiK2(text, b); break;
    case ToolCallFormat::kGlm: ok = ParseGlm(text, b); break;
    case ToolCallFormat::kMiniMax: ok = ParseMiniMax(text, b); break;
  }
  if (!ok) {
    ParsedToolCalls plain;
    plain.content = std::string(Trim(text));
    return plain;
  }
  return b.Finish();
}

}  // namespace isv
