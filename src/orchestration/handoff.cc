#include "orchestration/handoff.h"

#include <algorithm>

namespace isv {

using json = nlohmann::ordered_json;

namespace {

std::string ContentText(const json& m) {
  auto it = m.find("content");
  if (it == m.end() || !it->is_string()) return "";
  return it->get<std::string>();
}

// Cuts at a UTF-8 character boundary at or before `n`.
size_t Utf8Floor(const std::string& s, size_t n) {
  if (n >= s.size()) return s.size();
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return n;
}
// Cuts at a UTF-8 character boundary at or after `n`.
size_t Utf8Ceil(const std::string& s, size_t n) {
  while (n < s.size() && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) ++n;
  return n;
}

StatusOr<int> RawTokens(const Generator& gen, const std::string& text) {
  PromptInput empty;
  empty.is_chat = false;
  ISV_ASSIGN_OR_RETURN(Prompt base, gen.PreparePrompt(empty));
  const size_t chunk = static_cast<size_t>(std::max(16, gen.n_ctx() / 2));
  int total = 0;
  for (size_t pos = 0; pos < text.size();) {
    size_t end = Utf8Ceil(text, std::min(text.size(), pos + chunk));
    PromptInput in;
    in.is_chat = false;
    in.prompt = text.substr(pos, end - pos);
    ISV_ASSIGN_OR_RETURN(Prompt p, gen.PreparePrompt(in));
    total += static_cast<int>(p.tokens.size() - std::min(p.tokens.size(), base.tokens.size()));
    pos = end;
  }
  return total;
}

std::string JoinSections(const std::vector<HandoffSection>& sections) {
  std::string out;
  for (const HandoffSection& s : sections) {
    if (!out.empty()) out += "\n\n";
    out += "### " + s.label + "\n" + s.text;
  }
  return out;
}

std::string KeepEnds(const std::string& text, size_t keep) {
  if (keep >= text.size()) return text;
  size_t head = Utf8Floor(text, keep / 2);
  size_t tail = Utf8Ceil(text, text.size() - (keep - keep / 2));
  return text.substr(0, head) + "\n[...]\n" + text.substr(tail);
}

struct Fitter {
  const Generator& gen;
  const HandoffState& state;
  int limit;

