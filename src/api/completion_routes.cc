// POST /v1/chat/completions and /v1/completions: request -> lease on the model -> prompt ->
// generation, answered as one JSON object or as an SSE stream of OpenAI chunks.
#include <httplib.h>

#include <algorithm>
#include <chrono>
#include <ctime>

#include "api/api_error.h"
#include "api/choice_mux.h"
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
  if (!request.input.images.empty() && !(*lease)->accepts_images()) {
    const std::string& param = request.input.images[0].param;
    return SendError(res, ApiError::InvalidRequest("'" + param + "': model '" + request.model +
                                                       "' takes no images (it has no mmproj in models.yaml)",
                                                   param));
  }
  StatusOr<Prompt> prompt = (*lease)->PreparePrompt(request.input);
  if (!prompt.ok()) {
    std::string param = is_chat ? "messages" : "prompt";
    for (const PromptImageInput& image : request.input.images) {  // a bad image names its part
      if (prompt.status().message().rfind(image.param + ":", 0) == 0) param = image.param;
    }
    return SendError(res, ApiError::FromStatus(prompt.status(), param));
  }
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

namespace {

// One choice of a response (OpenAI `n`): its parameters and what it has produced so far.
struct Choice {
  GenerationParams params;
  std::string text;                    // non-streaming: all of it; streaming with tools: buffered
  std::vector<TokenLogprob> logprobs;  // not yet attached to a response / chunk
  size_t text_offset = 0;              // completions logprobs
};

// The n choices of a request: choice i samples with seed + i when the request has a seed (so each
// choice is what a single request with that seed would give), with a fresh random seed otherwise.
std::vector<Choice> MakeChoices(const CompletionRequest& request, ChoiceMux& mux) {
  std::vector<Choice> choices(static_cast<size_t>(request.n));
  for (int i = 0; i < request.n; ++i) {
    Choice& c = choices[static_cast<size_t>(i)];
    c.params = request.params;
    const uint64_t seed = request.params.sampling.seed;
    if (seed != SamplingParams{}.seed) c.params.sampling.seed = seed + static_cast<uint64_t>(i);
    if (request.params.top_logprobs >= 0) c.params.on_logprobs = mux.LogprobHook(i);
  }
  return choices;
}

// Submits every choice; the first error (queue full, ...) cancels the ones already queued.
StatusOr<std::vector<std::unique_ptr<PendingGeneration>>> SubmitChoices(Generator& generator, const Prompt& prompt,
                                                                         const std::vector<Choice>& choices) {
  std::vector<std::unique_ptr<PendingGeneration>> pendings;
  for (const Choice& c : choices) {
    StatusOr<std::unique_ptr<PendingGeneration>> p = generator.Submit(prompt, c.params);
    if (!p.ok()) return p.status();
    pendings.push_back(std::move(*p));
  }
  return pendings;
}

// Usage of a request: the prompt once (every choice shares it), the completions summed.
GenerationResult Combined(const std::vector<StatusOr<GenerationResult>>& results) {
  GenerationResult total = *results.front();
  for (size_t i = 1; i < results.size(); ++i) {
    total.completion_tokens += results[i]->completion_tokens;
    total.inference_ms = std::max(total.inference_ms, results[i]->inference_ms);
  }
  return total;
}

}  // namespace

