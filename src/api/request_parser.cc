#include "api/request_parser.h"

#include <cmath>
#include <limits>

#include "engine/sampling/json_schema_grammar.h"
#include "engine/vision/base64.h"

namespace isv {
namespace {

using json = nlohmann::ordered_json;

// Each reader leaves *out unchanged when the field is absent or null and returns an error naming
// the field when it has the wrong type or range.
std::optional<ApiError> ReadNumber(const json& body, const char* key, double lo, double hi,
                                   double* out) {
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) return std::nullopt;
  if (!it->is_number())
    return ApiError::InvalidRequest(std::string("'") + key + "' must be a number", key);
  double v = it->get<double>();
  if (!(v >= lo && v <= hi)) {
    return ApiError::InvalidRequest(std::string("'") + key + "' must be between " +
                                        json(lo).dump() + " and " + json(hi).dump() + ", got " +
                                        it->dump(),
                                    key);
  }
  *out = v;
  return std::nullopt;
}

std::optional<ApiError> ReadInteger(const json& body, const char* key, int64_t lo, int64_t hi,
                                    int64_t* out) {
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) return std::nullopt;
  if (!it->is_number_integer())
    return ApiError::InvalidRequest(std::string("'") + key + "' must be an integer", key);
  int64_t v = it->get<int64_t>();
  if (v < lo || v > hi) {
    return ApiError::InvalidRequest(std::string("'") + key + "' must be between " +
                                        std::to_string(lo) + " and " + std::to_string(hi) +
                                        ", got " + std::to_string(v),
                                    key);
  }
  *out = v;
  return std::nullopt;
}

std::optional<ApiError> ReadBool(const json& body, const char* key, bool* out) {
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) return std::nullopt;
  if (!it->is_boolean())
    return ApiError::InvalidRequest(std::string("'") + key + "' must be a boolean", key);
  *out = it->get<bool>();
  return std::nullopt;
}

std::optional<ApiError> ReadString(const json& body, const char* key, std::string* out) {
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) return std::nullopt;
  if (!it->is_string())
    return ApiError::InvalidRequest(std::string("'") + key + "' must be a string", key);
  *out = it->get<std::string>();
  return std::nullopt;
}

// One image_url part: a data: URL (or bare base64) decoded to the image's bytes. Remote URLs are
// refused (the server fetches nothing from the network).
std::optional<ApiError> ReadImagePart(const json& part, const std::string& param, std::vector<PromptImageInput>* images) {
  auto iu = part.find("image_url");
  std::string url;
  if (iu != part.end() && iu->is_string()) {
    url = iu->get<std::string>();  // the older shorthand {"image_url": "data:..."}
  } else if (iu != part.end() && iu->is_object() && iu->contains("url") && (*iu)["url"].is_string()) {
    url = (*iu)["url"].get<std::string>();
  } else {
    return ApiError::InvalidRequest("'" + param + ".image_url.url' must be a string", param + ".image_url.url");
  }
  if (url.rfind("http://", 0) == 0 || url.rfind("https://", 0) == 0) {
    return ApiError::InvalidRequest("'" + param + ".image_url.url': remote image URLs are not fetched; send the image "
                                    "inline as a data: URL (data:image/png;base64,...)",
                                    param + ".image_url.url");
  }
  StatusOr<std::string> bytes = DecodeImagePayload(url);
  if (!bytes.ok())
    return ApiError::InvalidRequest("'" + param + ".image_url.url': " + bytes.status().message(), param + ".image_url.url");
  images->push_back({std::move(*bytes), param});
  return std::nullopt;
}

