#include "cel/program.h"

#include <re2/re2.h>

#include <algorithm>

#include "cel/functions.h"
#include "cel/parser.h"

namespace moat::cel {

struct Compiled {
  std::string expression;
  NodePtr root;
  int slots = 0;
  std::vector<std::unique_ptr<re2::RE2>> regexes;
};

namespace {

bool IsTypeName(std::string_view name) {
  static constexpr std::string_view kTypes[] = {"int",
                                                "uint",
                                                "double",
                                                "bool",
                                                "string",
                                                "bytes",
                                                "list",
                                                "map",
                                                "null_type",
                                                "type",
                                                "google.protobuf.Timestamp",
                                                "google.protobuf.Duration",
                                                "optional_type"};
  return std::find(std::begin(kTypes), std::end(kTypes), name) != std::end(kTypes);
}

// The dotted name of a chain of identifier selections (a, a.b, a.b.c), or "" when the chain
// has anything else in it.
std::string QualifiedName(const Node& node) {
  if (node.kind == NodeKind::kIdent && node.slot < 0) return node.name;
  if (node.kind == NodeKind::kSelect && !node.optional_select && !node.qualified.empty()) {
    return node.qualified;
  }
  return "";
}

class Compiler {
 public:
  Compiler(Compiled& compiled, const CompileOptions& options)
      : compiled_(compiled), options_(options) {}

  Result<void> Resolve(Node& node) {
    switch (node.kind) {
      case NodeKind::kConstant:
        return Ok();
      case NodeKind::kIdent:
        return ResolveIdent(node);
      case NodeKind::kSelect:
      case NodeKind::kPresence: {
        MOAT_TRY(Resolve(*node.args[0]));
        std::string prefix = QualifiedName(*node.args[0]);
        if (!prefix.empty() && node.kind == NodeKind::kSelect && !node.optional_select) {
          node.qualified = prefix + "." + node.name;
          if (IsTypeName(node.qualified)) {
            node.kind = NodeKind::kIdent;
            node.name = node.qualified;
            node.args.clear();
          }
        }
        return Ok();
      }
      case NodeKind::kCall:
        return ResolveCall(node);
      case NodeKind::kList:
      case NodeKind::kMap:
      case NodeKind::kAnd:
      case NodeKind::kOr:
      case NodeKind::kConditional:
        for (NodePtr& arg : node.args) MOAT_TRY(Resolve(*arg));
        return Ok();
      case NodeKind::kStruct:
        return Fail(Where(node), "unknown type '", node.name,
                    "': message construction needs protobuf message types, which Moat's CEL "
                    "does not have");
      case NodeKind::kComprehension:
        return ResolveComprehension(node);
    }
    return Ok();
  }

 private:
  std::string Where(const Node& node) const {
    return LineColumn(compiled_.expression, node.position) + ": ";
  }

  int Lookup(std::string_view name) const {
    for (size_t i = scope_.size(); i-- > 0;) {
      if (scope_[i] == name) return static_cast<int>(i);
    }
    return -1;
  }

  int Push(const std::string& name) {
    scope_.push_back(name);
    compiled_.slots = std::max(compiled_.slots, static_cast<int>(scope_.size()));
    return static_cast<int>(scope_.size()) - 1;
  }

  Result<void> ResolveIdent(Node& node) {
    if (!node.name.empty() && node.name[0] == '.') {
      node.name.erase(0, 1);  // leading dot: the root scope, never a local
    } else {
      node.slot = Lookup(node.name);
      if (node.slot >= 0) return Ok();
    }
    if (options_.variables.empty() || IsTypeName(node.name)) return Ok();
    for (const std::string& v : options_.variables) {
      if (v == node.name) return Ok();
      if (v.size() > node.name.size() && v.compare(0, node.name.size(), node.name) == 0 &&
          v[node.name.size()] == '.') {
        return Ok();
      }
    }
    return Fail(Where(node), "undeclared reference to '", node.name, "'");
  }

