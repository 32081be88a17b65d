// Value: the data model of the Jinja interpreter, a small Python-like dynamic value.
//
// Kinds follow what Jinja2 sees in Python: Undefined, None, bool, int, float, str, list (or tuple),
// dict (string keys, insertion order), and callables (builtins, bound methods, macros). Lists and dicts
// are shared by reference like Python objects; the only mutation a template can do is attribute
// assignment on a `namespace()` object (Hugging Face renders with an immutable sandbox).
// Strings are UTF-8; length, indexing and slicing count code points as Python does.
// A Value is not thread-safe to mutate; rendering one template uses values from one thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace isv::jinja {

class Value;
using ValueList = std::vector<Value>;

// Ordered string-keyed dictionary (Python 3.7+ dict order).
struct ValueDict {
  std::vector<std::pair<std::string, Value>> items;
  // Returns the value for `key` or nullptr.
  const Value* Find(std::string_view key) const;
  // Inserts or overwrites `key`.
  void Set(const std::string& key, Value value);
};

// Arguments of a call: positional then keyword, in call order.
struct CallArgs {
  std::vector<Value> positional;
  std::vector<std::pair<std::string, Value>> named;
};

using NativeFunction = std::function<Value(CallArgs& args)>;

struct Callable {
  std::string name;
  NativeFunction fn;
};

class Value {
 public:
  enum class Kind { kUndefined, kNone, kBool, kInt, kFloat, kString, kList, kDict, kCallable };

  Value() = default;  // Undefined
  static Value Undefined(std::string hint = {}, bool unsafe = false);
  static Value None();
  static Value Bool(bool b);
  static Value Int(int64_t i);
  static Value Float(double f);
  static Value String(std::string s, bool safe = false);
  static Value List(ValueList items, bool tuple = false, bool generator = false);
  static Value Dict(std::shared_ptr<ValueDict> dict, bool is_namespace = false);
  static Value EmptyDict();
  static Value Function(std::string name, NativeFunction fn);

  Kind kind() const { return kind_; }
  bool is_undefined() const { return kind_ == Kind::kUndefined; }
  bool is_none() const { return kind_ == Kind::kNone; }
  bool is_bool() const { return kind_ == Kind::kBool; }
  bool is_int() const { return kind_ == Kind::kInt; }
  bool is_float() const { return kind_ == Kind::kFloat; }
  bool is_number() const { return kind_ == Kind::kInt || kind_ == Kind::kFloat || kind_ == Kind::kBool; }
  bool is_string() const { return kind_ == Kind::kString; }
  bool is_list() const { return kind_ == Kind::kList; }
  bool is_dict() const { return kind_ == Kind::kDict; }
  bool is_callable() const { return kind_ == Kind::kCallable; }
  // Markup (a `|safe` string): concatenating a plain string with it HTML-escapes the plain one.
  bool is_safe() const { return kind_ == Kind::kString && flag_; }
  bool is_tuple() const { return kind_ == Kind::kList && flag_; }
  // Result of map/select/...: iterable once in Python, not JSON-serialisable, no len().
  bool is_generator() const { return kind_ == Kind::kList && flag2_; }
  bool is_namespace() const { return kind_ == Kind::kDict && flag_; }
  // An Undefined produced by a forbidden attribute (list.append): any use is a SecurityError.
  bool is_unsafe_undefined() const { return kind_ == Kind::kUndefined && flag_; }

  // Accessors. REQUIRE the matching kind.
  bool bool_value() const { return b_; }
  int64_t int_value() const { return i_; }
  double float_value() const { return f_; }
  // Numeric value of a bool/int/float.
  double AsDouble() const;
  const std::string& str() const { return s_; }        // string contents, or undefined hint
  const ValueList& list() const { return *list_; }
  const ValueDict& dict() const { return *dict_; }
  ValueDict& mutable_dict() const { return *dict_; }
  const Callable& callable() const { return *fn_; }

  // Python truthiness.
  bool Truthy() const;
  // Python str(): what `{{ v }}` prints (Undefined prints as "").
  std::string ToStr() const;
  // Python repr() (used for items inside printed lists/dicts).
  std::string Repr() const;
  // Python type name for error messages ("str", "dict", "NoneType", ...).
  std::string TypeName() const;

 private:
  Kind kind_ = Kind::kUndefined;
  bool flag_ = false;
  bool flag2_ = false;
  bool b_ = false;
  int64_t i_ = 0;
  double f_ = 0;
  std::string s_;
  std::shared_ptr<ValueList> list_;
  std::shared_ptr<ValueDict> dict_;
  std::shared_ptr<Callable> fn_;
};

// Python `==` (numbers compare across int/float/bool; containers deeply).
bool ValuesEqual(const Value& a, const Value& b);
// Python repr of a float ("1.0", "0.1", "1e-05", "inf").
std::string PyFloatRepr(double f);
// Python repr of a string (single quotes unless the string holds ' and no ").
std::string PyStringRepr(std::string_view s);

// Dict keys are strings; a non-string key (e.g. `{0: 0, 512: 128}` in a template) is stored encoded
// ("\x01" + kind + repr) and decoded back when keys are iterated, printed or dumped.
std::string DictKey(const Value& key);
Value DictKeyValue(const std::string& key);

// UTF-8 helpers (invalid bytes are taken as single code points).
std::vector<char32_t> DecodeUtf8(std::string_view s);
std::string EncodeUtf8(const std::vector<char32_t>& cps);
void AppendUtf8(std::string& out, char32_t cp);
size_t Utf8Length(std::string_view s);

}  // namespace isv::jinja
