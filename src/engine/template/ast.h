// The syntax tree the parser builds and the evaluator walks. Nodes are owned by their parent
// (unique_ptr); the root body is owned by a Template and outlives every render of it.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engine/template/value.h"

namespace isv::jinja {

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

struct Expr {
  enum class Kind {
    kLiteral,   // literal
    kName,      // name
    kList,      // args = items
    kTuple,     // args = items
    kDict,      // kwargs-like pairs in dict_items
    kGetAttr,   // args[0].name
    kGetItem,   // args[0][args[1]]
    kSlice,     // args[0][args[1]:args[2]:args[3]] (null = omitted)
    kCall,      // args[0](args[1..], kwargs)
    kFilter,    // args[0] | name(args[1..], kwargs); args[0] null inside {% filter %}
    kTest,      // args[0] is [not] name(args[1..])
    kUnary,     // name in {"-", "+", "not"}; args[0]
    kBinary,    // name is the operator ("+", "and", "in", "notin", "==", ...); args[0], args[1]
    kCond,      // args[0] if args[1] else args[2] (args[2] may be null)
  };
  Kind kind = Kind::kLiteral;
  int line = 0;
  int column = 0;
  Value literal;
  std::string name;
  bool negated = false;
  std::vector<ExprPtr> args;
  std::vector<std::pair<std::string, ExprPtr>> kwargs;
  std::vector<std::pair<ExprPtr, ExprPtr>> dict_items;
};

struct Node;
using NodePtr = std::unique_ptr<Node>;
using NodeList = std::vector<NodePtr>;

struct Node {
  enum class Kind {
    kText,         // text
    kOutput,       // {{ expr }}
    kIf,           // conditions[i] -> bodies[i]; bodies may hold one extra (else)
    kFor,          // for targets in expr [if cond]: bodies[0] [else bodies[1]]
    kSet,          // set targets = expr, or set targets[0].attr = expr
    kSetBlock,     // set targets[0] [| filter expr] %}bodies[0]{% endset
    kMacro,        // macro name(params) bodies[0]
    kFilterBlock,  // filter expr (a kFilter chain with a null input) bodies[0]
    kBreak,
    kContinue,
  };
  Kind kind = Kind::kText;
  int line = 0;
  int column = 0;
  std::string text;
  std::string name;
  std::string attr;
  ExprPtr expr;
  ExprPtr cond;
  std::vector<ExprPtr> conditions;
  std::vector<NodeList> bodies;
  std::vector<std::string> targets;
  std::vector<std::pair<std::string, ExprPtr>> params;
};

}  // namespace isv::jinja
