// Saga: the compensations of an orchestration's completed stages. Each completed stage registers
// one (release what it holds, discard its output from the handoff) and, when its output is a usable
// final answer, that answer as a restore point. When a later stage fails, Compensate() runs the
// compensations newest first, each once; the first restore point met on the way back is the last
// good answer, which the orchestrator returns marked degraded.
//
// Not thread-safe: one saga belongs to one request's orchestration thread.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace isv {

class Saga {
 public:
  struct Outcome {
    std::vector<std::string> compensated;  // step names, in the order they were compensated
    std::optional<std::string> last_good_answer;
    std::string last_good_step;  // the step that produced it
  };

  // Registers the compensation of the completed step `step`; `answer` is set when the step's
  // output can stand as the final answer.
  void Register(std::string step, std::function<void()> compensate,
                std::optional<std::string> answer = std::nullopt);
  // Runs every registered compensation, newest first, and forgets them.
  Outcome Compensate();
  size_t size() const { return steps_.size(); }

 private:
  struct Step {
    std::string name;
    std::function<void()> compensate;
    std::optional<std::string> answer;
  };
  std::vector<Step> steps_;
};

}  // namespace isv
