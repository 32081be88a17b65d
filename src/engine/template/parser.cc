#include "engine/template/parser.h"

#include <set>

#include "engine/template/error.h"

namespace isv::jinja {
namespace {

constexpr int kMaxNesting = 256;

class Parser {
 public:
  explicit Parser(const std::vector<Token>& tokens) : t_(tokens) {}

  NodeList ParseAll() {
    std::string end_tag;
    NodeList body = ParseBody({}, &end_tag);
    if (Peek().type != TokenType::kEof) Fail("unexpected tag '" + end_tag + "'", Peek());
    return body;
  }

 private:
  struct DepthGuard {
    explicit DepthGuard(Parser* p) : p(p) {
      if (++p->depth_ > kMaxNesting) p->Fail("template nesting too deep", p->Peek());
    }
    ~DepthGuard() { --p->depth_; }
    Parser* p;
  };

  const Token& Peek(size_t ahead = 0) const {
    size_t i = pos_ + ahead;
    return i < t_.size() ? t_[i] : t_.back();
  }
  const Token& Next() {
    const Token& t = Peek();
    if (pos_ < t_.size() - 1) ++pos_;
    return t;
  }
  bool IsOp(const char* op, size_t ahead = 0) const {
    return Peek(ahead).type == TokenType::kOp && Peek(ahead).text == op;
  }
  bool IsName(const char* name, size_t ahead = 0) const {
    return Peek(ahead).type == TokenType::kName && Peek(ahead).text == name;
  }
  bool AcceptOp(const char* op) {
    if (!IsOp(op)) return false;
    Next();
    return true;
  }
  bool AcceptName(const char* name) {
    if (!IsName(name)) return false;
    Next();
    return true;
  }
  void ExpectOp(const char* op) {
    if (!AcceptOp(op)) Fail(std::string("expected '") + op + "'", Peek());
  }
  std::string ExpectName() {
    if (Peek().type != TokenType::kName) Fail("expected a name", Peek());
    return Next().text;
  }
  void ExpectBlockEnd() {
    if (Peek().type != TokenType::kBlockEnd) Fail("expected end of statement block", Peek());
    Next();
  }

  [[noreturn]] void Fail(const std::string& msg, const Token& at) const {
    std::string got = at.type == TokenType::kEof ? "end of template" : "'" + at.text + "'";
    throw TemplateError{"TemplateSyntaxError", msg + " (got " + got + ")", at.line, at.column};
  }

  // ---- statements ----

  // Parses nodes until a block tag named in `end_tags` (left unconsumed after the tag name, which
  // is stored in *end_tag) or end of input (only allowed when end_tags is empty).
  NodeList ParseBody(const std::set<std::string>& end_tags, std::string* end_tag) {
    DepthGuard guard(this);
    NodeList body;
    while (true) {
      const Token& tok = Peek();
      if (tok.type == TokenType::kEof) {
        if (!end_tags.empty()) Fail("unexpected end of template, expected '" + *end_tags.begin() + "'", tok);
        return body;
      }
      if (tok.type == TokenType::kText) {
        auto n = MakeNode(Node::Kind::kText, tok);
        n->text = tok.text;
        Next();
        body.push_back(std::move(n));
      } else if (tok.type == TokenType::kOutputBegin) {
        auto n = MakeNode(Node::Kind::kOutput, tok);
        Next();
        n->expr = ParseTupleOrExpr();
        if (Peek().type != TokenType::kOutputEnd) Fail("expected '}}'", Peek());
        Next();
        body.push_back(std::move(n));
      } else if (tok.type == TokenType::kBlockBegin) {
        const Token& name_tok = Peek(1);
        if (name_tok.type != TokenType::kName) Fail("expected a statement name", name_tok);
        if (end_tags.count(name_tok.text)) {
          Next();
          Next();
          *end_tag = name_tok.text;
          return body;
        }
        Next();
        NodePtr n = ParseStatement();
        if (n) body.push_back(std::move(n));
      } else {
        Fail("unexpected token", tok);
      }
    }
  }

  NodePtr MakeNode(Node::Kind k, const Token& at) {
    auto n = std::make_unique<Node>();
    n->kind = k;
    n->line = at.line;
    n->column = at.column;
    return n;
  }