  Result<void> ResolveCall(Node& node) {
    for (NodePtr& arg : node.args) MOAT_TRY(Resolve(*arg));
    if (node.receiver_style) {
      // math.greatest(...), optional.of(...), strings.quote(...): a namespaced global function
      // written like a method call on an identifier.
      std::string prefix = QualifiedName(*node.args[0]);
      if (!prefix.empty()) {
        std::string full = prefix + "." + node.name;
        int id = FindFunction(full, kGlobal);
        if (id >= 0) {
          node.name = std::move(full);
          node.receiver_style = false;
          node.args.erase(node.args.begin());
          node.function = id;
          return CheckArity(node);
        }
      }
    }
    node.function = FindFunction(node.name, node.receiver_style ? kReceiver : kGlobal);
    if (node.function < 0) {
      if (options_.allow_unknown_functions) return Ok();
      return Fail(Where(node), "undeclared reference to function '", node.name, "'",
                  node.receiver_style ? " (called as a method)" : "");
    }
    return CheckArity(node);
  }

  Result<void> CheckArity(Node& node) {
    if ((Functions()[node.function].arities >> node.args.size() & 1) == 0) {
      if (options_.allow_unknown_functions) {
        node.function = -1;
        return Ok();
      }
      size_t given = node.args.size() - (node.receiver_style ? 1 : 0);
      return Fail(Where(node), "no overload of '", node.name, "' takes ", std::to_string(given),
                  given == 1 ? " argument" : " arguments");
    }
    return CompileRegex(node);
  }

  Result<void> CompileRegex(Node& node) {
    if (node.function < 0) return Ok();
    int index = Functions()[node.function].regex_arg;
    if (index < 0 || static_cast<size_t>(index) >= node.args.size()) return Ok();
    const Node& pattern = *node.args[index];
    if (pattern.kind != NodeKind::kConstant || !pattern.constant.Is(Kind::kString)) return Ok();
    RE2::Options re2_options;
    re2_options.set_log_errors(false);
    auto regex = std::make_unique<re2::RE2>(pattern.constant.AsString(), re2_options);
    if (!regex->ok()) {
      return Fail(Where(pattern), "invalid regular expression: ", regex->error());
    }
    node.regex = regex.get();
    compiled_.regexes.push_back(std::move(regex));
    return Ok();
  }

  Result<void> ResolveComprehension(Node& node) {
    switch (node.macro) {
      case MacroKind::kBind: {
        MOAT_TRY(Resolve(*node.args[1]));
        node.slot = Push(node.iter_var);
        MOAT_TRY(Resolve(*node.args[2]));
        scope_.pop_back();
        return Ok();
      }
      case MacroKind::kBlock: {
        size_t bindings = node.args.size() - 1;
        for (size_t i = 0; i < bindings; ++i) {
          MOAT_TRY(Resolve(*node.args[i]));
          int slot = Push("@index:" + std::to_string(i));
          if (i == 0) node.slot = slot;
        }
        MOAT_TRY(Resolve(*node.args.back()));
        scope_.resize(scope_.size() - bindings);
        return Ok();
      }
      default:
        break;
    }
    MOAT_TRY(Resolve(*node.args[0]));
    node.slot = Push(node.iter_var);
    if (!node.iter_var2.empty()) node.slot2 = Push(node.iter_var2);
    for (size_t i = 1; i < node.args.size(); ++i) MOAT_TRY(Resolve(*node.args[i]));
    scope_.pop_back();
    if (!node.iter_var2.empty()) scope_.pop_back();
    return Ok();
  }

  Compiled& compiled_;
  const CompileOptions& options_;
  std::vector<std::string> scope_;
};

// ---- evaluation ---------------------------------------------------------------------------

class Evaluator {
 public:
  explicit Evaluator(EvalContext& ctx) : ctx_(ctx) {}

  Value Eval(const Node& node) {
    if (!ctx_.Spend(1)) return Value::Error("cost budget exceeded", node.position);
    switch (node.kind) {
      case NodeKind::kConstant:
        return node.constant;
      case NodeKind::kIdent:
        return EvalIdent(node);
      case NodeKind::kSelect:
        return EvalSelect(node);
      case NodeKind::kPresence:
        return EvalPresence(node);
      case NodeKind::kCall:
        return EvalCall(node);
      case NodeKind::kList:
        return EvalList(node);
      case NodeKind::kMap:
        return EvalMap(node);
      case NodeKind::kAnd:
      case NodeKind::kOr:
        return EvalLogic(node, node.kind == NodeKind::kAnd);
      case NodeKind::kConditional: {
        Value condition = Eval(*node.args[0]);
        if (condition.IsError()) return condition;
        if (!condition.Is(Kind::kBool)) {
          return Value::Error("no such overload: " + std::string(condition.TypeName()) + " ? _ : _",
                              node.position);
        }
        return Eval(*node.args[condition.AsBool() ? 1 : 2]);
      }
      case NodeKind::kComprehension:
        return EvalComprehension(node);
      case NodeKind::kStruct:
        return Value::Error("unknown type '" + node.name + "'", node.position);
    }
    return Value::Error("unknown node", node.position);
  }

