// The Kubernetes CEL libraries (https://kubernetes.io/docs/reference/using-api/cel/): lists
// (isSorted, sum, min, max; indexOf and lastIndexOf live with the strings extension, which
// dispatches on lists) and regex (find, findAll).

#include <re2/re2.h>

#include "cel/functions.h"

namespace moat::cel {
namespace {

bool Comparable(CallContext& c, const std::vector<Value>& items, Value& error) {
  for (size_t i = 1; i < items.size(); ++i) {
    if (Compare(items[i - 1], items[i]) == kIncomparable &&
        !(items[i - 1].IsNumber() && items[i].IsNumber())) {
      error = c.Error("no such overload: list elements of types '" +
                      std::string(items[i - 1].TypeName()) + "' and '" +
                      std::string(items[i].TypeName()) + "' are not comparable");
      return false;
    }
  }
  return true;
}

Value IsSorted(CallContext& c, const Value* a, size_t n) {
  if (!a[0].Is(Kind::kList)) return c.NoOverload(a, n);
  const auto& items = a[0].AsList();
  c.eval.Spend(items.size());
  Value error;
  if (!Comparable(c, items, error)) return error;
  for (size_t i = 1; i < items.size(); ++i) {
    if (Compare(items[i - 1], items[i]) == 1) return Value::Bool(false);
  }
  return Value::Bool(true);
}

Value Sum(CallContext& c, const Value* a, size_t n) {
  if (!a[0].Is(Kind::kList)) return c.NoOverload(a, n);
  const auto& items = a[0].AsList();
  c.eval.Spend(items.size());
  if (items.empty()) return Value::Int(0);
  static const FunctionImpl add = Functions()[FindFunction("_+_", kGlobal)].impl;
  Value total = items[0];
  for (size_t i = 1; i < items.size(); ++i) {
    Value pair[2] = {total, items[i]};
    total = add(c, pair, 2);
    if (total.IsError()) return total;
  }
  if (!total.IsNumber() && !total.Is(Kind::kDuration)) return c.NoOverload(a, n);
  return total;
}

Value Extreme(CallContext& c, const Value* a, size_t n, bool max) {
  if (!a[0].Is(Kind::kList)) return c.NoOverload(a, n);
  const auto& items = a[0].AsList();
  c.eval.Spend(items.size());
  if (items.empty()) return c.Error(std::string(max ? "max" : "min") + " of an empty list");
  Value error;
  if (!Comparable(c, items, error)) return error;
  const Value* best = &items[0];
  for (const Value& item : items) {
    int cmp = Compare(item, *best);
    if (cmp == kIncomparable) continue;
    if (max ? cmp > 0 : cmp < 0) best = &item;
  }
  return *best;
}
Value Max(CallContext& c, const Value* a, size_t n) { return Extreme(c, a, n, true); }
Value Min(CallContext& c, const Value* a, size_t n) { return Extreme(c, a, n, false); }

// string.find(regex): the first match or ""; string.findAll(regex[, limit]).
Value Find(CallContext& c, const Value* a, size_t n) {
  if (!a[0].Is(Kind::kString) || !a[1].Is(Kind::kString)) return c.NoOverload(a, n);
  std::shared_ptr<void> owner;
  Value error;
  const re2::RE2* regex = GetRegex(c, a[1], owner, error);
  if (regex == nullptr) return error;
  c.eval.Spend(a[0].AsString().size() / 10);
  re2::StringPiece match;
  re2::StringPiece text(a[0].AsString());
  if (!regex->Match(text, 0, text.size(), re2::RE2::UNANCHORED, &match, 1)) {
    return Value::String("");
  }
  return Value::String(std::string(match.data(), match.size()));
}

Value FindAll(CallContext& c, const Value* a, size_t n) {
  if (!a[0].Is(Kind::kString) || !a[1].Is(Kind::kString) || (n == 3 && !a[2].Is(Kind::kInt))) {
    return c.NoOverload(a, n);
  }
  std::shared_ptr<void> owner;
  Value error;
  const re2::RE2* regex = GetRegex(c, a[1], owner, error);
  if (regex == nullptr) return error;
  int64_t limit = n == 3 ? a[2].AsInt() : -1;
  const std::string& s = a[0].AsString();
  c.eval.Spend(s.size() / 10);
  std::vector<Value> out;
  size_t pos = 0;
  while (pos <= s.size() && (limit < 0 || static_cast<int64_t>(out.size()) < limit)) {
    re2::StringPiece match;
    if (!regex->Match(s, pos, s.size(), re2::RE2::UNANCHORED, &match, 1)) break;
    out.push_back(Value::String(std::string(match.data(), match.size())));
    size_t end = static_cast<size_t>(match.data() - s.data()) + match.size();
    pos = match.empty() ? end + 1 : end;
  }
  return Value::List(std::move(out));
}

}  // namespace

void AddKubernetesFunctions(std::vector<FunctionDef>& out) {
  const FunctionDef defs[] = {
      {"isSorted", kReceiver, A1, IsSorted}, {"sum", kReceiver, A1, Sum},
      {"max", kReceiver, A1, Max},           {"min", kReceiver, A1, Min},
      {"find", kReceiver, A2, Find, 1},      {"findAll", kReceiver, A2 | A3, FindAll, 1},
  };
  out.insert(out.end(), std::begin(defs), std::end(defs));
}

}  // namespace moat::cel