void Server::RespondComplete(CompletionRequest& request, ModelManager::Lease lease, Prompt prompt,
                             httplib::Response& res) {
  ResponseMeta meta{NewCompletionId(request.is_chat), std::time(nullptr), request.model,
                    request.orchestration_mode, request.is_chat};
  ChoiceMux mux(request.n);
  std::vector<Choice> choices = MakeChoices(request, mux);
  StatusOr<std::vector<std::unique_ptr<PendingGeneration>>> pendings = SubmitChoices(*lease, prompt, choices);
  if (!pendings.ok()) return SendError(res, ApiError::FromStatus(pendings.status()));
  bool aborted = false;
  auto on_text = [&](int i, std::string_view piece) {
    if (PastShutdownDeadline()) {
      aborted = true;
      return false;
    }
    choices[static_cast<size_t>(i)].text.append(piece);
    return true;
  };
  auto on_logprobs = [&](int i, const std::vector<TokenLogprob>& e) {
    std::vector<TokenLogprob>& l = choices[static_cast<size_t>(i)].logprobs;
    l.insert(l.end(), e.begin(), e.end());
  };
  auto on_token = [&](double ms) { metrics_.ObserveInterToken(meta.model, ms / 1000); };
  std::vector<StatusOr<GenerationResult>> results = mux.Run(*pendings, on_text, on_logprobs, on_token);
  for (const StatusOr<GenerationResult>& r : results) {
    if (!r.ok()) return SendError(res, ApiError::FromStatus(r.status()));
  }
  if (aborted)
    return SendError(res, ApiError::FromStatus(UnavailableError(
                              "the server is shutting down; generation was stopped")));
  const GenerationResult total = Combined(results);
  RequestContext& ctx = CurrentRequest();
  ctx.completion_tokens = total.completion_tokens;
  ctx.queue_ms = total.queue_ms;
  ctx.inference_ms = total.inference_ms;
  ctx.finish_reason = total.finish_reason;
  metrics_.AddTokens(meta.model, total.prompt_tokens, total.completion_tokens);
  if (total.completion_tokens > 0)
    metrics_.ObserveTimeToFirstToken(meta.model, total.time_to_first_token_ms / 1000);

  json out_choices = json::array();
  for (size_t i = 0; i < choices.size(); ++i) {
    Choice& c = choices[i];
    json choice;
    choice["index"] = i;
    std::string finish = results[i]->finish_reason;
    if (meta.is_chat) {
      json message = {{"role", "assistant"}, {"content", c.text}};
      if (request.tools_enabled) {
        ParsedToolCalls parsed = ParseToolCalls(c.text, prompt.tool_format);
        if (!parsed.tool_calls.empty()) {
          message["content"] = parsed.content.empty() ? json(nullptr) : json(parsed.content);
          message["tool_calls"] = ToolCallsJson(parsed.tool_calls, false);
          finish = "tool_calls";
        }
      }
      choice["message"] = message;
    } else {
      choice["text"] = c.text;
    }
    choice["logprobs"] =
        request.params.top_logprobs >= 0 ? LogprobsJson(c.logprobs, meta.is_chat, &c.text_offset) : json(nullptr);
    choice["finish_reason"] = finish;
    out_choices.push_back(std::move(choice));
  }
  SendJson(res, 200,
           {{"id", meta.id},
            {"object", meta.is_chat ? "chat.completion" : "text_completion"},
            {"created", meta.created},
            {"model", meta.model},
            {"choices", std::move(out_choices)},
            {"usage", Usage(total)},
            {"orchestration", Orchestration(meta, total)}});
}

