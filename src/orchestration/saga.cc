#include "orchestration/saga.h"

namespace isv {

void Saga::Register(std::string step, std::function<void()> compensate,
                    std::optional<std::string> answer) {
  steps_.push_back({std::move(step), std::move(compensate), std::move(answer)});
}

Saga::Outcome Saga::Compensate() {
  Outcome out;
  for (auto it = steps_.rbegin(); it != steps_.rend(); ++it) {
    if (it->compensate) it->compensate();
    out.compensated.push_back(it->name);
    if (!out.last_good_answer && it->answer) {
      out.last_good_answer = it->answer;
      out.last_good_step = it->name;
    }
  }
  steps_.clear();
  return out;
}

}  // namespace isv