 private:
  Value EvalIdent(const Node& node) {
    if (node.slot >= 0) return ctx_.locals[node.slot];
    if (const Value* v = ctx_.activation->Find(node.name)) return *v;
    if (IsTypeName(node.name)) return Value::Type(node.name);
    return Value::Error("undeclared reference to '" + node.name + "'", node.position);
  }

  Value EvalSelect(const Node& node) {
    if (!node.qualified.empty() && ctx_.activation->has_dotted_names()) {
      if (const Value* v = ctx_.activation->Find(node.qualified)) return *v;
    }
    Value operand = Eval(*node.args[0]);
    return Select(operand, node, node.optional_select);
  }

  Value Select(const Value& operand, const Node& node, bool optional) {
    switch (operand.kind()) {
      case Kind::kError:
        return operand;
      case Kind::kOptional:
        if (!operand.HasValue()) return operand;
        return Select(operand.OptionalValue(), node, true);
      case Kind::kMap: {
        const Value* field = operand.FindString(node.name);
        if (optional) return field ? Value::OptionalOf(*field) : Value::OptionalNone();
        if (field) return *field;
        return Value::Error("no such key: '" + node.name + "'", node.position);
      }
      default:
        return Value::Error("type '" + std::string(operand.TypeName()) +
                                "' does not support field selection (." + node.name + ")",
                            node.position);
    }
  }

  Value EvalPresence(const Node& node) {
    Value operand = Eval(*node.args[0]);
    if (operand.IsError()) return operand;
    if (operand.Is(Kind::kMap)) return Value::Bool(operand.FindString(node.name) != nullptr);
    if (operand.Is(Kind::kOptional)) {
      if (!operand.HasValue()) return Value::Bool(false);
      const Value& inner = operand.OptionalValue();
      if (inner.Is(Kind::kMap)) return Value::Bool(inner.FindString(node.name) != nullptr);
    }
    return Value::Error("no such overload: has() on type '" + std::string(operand.TypeName()) + "'",
                        node.position);
  }

  Value EvalCall(const Node& node) {
    size_t count = node.args.size();
    Value small[4];
    std::vector<Value> large;
    Value* args = small;
    if (count > 4) {
      large.resize(count);
      args = large.data();
    }
    for (size_t i = 0; i < count; ++i) {
      args[i] = Eval(*node.args[i]);
      if (args[i].IsError()) return args[i];
    }
    if (node.function < 0) {
      return Value::Error("no such overload: " + node.name, node.position);
    }
    CallContext call{ctx_, node};
    return Functions()[node.function].impl(call, args, count);
  }

  Value EvalList(const Node& node) {
    std::vector<Value> items;
    items.reserve(node.args.size());
    size_t next_optional = 0;
    for (size_t i = 0; i < node.args.size(); ++i) {
      Value item = Eval(*node.args[i]);
      if (item.IsError()) return item;
      if (next_optional < node.optional_indices.size() &&
          node.optional_indices[next_optional] == i) {
        ++next_optional;
        if (!item.Is(Kind::kOptional)) {
          return Value::Error(
              "optional list element is not optional: " + std::string(item.TypeName()),
              node.args[i]->position);
        }
        if (item.HasValue()) items.push_back(item.OptionalValue());
        continue;
      }
      items.push_back(std::move(item));
    }
    return Value::List(std::move(items));
  }

  Value EvalMap(const Node& node) {
    std::vector<MapEntry> entries;
    entries.reserve(node.args.size() / 2);
    size_t next_optional = 0;
    for (size_t i = 0; i + 1 < node.args.size(); i += 2) {
      Value key = Eval(*node.args[i]);
      if (key.IsError()) return key;
      Value value = Eval(*node.args[i + 1]);
      if (value.IsError()) return value;
      if (next_optional < node.optional_indices.size() &&
          node.optional_indices[next_optional] == i / 2) {
        ++next_optional;
        if (!value.Is(Kind::kOptional)) {
          return Value::Error(
              "optional map entry is not optional: " + std::string(value.TypeName()),
              node.args[i + 1]->position);
        }
        if (!value.HasValue()) continue;
        value = value.OptionalValue();
      }
      entries.push_back({std::move(key), std::move(value)});
    }
    return MakeMap(std::move(entries), node.position);
  }