void Server::RespondStream(CompletionRequest& request, ModelManager::Lease lease, Prompt prompt,
                           httplib::Response& res) {
  struct StreamState {
    CompletionRequest request;
    ModelManager::Lease lease;
    Prompt prompt;
    ResponseMeta meta;
    ChoiceMux mux;
    std::vector<Choice> choices;
    std::vector<std::unique_ptr<PendingGeneration>> pendings;  // after `prompt`: destroyed before it
    StreamState(CompletionRequest r, ModelManager::Lease l, Prompt p)
        : request(std::move(r)), lease(std::move(l)), prompt(std::move(p)), mux(request.n) {}
  };
  auto st = std::make_shared<StreamState>(std::move(request), std::move(lease), std::move(prompt));
  st->choices = MakeChoices(st->request, st->mux);
  // Queue the choices and wait for the model to start on them before any header is sent: a full
  // queue (429), a queue-wait deadline (503) or a client that left are still plain HTTP answers.
  StatusOr<std::vector<std::unique_ptr<PendingGeneration>>> pendings =
      SubmitChoices(*st->lease, st->prompt, st->choices);
  if (!pendings.ok()) return SendError(res, ApiError::FromStatus(pendings.status()));
  st->pendings = std::move(*pendings);
  for (std::unique_ptr<PendingGeneration>& p : st->pendings) {
    if (Status started = p->WaitUntilStarted(); !started.ok()) return SendError(res, ApiError::FromStatus(started));
  }
  st->meta = {NewCompletionId(st->request.is_chat), std::time(nullptr), st->request.model,
              st->request.orchestration_mode, st->request.is_chat};
  res.set_header("Cache-Control", "no-cache");
  res.set_header("X-Accel-Buffering", "no");
  res.set_chunked_content_provider("text/event-stream", [this, st](size_t,
                                                                   httplib::DataSink& sink) {
    const ResponseMeta& m = st->meta;
    const bool with_logprobs = st->request.params.top_logprobs >= 0;
    auto chunk = [&](size_t index, json delta_or_text, json finish) {
      json choice = {{"index", index}};
      if (m.is_chat) {
        choice["delta"] = std::move(delta_or_text);
      } else {
        choice["text"] = std::move(delta_or_text);
      }
      // Each chunk carries the logprobs of the choice's tokens produced since its previous chunk.
      Choice& c = st->choices[index];
      if (with_logprobs) {
        choice["logprobs"] = LogprobsJson(c.logprobs, m.is_chat, &c.text_offset);
        c.logprobs.clear();
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
    if (m.is_chat) {
      for (size_t i = 0; i < st->choices.size(); ++i) write(chunk(i, {{"role", "assistant"}, {"content", ""}}, nullptr));
    }
    bool aborted = false;
    auto on_text = [&](int index, std::string_view piece) {
      if (PastShutdownDeadline()) {
        aborted = true;
        return false;
      }
      const size_t i = static_cast<size_t>(index);
      if (st->request.tools_enabled) {  // tool-call mode: the whole text, parsed at the end
        st->choices[i].text.append(piece);
        return true;
      }
      return write(chunk(i, m.is_chat ? json{{"content", std::string(piece)}} : json(std::string(piece)), nullptr));
    };
    auto on_logprobs = [&](int index, const std::vector<TokenLogprob>& e) {
      std::vector<TokenLogprob>& l = st->choices[static_cast<size_t>(index)].logprobs;
      l.insert(l.end(), e.begin(), e.end());
    };
    auto on_token = [&](double ms) { metrics_.ObserveInterToken(m.model, ms / 1000); };
    std::vector<StatusOr<GenerationResult>> results = st->mux.Run(st->pendings, on_text, on_logprobs, on_token);
    RequestContext& ctx = CurrentRequest();
    Status failed;
    for (const StatusOr<GenerationResult>& r : results) {
      if (!r.ok() && failed.ok()) failed = r.status();
    }
    if (!failed.ok() || aborted) {
      // Headers and the first bytes are out: the error travels as an event, then [DONE].
      ApiError e = !failed.ok() ? ApiError::FromStatus(failed)
                                : ApiError::FromStatus(UnavailableError(
                                      "the server is shutting down; generation was stopped"));
      ctx.error = e.message;
      write(SseData(e.ToJson()));
      write("data: [DONE]\n\n");
      sink.done();
      return true;
    }
    const GenerationResult total = Combined(results);
    ctx.completion_tokens = total.completion_tokens;
    ctx.queue_ms = total.queue_ms;
    ctx.inference_ms = total.inference_ms;
    ctx.finish_reason = client_gone ? "cancelled" : total.finish_reason;
    metrics_.AddTokens(m.model, total.prompt_tokens, total.completion_tokens);
    if (total.completion_tokens > 0)
      metrics_.ObserveTimeToFirstToken(m.model, total.time_to_first_token_ms / 1000);
    if (client_gone) {
      sink.done();
      return true;
    }
    for (size_t i = 0; i < st->choices.size(); ++i) {
      std::string finish = results[i]->finish_reason;
      if (st->request.tools_enabled) {
        const std::string& buffered = st->choices[i].text;
        ParsedToolCalls parsed = ParseToolCalls(buffered, st->prompt.tool_format);
        if (parsed.tool_calls.empty()) {
          if (!buffered.empty()) write(chunk(i, {{"content", buffered}}, nullptr));
        } else {
          if (!parsed.content.empty()) write(chunk(i, {{"content", parsed.content}}, nullptr));
          write(chunk(i, {{"tool_calls", ToolCallsJson(parsed.tool_calls, true)}}, nullptr));
          finish = "tool_calls";
        }
      }
      write(chunk(i, m.is_chat ? json::object() : json(""), finish));
    }
    if (st->request.include_usage) {
      json j = {{"id", m.id},
                {"object", m.is_chat ? "chat.completion.chunk" : "text_completion"},
                {"created", m.created},
                {"model", m.model},
                {"choices", json::array()},
                {"usage", Usage(total)},
                {"orchestration", Orchestration(m, total)}};
      write(SseData(j));
    }
    write("data: [DONE]\n\n");
    sink.done();
    return true;
  });
}

}  // namespace isv