// Text of a message's content: a string, or an array of {"type":"text","text":...} parts and
// {"type":"image_url",...} parts. Text-only arrays are concatenated; with an image, each image
// becomes kImageMarker and the parts are joined with newlines (llama.cpp's server does the same).
std::optional<ApiError> NormaliseContent(json& msg, size_t i, std::vector<PromptImageInput>* images) {
  std::string param = "messages[" + std::to_string(i) + "].content";
  auto it = msg.find("content");
  if (it == msg.end() || it->is_null() || it->is_string()) return std::nullopt;
  if (!it->is_array())
    return ApiError::InvalidRequest("'" + param + "' must be a string or an array of parts", param);
  std::vector<std::string> parts;
  bool has_image = false;
  for (size_t j = 0; j < it->size(); ++j) {
    const json& part = (*it)[j];
    const std::string pj = param + "[" + std::to_string(j) + "]";
    const std::string type = part.is_object() && part.contains("type") && part["type"].is_string()
                                 ? part["type"].get<std::string>() : "";
    if (type == "image_url") {
      if (auto e = ReadImagePart(part, pj, images)) return e;
      parts.emplace_back(kImageMarker);
      has_image = true;
      continue;
    }
    if (type != "text" || !part.contains("text") || !part["text"].is_string()) {
      return ApiError::InvalidRequest(
          "'" + pj + "': only text parts ({\"type\": \"text\", \"text\": ...}) and image_url parts are supported",
          pj);
    }
    parts.push_back(part["text"].get<std::string>());
  }
  std::string text;
  for (size_t j = 0; j < parts.size(); ++j) {
    if (has_image && j > 0) text += '\n';
    text += parts[j];
  }
  *it = text;
  return std::nullopt;
}

std::optional<ApiError> NormaliseMessages(const json& body, json* out, std::vector<PromptImageInput>* images) {
  auto it = body.find("messages");
  if (it == body.end()) return ApiError::InvalidRequest("'messages' is required", "messages");
  if (!it->is_array() || it->empty())
    return ApiError::InvalidRequest("'messages' must be a non-empty array", "messages");
  *out = *it;
  for (size_t i = 0; i < out->size(); ++i) {
    json& m = (*out)[i];
    std::string p = "messages[" + std::to_string(i) + "]";
    if (!m.is_object()) return ApiError::InvalidRequest("'" + p + "' must be an object", p);
    auto role = m.find("role");
    if (role == m.end() || !role->is_string())
      return ApiError::InvalidRequest("'" + p + ".role' must be a string", p + ".role");
    std::string r = role->get<std::string>();
    if (r != "system" && r != "user" && r != "assistant" && r != "tool" && r != "developer" &&
        r != "function") {
      return ApiError::InvalidRequest(
          "'" + p + ".role' must be system, user, assistant, tool or developer", p + ".role");
    }
    if (r == "developer") m["role"] = "system";
    if (auto e = NormaliseContent(m, i, images)) return e;
    if (!m.contains("content") || m["content"].is_null()) {
      if (r != "assistant")
        return ApiError::InvalidRequest("'" + p + ".content' is required", p + ".content");
    }
    // Templates expect tool-call arguments as objects; OpenAI sends them as JSON strings.
    if (auto tc = m.find("tool_calls"); tc != m.end() && tc->is_array()) {
      for (json& call : *tc) {
        if (!call.is_object() || !call.contains("function") || !call["function"].is_object())
          continue;
        json& args = call["function"]["arguments"];
        if (args.is_string()) {
          json parsed = json::parse(args.get<std::string>(), nullptr, /*allow_exceptions=*/false);
          if (!parsed.is_discarded()) args = parsed;
        }
      }
    }
  }
  return std::nullopt;
}

std::optional<ApiError> ReadStop(const json& body, std::vector<std::string>* out) {
  auto it = body.find("stop");
  if (it == body.end() || it->is_null()) return std::nullopt;
  if (it->is_string()) {
    out->push_back(it->get<std::string>());
    return std::nullopt;
  }
  if (!it->is_array() || it->size() > 16)
    return ApiError::InvalidRequest("'stop' must be a string or an array of up to 16 strings",
                                    "stop");
  for (const json& s : *it) {
    if (!s.is_string())
      return ApiError::InvalidRequest("'stop' must be a string or an array of strings", "stop");
    out->push_back(s.get<std::string>());
  }
  return std::nullopt;
}