  StatusOr<int> Count(const StagePrompt& p, size_t dropped) const {
    return CountPromptTokens(gen, ComposeMessages(state, p, dropped));
  }
  // Largest middle-truncation of the sections (joined into one) that fits, dropping history turns
  // only when not even an empty section fits. Updates p, *dropped, *kept.
  Status TruncateMiddle(StagePrompt* p, size_t* dropped, int* kept) const {
    const std::string joined = JoinSections(p->sections);
    StagePrompt trial = *p;
    trial.sections.clear();
    if (!joined.empty()) trial.sections.push_back({"", "Earlier stages (shortened)", ""});
    for (;; ++*dropped) {
      if (*dropped > state.history().size())
        return OutOfRangeError("the question alone does not fit this model's " +
                               std::to_string(limit) + "-token handoff limit");
      if (!joined.empty()) trial.sections[0].text.clear();
      ISV_ASSIGN_OR_RETURN(int base, Count(trial, *dropped));
      if (base <= limit) break;
    }
    size_t lo = 0, hi = joined.size();  // invariant: keep=lo fits
    int best = 0;
    while (lo < hi) {
      size_t mid = lo + (hi - lo + 1) / 2;
      if (!joined.empty()) trial.sections[0].text = KeepEnds(joined, mid);
      ISV_ASSIGN_OR_RETURN(int n, Count(trial, *dropped));
      if (n <= limit) {
        lo = mid;
        best = n;
      } else {
        hi = mid - 1;
      }
    }
    if (!joined.empty()) trial.sections[0].text = lo == 0 ? "" : KeepEnds(joined, lo);
    if (lo == 0) {  // nothing of the sections fits: the measured empty form
      ISV_ASSIGN_OR_RETURN(best, Count(trial, *dropped));
    }
    *p = trial;
    *kept = best;
    return OkStatus();
  }
};

}  // namespace

HandoffState::HandoffState(const json& messages) {
  size_t last_user = messages.size();
  for (size_t i = 0; i < messages.size(); ++i) {
    if (messages[i].value("role", "") == "user") last_user = i;
  }
  for (size_t i = 0; i < messages.size(); ++i) {
    const json& m = messages[i];
    std::string role = m.value("role", "");
    if (role == "system" || role == "developer") {
      if (!system_.empty()) system_ += "\n\n";
      system_ += ContentText(m);
    } else if (i == last_user) {
      question_ = ContentText(m);
    } else {
      history_.push_back(m);
    }
  }
}

void HandoffState::Discard(const std::string& stage) {
  std::erase_if(sections_, [&](const HandoffSection& s) { return s.stage == stage; });
}

json ComposeMessages(const HandoffState& state, const StagePrompt& prompt, size_t history_dropped) {
  json out = json::array();
  std::string system = state.system();
  if (!prompt.system.empty()) system += (system.empty() ? "" : "\n\n") + prompt.system;
  if (!system.empty()) out.push_back({{"role", "system"}, {"content", system}});
  for (size_t i = history_dropped; i < state.history().size(); ++i)
    out.push_back(state.history()[i]);
  std::string user = state.question();
  std::string sections = JoinSections(prompt.sections);
  if (!sections.empty()) user += "\n\n" + sections;
  if (!prompt.task.empty()) user += "\n\n" + prompt.task;
  out.push_back({{"role", "user"}, {"content", user}});
  return out;
}

StatusOr<int> CountPromptTokens(const Generator& gen, const json& messages) {
  PromptInput in;
  in.is_chat = true;
  in.messages = messages;
  StatusOr<Prompt> p = gen.PreparePrompt(in);
  if (p.ok()) return static_cast<int>(p->tokens.size());
  if (p.status().code() != StatusCode::kOutOfRange) return p.status();
  // Too long for the context: the template around empty contents, plus each content's tokens.
  json skeleton = messages;
  int total = 0;
  for (json& m : skeleton) {
    if (m.contains("content") && m["content"].is_string()) {
      ISV_ASSIGN_OR_RETURN(int n, RawTokens(gen, m["content"].get<std::string>()));
      total += n;
      m["content"] = "";
    }
  }
  in.messages = skeleton;
  ISV_ASSIGN_OR_RETURN(Prompt base, gen.PreparePrompt(in));
  return total + static_cast<int>(base.tokens.size());
}

StatusOr<FitResult> FitHandoff(const Generator& gen, const HandoffState& state,
                               const StagePrompt& prompt, int limit_tokens, HandoffPolicy policy,
                               const Summarizer& summarize) {
  Fitter f{gen, state, limit_tokens};
  FitResult r;
  StagePrompt p = prompt;
  size_t dropped = 0;
  ISV_ASSIGN_OR_RETURN(r.tokens_in, f.Count(p, 0));
  r.tokens_kept = r.tokens_in;
  r.policy = "none";
  if (r.tokens_in > limit_tokens) {
    bool fits = false;
    r.policy = std::string(HandoffPolicyName(policy));
    if (policy == HandoffPolicy::kDropOldest) {
      while (!fits && (dropped < state.history().size() || p.sections.size() > 1)) {
        if (dropped < state.history().size()) {
          ++dropped;
        } else {
          p.sections.erase(p.sections.begin());
        }
        ISV_ASSIGN_OR_RETURN(r.tokens_kept, f.Count(p, dropped));
        fits = r.tokens_kept <= limit_tokens;
      }
    } else if (policy == HandoffPolicy::kSummarize && !p.sections.empty() && summarize) {
      StagePrompt empty = p;
      empty.sections = {{"", "Summary of earlier stages", ""}};
      ISV_ASSIGN_OR_RETURN(int base, f.Count(empty, 0));
      StatusOr<std::string> summary =
          summarize(JoinSections(p.sections), std::max(16, limit_tokens - base));
      if (summary.ok() && !summary->empty()) {
        p.sections = {{"", "Summary of earlier stages", *summary}};
        ISV_ASSIGN_OR_RETURN(r.tokens_kept, f.Count(p, 0));
        fits = r.tokens_kept <= limit_tokens;
      } else {
        r.policy = "summarize_failed";
      }
    }
    if (!fits) {
      if (policy != HandoffPolicy::kTruncateMiddle) r.policy += "+truncate_middle";
      ISV_RETURN_IF_ERROR(f.TruncateMiddle(&p, &dropped, &r.tokens_kept));
    }
  }
  r.messages = ComposeMessages(state, p, dropped);
  return r;
}

}  // namespace isv
