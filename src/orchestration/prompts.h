// The prompts the orchestration modes send to each stage, and the checks applied to stage outputs
// (refusal, critic approval, the judge's citation). docs/orchestration.md quotes them; keep the two
// in step.
//
// Free functions and constants; thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace isv::prompts {

// System prompts of the stage kinds.
inline constexpr std::string_view kCriticSystem =
    "You are a careful reviewer. You check an answer against the question it answers.";
inline constexpr std::string_view kCriticTask =
    "Review the answer above against the question. If it is correct and complete, reply with the "
    "single word APPROVED. Otherwise reply with a short list of the concrete problems to fix; do "
    "not rewrite the answer yourself.";
inline constexpr std::string_view kReviseTask =
    "Rewrite your answer to the question, fixing every problem the reviewer listed. Reply with the "
    "improved answer only.";
inline constexpr std::string_view kJudgeSystem =
    "You are a judge. Several assistants answered the same question independently.";
inline constexpr std::string_view kJudgeTask =
    "Compare the answers above, then write the single best final answer to the question. Begin "
    "your reply with 'Following answer N:' where N is the number of the answer you relied on "
    "most.";
inline constexpr std::string_view kSynthesizeMajorityTask =
    "Most answers agree with the majority view above. Write the final answer to the question in "
    "that view, clearly and completely.";
inline constexpr std::string_view kSynthesizeTieTask =
    "The answers above split evenly between the views shown. Reconcile them: write the final "
    "answer to the question, preferring what the views share, and say where they differ.";
inline constexpr std::string_view kSynthesizeNoConsensusTask =
    "Every answer above says something different. Write the best final answer to the question, "
    "using what is correct in each.";
inline constexpr std::string_view kSummarizeSystem = "You condense notes without losing facts.";
inline constexpr std::string_view kSummarizeTask =
    "Summarize the notes above so that every fact, decision and piece of code needed to answer "
    "the question is kept. Reply with the summary only.";
inline constexpr std::string_view kPipelineStageLabel = "Output of the previous stage";

// Default pipeline: thinker plans, coder implements, primary reviews.
inline constexpr std::string_view kPlanInstruction =
    "Write a short step-by-step plan for answering the question. Do not answer it yet.";
inline constexpr std::string_view kImplementInstruction =
    "Follow the plan above and produce the answer (code where code is asked for).";
inline constexpr std::string_view kReviewInstruction =
    "Review the work above, fix any mistakes, and reply with the final answer to the question.";

// True when `text` reads as a refusal: after leading whitespace/punctuation, it starts (case-
// insensitively) with a refusal phrase such as "I can't", "I cannot", "I'm sorry", "As an AI",
// "I am unable", "I won't".
bool IsRefusal(std::string_view text);

// True when a critic's reply approves: its first word, ignoring leading whitespace and markup
// characters (*, #, >, quotes, backticks), is APPROVED (any case) — "APPROVED." and
// "**Approved**" count, "Not approved" does not.
bool IsApproval(std::string_view text);

// The answer number a judge cites ("Following answer 2:", "answer #2", ...) in the first 200
// bytes of its reply, when it is in [1, n]; 0 when none.
int CitedAnswer(std::string_view text, int n);

}  // namespace isv::prompts