  NodePtr ParseStatement() {
    const Token& tok = Next();
    const std::string& kw = tok.text;
    if (kw == "if") return ParseIf(tok);
    if (kw == "for") return ParseFor(tok);
    if (kw == "set") return ParseSet(tok);
    if (kw == "macro") return ParseMacro(tok);
    if (kw == "filter") return ParseFilterBlock(tok);
    if (kw == "break" || kw == "continue") {
      auto n = MakeNode(kw == "break" ? Node::Kind::kBreak : Node::Kind::kContinue, tok);
      ExpectBlockEnd();
      return n;
    }
    if (kw == "generation") {  // HF's AssistantTracker: renders its body unchanged
      ExpectBlockEnd();
      std::string end;
      auto n = MakeNode(Node::Kind::kIf, tok);
      n->conditions.push_back(nullptr);
      n->bodies.push_back(ParseBody({"endgeneration"}, &end));
      ExpectBlockEnd();
      return n;
    }
    Fail("unknown statement '" + kw + "'", tok);
  }

  NodePtr ParseIf(const Token& tok) {
    auto n = MakeNode(Node::Kind::kIf, tok);
    n->conditions.push_back(ParseExpression());
    ExpectBlockEnd();
    while (true) {
      std::string end;
      n->bodies.push_back(ParseBody({"elif", "else", "endif"}, &end));
      if (end == "elif") {
        n->conditions.push_back(ParseExpression());
        ExpectBlockEnd();
      } else if (end == "else") {
        ExpectBlockEnd();
        n->bodies.push_back(ParseBody({"endif"}, &end));
        ExpectBlockEnd();
        return n;
      } else {
        ExpectBlockEnd();
        return n;
      }
    }
  }

  NodePtr ParseFor(const Token& tok) {
    auto n = MakeNode(Node::Kind::kFor, tok);
    do {
      n->targets.push_back(ExpectName());
    } while (AcceptOp(","));
    if (!AcceptName("in")) Fail("expected 'in'", Peek());
    n->expr = ParseTupleOrExpr(/*no_cond=*/true);
    if (AcceptName("if")) n->cond = ParseExpression();
    if (AcceptName("recursive")) Fail("recursive loops are not supported", tok);
    ExpectBlockEnd();
    std::string end;
    n->bodies.push_back(ParseBody({"else", "endfor"}, &end));
    if (end == "else") {
      ExpectBlockEnd();
      n->bodies.push_back(ParseBody({"endfor"}, &end));
    }
    ExpectBlockEnd();
    return n;
  }

  NodePtr ParseSet(const Token& tok) {
    auto n = MakeNode(Node::Kind::kSet, tok);
    n->targets.push_back(ExpectName());
    if (AcceptOp(".")) {
      n->attr = ExpectName();
    } else {
      while (AcceptOp(",")) n->targets.push_back(ExpectName());
    }
    if (AcceptOp("=")) {
      n->expr = ParseTupleOrExpr();
      ExpectBlockEnd();
      return n;
    }
    if (!n->attr.empty() || n->targets.size() != 1) Fail("expected '='", Peek());
    n->kind = Node::Kind::kSetBlock;
    if (Peek().type == TokenType::kOp && Peek().text == "|") n->expr = ParseFilterChain(nullptr);
    ExpectBlockEnd();
    std::string end;
    n->bodies.push_back(ParseBody({"endset"}, &end));
    ExpectBlockEnd();
    return n;
  }

  NodePtr ParseMacro(const Token& tok) {
    auto n = MakeNode(Node::Kind::kMacro, tok);
    n->name = ExpectName();
    ExpectOp("(");
    while (!IsOp(")")) {
      std::string p = ExpectName();
      ExprPtr def;
      if (AcceptOp("=")) def = ParseExpression();
      n->params.emplace_back(p, std::move(def));
      if (!AcceptOp(",")) break;
    }
    ExpectOp(")");
    ExpectBlockEnd();
    std::string end;
    n->bodies.push_back(ParseBody({"endmacro"}, &end));
    if (Peek().type == TokenType::kName) Next();  // {% endmacro name %}
    ExpectBlockEnd();
    return n;
  }

  NodePtr ParseFilterBlock(const Token& tok) {
    auto n = MakeNode(Node::Kind::kFilterBlock, tok);
    n->expr = ParseFilterChain(nullptr, /*leading_pipe=*/false);
    ExpectBlockEnd();
    std::string end;
    n->bodies.push_back(ParseBody({"endfilter"}, &end));
    ExpectBlockEnd();
    return n;
  }

  // ---- expressions ----