std::optional<ApiError> ReadTools(const json& body, CompletionRequest* r) {
  std::string choice = "auto";
  bool named_function = false;  // tool_choice {"type": "function", "function": {"name": ...}}
  if (auto tc = body.find("tool_choice"); tc != body.end() && !tc->is_null()) {
    named_function = tc->is_object();
    if (tc->is_string()) {
      choice = tc->get<std::string>();
      if (choice != "none" && choice != "auto" && choice != "required") {
        return ApiError::InvalidRequest("'tool_choice' must be none, auto, required or an object",
                                        "tool_choice");
      }
    } else if (!tc->is_object()) {
      return ApiError::InvalidRequest("'tool_choice' must be none, auto, required or an object",
                                      "tool_choice");
    }
  }
  auto it = body.find("tools");
  if (it == body.end() || it->is_null()) return std::nullopt;
  if (!it->is_array()) return ApiError::InvalidRequest("'tools' must be an array", "tools");
  for (size_t i = 0; i < it->size(); ++i) {
    const json& t = (*it)[i];
    std::string p = "tools[" + std::to_string(i) + "]";
    if (!t.is_object() || t.value("type", "function") != "function" || !t.contains("function") ||
        !t["function"].is_object() || !t["function"].contains("name") ||
        !t["function"]["name"].is_string()) {
      return ApiError::InvalidRequest(
          "'" + p + "' must be {\"type\": \"function\", \"function\": {\"name\": ...}}", p);
    }
  }
  // Forcing a call ("required", or one named function): the grammar depends on the model's
  // tool-call syntax, so it is built after the prompt is prepared (completion_routes.cc).
  if (choice == "required" || named_function) {
    if (it->empty())
      return ApiError::InvalidRequest("'tool_choice' forces a call but 'tools' is empty", "tool_choice");
    r->forced_tool = "*";
    if (named_function) {
      const json& tc = body["tool_choice"];
      if (tc.value("type", "function") != "function" || !tc.contains("function") || !tc["function"].is_object() ||
          !tc["function"].contains("name") || !tc["function"]["name"].is_string()) {
        return ApiError::InvalidRequest(
            "'tool_choice' must be {\"type\": \"function\", \"function\": {\"name\": ...}}", "tool_choice");
      }
      r->forced_tool = tc["function"]["name"].get<std::string>();
      bool found = false;
      for (const json& t : *it) found = found || t["function"]["name"] == r->forced_tool;
      if (!found) {
        return ApiError::InvalidRequest("'tool_choice' names the function '" + r->forced_tool +
                                            "', which is not in 'tools'",
                                        "tool_choice");
      }
    }
  }
  if (choice != "none" && !it->empty()) {
    r->input.tools = *it;
    r->tools_enabled = true;
  }
  return std::nullopt;
}

// Compiles a JSON schema into params.grammar; errors name `param`.
std::optional<ApiError> CompileSchema(const json& schema, const std::string& param, CompletionRequest* r) {
  StatusOr<std::string> gbnf = JsonSchemaToGbnf(schema);
  if (!gbnf.ok()) return ApiError::InvalidRequest("'" + param + "': " + std::string(gbnf.status().message()), param);
  StatusOr<std::shared_ptr<const Grammar>> g = Grammar::Parse(*gbnf);
  if (!g.ok()) return ApiError::InvalidRequest("'" + param + "': " + std::string(g.status().message()), param);
  r->params.grammar = *g;
  r->grammar_field = param.substr(0, param.find('.'));
  return std::nullopt;
}

