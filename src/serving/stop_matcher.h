// StopMatcher: applies OpenAI `stop` strings to streamed text. Text that could be the start of a
// stop string is held back until it either completes the stop string (generation ends; the stop
// string and anything after it are never emitted) or can no longer match (it is released).
//
//   StopMatcher m({"\n\n", "END"});
//   std::string out = m.Push(piece);   // text safe to send now
//   if (m.stopped()) ...               // a stop string appeared
//   out += m.Flush();                  // at the end: release what was held back
//
// Plain value type, one per generation; not synchronised.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace isv {

class StopMatcher {
 public:
  explicit StopMatcher(std::vector<std::string> stops);

  // Adds generated text; returns the part that can be emitted. After a stop string is found,
  // returns the text before it and stopped() becomes true; later calls return "".
  std::string Push(std::string_view text);
  // Returns the held-back text (when generation ended for another reason).
  std::string Flush();
  bool stopped() const { return stopped_; }

 private:
  std::vector<std::string> stops_;
  std::string held_;
  bool stopped_ = false;
};

}  // namespace isv