  ExprPtr MakeExpr(Expr::Kind k, const Token& at) {
    auto e = std::make_unique<Expr>();
    e->kind = k;
    e->line = at.line;
    e->column = at.column;
    return e;
  }
  ExprPtr MakeBinary(const std::string& op, ExprPtr l, ExprPtr r, const Token& at) {
    auto e = MakeExpr(Expr::Kind::kBinary, at);
    e->name = op;
    e->args.push_back(std::move(l));
    e->args.push_back(std::move(r));
    return e;
  }

  // `a, b` without parentheses forms a tuple (for `{% set x = a, b %}` and loop iterables).
  ExprPtr ParseTupleOrExpr(bool no_cond = false) {
    const Token& start = Peek();
    ExprPtr first = no_cond ? ParseOr() : ParseExpression();
    if (!IsOp(",")) return first;
    auto t = MakeExpr(Expr::Kind::kTuple, start);
    t->args.push_back(std::move(first));
    while (AcceptOp(",")) {
      if (Peek().type == TokenType::kBlockEnd || Peek().type == TokenType::kOutputEnd) break;
      t->args.push_back(no_cond ? ParseOr() : ParseExpression());
    }
    return t;
  }

  ExprPtr ParseExpression() {
    DepthGuard guard(this);
    const Token& start = Peek();
    ExprPtr e = ParseOr();
    while (IsName("if")) {
      Next();
      auto c = MakeExpr(Expr::Kind::kCond, start);
      c->args.push_back(std::move(e));
      c->args.push_back(ParseOr());
      c->args.push_back(AcceptName("else") ? ParseExpression() : nullptr);
      e = std::move(c);
    }
    return e;
  }

  ExprPtr ParseOr() {
    ExprPtr e = ParseAnd();
    while (IsName("or")) {
      const Token& op = Next();
      e = MakeBinary("or", std::move(e), ParseAnd(), op);
    }
    return e;
  }

  ExprPtr ParseAnd() {
    ExprPtr e = ParseNot();
    while (IsName("and")) {
      const Token& op = Next();
      e = MakeBinary("and", std::move(e), ParseNot(), op);
    }
    return e;
  }

  ExprPtr ParseNot() {
    DepthGuard guard(this);
    if (IsName("not")) {
      const Token& op = Next();
      auto e = MakeExpr(Expr::Kind::kUnary, op);
      e->name = "not";
      e->args.push_back(ParseNot());
      return e;
    }
    return ParseCompare();
  }

  ExprPtr ParseCompare() {
    ExprPtr e = ParseMath1();
    ExprPtr result;
    while (true) {
      std::string op;
      const Token& at = Peek();
      if (at.type == TokenType::kOp &&
          (at.text == "==" || at.text == "!=" || at.text == "<" || at.text == ">" || at.text == "<=" ||
           at.text == ">=")) {
        op = at.text;
        Next();
      } else if (IsName("in")) {
        op = "in";
        Next();
      } else if (IsName("not") && IsName("in", 1)) {
        op = "notin";
        Next();
        Next();
      } else {
        break;
      }
      ExprPtr rhs = ParseMath1();
      // Chained comparison a < b < c == (a < b) and (b < c); b is re-parsed as a copy-free
      // reference by evaluating the pair left to right.
      if (result) {
        ExprPtr lhs = CloneExpr(*e);
        ExprPtr cmp = MakeBinary(op, std::move(lhs), CloneExpr(*rhs), at);
        result = MakeBinary("and", std::move(result), std::move(cmp), at);
      } else {
        result = MakeBinary(op, std::move(e), CloneExpr(*rhs), at);
      }
      e = std::move(rhs);
    }
    return result ? std::move(result) : std::move(e);
  }

  static ExprPtr CloneExpr(const Expr& src) {
    auto e = std::make_unique<Expr>();
    e->kind = src.kind;
    e->line = src.line;
    e->column = src.column;
    e->literal = src.literal;
    e->name = src.name;
    e->negated = src.negated;
    for (const auto& a : src.args) e->args.push_back(a ? CloneExpr(*a) : nullptr);
    for (const auto& [k, v] : src.kwargs) e->kwargs.emplace_back(k, v ? CloneExpr(*v) : nullptr);
    for (const auto& [k, v] : src.dict_items) e->dict_items.emplace_back(CloneExpr(*k), CloneExpr(*v));
    return e;
  }

  ExprPtr ParseMath1() {
    ExprPtr e = ParseConcat();
    while (IsOp("+") || IsOp("-")) {
      const Token& op = Next();
      e = MakeBinary(op.text, std::move(e), ParseConcat(), op);
    }
    return e;
  }

