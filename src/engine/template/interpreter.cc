#include "engine/template/interpreter.h"

#include "engine/template/error.h"

namespace isv::jinja {

Interpreter::Interpreter(const BuiltinContext& builtins, const InterpreterLimits& limits)
    : builtins_(builtins), limits_(limits), globals_(MakeGlobals(builtins)) {}

std::string Interpreter::Render(const NodeList& root, const ValueDict& context) {
  auto frame = std::make_shared<Frame>();
  for (const auto& [k, v] : context.items) frame->vars[k] = v;
  std::string out;
  ExecBody(root, frame, out);
  return out;
}

void Interpreter::Append(std::string& out, const std::string& s) {
  if (out.size() + s.size() > limits_.max_output_bytes) {
    ThrowError("SecurityError", "output exceeds " + std::to_string(limits_.max_output_bytes) + " bytes");
  }
  out += s;
}

Value Interpreter::Lookup(const std::string& name, const FramePtr& frame) const {
  for (const Frame* f = frame.get(); f != nullptr; f = f->parent.get()) {
    auto it = f->vars.find(name);
    if (it != f->vars.end()) return it->second;
  }
  if (const Value* g = globals_.Find(name)) return *g;
  return Value::Undefined("'" + name + "' is undefined");
}

Interpreter::FramePtr Interpreter::ChildFrame(const FramePtr& parent) {
  auto f = std::make_shared<Frame>();
  f->parent = parent;
  return f;
}

Interpreter::Flow Interpreter::ExecBody(const NodeList& body, const FramePtr& frame, std::string& out) {
  for (const NodePtr& n : body) {
    Flow f = Exec(*n, frame, out);
    if (f != Flow::kNormal) return f;
  }
  return Flow::kNormal;
}

Interpreter::Flow Interpreter::Exec(const Node& node, const FramePtr& frame, std::string& out) {
  try {
    switch (node.kind) {
      case Node::Kind::kText: Append(out, node.text); break;
      case Node::Kind::kOutput: {
        Value v = Eval(*node.expr, frame);
        if (v.is_unsafe_undefined()) FailUndefined(v);
        Append(out, v.ToStr());
        break;
      }
      case Node::Kind::kIf:
        for (size_t i = 0; i < node.bodies.size(); ++i) {
          if (i >= node.conditions.size() || node.conditions[i] == nullptr ||
              Eval(*node.conditions[i], frame).Truthy()) {
            return ExecBody(node.bodies[i], frame, out);
          }
        }
        break;
      case Node::Kind::kFor: return ExecFor(node, frame, out);
      case Node::Kind::kSet:
      case Node::Kind::kSetBlock: ExecSet(node, frame, out); break;
      case Node::Kind::kMacro: DefineMacro(node, frame); break;
      case Node::Kind::kFilterBlock: {
        std::string body;
        Flow f = ExecBody(node.bodies[0], ChildFrame(frame), body);
        Value v = EvalFilter(*node.expr, Value::String(body), frame);
        Append(out, v.ToStr());
        return f;
      }
      case Node::Kind::kBreak: return Flow::kBreak;
      case Node::Kind::kContinue: return Flow::kContinue;
    }
  } catch (TemplateError& e) {
    if (e.line == 0) {
      e.line = node.line;
      e.column = node.column;
    }
    throw;
  }
  return Flow::kNormal;
}

Interpreter::Flow Interpreter::ExecFor(const Node& node, const FramePtr& frame, std::string& out) {
  Value iterable = Eval(*node.expr, frame);
  if (iterable.is_none()) ThrowError("TypeError", "'NoneType' object is not iterable");
  ValueList items = Iterate(iterable);
  auto bind = [&](const FramePtr& f, const Value& item) {
    if (node.targets.size() == 1) {
      f->vars[node.targets[0]] = item;
      return;
    }
    ValueList parts = Iterate(item);
    if (parts.size() != node.targets.size()) {
      ThrowError("ValueError", "cannot unpack " + std::to_string(parts.size()) + " values into " +
                                   std::to_string(node.targets.size()) + " loop variables");
    }
    for (size_t i = 0; i < parts.size(); ++i) f->vars[node.targets[i]] = parts[i];
  };
  if (node.cond) {  // `for x in xs if cond`: the loop (and loop.length) only sees matching items
    ValueList kept;
    for (const Value& item : items) {
      auto f = std::make_shared<Frame>();
      f->parent = frame;
      bind(f, item);
      if (Eval(*node.cond, f).Truthy()) kept.push_back(item);
    }
    items = std::move(kept);
  }
  // Jinja2 runs the else block unless some iteration ran its body to the end: an iteration left by
  // break or continue does not count (its "iterated" flag is set after the body).
  bool completed_any = false;
  const int64_t n = static_cast<int64_t>(items.size());
  for (int64_t i = 0; i < n; ++i) {
    if (++iterations_ > limits_.max_loop_iterations) {
      ThrowError("SecurityError", "loop iteration limit (" + std::to_string(limits_.max_loop_iterations) +
                                      ") exceeded");
    }
    auto f = std::make_shared<Frame>();
    f->parent = frame;
    bind(f, items[i]);
    auto loop = std::make_shared<ValueDict>();
    loop->Set("index", Value::Int(i + 1));
    loop->Set("index0", Value::Int(i));
    loop->Set("revindex", Value::Int(n - i));
    loop->Set("revindex0", Value::Int(n - i - 1));
    loop->Set("first", Value::Bool(i == 0));
    loop->Set("last", Value::Bool(i == n - 1));
    loop->Set("length", Value::Int(n));
    loop->Set("depth", Value::Int(1));
    loop->Set("depth0", Value::Int(0));
    loop->Set("previtem", i > 0 ? items[i - 1] : Value::Undefined("there is no previous item"));
    loop->Set("nextitem", i + 1 < n ? items[i + 1] : Value::Undefined("there is no next item"));
    loop->Set("cycle", Value::Function("cycle", [i](CallArgs& a) -> Value {
      if (a.positional.empty()) ThrowError("TypeError", "no items for cycling given");
      return a.positional[static_cast<size_t>(i) % a.positional.size()];
    }));
    f->vars["loop"] = Value::Dict(std::move(loop));
    Flow flow = ExecBody(node.bodies[0], f, out);
    if (flow == Flow::kBreak) break;
    if (flow == Flow::kNormal) completed_any = true;
  }
  if (!completed_any && node.bodies.size() > 1) ExecBody(node.bodies[1], frame, out);
  return Flow::kNormal;
}

void Interpreter::ExecSet(const Node& node, const FramePtr& frame, std::string& out) {
  (void)out;
  Value v;
  if (node.kind == Node::Kind::kSetBlock) {
    std::string body;
    ExecBody(node.bodies[0], ChildFrame(frame), body);  // a block set body has its own scope
    v = Value::String(std::move(body));
    if (node.expr) v = EvalFilter(*node.expr, v, frame);
  } else {
    v = Eval(*node.expr, frame);
  }
  if (!node.attr.empty()) {
    Value ns = Lookup(node.targets[0], frame);
    if (!ns.is_namespace()) ThrowError("TemplateRuntimeError", "cannot assign attribute on non-namespace object");
    ns.mutable_dict().Set(node.attr, std::move(v));
    return;
  }
  if (node.targets.size() == 1) {
    frame->vars[node.targets[0]] = std::move(v);
    return;
  }
  ValueList parts = Iterate(v);
  if (parts.size() != node.targets.size()) ThrowError("ValueError", "wrong number of values to unpack");
  for (size_t i = 0; i < parts.size(); ++i) frame->vars[node.targets[i]] = parts[i];
}

void Interpreter::DefineMacro(const Node& node, const FramePtr& frame) {
  const Node* def = &node;
  std::weak_ptr<Frame> weak_frame = frame;  // the frame owns the macro; avoid a reference cycle
  Value macro = Value::Function(node.name, [this, def, weak_frame](CallArgs& args) -> Value {
    FramePtr closure = weak_frame.lock();
    if (++call_depth_ > limits_.max_call_depth) {
      --call_depth_;
      ThrowError("SecurityError", "macro recursion deeper than " + std::to_string(limits_.max_call_depth));
    }
    struct DepthRestore {
      int* d;
      ~DepthRestore() { --*d; }
    } restore{&call_depth_};
    auto f = std::make_shared<Frame>();
    f->parent = closure;
    const auto& params = def->params;
    if (args.positional.size() > params.size()) {
      ThrowError("TypeError", "macro '" + def->name + "' takes not more than " + std::to_string(params.size()) +
                                  " argument(s)");
    }
    for (const auto& [k, _] : args.named) {
      bool known = false;
      for (const auto& p : params) known = known || p.first == k;
      if (!known) ThrowError("TypeError", "macro '" + def->name + "' takes no keyword argument '" + k + "'");
    }
    for (size_t i = 0; i < params.size(); ++i) {
      const std::string& pname = params[i].first;
      Value v;
      bool set = false;
      if (i < args.positional.size()) {
        v = args.positional[i];
        set = true;
      }
      for (const auto& [k, val] : args.named) {
        if (k == pname) {
          v = val;
          set = true;
        }
      }
      if (!set) {
        v = params[i].second ? Eval(*params[i].second, f)
                             : Value::Undefined("parameter '" + pname + "' was not provided");
      }
      f->vars[pname] = v;
    }
    std::string body;
    ExecBody(def->bodies[0], f, body);
    return Value::String(std::move(body));
  });
  frame->vars[node.name] = macro;
}

CallArgs Interpreter::EvalArgs(const Expr& e, size_t first, const FramePtr& frame) {
  CallArgs a;
  for (size_t i = first; i < e.args.size(); ++i) a.positional.push_back(Eval(*e.args[i], frame));
  for (const auto& [k, v] : e.kwargs) a.named.emplace_back(k, Eval(*v, frame));
  return a;
}

Value Interpreter::EvalFilter(const Expr& e, const Value& input, const FramePtr& frame) {
  // A filter chain inside {% filter %} / {% set x | f %} has a null innermost input.
  Value in = input;
  if (e.args[0]) {
    in = e.args[0]->kind == Expr::Kind::kFilter ? EvalFilter(*e.args[0], input, frame) : Eval(*e.args[0], frame);
  }
  CallArgs a = EvalArgs(e, 1, frame);
  return ApplyFilter(e.name, in, a, builtins_);
}

Value Interpreter::EvalCall(const Expr& e, const FramePtr& frame) {
  Value callee = Eval(*e.args[0], frame);
  if (callee.is_undefined()) FailUndefined(callee);
  if (!callee.is_callable()) ThrowError("TypeError", "'" + callee.TypeName() + "' object is not callable");
  CallArgs a = EvalArgs(e, 1, frame);
  return callee.callable().fn(a);
}

Value Interpreter::Eval(const Expr& e, const FramePtr& frame) {
  try {
    switch (e.kind) {
      case Expr::Kind::kLiteral: return e.literal;
      case Expr::Kind::kName: return Lookup(e.name, frame);
      case Expr::Kind::kList:
      case Expr::Kind::kTuple: {
        ValueList items;
        for (const auto& a : e.args) items.push_back(Eval(*a, frame));
        return Value::List(std::move(items), e.kind == Expr::Kind::kTuple);
      }
      case Expr::Kind::kDict: {
        auto d = std::make_shared<ValueDict>();
        for (const auto& [k, v] : e.dict_items) {
          Value key = Eval(*k, frame);
          if (key.is_list() || key.is_dict() || key.is_undefined()) {
            ThrowError("TypeError", "unhashable dictionary key of type '" + key.TypeName() + "'");
          }
          d->Set(DictKey(key), Eval(*v, frame));
        }
        return Value::Dict(std::move(d));
      }
      case Expr::Kind::kGetAttr: return GetAttr(Eval(*e.args[0], frame), e.name, builtins_);
      case Expr::Kind::kGetItem: return GetItem(Eval(*e.args[0], frame), Eval(*e.args[1], frame), builtins_);
      case Expr::Kind::kSlice: {
        Value obj = Eval(*e.args[0], frame);
        Value parts[3];
        for (int i = 0; i < 3; ++i) {
          if (e.args[i + 1]) parts[i] = Eval(*e.args[i + 1], frame);
        }
        return Slice(obj, parts[0], parts[1], parts[2]);
      }
      case Expr::Kind::kCall: return EvalCall(e, frame);
      case Expr::Kind::kFilter: return EvalFilter(e, Value(), frame);
      case Expr::Kind::kTest: {
        Value v = Eval(*e.args[0], frame);
        CallArgs a = EvalArgs(e, 1, frame);
        return Value::Bool(ApplyTest(e.name, v, a) != e.negated);
      }
      case Expr::Kind::kUnary: {
        Value v = Eval(*e.args[0], frame);
        if (e.name == "not") {
          if (v.is_unsafe_undefined()) FailUndefined(v);
          return Value::Bool(!v.Truthy());
        }
        if (v.is_undefined()) FailUndefined(v);
        if (!v.is_number()) ThrowError("TypeError", "bad operand type for unary " + e.name + ": '" + v.TypeName() + "'");
        if (e.name == "+") return v.is_bool() ? Value::Int(v.bool_value()) : v;
        if (v.is_float()) return Value::Float(-v.float_value());
        return BinaryOp("-", Value::Int(0), v, builtins_);
      }
      case Expr::Kind::kBinary: {
        if (e.name == "and" || e.name == "or") {
          Value l = Eval(*e.args[0], frame);
          if (l.is_unsafe_undefined()) FailUndefined(l);
          if ((e.name == "and") != l.Truthy()) return l;
          return Eval(*e.args[1], frame);
        }
        return BinaryOp(e.name, Eval(*e.args[0], frame), Eval(*e.args[1], frame), builtins_);
      }
      case Expr::Kind::kCond:
        if (Eval(*e.args[1], frame).Truthy()) return Eval(*e.args[0], frame);
        return e.args[2] ? Eval(*e.args[2], frame) : Value::Undefined("the inline if-expression evaluated to false and no else section was defined.");
    }
  } catch (TemplateError& err) {
    if (err.line == 0) {
      err.line = e.line;
      err.column = e.column;
    }
    throw;
  }
  return Value();
}

}  // namespace isv::jinja