// response_format (text, json_object, json_schema) and the llama-server extensions `grammar`
// (GBNF text) and `json_schema` (a schema); at most one of the constraining ones.
std::optional<ApiError> ReadConstraints(const json& body, CompletionRequest* r) {
  int constraints = 0;
  if (auto it = body.find("response_format"); it != body.end() && !it->is_null()) {
    if (!it->is_object() || !it->contains("type") || !(*it)["type"].is_string()) {
      return ApiError::InvalidRequest("'response_format' must be {\"type\": ...}",
                                      "response_format");
    }
    std::string type = (*it)["type"];
    if (type != "text" && type != "json_object" && type != "json_schema")
      return ApiError::InvalidRequest(
          "'response_format.type' must be text, json_object or json_schema", "response_format");
    if (type == "json_object") {
      r->params.json_object = true;
      // llama-server's form: {"type": "json_object", "schema": {...}}.
      if (auto sc = it->find("schema"); sc != it->end() && !sc->is_null()) {
        if (auto e = CompileSchema(*sc, "response_format.schema", r)) return e;
        ++constraints;
      }
    } else if (type == "json_schema") {
      auto js = it->find("json_schema");
      if (js == it->end() || !js->is_object())
        return ApiError::InvalidRequest("'response_format.json_schema' must be an object with a 'schema'",
                                        "response_format.json_schema");
      if (auto sc = js->find("schema"); sc != js->end() && !sc->is_null()) {
        if (auto e = CompileSchema(*sc, "response_format.json_schema.schema", r)) return e;
      } else {
        r->params.json_object = true;  // no schema: any JSON object
      }
      ++constraints;
    }
  }
  if (auto it = body.find("json_schema"); it != body.end() && !it->is_null()) {
    if (auto e = CompileSchema(*it, "json_schema", r)) return e;
    ++constraints;
  }
  if (auto it = body.find("grammar"); it != body.end() && !it->is_null()) {
    if (!it->is_string()) return ApiError::InvalidRequest("'grammar' must be a string (GBNF)", "grammar");
    StatusOr<std::shared_ptr<const Grammar>> g = Grammar::Parse(it->get<std::string>());
    if (!g.ok()) return ApiError::InvalidRequest("'grammar': " + std::string(g.status().message()), "grammar");
    r->params.grammar = *g;
    r->grammar_field = "grammar";
    ++constraints;
  }
  if (constraints > 1) {
    return ApiError::InvalidRequest(
        "give only one of 'grammar', 'json_schema' and a response_format schema", "grammar");
  }
  if (!r->forced_tool.empty() && (constraints > 0 || r->params.json_object)) {
    return ApiError::InvalidRequest(
        "a forced tool call ('tool_choice') cannot be combined with 'response_format', 'grammar' or "
        "'json_schema'",
        "tool_choice");
  }
  return std::nullopt;
}

