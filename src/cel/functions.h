#pragma once
// The function registry shared by the compiler and the evaluator: every CEL function and
// operator by name, each implemented once over its arguments (a receiver comes first).

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "cel/ast.h"
#include "cel/program.h"
#include "cel/value.h"

namespace moat::cel {

struct EvalContext {
  const Activation* activation = nullptr;
  std::vector<Value> locals;
  uint64_t cost = 0;
  uint64_t limit = kDefaultCostLimit;
  bool exceeded = false;

  /// Spends `units`; false once the budget is gone (evaluation then unwinds).
  bool Spend(uint64_t units) {
    cost += units;
    if (cost > limit) exceeded = true;
    return !exceeded;
  }
};

struct CallContext {
  EvalContext& eval;
  const Node& node;

  Value Error(std::string message) const { return Value::Error(std::move(message), node.position); }
  /// "no such overload: name(int, string)".
  Value NoOverload(const Value* args, size_t count) const;
};

using FunctionImpl = Value (*)(CallContext& call, const Value* args, size_t count);

enum CallStyle : uint8_t { kGlobal = 1, kReceiver = 2, kBoth = 3 };

/// Allowed argument counts (a receiver counts) as a bit set: A1 | A2 = one or two arguments.
constexpr uint16_t A0 = 1, A1 = 2, A2 = 4, A3 = 8, A4 = 16, kAnyArity = 0xffff;

struct FunctionDef {
  std::string_view name;
  uint8_t style;
  uint16_t arities;
  FunctionImpl impl;
  /// Index of an argument that is a regular expression (compiled once when constant), or -1.
  int regex_arg = -1;
};

/// Every registered function; a function id is an index into this list.
const std::vector<FunctionDef>& Functions();
/// The id of `name` called in `style` (kGlobal or kReceiver), or -1.
int FindFunction(std::string_view name, CallStyle style);

/// Registration, one per library file.
void AddStandardFunctions(std::vector<FunctionDef>& out);
void AddStringFunctions(std::vector<FunctionDef>& out);
void AddMathFunctions(std::vector<FunctionDef>& out);
void AddKubernetesFunctions(std::vector<FunctionDef>& out);
void AddKubernetesTypeFunctions(std::vector<FunctionDef>& out);
void AddKubernetesFormatFunctions(std::vector<FunctionDef>& out);

/// Helpers shared by the libraries.
/// The RE2 for argument `index` of the call: the compiled constant, or one compiled now (an
/// error value when the pattern does not compile; `owner` keeps it alive).
const re2::RE2* GetRegex(CallContext& call, const Value& pattern, std::shared_ptr<void>& owner,
                         Value& error);
/// string(x) as CEL converts it.
Value ToStringValue(CallContext& call, const Value& v);

}  // namespace moat::cel