  ExprPtr ParseConcat() {
    ExprPtr e = ParseMath2();
    while (IsOp("~")) {
      const Token& op = Next();
      e = MakeBinary("~", std::move(e), ParseMath2(), op);
    }
    return e;
  }

  ExprPtr ParseMath2() {
    ExprPtr e = ParsePow();
    while (IsOp("*") || IsOp("/") || IsOp("//") || IsOp("%")) {
      const Token& op = Next();
      e = MakeBinary(op.text, std::move(e), ParsePow(), op);
    }
    return e;
  }

  ExprPtr ParsePow() {
    ExprPtr e = ParseUnary(true);
    while (IsOp("**")) {
      const Token& op = Next();
      e = MakeBinary("**", std::move(e), ParseUnary(true), op);
    }
    return e;
  }

  ExprPtr ParseUnary(bool with_filter) {
    DepthGuard guard(this);
    ExprPtr e;
    if (IsOp("-") || IsOp("+")) {
      const Token& op = Next();
      e = MakeExpr(Expr::Kind::kUnary, op);
      e->name = op.text;
      e->args.push_back(ParseUnary(false));
    } else {
      e = ParsePostfix(ParsePrimary());
    }
    if (with_filter) e = ParseFilterTests(std::move(e));
    return e;
  }

  ExprPtr ParsePrimary() {
    const Token& tok = Peek();
    switch (tok.type) {
      case TokenType::kName: {
        Next();
        auto e = MakeExpr(Expr::Kind::kLiteral, tok);
        if (tok.text == "true" || tok.text == "True") e->literal = Value::Bool(true);
        else if (tok.text == "false" || tok.text == "False") e->literal = Value::Bool(false);
        else if (tok.text == "none" || tok.text == "None") e->literal = Value::None();
        else {
          e->kind = Expr::Kind::kName;
          e->name = tok.text;
        }
        return e;
      }
      case TokenType::kString: {
        std::string s;
        while (Peek().type == TokenType::kString) s += Next().text;
        auto e = MakeExpr(Expr::Kind::kLiteral, tok);
        e->literal = Value::String(std::move(s));
        return e;
      }
      case TokenType::kInt: {
        Next();
        auto e = MakeExpr(Expr::Kind::kLiteral, tok);
        e->literal = Value::Int(tok.int_value);
        return e;
      }
      case TokenType::kFloat: {
        Next();
        auto e = MakeExpr(Expr::Kind::kLiteral, tok);
        e->literal = Value::Float(tok.float_value);
        return e;
      }
      case TokenType::kOp:
        if (tok.text == "(") {
          Next();
          if (AcceptOp(")")) return MakeExpr(Expr::Kind::kTuple, tok);
          ExprPtr first = ParseExpression();
          if (AcceptOp(")")) return first;
          auto t = MakeExpr(Expr::Kind::kTuple, tok);
          t->args.push_back(std::move(first));
          while (AcceptOp(",")) {
            if (IsOp(")")) break;
            t->args.push_back(ParseExpression());
          }
          ExpectOp(")");
          return t;
        }
        if (tok.text == "[") {
          Next();
          auto l = MakeExpr(Expr::Kind::kList, tok);
          while (!IsOp("]")) {
            l->args.push_back(ParseExpression());
            if (!AcceptOp(",")) break;
          }
          ExpectOp("]");
          return l;
        }
        if (tok.text == "{") {
          Next();
          auto d = MakeExpr(Expr::Kind::kDict, tok);
          while (!IsOp("}")) {
            ExprPtr k = ParseExpression();
            ExpectOp(":");
            d->dict_items.emplace_back(std::move(k), ParseExpression());
            if (!AcceptOp(",")) break;
          }
          ExpectOp("}");
          return d;
        }
        break;
      default: break;
    }
    Fail("unexpected token in expression", tok);
  }

