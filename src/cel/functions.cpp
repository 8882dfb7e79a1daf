// The standard definitions of the CEL spec: operators, size, string tests, conversions,
// timestamps and durations, optionals, and the encoders and bindings extensions.

#include "cel/functions.h"

#include <re2/re2.h>

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>

#include "artifact/source_util.h"
#include "cel/time.h"
#include "core/utf8.h"

namespace moat::cel {

Value CallContext::NoOverload(const Value* args, size_t count) const {
  std::string message = "no such overload: " + node.name + "(";
  for (size_t i = 0; i < count; ++i) {
    if (i > 0) message += ", ";
    message += args[i].TypeName();
  }
  return Error(message + ")");
}

const re2::RE2* GetRegex(CallContext& call, const Value& pattern, std::shared_ptr<void>& owner,
                         Value& error) {
  if (call.node.regex != nullptr) return call.node.regex;
  RE2::Options options;
  options.set_log_errors(false);
  auto regex = std::make_shared<re2::RE2>(pattern.AsString(), options);
  if (!regex->ok()) {
    error =
        call.Error("invalid regular expression '" + pattern.AsString() + "': " + regex->error());
    return nullptr;
  }
  call.eval.Spend(pattern.AsString().size() / 10);
  owner = regex;
  return regex.get();
}

namespace {

Value Overflow(CallContext& c) { return c.Error("integer overflow"); }

Value CheckedTimestamp(CallContext& c, Nanos t) {
  if (!TimestampInRange(t)) return c.Error("timestamp out of range");
  return Value::Timestamp(t);
}

Value CheckedDuration(CallContext& c, Nanos d) {
  if (!DurationInRange(d)) return c.Error("duration out of range");
  return Value::Duration(d);
}

// ---- arithmetic --------------------------------------------------------------------------

Value Add(CallContext& c, const Value* a, size_t n) {
  const Value& x = a[0];
  const Value& y = a[1];
  if (x.kind() == y.kind()) {
    switch (x.kind()) {
      case Kind::kInt: {
        int64_t r;
        if (__builtin_add_overflow(x.AsInt(), y.AsInt(), &r)) return Overflow(c);
        return Value::Int(r);
      }
      case Kind::kUint: {
        uint64_t r;
        if (__builtin_add_overflow(x.AsUint(), y.AsUint(), &r)) return Overflow(c);
        return Value::Uint(r);
      }
      case Kind::kDouble:
        return Value::Double(x.AsDouble() + y.AsDouble());
      case Kind::kString:
      case Kind::kBytes: {
        c.eval.Spend((x.AsString().size() + y.AsString().size()) / 10);
        std::string s = x.AsString() + y.AsString();
        return x.Is(Kind::kString) ? Value::String(std::move(s)) : Value::Bytes(std::move(s));
      }
      case Kind::kList: {
        c.eval.Spend(x.AsList().size() + y.AsList().size());
        if (y.AsList().empty()) return x;
        if (x.AsList().empty()) return y;
        std::vector<Value> items = x.AsList();
        items.insert(items.end(), y.AsList().begin(), y.AsList().end());
        return Value::List(std::move(items));
      }
      case Kind::kDuration:
        return CheckedDuration(c, x.AsNanos() + y.AsNanos());
      default:
        break;
    }
  }
  if (x.Is(Kind::kTimestamp) && y.Is(Kind::kDuration)) {
    return CheckedTimestamp(c, x.AsNanos() + y.AsNanos());
  }
  if (x.Is(Kind::kDuration) && y.Is(Kind::kTimestamp)) {
    return CheckedTimestamp(c, x.AsNanos() + y.AsNanos());
  }
  return c.NoOverload(a, n);
}

Value Subtract(CallContext& c, const Value* a, size_t n) {
  const Value& x = a[0];
  const Value& y = a[1];
  if (x.kind() == y.kind()) {
    switch (x.kind()) {
      case Kind::kInt: {
        int64_t r;
        if (__builtin_sub_overflow(x.AsInt(), y.AsInt(), &r)) return Overflow(c);
        return Value::Int(r);
      }
      case Kind::kUint: {
        uint64_t r;
        if (__builtin_sub_overflow(x.AsUint(), y.AsUint(), &r)) return Overflow(c);
        return Value::Uint(r);
      }
      case Kind::kDouble:
        return Value::Double(x.AsDouble() - y.AsDouble());
      case Kind::kDuration:
      case Kind::kTimestamp:
        return CheckedDuration(c, x.AsNanos() - y.AsNanos());
      default:
        break;
    }
  }
  if (x.Is(Kind::kTimestamp) && y.Is(Kind::kDuration)) {
    return CheckedTimestamp(c, x.AsNanos() - y.AsNanos());
  }
  return c.NoOverload(a, n);
}

Value Multiply(CallContext& c, const Value* a, size_t n) {
  const Value& x = a[0];
  const Value& y = a[1];
  if (x.kind() == y.kind()) {
    switch (x.kind()) {
      case Kind::kInt: {
        int64_t r;
        if (__builtin_mul_overflow(x.AsInt(), y.AsInt(), &r)) return Overflow(c);
        return Value::Int(r);
      }
      case Kind::kUint: {
        uint64_t r;
        if (__builtin_mul_overflow(x.AsUint(), y.AsUint(), &r)) return Overflow(c);
        return Value::Uint(r);
      }
      case Kind::kDouble:
        return Value::Double(x.AsDouble() * y.AsDouble());
      default:
        break;
    }
  }
  return c.NoOverload(a, n);
}

Value Divide(CallContext& c, const Value* a, size_t n) {
  const Value& x = a[0];
  const Value& y = a[1];
  if (x.kind() == y.kind()) {
    switch (x.kind()) {
      case Kind::kInt:
        if (y.AsInt() == 0) return c.Error("divide by zero");
        if (x.AsInt() == INT64_MIN && y.AsInt() == -1) return Overflow(c);
        return Value::Int(x.AsInt() / y.AsInt());
      case Kind::kUint:
        if (y.AsUint() == 0) return c.Error("divide by zero");
        return Value::Uint(x.AsUint() / y.AsUint());
      case Kind::kDouble:
        return Value::Double(x.AsDouble() / y.AsDouble());
      default:
        break;
    }
  }
  return c.NoOverload(a, n);
}

Value Modulo(CallContext& c, const Value* a, size_t n) {
  const Value& x = a[0];
  const Value& y = a[1];
  if (x.kind() == y.kind()) {
    switch (x.kind()) {
      case Kind::kInt:
        if (y.AsInt() == 0) return c.Error("modulus by zero");
        if (x.AsInt() == INT64_MIN && y.AsInt() == -1) return Overflow(c);
        return Value::Int(x.AsInt() % y.AsInt());
      case Kind::kUint:
        if (y.AsUint() == 0) return c.Error("modulus by zero");
        return Value::Uint(x.AsUint() % y.AsUint());
      default:
        break;
    }
  }
  return c.NoOverload(a, n);
}

Value Negate(CallContext& c, const Value* a, size_t n) {
  if (a[0].Is(Kind::kInt)) {
    if (a[0].AsInt() == INT64_MIN) return Overflow(c);
    return Value::Int(-a[0].AsInt());
  }
  if (a[0].Is(Kind::kDouble)) return Value::Double(-a[0].AsDouble());
  return c.NoOverload(a, n);
}

Value Not(CallContext& c, const Value* a, size_t n) {
  if (a[0].Is(Kind::kBool)) return Value::Bool(!a[0].AsBool());
  return c.NoOverload(a, n);
}

// ---- comparison --------------------------------------------------------------------------

Value Equals(CallContext&, const Value* a, size_t) { return Value::Bool(Equal(a[0], a[1])); }
Value NotEquals(CallContext&, const Value* a, size_t) { return Value::Bool(!Equal(a[0], a[1])); }

template <bool (*Test)(int)>
Value Relation(CallContext& c, const Value* a, size_t n) {
  int cmp = Compare(a[0], a[1]);
  if (cmp == kIncomparable) {
    if (a[0].IsNumber() && a[1].IsNumber()) return Value::Bool(false);  // NaN
    return c.NoOverload(a, n);
  }
  return Value::Bool(Test(cmp));
}
bool IsLess(int c) { return c < 0; }
bool IsLessEq(int c) { return c <= 0; }
bool IsGreater(int c) { return c > 0; }
bool IsGreaterEq(int c) { return c >= 0; }

// ---- containers --------------------------------------------------------------------------

// A list index from an int, a uint or a whole double; -1 (and an error) otherwise.
bool ListIndex(CallContext& c, const Value& list, const Value& index, size_t& out, Value& error) {
  int64_t i;
  if (index.Is(Kind::kInt)) {
    i = index.AsInt();
  } else if (index.Is(Kind::kUint)) {
    i = index.AsUint() > INT64_MAX ? -1 : static_cast<int64_t>(index.AsUint());
  } else if (index.Is(Kind::kDouble) && std::trunc(index.AsDouble()) == index.AsDouble() &&
             std::fabs(index.AsDouble()) < 9.2e18) {
    i = static_cast<int64_t>(index.AsDouble());
  } else {
    error = c.Error("no such overload: list index of type '" + std::string(index.TypeName()) + "'");
    return false;
  }
  if (i < 0 || static_cast<size_t>(i) >= list.AsList().size()) {
    error = c.Error("index out of bounds: " + std::to_string(i) + " (list of size " +
                    std::to_string(list.AsList().size()) + ")");
    return false;
  }
  out = static_cast<size_t>(i);
  return true;
}

Value IndexInto(CallContext& c, const Value& container, const Value& key, bool optional) {
  switch (container.kind()) {
    case Kind::kList: {
      size_t i;
      Value error;
      if (!ListIndex(c, container, key, i, error)) {
        if (optional && error.AsString().rfind("index out of bounds", 0) == 0) {
          return Value::OptionalNone();
        }
        return error;
      }
      return optional ? Value::OptionalOf(container.AsList()[i]) : container.AsList()[i];
    }
    case Kind::kMap: {
      Kind k = key.kind();
      if (k != Kind::kString && k != Kind::kInt && k != Kind::kUint && k != Kind::kBool &&
          k != Kind::kDouble) {
        return c.Error("no such overload: map key of type '" + std::string(key.TypeName()) + "'");
      }
      const Value* v = container.Find(key);
      if (optional) return v ? Value::OptionalOf(*v) : Value::OptionalNone();
      if (v) return *v;
      return c.Error("no such key: " + DebugString(key));
    }
    case Kind::kOptional:
      if (!container.HasValue()) return container;
      return IndexInto(c, container.OptionalValue(), key, true);
    default: {
      Value args[2] = {container, key};
      return c.NoOverload(args, 2);
    }
  }
}

Value Index(CallContext& c, const Value* a, size_t) { return IndexInto(c, a[0], a[1], false); }
Value OptIndex(CallContext& c, const Value* a, size_t) { return IndexInto(c, a[0], a[1], true); }

Value In(CallContext& c, const Value* a, size_t n) {
  if (a[1].Is(Kind::kList)) {
    c.eval.Spend(a[1].AsList().size());
    for (const Value& item : a[1].AsList()) {
      if (Equal(item, a[0])) return Value::Bool(true);
    }
    return Value::Bool(false);
  }
  if (a[1].Is(Kind::kMap)) return Value::Bool(a[1].Find(a[0]) != nullptr);
  return c.NoOverload(a, n);
}

Value Size(CallContext& c, const Value* a, size_t n) {
  if (n != 1) return c.NoOverload(a, n);
  switch (a[0].kind()) {
    case Kind::kString:
      return Value::Int(static_cast<int64_t>(CodePointCount(a[0].AsString())));
    case Kind::kBytes:
      return Value::Int(static_cast<int64_t>(a[0].AsString().size()));
    case Kind::kList:
      return Value::Int(static_cast<int64_t>(a[0].AsList().size()));
    case Kind::kMap:
      return Value::Int(static_cast<int64_t>(a[0].AsMap().size()));
    default:
      return c.NoOverload(a, n);
  }
}

// ---- strings -----------------------------------------------------------------------------

bool TwoStrings(const Value* a, size_t n) {
  return n == 2 && a[0].Is(Kind::kString) && a[1].Is(Kind::kString);
}

Value Contains(CallContext& c, const Value* a, size_t n) {
  if (!TwoStrings(a, n)) return c.NoOverload(a, n);
  c.eval.Spend(a[0].AsString().size() / 10);
  return Value::Bool(a[0].AsString().find(a[1].AsString()) != std::string::npos);
}

Value StartsWith(CallContext& c, const Value* a, size_t n) {
  if (!TwoStrings(a, n)) return c.NoOverload(a, n);
  return Value::Bool(a[0].AsString().rfind(a[1].AsString(), 0) == 0);
}

Value EndsWith(CallContext& c, const Value* a, size_t n) {
  if (!TwoStrings(a, n)) return c.NoOverload(a, n);
  const std::string& s = a[0].AsString();
  const std::string& t = a[1].AsString();
  return Value::Bool(s.size() >= t.size() && s.compare(s.size() - t.size(), t.size(), t) == 0);
}

Value Matches(CallContext& c, const Value* a, size_t n) {
  if (!TwoStrings(a, n)) return c.NoOverload(a, n);
  std::shared_ptr<void> owner;
  Value error;
  const re2::RE2* regex = GetRegex(c, a[1], owner, error);
  if (regex == nullptr) return error;
  c.eval.Spend(a[0].AsString().size() / 10);
  return Value::Bool(re2::RE2::PartialMatch(a[0].AsString(), *regex));
}

// ---- conversions -------------------------------------------------------------------------

template <typename T>
bool ParseWhole(const std::string& s, T& out) {
  if (s.empty()) return false;
  const char* begin = s.data();
  const char* end = s.data() + s.size();
  if (*begin == '+') ++begin;
  auto [ptr, ec] = std::from_chars(begin, end, out);
  return ec == std::errc() && ptr == end;
}

Value ToInt(CallContext& c, const Value* a, size_t n) {
  const Value& v = a[0];
  switch (v.kind()) {
    case Kind::kInt:
      return v;
    case Kind::kUint:
      if (v.AsUint() > INT64_MAX) return c.Error("range error: uint out of int range");
      return Value::Int(static_cast<int64_t>(v.AsUint()));
    case Kind::kDouble: {
      double d = v.AsDouble();
      // The largest double below 2^63 is 2^63 - 1024; -2^63 itself converts but cel-go
      // rejects both ends, as the conformance tests expect.
      if (!(d > -9223372036854775808.0 && d < 9223372036854775808.0)) {
        return c.Error("range error: double out of int range");
      }
      return Value::Int(static_cast<int64_t>(d));
    }
    case Kind::kString: {
      int64_t out;
      if (!ParseWhole(v.AsString(), out))
        return c.Error("cannot convert '" + v.AsString() + "' to int");
      return Value::Int(out);
    }
    case Kind::kTimestamp: {
      Nanos t = v.AsNanos();
      Nanos s = t / kNanosPerSecond;
      if (t % kNanosPerSecond < 0) s -= 1;
      return Value::Int(static_cast<int64_t>(s));
    }
    case Kind::kDuration:
      return Value::Int(static_cast<int64_t>(v.AsNanos()));
    default:
      return c.NoOverload(a, n);
  }
}

Value ToUint(CallContext& c, const Value* a, size_t n) {
  const Value& v = a[0];
  switch (v.kind()) {
    case Kind::kUint:
      return v;
    case Kind::kInt:
      if (v.AsInt() < 0) return c.Error("range error: negative int to uint");
      return Value::Uint(static_cast<uint64_t>(v.AsInt()));
    case Kind::kDouble: {
      double d = v.AsDouble();
      if (!(d > -1.0 && d < 18446744073709551616.0)) {
        return c.Error("range error: double out of uint range");
      }
      return Value::Uint(static_cast<uint64_t>(d));
    }
    case Kind::kString: {
      uint64_t out;
      if (!ParseWhole(v.AsString(), out))
        return c.Error("cannot convert '" + v.AsString() + "' to uint");
      return Value::Uint(out);
    }
    default:
      return c.NoOverload(a, n);
  }
}

Value ToDouble(CallContext& c, const Value* a, size_t n) {
  const Value& v = a[0];
  switch (v.kind()) {
    case Kind::kDouble:
      return v;
    case Kind::kInt:
      return Value::Double(static_cast<double>(v.AsInt()));
    case Kind::kUint:
      return Value::Double(static_cast<double>(v.AsUint()));
    case Kind::kString: {
      const std::string& s = v.AsString();
      if (s == "NaN") return Value::Double(std::numeric_limits<double>::quiet_NaN());
      if (s == "Infinity" || s == "+Infinity" || s == "inf" || s == "+inf") {
        return Value::Double(std::numeric_limits<double>::infinity());
      }
      if (s == "-Infinity" || s == "-inf") {
        return Value::Double(-std::numeric_limits<double>::infinity());
      }
      char* end = nullptr;
      double d = std::strtod(s.c_str(), &end);
      bool hex = s.find_first_of("xX") != std::string::npos;
      if (s.empty() || end != s.c_str() + s.size() || hex ||
          std::isspace(static_cast<unsigned char>(s[0]))) {
        return c.Error("cannot convert '" + s + "' to double");
      }
      return Value::Double(d);
    }
    default:
      return c.NoOverload(a, n);
  }
}

}  // namespace

Value ToStringValue(CallContext& c, const Value& v) {
  switch (v.kind()) {
    case Kind::kString:
      return v;
    case Kind::kInt:
      return Value::String(std::to_string(v.AsInt()));
    case Kind::kUint:
      return Value::String(std::to_string(v.AsUint()));
    case Kind::kDouble:
      return Value::String(FormatDouble(v.AsDouble()));
    case Kind::kBool:
      return Value::String(v.AsBool() ? "true" : "false");
    case Kind::kBytes:
      if (!ValidUtf8(v.AsString())) return c.Error("invalid UTF-8 in bytes converted to string");
      return Value::String(v.AsString());
    case Kind::kTimestamp:
      return Value::String(FormatTimestamp(v.AsNanos()));
    case Kind::kDuration:
      return Value::String(FormatDuration(v.AsNanos()));
    case Kind::kType:
      return Value::String(v.AsString());
    case Kind::kOpaque:
      return Value::String(v.AsOpaque()->ToString());
    default:
      return c.Error("no such overload: string(" + std::string(v.TypeName()) + ")");
  }
}

namespace {

Value ToString(CallContext& c, const Value* a, size_t) { return ToStringValue(c, a[0]); }

Value ToBytes(CallContext& c, const Value* a, size_t n) {
  if (a[0].Is(Kind::kBytes)) return a[0];
  if (a[0].Is(Kind::kString)) return Value::Bytes(a[0].AsString());
  return c.NoOverload(a, n);
}

Value ToBool(CallContext& c, const Value* a, size_t n) {
  if (a[0].Is(Kind::kBool)) return a[0];
  if (!a[0].Is(Kind::kString)) return c.NoOverload(a, n);
  const std::string& s = a[0].AsString();
  if (s == "1" || s == "t" || s == "true" || s == "TRUE" || s == "True") return Value::Bool(true);
  if (s == "0" || s == "f" || s == "false" || s == "FALSE" || s == "False") {
    return Value::Bool(false);
  }
  return c.Error("Type conversion error: cannot convert '" + s + "' to bool");
}

Value ToTimestamp(CallContext& c, const Value* a, size_t n) {
  const Value& v = a[0];
  if (v.Is(Kind::kTimestamp)) return v;
  if (v.Is(Kind::kInt)) return CheckedTimestamp(c, static_cast<Nanos>(v.AsInt()) * kNanosPerSecond);
  if (v.Is(Kind::kString)) {
    auto t = ParseTimestamp(v.AsString());
    if (!t.ok()) return c.Error(t.error().message);
    return Value::Timestamp(*t);
  }
  return c.NoOverload(a, n);
}

Value ToDuration(CallContext& c, const Value* a, size_t n) {
  const Value& v = a[0];
  if (v.Is(Kind::kDuration)) return v;
  if (v.Is(Kind::kInt)) return Value::Duration(v.AsInt());
  if (v.Is(Kind::kString)) {
    auto d = ParseDuration(v.AsString());
    if (!d.ok()) return c.Error(d.error().message);
    return Value::Duration(*d);
  }
  return c.NoOverload(a, n);
}

Value Dyn(CallContext&, const Value* a, size_t) { return a[0]; }

Value TypeOf(CallContext&, const Value* a, size_t) { return Value::Type(a[0].TypeName()); }

// ---- timestamps and durations ------------------------------------------------------------

enum class Field {
  kFullYear,
  kMonth,
  kDayOfYear,
  kDayOfMonth,
  kDate,
  kDayOfWeek,
  kHours,
  kMinutes,
  kSeconds,
  kMilliseconds
};

template <Field F>
Value TimeField(CallContext& c, const Value* a, size_t n) {
  if (a[0].Is(Kind::kDuration) && n == 1) {
    Nanos d = a[0].AsNanos();
    switch (F) {
      case Field::kHours:
        return Value::Int(static_cast<int64_t>(d / (3600 * kNanosPerSecond)));
      case Field::kMinutes:
        return Value::Int(static_cast<int64_t>(d / (60 * kNanosPerSecond)));
      case Field::kSeconds:
        return Value::Int(static_cast<int64_t>(d / kNanosPerSecond));
      case Field::kMilliseconds:
        return Value::Int(static_cast<int64_t>(d % kNanosPerSecond / 1000000));
      default:
        return c.NoOverload(a, n);
    }
  }
  if (!a[0].Is(Kind::kTimestamp) || n > 2 || (n == 2 && !a[1].Is(Kind::kString))) {
    return c.NoOverload(a, n);
  }
  auto civil = ToCivil(a[0].AsNanos(), n == 2 ? std::string_view(a[1].AsString()) : "");
  if (!civil.ok()) return c.Error(civil.error().message);
  switch (F) {
    case Field::kFullYear:
      return Value::Int(civil->year);
    case Field::kMonth:
      return Value::Int(civil->month - 1);
    case Field::kDayOfYear:
      return Value::Int(civil->day_of_year);
    case Field::kDayOfMonth:
      return Value::Int(civil->day - 1);
    case Field::kDate:
      return Value::Int(civil->day);
    case Field::kDayOfWeek:
      return Value::Int(civil->day_of_week);
    case Field::kHours:
      return Value::Int(civil->hour);
    case Field::kMinutes:
      return Value::Int(civil->minute);
    case Field::kSeconds:
      return Value::Int(civil->second);
    case Field::kMilliseconds:
      return Value::Int(civil->nanos / 1000000);
  }
  return c.NoOverload(a, n);
}

// ---- optionals ---------------------------------------------------------------------------

Value OptionalOf(CallContext&, const Value* a, size_t) { return Value::OptionalOf(a[0]); }
Value OptionalNone(CallContext& c, const Value* a, size_t n) {
  if (n != 0) return c.NoOverload(a, n);
  return Value::OptionalNone();
}

bool IsZeroValue(const Value& v) {
  switch (v.kind()) {
    case Kind::kNull:
      return true;
    case Kind::kBool:
      return !v.AsBool();
    case Kind::kInt:
      return v.AsInt() == 0;
    case Kind::kUint:
      return v.AsUint() == 0;
    case Kind::kDouble:
      return v.AsDouble() == 0;
    case Kind::kString:
    case Kind::kBytes:
      return v.AsString().empty();
    case Kind::kList:
      return v.AsList().empty();
    case Kind::kMap:
      return v.AsMap().empty();
    case Kind::kTimestamp:
    case Kind::kDuration:
      return v.AsNanos() == 0;
    default:
      return false;
  }
}

Value OptionalOfNonZero(CallContext&, const Value* a, size_t) {
  return IsZeroValue(a[0]) ? Value::OptionalNone() : Value::OptionalOf(a[0]);
}

Value OptHasValue(CallContext& c, const Value* a, size_t n) {
  if (!a[0].Is(Kind::kOptional) || n != 1) return c.NoOverload(a, n);
  return Value::Bool(a[0].HasValue());
}

Value OptValue(CallContext& c, const Value* a, size_t n) {
  if (!a[0].Is(Kind::kOptional) || n != 1) return c.NoOverload(a, n);
  if (!a[0].HasValue()) return c.Error("optional.none() dereference");
  return a[0].OptionalValue();
}

Value OptOr(CallContext& c, const Value* a, size_t n) {
  if (n != 2 || !a[0].Is(Kind::kOptional) || !a[1].Is(Kind::kOptional)) return c.NoOverload(a, n);
  return a[0].HasValue() ? a[0] : a[1];
}

Value OptOrValue(CallContext& c, const Value* a, size_t n) {
  if (n != 2 || !a[0].Is(Kind::kOptional)) return c.NoOverload(a, n);
  return a[0].HasValue() ? a[0].OptionalValue() : a[1];
}

// ---- encoders ----------------------------------------------------------------------------

Value Base64Enc(CallContext& c, const Value* a, size_t n) {
  if (!a[0].Is(Kind::kBytes)) return c.NoOverload(a, n);
  return Value::String(Base64Encode(a[0].AsString()));
}

Value Base64Dec(CallContext& c, const Value* a, size_t n) {
  if (!a[0].Is(Kind::kString)) return c.NoOverload(a, n);
  auto decoded = Base64Decode(a[0].AsString());
  if (!decoded.ok()) return c.Error("base64.decode: " + decoded.error().message);
  return Value::Bytes(std::move(*decoded));
}

}  // namespace

void AddStandardFunctions(std::vector<FunctionDef>& out) {
  const FunctionDef defs[] = {
      {"_+_", kGlobal, A2, Add},
      {"_-_", kGlobal, A2, Subtract},
      {"_*_", kGlobal, A2, Multiply},
      {"_/_", kGlobal, A2, Divide},
      {"_%_", kGlobal, A2, Modulo},
      {"-_", kGlobal, A1, Negate},
      {"!_", kGlobal, A1, Not},
      {"_==_", kGlobal, A2, Equals},
      {"_!=_", kGlobal, A2, NotEquals},
      {"_<_", kGlobal, A2, Relation<IsLess>},
      {"_<=_", kGlobal, A2, Relation<IsLessEq>},
      {"_>_", kGlobal, A2, Relation<IsGreater>},
      {"_>=_", kGlobal, A2, Relation<IsGreaterEq>},
      {"_[_]", kGlobal, A2, Index},
      {"_[?_]", kGlobal, A2, OptIndex},
      {"@in", kGlobal, A2, In},
      {"size", kBoth, A1, Size},
      {"contains", kReceiver, A2, Contains},
      {"startsWith", kReceiver, A2, StartsWith},
      {"endsWith", kReceiver, A2, EndsWith},
      {"matches", kBoth, A2, Matches, 1},
      {"int", kGlobal, A1, ToInt},
      {"uint", kGlobal, A1, ToUint},
      {"double", kGlobal, A1, ToDouble},
      {"string", kGlobal, A1, ToString},
      {"bytes", kGlobal, A1, ToBytes},
      {"bool", kGlobal, A1, ToBool},
      {"timestamp", kGlobal, A1, ToTimestamp},
      {"duration", kGlobal, A1, ToDuration},
      {"dyn", kGlobal, A1, Dyn},
      {"type", kGlobal, A1, TypeOf},
      {"getFullYear", kReceiver, A1 | A2, TimeField<Field::kFullYear>},
      {"getMonth", kReceiver, A1 | A2, TimeField<Field::kMonth>},
      {"getDayOfYear", kReceiver, A1 | A2, TimeField<Field::kDayOfYear>},
      {"getDayOfMonth", kReceiver, A1 | A2, TimeField<Field::kDayOfMonth>},
      {"getDate", kReceiver, A1 | A2, TimeField<Field::kDate>},
      {"getDayOfWeek", kReceiver, A1 | A2, TimeField<Field::kDayOfWeek>},
      {"getHours", kReceiver, A1 | A2, TimeField<Field::kHours>},
      {"getMinutes", kReceiver, A1 | A2, TimeField<Field::kMinutes>},
      {"getSeconds", kReceiver, A1 | A2, TimeField<Field::kSeconds>},
      {"getMilliseconds", kReceiver, A1 | A2, TimeField<Field::kMilliseconds>},
      {"optional.of", kGlobal, A1, OptionalOf},
      {"optional.none", kGlobal, A0, OptionalNone},
      {"optional.ofNonZeroValue", kGlobal, A1, OptionalOfNonZero},
      {"hasValue", kReceiver, A1, OptHasValue},
      {"value", kReceiver, A1, OptValue},
      {"or", kReceiver, A2, OptOr},
      {"orValue", kReceiver, A2, OptOrValue},
      {"base64.encode", kGlobal, A1, Base64Enc},
      {"base64.decode", kGlobal, A1, Base64Dec},
  };
  out.insert(out.end(), std::begin(defs), std::end(defs));
}

const std::vector<FunctionDef>& Functions() {
  static const std::vector<FunctionDef> all = [] {
    std::vector<FunctionDef> defs;
    AddStandardFunctions(defs);
    AddStringFunctions(defs);
    AddMathFunctions(defs);
    AddKubernetesFunctions(defs);
    AddKubernetesTypeFunctions(defs);
    AddKubernetesFormatFunctions(defs);
    return defs;
  }();
  return all;
}

int FindFunction(std::string_view name, CallStyle style) {
  const auto& all = Functions();
  for (size_t i = 0; i < all.size(); ++i) {
    if ((all[i].style & style) != 0 && all[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

}  // namespace moat::cel