  // && and || are commutative over errors: false && error is false wherever the error is, and
  // an error survives only when no operand decides the result.
  Value EvalLogic(const Node& node, bool is_and) {
    Value left = Eval(*node.args[0]);
    if (left.Is(Kind::kBool) && left.AsBool() != is_and) return left;
    if (ctx_.exceeded) return left;
    Value right = Eval(*node.args[1]);
    if (right.Is(Kind::kBool) && right.AsBool() != is_and) return right;
    if (left.Is(Kind::kBool) && right.Is(Kind::kBool)) return left;
    if (left.IsError()) return left;
    if (right.IsError()) return right;
    const Value& bad = left.Is(Kind::kBool) ? right : left;
    return Value::Error(
        "no such overload: " + std::string(bad.TypeName()) + (is_and ? " && " : " || ") + "bool",
        node.position);
  }

  Value EvalComprehension(const Node& node) {
    switch (node.macro) {
      case MacroKind::kBind:
        ctx_.locals[node.slot] = Eval(*node.args[1]);
        return Eval(*node.args[2]);
      case MacroKind::kBlock:
        // Bindings are evaluated in order; one that fails holds its error, which surfaces
        // only where cel.index refers to it.
        for (size_t i = 0; i + 1 < node.args.size(); ++i) {
          ctx_.locals[node.slot + i] = Eval(*node.args[i]);
        }
        return Eval(*node.args.back());
      case MacroKind::kOptMap:
      case MacroKind::kOptFlatMap: {
        Value target = Eval(*node.args[0]);
        if (target.IsError()) return target;
        if (!target.Is(Kind::kOptional)) {
          return Value::Error("no such overload: " + std::string(target.TypeName()) + "." +
                                  (node.macro == MacroKind::kOptMap ? "optMap" : "optFlatMap"),
                              node.position);
        }
        if (!target.HasValue()) return target;
        ctx_.locals[node.slot] = target.OptionalValue();
        Value result = Eval(*node.args[1]);
        if (result.IsError() || node.macro == MacroKind::kOptMap) {
          return result.IsError() ? result : Value::OptionalOf(std::move(result));
        }
        if (!result.Is(Kind::kOptional)) {
          return Value::Error("optFlatMap must return an optional", node.position);
        }
        return result;
      }
      default:
        break;
    }
    Value range = Eval(*node.args[0]);
    if (range.IsError()) return range;
    if (!range.Is(Kind::kList) && !range.Is(Kind::kMap)) {
      return Value::Error(
          "no such overload: comprehension over '" + std::string(range.TypeName()) + "'",
          node.position);
    }
    bool is_map = range.Is(Kind::kMap);
    size_t size = is_map ? range.AsMap().size() : range.AsList().size();
    bool two_vars = node.slot2 >= 0;

    Value first_error;
    bool has_error = false;
    int64_t count = 0;
    std::vector<Value> out;
    std::vector<MapEntry> out_map;
    for (size_t i = 0; i < size; ++i) {
      if (!ctx_.Spend(1)) return Value::Error("cost budget exceeded", node.position);
      if (is_map) {
        const MapEntry& e = range.AsMap()[i];
        ctx_.locals[node.slot] = e.key;
        if (two_vars) ctx_.locals[node.slot2] = e.value;
      } else if (two_vars) {
        ctx_.locals[node.slot] = Value::Int(static_cast<int64_t>(i));
        ctx_.locals[node.slot2] = range.AsList()[i];
      } else {
        ctx_.locals[node.slot] = range.AsList()[i];
      }
      switch (node.macro) {
        case MacroKind::kAll:
        case MacroKind::kAll2:
        case MacroKind::kExists:
        case MacroKind::kExists2: {
          bool want = node.macro == MacroKind::kExists || node.macro == MacroKind::kExists2;
          Value v = Eval(*node.args[1]);
          if (v.Is(Kind::kBool)) {
            if (v.AsBool() == want) return v;
          } else if (!has_error) {
            has_error = true;
            first_error = v.IsError() ? v : BoolExpected(v, node);
          }
          break;
        }
        case MacroKind::kExistsOne:
        case MacroKind::kExistsOne2: {
          Value v = Eval(*node.args[1]);
          if (v.IsError()) return v;
          if (!v.Is(Kind::kBool)) return BoolExpected(v, node);
          if (v.AsBool()) ++count;
          break;
        }
        case MacroKind::kMap: {
          Value v = Eval(*node.args[1]);
          if (v.IsError()) return v;
          out.push_back(std::move(v));
          break;
        }
        case MacroKind::kMapFilter:
        case MacroKind::kFilter: {
          Value keep = Eval(*node.args[1]);
          if (keep.IsError()) return keep;
          if (!keep.Is(Kind::kBool)) return BoolExpected(keep, node);
          if (!keep.AsBool()) break;
          if (node.macro == MacroKind::kFilter) {
            out.push_back(ctx_.locals[node.slot]);
          } else {
            Value v = Eval(*node.args[2]);
            if (v.IsError()) return v;
            out.push_back(std::move(v));
          }
          break;
        }
        case MacroKind::kTransformList:
        case MacroKind::kTransformMap: {
          if (node.args.size() == 3) {
            Value keep = Eval(*node.args[1]);
            if (keep.IsError()) return keep;
            if (!keep.Is(Kind::kBool)) return BoolExpected(keep, node);
            if (!keep.AsBool()) break;
          }
          Value v = Eval(*node.args.back());
          if (v.IsError()) return v;
          if (node.macro == MacroKind::kTransformList) {
            out.push_back(std::move(v));
          } else {
            out_map.push_back({ctx_.locals[node.slot], std::move(v)});
          }
          break;
        }
        default:
          break;
      }
      if (ctx_.exceeded) return Value::Error("cost budget exceeded", node.position);
    }
    switch (node.macro) {
      case MacroKind::kAll:
      case MacroKind::kAll2:
        return has_error ? first_error : Value::Bool(true);
      case MacroKind::kExists:
      case MacroKind::kExists2:
        return has_error ? first_error : Value::Bool(false);
      case MacroKind::kExistsOne:
      case MacroKind::kExistsOne2:
        return Value::Bool(count == 1);
      case MacroKind::kTransformMap:
        return Value::Map(std::move(out_map));
      default:
        return Value::List(std::move(out));
    }
  }

