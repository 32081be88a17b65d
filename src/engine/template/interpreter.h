// Interpreter: walks a parsed template and writes its output.
//
// Scoping follows Jinja2: the template body and each macro call have a frame; every `for` iteration,
// `{% set x %}...{% endset %}` body and `{% filter %}` body gets a fresh child frame (so `set` inside
// does not leak out, hence `namespace()`); `if` shares its frame. Macros see their defining frame (closure). Sandbox limits bound total loop iterations,
// macro call depth and output size; exceeding one raises a TemplateError("SecurityError").
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>

#include "engine/template/ast.h"
#include "engine/template/builtins.h"

namespace isv::jinja {

struct InterpreterLimits {
  int64_t max_loop_iterations = 1'000'000;  // over all loops of one render
  int max_call_depth = 64;                  // nested macro calls
  size_t max_output_bytes = 16 << 20;
};

class Interpreter {
 public:
  Interpreter(const BuiltinContext& builtins, const InterpreterLimits& limits);

  // Renders `root` with `context` variables. Throws TemplateError.
  std::string Render(const NodeList& root, const ValueDict& context);

 private:
  struct Frame {
    std::unordered_map<std::string, Value> vars;
    std::shared_ptr<Frame> parent;
  };
  using FramePtr = std::shared_ptr<Frame>;
  enum class Flow { kNormal, kBreak, kContinue };

  Flow ExecBody(const NodeList& body, const FramePtr& frame, std::string& out);
  Flow Exec(const Node& node, const FramePtr& frame, std::string& out);
  Flow ExecFor(const Node& node, const FramePtr& frame, std::string& out);
  void ExecSet(const Node& node, const FramePtr& frame, std::string& out);
  void DefineMacro(const Node& node, const FramePtr& frame);
  Value Eval(const Expr& e, const FramePtr& frame);
  Value EvalCall(const Expr& e, const FramePtr& frame);
  Value EvalFilter(const Expr& e, const Value& input, const FramePtr& frame);
  CallArgs EvalArgs(const Expr& e, size_t first, const FramePtr& frame);
  Value Lookup(const std::string& name, const FramePtr& frame) const;
  static FramePtr ChildFrame(const FramePtr& parent);
  void Append(std::string& out, const std::string& s);

  BuiltinContext builtins_;
  InterpreterLimits limits_;
  ValueDict globals_;
  int64_t iterations_ = 0;
  int call_depth_ = 0;
};

}  // namespace isv::jinja
