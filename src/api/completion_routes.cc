// POST /v1/chat/completions and /v1/completions: request -> lease on the model -> prompt ->
// generation, answered as one JSON object or as an SSE stream of OpenAI chunks.
#include <httplib.h>

#include <chrono>
#include <ctime>

#include "api/api_error.h"
#include "api/client_socket.h"
#include "api/http_util.h"
#include "api/request_context.h"
#include "api/request_parser.h"
#include "api/server.h"
#include "core/logging.h"
#include "engine/sampling/tool_call_grammar.h"

namespace isv {
namespace {

using json = nlohmann::ordered_json;

json Usage(const GenerationResult& r) {
  return {{"prompt_tokens", r.prompt_tokens},
          {"completion_tokens", r.completion_tokens},
          {"total_tokens", r.prompt_tokens + r.completion_tokens},
          {"prompt_tokens_details", {{"cached_tokens", r.cached_tokens}}}};
}

json ToolCallsJson(const std::vector<ToolCall>& calls, bool with_index) {
  json out = json::array();
  for (size_t i = 0; i < calls.size(); ++i) {
    json c;
    if (with_index) c["index"] = i;
    c["id"] = calls[i].id;
    c["type"] = "function";
    c["function"] = {{"name", calls[i].name}, {"arguments", calls[i].arguments}};
    out.push_back(c);
  }
  return out;
}

// Shared per-response facts.
struct ResponseMeta {
  std::string id;
  int64_t created;
  std::string model;
  std::string mode;
  bool is_chat;
};

json Orchestration(const ResponseMeta& m, const GenerationResult& r) {
  return {
      {"mode", m.mode}, {"models_used", {m.model}}, {"total_inference_time_ms", r.inference_ms}};
}

// OpenAI's logprobs objects. Chat: {"content": [{token, logprob, bytes, top_logprobs}], "refusal"};
// completions: {tokens, token_logprobs, top_logprobs: [{token: logprob}], text_offset}. A token that
// is part of a UTF-8 character shows U+FFFD in `token`; `bytes` has its exact bytes.
json TokenBytes(const std::string& piece) {
  json b = json::array();
  for (unsigned char c : piece) b.push_back(static_cast<int>(c));
  return b;
}

json LogprobsJson(const std::vector<TokenLogprob>& entries, bool is_chat, size_t* text_offset) {
  if (is_chat) {
    json content = json::array();
    for (const TokenLogprob& e : entries) {
      json top = json::array();
      for (const auto& [piece, lp] : e.top)
        top.push_back({{"token", piece}, {"logprob", lp}, {"bytes", TokenBytes(piece)}});
      content.push_back(
          {{"token", e.piece}, {"logprob", e.logprob}, {"bytes", TokenBytes(e.piece)}, {"top_logprobs", top}});
    }
    return {{"content", content}, {"refusal", nullptr}};
  }
  json tokens = json::array(), token_logprobs = json::array(), top_logprobs = json::array(),
       offsets = json::array();
  for (const TokenLogprob& e : entries) {
    tokens.push_back(e.piece);
    token_logprobs.push_back(e.logprob);
    json top = json::object();
    for (const auto& [piece, lp] : e.top) top[piece] = lp;
    top_logprobs.push_back(top);
    offsets.push_back(*text_offset);
    *text_offset += e.piece.size();
  }
  return {{"tokens", tokens}, {"token_logprobs", token_logprobs}, {"top_logprobs", top_logprobs},
          {"text_offset", offsets}};
}

}  // namespace

void Server::HandleCompletion(const httplib::Request& req, httplib::Response& res, bool is_chat) {
  auto parsed = ParseCompletionRequest(req.body, is_chat);
  if (auto* e = std::get_if<ApiError>(&parsed)) return SendError(res, *e);
  CompletionRequest& request = std::get<CompletionRequest>(parsed);
  CurrentRequest().model = request.model;
  if (draining_)
    return SendError(res, ApiError::FromStatus(UnavailableError("the server is shutting down")));

  // A client that hangs up while its request waits or runs cancels it.
  const int client_fd = FindClientSocket(req);
  request.params.cancelled = [client_fd] { return PeerClosed(client_fd); };
  if (MaybeOrchestrate(request, res)) return;

  auto t0 = std::chrono::steady_clock::now();
  StatusOr<ModelManager::Lease> lease = manager_.Acquire(request.model);
  if (!lease.ok()) return SendError(res, ApiError::FromStatus(lease.status(), "model"));
  if (lease->load_wait_ms() > 50) {
    metrics_.ObserveModelLoad(
        request.model,
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  StatusOr<Prompt> prompt = (*lease)->PreparePrompt(request.input);
  if (!prompt.ok())
    return SendError(res, ApiError::FromStatus(prompt.status(), is_chat ? "messages" : "prompt"));
  CurrentRequest().prompt_tokens = static_cast<int>(prompt->tokens.size());
  if (!request.forced_tool.empty()) {
    // The call is forced by a grammar in this model's tool-call syntax (501 for a syntax without one).
    StatusOr<std::shared_ptr<const Grammar>> g = BuildToolCallGrammar(
        request.input.tools, request.forced_tool == "*" ? "" : request.forced_tool, prompt->tool_format);
    if (!g.ok()) {
      const StatusCode code = g.status().code();
      return SendError(res, ApiError::FromStatus(g.status(), code == StatusCode::kUnimplemented ? "tool_choice" : "tools"));
    }
    request.params.grammar = *g;
  }
  if (request.stream) {
    RespondStream(request, std::move(*lease), std::move(*prompt), res);
  } else {
    RespondComplete(request, std::move(*lease), std::move(*prompt), res);
  }
}

void Server::RespondComplete(CompletionRequest& request, ModelManager::Lease lease, Prompt prompt,
                             httplib::Response& res) {
  ResponseMeta meta{NewCompletionId(request.is_chat), std::time(nullptr), request.model,
                    request.orchestration_mode, request.is_chat};
  std::string text;
  bool aborted = false;
  auto on_text = [&](std::string_view piece) {
    if (PastShutdownDeadline()) {
      aborted = true;
      return false;
    }
    text.append(piece);
    return true;
  };
  auto on_token = [&](double ms) { metrics_.ObserveInterToken(meta.model, ms / 1000); };
  std::vector<TokenLogprob> logprobs;
  if (request.params.top_logprobs >= 0) {
    request.params.on_logprobs = [&](const std::vector<TokenLogprob>& e) {
      logprobs.insert(logprobs.end(), e.begin(), e.end());
    };
  }
  StatusOr<GenerationResult> r = lease->Generate(prompt, request.params, on_text, on_token);
  if (!r.ok()) return SendError(res, ApiError::FromStatus(r.status()));
  if (aborted)
    return SendError(res, ApiError::FromStatus(UnavailableError(
                              "the server is shutting down; generation was stopped")));
  RequestContext& ctx = CurrentRequest();
  ctx.completion_tokens = r->completion_tokens;
  ctx.queue_ms = r->queue_ms;
  ctx.inference_ms = r->inference_ms;
  ctx.finish_reason = r->finish_reason;
  metrics_.AddTokens(meta.model, r->prompt_tokens, r->completion_tokens);
  if (r->completion_tokens > 0)
    metrics_.ObserveTimeToFirstToken(meta.model, r->time_to_first_token_ms / 1000);

  json choice;
  choice["index"] = 0;
  std::string finish = r->finish_reason;
  if (meta.is_chat) {
    json message = {{"role", "assistant"}, {"content", text}};
    if (request.tools_enabled) {
      ParsedToolCalls parsed = ParseToolCalls(text, prompt.tool_format);
      if (!parsed.tool_calls.empty()) {
        message["content"] = parsed.content.empty() ? json(nullptr) : json(parsed.content);
        message["tool_calls"] = ToolCallsJson(parsed.tool_calls, false);
        finish = "tool_calls";
      }
    }
    choice["message"] = message;
  } else {
    choice["text"] = text;
  }
  size_t text_offset = 0;
  choice["logprobs"] =
      request.params.top_logprobs >= 0 ? LogprobsJson(logprobs, meta.is_chat, &text_offset) : json(nullptr);
  choice["finish_reason"] = finish;
  SendJson(res, 200,
           {{"id", meta.id},
            {"object", meta.is_chat ? "chat.completion" : "text_completion"},
            {"created", meta.created},
            {"model", meta.model},
            {"choices", json::array({choice})},
            {"usage", Usage(*r)},
            {"orchestration", Orchestration(meta, *r)}});
}

void Server::RespondStream(CompletionRequest& request, ModelManager::Lease lease, Prompt prompt,
                           httplib::Response& res) {
  struct StreamState {
    CompletionRequest request;
    ModelManager::Lease lease;
    Prompt prompt;
    ResponseMeta meta;
    std::vector<TokenLogprob> logprobs;  // of tokens not yet attached to a chunk
    size_t text_offset = 0;              // completions logprobs
    std::unique_ptr<PendingGeneration> pending;  // after `prompt`: destroyed before it
  };
  auto st = std::make_shared<StreamState>(StreamState{std::move(request), std::move(lease), std::move(prompt),
                                                      ResponseMeta{}, {}, 0, nullptr});
  if (st->request.params.top_logprobs >= 0) {
    // Called on the streaming thread just before the text of these tokens (Generator contract).
    StreamState* raw = st.get();
    st->request.params.on_logprobs = [raw](const std::vector<TokenLogprob>& e) {
      raw->logprobs.insert(raw->logprobs.end(), e.begin(), e.end());
    };
  }
  // Queue the request and wait for the model to start on it before any header is sent: a full
  // queue (429), a queue-wait deadline (503) or a client that left are still plain HTTP answers.
  StatusOr<std::unique_ptr<PendingGeneration>> pending = st->lease->Submit(st->prompt, st->request.params);
  if (!pending.ok()) return SendError(res, ApiError::FromStatus(pending.status()));
  st->pending = std::move(*pending);
  if (Status started = st->pending->WaitUntilStarted(); !started.ok())
    return SendError(res, ApiError::FromStatus(started));
  st->meta = {NewCompletionId(st->request.is_chat), std::time(nullptr), st->request.model,
              st->request.orchestration_mode, st->request.is_chat};
  res.set_header("Cache-Control", "no-cache");
  res.set_header("X-Accel-Buffering", "no");
  res.set_chunked_content_provider("text/event-stream", [this, st](size_t,
                                                                   httplib::DataSink& sink) {
    const ResponseMeta& m = st->meta;
    auto chunk = [&](json delta_or_text, json finish) {
      json choice = {{"index", 0}};
      if (m.is_chat) {
        choice["delta"] = std::move(delta_or_text);
      } else {
        choice["text"] = std::move(delta_or_text);
      }
      // Each chunk carries the logprobs of the tokens produced since the previous one.
      if (st->request.params.top_logprobs >= 0) {
        choice["logprobs"] = LogprobsJson(st->logprobs, m.is_chat, &st->text_offset);
        st->logprobs.clear();
      } else if (!m.is_chat) {
        choice["logprobs"] = nullptr;
      }
      choice["finish_reason"] = std::move(finish);
      json j = {{"id", m.id},
                {"object", m.is_chat ? "chat.completion.chunk" : "text_completion"},
                {"created", m.created},
                {"model", m.model},
                {"choices", json::array({choice})}};
      return SseData(j);
    };
    bool client_gone = false;
    auto write = [&](const std::string& s) {
      if (client_gone) return false;
      if (!sink.write(s.data(), s.size())) client_gone = true;
      return !client_gone;
    };
    if (m.is_chat) write(chunk({{"role", "assistant"}, {"content", ""}}, nullptr));
    std::string buffered;  // tool-call mode: the whole text, parsed at the end
    bool aborted = false;
    auto on_text = [&](std::string_view piece) {
      if (PastShutdownDeadline()) {
        aborted = true;
        return false;
      }
      if (st->request.tools_enabled) {
        buffered.append(piece);
        return true;
      }
      return write(chunk(
          m.is_chat ? json{{"content", std::string(piece)}} : json(std::string(piece)), nullptr));
    };
    auto on_token = [&](double ms) { metrics_.ObserveInterToken(m.model, ms / 1000); };
    StatusOr<GenerationResult> r = st->pending->Wait(on_text, on_token);
    RequestContext& ctx = CurrentRequest();
    if (!r.ok() || aborted) {
      // Headers and the first bytes are out: the error travels as an event, then [DONE].
      ApiError e = !r.ok() ? ApiError::FromStatus(r.status())
                           : ApiError::FromStatus(UnavailableError(
                                 "the server is shutting down; generation was stopped"));
      ctx.error = e.message;
      write(SseData(e.ToJson()));
      write("data: [DONE]\n\n");
      sink.done();
      return true;
    }
    ctx.completion_tokens = r->completion_tokens;
    ctx.queue_ms = r->queue_ms;
    ctx.inference_ms = r->inference_ms;
    ctx.finish_reason = client_gone ? "cancelled" : r->finish_reason;
    metrics_.AddTokens(m.model, r->prompt_tokens, r->completion_tokens);
    if (r->completion_tokens > 0)
      metrics_.ObserveTimeToFirstToken(m.model, r->time_to_first_token_ms / 1000);
    if (client_gone) {
      sink.done();
      return true;
    }
    std::string finish = r->finish_reason;
    if (st->request.tools_enabled) {
      ParsedToolCalls parsed = ParseToolCalls(buffered, st->prompt.tool_format);
      if (parsed.tool_calls.empty()) {
        if (!buffered.empty()) write(chunk({{"content", buffered}}, nullptr));
      } else {
        if (!parsed.content.empty()) write(chunk({{"content", parsed.content}}, nullptr));
        write(chunk({{"tool_calls", ToolCallsJson(parsed.tool_calls, true)}}, nullptr));
        finish = "tool_calls";
      }
    }
    write(chunk(m.is_chat ? json::object() : json(""), finish));
    if (st->request.include_usage) {
      json j = {{"id", m.id},
                {"object", m.is_chat ? "chat.completion.chunk" : "text_completion"},
                {"created", m.created},
                {"model", m.model},
                {"choices", json::array()},
                {"usage", Usage(*r)},
                {"orchestration", Orchestration(m, *r)}};
      write(SseData(j));
    }
    write("data: [DONE]\n\n");
    sink.done();
    return true;
  });
}

}  // namespace isv