  static Value BoolExpected(const Value& v, const Node& node) {
    return Value::Error(
        "no such overload: macro predicate is '" + std::string(v.TypeName()) + "', not bool",
        node.position);
  }

  EvalContext& ctx_;
};

}  // namespace

void Activation::Bind(std::string name, Value value) {
  if (name.find('.') != std::string::npos) has_dotted_names_ = true;
  for (auto& binding : bindings_) {
    if (binding.first == name) {
      binding.second = std::move(value);
      return;
    }
  }
  bindings_.emplace_back(std::move(name), std::move(value));
}

const Value* Activation::Find(std::string_view name) const {
  for (const auto& binding : bindings_) {
    if (binding.first == name) return &binding.second;
  }
  return resolver_ ? resolver_(name) : nullptr;
}

Result<Program> Compile(std::string_view expression, const CompileOptions& options) {
  auto compiled = std::make_shared<Compiled>();
  compiled->expression = std::string(expression);
  ParseLimits limits;
  limits.max_expression_bytes = options.max_expression_bytes;
  limits.max_depth = options.max_depth;
  limits.max_nodes = options.max_nodes;
  MOAT_ASSIGN_OR_RETURN(compiled->root, Parse(compiled->expression, limits));
  Compiler compiler(*compiled, options);
  MOAT_TRY(compiler.Resolve(*compiled->root));
  Program program;
  program.compiled_ = std::move(compiled);
  return program;
}

Result<Value> Program::Evaluate(const Activation& activation, const EvalOptions& options,
                                uint64_t* cost) const {
  EvalContext ctx;
  ctx.activation = &activation;
  ctx.limit = options.cost_limit;
  ctx.locals.resize(static_cast<size_t>(compiled_->slots));
  Evaluator evaluator(ctx);
  Value result = evaluator.Eval(*compiled_->root);
  if (cost != nullptr) *cost = ctx.cost;
  if (ctx.exceeded) {
    return Fail("cost budget exceeded: evaluation stopped after ", std::to_string(ctx.cost),
                " cost units (limit ", std::to_string(options.cost_limit), ")");
  }
  if (result.IsError()) {
    return Fail(LineColumn(compiled_->expression, result.ErrorPosition()), ": ", result.AsString());
  }
  return result;
}

const std::string& Program::expression() const { return compiled_->expression; }

}  // namespace moat::cel