std::optional<ApiError> ParseInto(const json& body, bool is_chat, CompletionRequest* r) {
  r->is_chat = is_chat;
  r->input.is_chat = is_chat;
  if (!body.contains("model")) return ApiError::InvalidRequest("'model' is required", "model");
  if (auto e = ReadString(body, "model", &r->model)) return e;
  if (r->model.empty()) return ApiError::InvalidRequest("'model' must not be empty", "model");
  if (is_chat) {
    if (auto e = NormaliseMessages(body, &r->input.messages, &r->input.images)) return e;
    if (auto e = ReadTools(body, r)) return e;
  } else {
    auto it = body.find("prompt");
    if (it == body.end()) return ApiError::InvalidRequest("'prompt' is required", "prompt");
    if (it->is_array() && it->size() == 1 && (*it)[0].is_string()) {
      r->input.prompt = (*it)[0].get<std::string>();
    } else if (it->is_string()) {
      r->input.prompt = it->get<std::string>();
    } else {
      return ApiError::InvalidRequest("'prompt' must be a string (or an array of one string)",
                                      "prompt");
    }
  }
  SamplingParams& s = r->params.sampling;
  // OpenAI semantics by default: no top-k/min-p truncation unless asked for (llama.cpp extensions).
  s.top_k = 0;
  s.min_p = 0;
  s.top_p = 1.0f;
  double temperature = 0.7, top_p = 1.0, presence = 0, frequency = 0, min_p = 0, repeat_penalty = 1;
  int64_t top_k = 0, seed = -1, n = 1, max_tokens = is_chat ? -1 : 16, priority = 2;
  if (auto e = ReadNumber(body, "temperature", 0, 2, &temperature)) return e;
  if (auto e = ReadNumber(body, "top_p", 0, 1, &top_p)) return e;
  if (auto e = ReadNumber(body, "presence_penalty", -2, 2, &presence)) return e;
  if (auto e = ReadNumber(body, "frequency_penalty", -2, 2, &frequency)) return e;
  if (auto e = ReadNumber(body, "min_p", 0, 1, &min_p)) return e;
  if (auto e = ReadNumber(body, "repeat_penalty", 0, 10, &repeat_penalty)) return e;
  if (auto e = ReadInteger(body, "top_k", 0, 1 << 20, &top_k)) return e;
  if (auto e = ReadInteger(body, "seed", std::numeric_limits<int64_t>::min(),
                           std::numeric_limits<int64_t>::max(), &seed))
    return e;
  if (auto e = ReadInteger(body, "n", 1, kMaxChoices, &n)) return e;
  r->n = static_cast<int>(n);
  if (auto e = ReadInteger(body, "max_tokens", 0, 1 << 24, &max_tokens)) return e;
  if (auto e = ReadInteger(body, "max_completion_tokens", 0, 1 << 24, &max_tokens)) return e;
  if (auto e = ReadBool(body, "stream", &r->stream)) return e;
  if (auto e = ReadBool(body, "ignore_eos", &r->params.ignore_eos)) return e;
  if (auto e = ReadStop(body, &r->params.stop)) return e;
  if (auto e = ReadString(body, "orchestration_mode", &r->orchestration_mode)) return e;
  if (auto e = ReadString(body, "task_type", &r->task_type)) return e;
  if (auto it = body.find("orchestration"); it != body.end()) r->orchestration = *it;
  if (auto e = ReadInteger(body, "priority", -1000, 1000, &priority)) return e;
  if (is_chat) {  // chat: logprobs (bool) + top_logprobs (0..20)
    bool logprobs = false;
    int64_t top = -1;
    if (auto e = ReadBool(body, "logprobs", &logprobs)) return e;
    if (auto e = ReadInteger(body, "top_logprobs", 0, 20, &top)) return e;
    if (top >= 0 && !logprobs)
      return ApiError::InvalidRequest("'top_logprobs' requires 'logprobs': true", "top_logprobs");
    r->params.top_logprobs = logprobs ? static_cast<int32_t>(std::max<int64_t>(top, 0)) : -1;
  } else {  // completions: logprobs is the number of alternatives (0..5)
    int64_t top = -1;
    if (auto e = ReadInteger(body, "logprobs", 0, 5, &top)) return e;
    r->params.top_logprobs = static_cast<int32_t>(top);
  }
  r->priority = static_cast<int>(priority);
  r->params.priority = r->priority;
  if (auto e = ReadNumber(body, "queue_timeout_s", 0, 86400, &r->params.queue_timeout_s)) return e;
  if (auto it = body.find("stream_options"); it != body.end() && !it->is_null()) {
    if (!it->is_object())
      return ApiError::InvalidRequest("'stream_options' must be an object", "stream_options");
    if (auto e = ReadBool(*it, "include_usage", &r->include_usage)) {
      e->param = "stream_options.include_usage";
      e->message = "'stream_options.include_usage' must be a boolean";
      return e;
    }
  }
  if (auto it = body.find("logit_bias"); it != body.end() && !it->is_null()) {
    if (!it->is_object())
      return ApiError::InvalidRequest("'logit_bias' must be an object of token id -> bias",
                                      "logit_bias");
    for (auto b = it->begin(); b != it->end(); ++b) {
      char* end = nullptr;
      long id = std::strtol(b.key().c_str(), &end, 10);
      if (*end != '\0' || id < 0 || !b.value().is_number()) {
        return ApiError::InvalidRequest("'logit_bias' keys must be token ids and values numbers",
                                        "logit_bias");
      }
      s.logit_bias[static_cast<int32_t>(id)] = b.value().get<float>();
    }
  }
  if (auto e = ReadConstraints(body, r)) return e;
  s.temperature = static_cast<float>(temperature);
  s.top_p = static_cast<float>(top_p);
  s.presence_penalty = static_cast<float>(presence);
  s.frequency_penalty = static_cast<float>(frequency);
  s.min_p = static_cast<float>(min_p);
  s.repeat_penalty = static_cast<float>(repeat_penalty);
  s.top_k = static_cast<int32_t>(top_k);
  if (seed >= 0) s.seed = static_cast<uint64_t>(seed);
  r->params.max_tokens = static_cast<int32_t>(max_tokens);
  return std::nullopt;
}

}  // namespace

std::variant<CompletionRequest, ApiError> ParseCompletionRequest(const std::string& body,
                                                                 bool is_chat) {
  json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return ApiError::InvalidRequest("the request body is not valid JSON", "");
  if (!j.is_object()) return ApiError::InvalidRequest("the request body must be a JSON object", "");
  CompletionRequest r;
  if (auto e = ParseInto(j, is_chat, &r)) return *e;
  return r;
}

}  // namespace isv