  // Postfix nodes (a.b, a[b], a(b)) take the position of their base expression `a`.
  ExprPtr ParsePostfix(ExprPtr e) {
    while (true) {
      Token tok = Peek();
      tok.line = e->line;
      tok.column = e->column;
      if (IsOp(".")) {
        Next();
        const Token& attr = Next();
        if (attr.type == TokenType::kName) {
          auto g = MakeExpr(Expr::Kind::kGetAttr, tok);
          g->name = attr.text;
          g->args.push_back(std::move(e));
          e = std::move(g);
        } else if (attr.type == TokenType::kInt) {
          auto g = MakeExpr(Expr::Kind::kGetItem, tok);
          g->args.push_back(std::move(e));
          auto idx = MakeExpr(Expr::Kind::kLiteral, attr);
          idx->literal = Value::Int(attr.int_value);
          g->args.push_back(std::move(idx));
          e = std::move(g);
        } else {
          Fail("expected an attribute name", attr);
        }
      } else if (IsOp("[")) {
        Next();
        e = ParseSubscript(std::move(e), tok);
      } else if (IsOp("(")) {
        Next();
        auto c = MakeExpr(Expr::Kind::kCall, tok);
        c->args.push_back(std::move(e));
        ParseCallArgs(c.get());
        e = std::move(c);
      } else {
        return e;
      }
    }
  }

  ExprPtr ParseSubscript(ExprPtr obj, const Token& at) {
    ExprPtr parts[3];
    int idx = 0;
    bool is_slice = false;
    if (!IsOp(":")) parts[0] = ParseExpression();
    while (AcceptOp(":")) {
      is_slice = true;
      if (++idx > 2) Fail("too many ':' in slice", Peek());
      if (!IsOp(":") && !IsOp("]")) parts[idx] = ParseExpression();
    }
    ExpectOp("]");
    auto e = MakeExpr(is_slice ? Expr::Kind::kSlice : Expr::Kind::kGetItem, at);
    e->args.push_back(std::move(obj));
    if (!is_slice && !parts[0]) Fail("empty subscript", at);
    e->args.push_back(std::move(parts[0]));
    if (is_slice) {
      e->args.push_back(std::move(parts[1]));
      e->args.push_back(std::move(parts[2]));
    }
    return e;
  }

  // After '(' : positional and keyword arguments up to ')'.
  void ParseCallArgs(Expr* call) {
    while (!IsOp(")")) {
      if (Peek().type == TokenType::kName && IsOp("=", 1)) {
        std::string k = Next().text;
        Next();
        call->kwargs.emplace_back(k, ParseExpression());
      } else {
        if (!call->kwargs.empty()) Fail("positional argument after keyword argument", Peek());
        call->args.push_back(ParseExpression());
      }
      if (!AcceptOp(",")) break;
    }
    ExpectOp(")");
  }

  ExprPtr ParseFilterChain(ExprPtr input, bool leading_pipe = true) {
    bool first = true;
    while (true) {
      if (!(first && !leading_pipe)) {
        if (!AcceptOp("|")) break;
      }
      first = false;
      const Token& name_tok = Peek();
      auto f = MakeExpr(Expr::Kind::kFilter, name_tok);
      f->name = ExpectName();
      while (AcceptOp(".")) f->name += "." + ExpectName();
      f->args.push_back(std::move(input));
      if (AcceptOp("(")) ParseCallArgs(f.get());
      input = std::move(f);
      if (!IsOp("|")) break;
    }
    return input;
  }

  ExprPtr ParseFilterTests(ExprPtr e) {
    while (true) {
      if (IsOp("|")) {
        e = ParseFilterChain(std::move(e));
      } else if (IsName("is")) {
        const Token& at = Next();
        auto t = MakeExpr(Expr::Kind::kTest, at);
        t->negated = AcceptName("not");
        t->name = ExpectName();
        while (AcceptOp(".")) t->name += "." + ExpectName();
        t->args.push_back(std::move(e));
        if (AcceptOp("(")) {
          ParseCallArgs(t.get());
        } else if (StartsTestArgument()) {
          t->args.push_back(ParsePostfix(ParsePrimary()));
        }
        e = std::move(t);
      } else {
        return e;
      }
    }
  }

  bool StartsTestArgument() const {
    const Token& tok = Peek();
    switch (tok.type) {
      case TokenType::kString:
      case TokenType::kInt:
      case TokenType::kFloat: return true;
      case TokenType::kName:  // Jinja2's rule: any name but else/or/and starts a bare argument
        if (tok.text == "is") Fail("You cannot chain multiple tests with is", tok);
        return tok.text != "else" && tok.text != "or" && tok.text != "and";
      case TokenType::kOp: return tok.text == "[" || tok.text == "{" || tok.text == "(";
      default: return false;
    }
  }

  const std::vector<Token>& t_;
  size_t pos_ = 0;
  int depth_ = 0;
};

}  // namespace

NodeList ParseTemplate(const std::vector<Token>& tokens) { return Parser(tokens).ParseAll(); }

}  // namespace isv::jinja
