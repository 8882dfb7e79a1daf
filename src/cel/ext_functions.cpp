// The strings and math extensions of cel-go (ext.Strings, ext.Math), which Kubernetes enables:
// indexes and lengths count Unicode code points, as CEL's size() does.

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>

#include "cel/functions.h"
#include "core/utf8.h"

namespace moat::cel {
namespace {

std::string EncodeRange(const std::vector<uint32_t>& cps, size_t begin, size_t end) {
  std::string out;
  for (size_t i = begin; i < end; ++i) AppendUtf8(out, cps[i]);
  return out;
}

// The first code point index >= from (or <= from when backward) where `needle` occurs, or -1.
int64_t Search(const std::vector<uint32_t>& hay, const std::vector<uint32_t>& needle, int64_t from,
               bool backward) {
  int64_t last = static_cast<int64_t>(hay.size()) - static_cast<int64_t>(needle.size());
  if (backward) {
    for (int64_t i = std::min(from, last); i >= 0; --i) {
      if (std::equal(needle.begin(), needle.end(), hay.begin() + i)) return i;
    }
  } else {
    for (int64_t i = from; i <= last; ++i) {
      if (std::equal(needle.begin(), needle.end(), hay.begin() + i)) return i;
    }
  }
  return -1;
}

Value CharAt(CallContext& c, const Value* a, size_t n) {
  if (!a[0].Is(Kind::kString) || !a[1].Is(Kind::kInt)) return c.NoOverload(a, n);
  auto cps = DecodeUtf8(a[0].AsString());
  int64_t i = a[1].AsInt();
  if (i < 0 || i > static_cast<int64_t>(cps.size())) {
    return c.Error("index out of range: " + std::to_string(i));
  }
  return Value::String(i == static_cast<int64_t>(cps.size()) ? "" : EncodeRange(cps, i, i + 1));
}

Value ListIndexOf(CallContext& c, const Value* a, size_t n, bool backward) {
  if (n != 2) return c.NoOverload(a, n);
  const auto& items = a[0].AsList();
  c.eval.Spend(items.size());
  if (backward) {
    for (size_t i = items.size(); i-- > 0;) {
      if (Equal(items[i], a[1])) return Value::Int(static_cast<int64_t>(i));
    }
  } else {
    for (size_t i = 0; i < items.size(); ++i) {
      if (Equal(items[i], a[1])) return Value::Int(static_cast<int64_t>(i));
    }
  }
  return Value::Int(-1);
}

Value IndexOfImpl(CallContext& c, const Value* a, size_t n, bool backward) {
  if (a[0].Is(Kind::kList)) return ListIndexOf(c, a, n, backward);
  if (!a[0].Is(Kind::kString) || !a[1].Is(Kind::kString) || (n == 3 && !a[2].Is(Kind::kInt))) {
    return c.NoOverload(a, n);
  }
  c.eval.Spend(a[0].AsString().size() / 10);
  auto hay = DecodeUtf8(a[0].AsString());
  auto needle = DecodeUtf8(a[1].AsString());
  int64_t size = static_cast<int64_t>(hay.size());
  int64_t from = n == 3 ? a[2].AsInt() : (backward ? size : 0);
  if (from < 0 || from > size) return c.Error("index out of range: " + std::to_string(from));
  if (needle.empty()) return Value::Int(from);
  return Value::Int(Search(hay, needle, from, backward));
}

Value IndexOf(CallContext& c, const Value* a, size_t n) { return IndexOfImpl(c, a, n, false); }
Value LastIndexOf(CallContext& c, const Value* a, size_t n) { return IndexOfImpl(c, a, n, true); }

Value Substring(CallContext& c, const Value* a, size_t n) {
  if (!a[0].Is(Kind::kString) || !a[1].Is(Kind::kInt) || (n == 3 && !a[2].Is(Kind::kInt))) {
    return c.NoOverload(a, n);
  }
  auto cps = DecodeUtf8(a[0].AsString());
  int64_t size = static_cast<int64_t>(cps.size());
  int64_t begin = a[1].AsInt();
  int64_t end = n == 3 ? a[2].AsInt() : size;
  if (begin < 0 || begin > size) return c.Error("index out of range: " + std::to_string(begin));
  if (end < 0 || end > size) return c.Error("index out of range: " + std::to_string(end));
  if (begin > end) {
    return c.Error("invalid substring range. start: " + std::to_string(begin) +
                   ", end: " + std::to_string(end));
  }
  return Value::String(EncodeRange(cps, begin, end));
}

Value CaseAscii(CallContext& c, const Value* a, size_t n, bool upper) {
  if (!a[0].Is(Kind::kString)) return c.NoOverload(a, n);
  std::string s = a[0].AsString();
  for (char& ch : s) {
    if (upper && ch >= 'a' && ch <= 'z') ch = static_cast<char>(ch - 32);
    if (!upper && ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch + 32);
  }
  return Value::String(std::move(s));
}
Value LowerAscii(CallContext& c, const Value* a, size_t n) { return CaseAscii(c, a, n, false); }
Value UpperAscii(CallContext& c, const Value* a, size_t n) { return CaseAscii(c, a, n, true); }

Value Replace(CallContext& c, const Value* a, size_t n) {
  if (!a[0].Is(Kind::kString) || !a[1].Is(Kind::kString) || !a[2].Is(Kind::kString) ||
      (n == 4 && !a[3].Is(Kind::kInt))) {
    return c.NoOverload(a, n);
  }
  const std::string& s = a[0].AsString();
  const std::string& from = a[1].AsString();
  const std::string& to = a[2].AsString();
  int64_t limit = n == 4 ? a[3].AsInt() : -1;
  c.eval.Spend(s.size() / 10);
  std::string out;
  size_t pos = 0;
  int64_t done = 0;
  if (from.empty()) {
    // Go's strings.Replace: an empty old string matches before each code point and at the end.
    auto cps = DecodeUtf8(s);
    for (size_t i = 0; i <= cps.size(); ++i) {
      if (limit < 0 || done < limit) {
        out += to;
        ++done;
      }
      if (i < cps.size()) AppendUtf8(out, cps[i]);
    }
    c.eval.Spend(out.size() / 10);
    return Value::String(std::move(out));
  }
  while (limit < 0 || done < limit) {
    size_t found = s.find(from, pos);
    if (found == std::string::npos) break;
    out.append(s, pos, found - pos);
    out += to;
    pos = found + from.size();
    ++done;
  }
  out.append(s, pos, std::string::npos);
  c.eval.Spend(out.size() / 10);
  return Value::String(std::move(out));
}

Value Split(CallContext& c, const Value* a, size_t n) {
  if (!a[0].Is(Kind::kString) || !a[1].Is(Kind::kString) || (n == 3 && !a[2].Is(Kind::kInt))) {
    return c.NoOverload(a, n);
  }
  const std::string& s = a[0].AsString();
  const std::string& sep = a[1].AsString();
  int64_t limit = n == 3 ? a[2].AsInt() : -1;
  c.eval.Spend(s.size() / 10);
  std::vector<Value> parts;
  if (limit == 0) return Value::List({});
  if (sep.empty()) {
    auto cps = DecodeUtf8(s);
    for (size_t i = 0; i < cps.size(); ++i) {
      if (limit > 0 && static_cast<int64_t>(parts.size()) == limit - 1) {
        parts.push_back(Value::String(EncodeRange(cps, i, cps.size())));
        break;
      }
      parts.push_back(Value::String(EncodeRange(cps, i, i + 1)));
    }
    return Value::List(std::move(parts));
  }
  size_t pos = 0;
  while (limit < 0 || static_cast<int64_t>(parts.size()) < limit - 1) {
    size_t found = s.find(sep, pos);
    if (found == std::string::npos) break;
    parts.push_back(Value::String(s.substr(pos, found - pos)));
    pos = found + sep.size();
  }
  parts.push_back(Value::String(s.substr(pos)));
  return Value::List(std::move(parts));
}

bool IsUnicodeSpace(uint32_t cp) {
  return cp == ' ' || (cp >= '\t' && cp <= '\r') || cp == 0x85 || cp == 0xa0 || cp == 0x1680 ||
         (cp >= 0x2000 && cp <= 0x200a) || cp == 0x2028 || cp == 0x2029 || cp == 0x202f ||
         cp == 0x205f || cp == 0x3000;
}

Value Trim(CallContext& c, const Value* a, size_t n) {
  if (!a[0].Is(Kind::kString)) return c.NoOverload(a, n);
  auto cps = DecodeUtf8(a[0].AsString());
  size_t begin = 0;
  size_t end = cps.size();
  while (begin < end && IsUnicodeSpace(cps[begin])) ++begin;
  while (end > begin && IsUnicodeSpace(cps[end - 1])) --end;
  return Value::String(EncodeRange(cps, begin, end));
}

Value Join(CallContext& c, const Value* a, size_t n) {
  if (!a[0].Is(Kind::kList) || (n == 2 && !a[1].Is(Kind::kString))) return c.NoOverload(a, n);
  std::string out;
  c.eval.Spend(a[0].AsList().size());
  bool first = true;
  for (const Value& item : a[0].AsList()) {
    if (!item.Is(Kind::kString)) {
      return c.Error("join: list element of type '" + std::string(item.TypeName()) +
                     "' is not a string");
    }
    if (!first && n == 2) out += a[1].AsString();
    first = false;
    out += item.AsString();
  }
  c.eval.Spend(out.size() / 10);
  return Value::String(std::move(out));
}

Value Reverse(CallContext& c, const Value* a, size_t n) {
  if (a[0].Is(Kind::kList)) {  // lists.reverse of the Kubernetes/cel-go lists extension
    std::vector<Value> items(a[0].AsList().rbegin(), a[0].AsList().rend());
    return Value::List(std::move(items));
  }
  if (!a[0].Is(Kind::kString)) return c.NoOverload(a, n);
  auto cps = DecodeUtf8(a[0].AsString());
  std::string out;
  for (size_t i = cps.size(); i-- > 0;) AppendUtf8(out, cps[i]);
  return Value::String(std::move(out));
}

Value Quote(CallContext& c, const Value* a, size_t n) {
  if (!a[0].Is(Kind::kString)) return c.NoOverload(a, n);
  std::string out = "\"";
  for (uint32_t cp : DecodeUtf8(a[0].AsString())) {
    switch (cp) {
      case '\a':
        out += "\\a";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\v':
        out += "\\v";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      default:
        AppendUtf8(out, cp);
    }
  }
  out += '"';
  return Value::String(std::move(out));
}

// ---- format ------------------------------------------------------------------------------

std::string FormatSpecialDouble(double d) {
  if (std::isnan(d)) return "NaN";
  return d > 0 ? "Infinity" : "-Infinity";
}

// %s of a value: strings unquoted, lists and maps with their elements formatted the same way,
// map entries sorted by their formatted key (as cel-go's format does).
bool FormatString(CallContext& c, const Value& v, std::string& out) {
  switch (v.kind()) {
    case Kind::kNull:
      out += "null";
      return true;
    case Kind::kDouble:
      if (!std::isfinite(v.AsDouble())) {
        out += FormatSpecialDouble(v.AsDouble());
        return true;
      }
      out += FormatDouble(v.AsDouble());
      return true;
    case Kind::kBytes:
      out += v.AsString();
      return true;
    case Kind::kList: {
      out += '[';
      bool first = true;
      for (const Value& item : v.AsList()) {
        if (!first) out += ", ";
        first = false;
        if (!FormatString(c, item, out)) return false;
      }
      out += ']';
      return true;
    }
    case Kind::kMap: {
      std::vector<std::pair<std::string, std::string>> entries;
      for (const MapEntry& e : v.AsMap()) {
        std::string key;
        std::string value;
        if (!FormatString(c, e.key, key) || !FormatString(c, e.value, value)) return false;
        entries.emplace_back(std::move(key), std::move(value));
      }
      std::sort(entries.begin(), entries.end());
      out += '{';
      for (size_t i = 0; i < entries.size(); ++i) {
        if (i > 0) out += ", ";
        out += entries[i].first + ": " + entries[i].second;
      }
      out += '}';
      return true;
    }
    default: {
      Value s = ToStringValue(c, v);
      if (s.IsError()) return false;
      out += s.AsString();
      return true;
    }
  }
}

std::string ToBase(uint64_t value, int base, bool upper) {
  if (value == 0) return "0";
  const char* digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
  std::string out;
  while (value > 0) {
    out += digits[value % base];
    value /= base;
  }
  return std::string(out.rbegin(), out.rend());
}

Value FormatImpl(CallContext& c, const Value* a, size_t n) {
  if (!a[0].Is(Kind::kString) || !a[1].Is(Kind::kList)) return c.NoOverload(a, n);
  const std::string& f = a[0].AsString();
  const auto& args = a[1].AsList();
  std::string out;
  size_t next = 0;
  for (size_t i = 0; i < f.size(); ++i) {
    if (f[i] != '%') {
      out += f[i];
      continue;
    }
    if (++i >= f.size()) return c.Error("could not parse formatting clause: missing verb");
    if (f[i] == '%') {
      out += '%';
      continue;
    }
    int precision = -1;
    if (f[i] == '.') {
      precision = 0;
      ++i;
      while (i < f.size() && f[i] >= '0' && f[i] <= '9') {
        precision = precision * 10 + (f[i] - '0');
        if (precision > 1000) return c.Error("could not parse formatting clause: precision");
        ++i;
      }
      if (i >= f.size()) return c.Error("could not parse formatting clause: missing verb");
    }
    char verb = f[i];
    if (std::string_view("sdfexXob").find(verb) == std::string_view::npos) {
      return c.Error(std::string("could not parse formatting clause: unrecognized formatting "
                                 "clause \"") +
                     verb + "\"");
    }
    if (next >= args.size()) {
      return c.Error("index " + std::to_string(next) + " out of range");
    }
    const Value& v = args[next++];
    c.eval.Spend(1);
    auto fail = [&](const char* what) {
      return c.Error(std::string("error during formatting: ") + what);
    };
    switch (verb) {
      case 's':
        if (!FormatString(c, v, out)) return fail("string clause can only be used on strings");
        break;
      case 'd':
        if (v.Is(Kind::kInt))
          out += std::to_string(v.AsInt());
        else if (v.Is(Kind::kUint))
          out += std::to_string(v.AsUint());
        else if (v.Is(Kind::kDouble) && !std::isfinite(v.AsDouble()))
          out += FormatSpecialDouble(v.AsDouble());
        else
          return fail("decimal clause can only be used on integers");
        break;
      case 'f':
      case 'e': {
        double d;
        if (v.Is(Kind::kDouble))
          d = v.AsDouble();
        else if (v.Is(Kind::kInt))
          d = static_cast<double>(v.AsInt());
        else if (v.Is(Kind::kUint))
          d = static_cast<double>(v.AsUint());
        else
          return fail(verb == 'f' ? "fixed-point clause can only be used on doubles"
                                  : "scientific clause can only be used on doubles");
        if (!std::isfinite(d)) {
          out += FormatSpecialDouble(d);
          break;
        }
        char buffer[1100];
        std::snprintf(buffer, sizeof(buffer), verb == 'f' ? "%.*f" : "%.*e",
                      precision < 0 ? 6 : precision, d);
        out += buffer;
        break;
      }
      case 'x':
      case 'X': {
        bool upper = verb == 'X';
        if (v.Is(Kind::kInt)) {
          int64_t i = v.AsInt();
          if (i < 0) out += '-';
          out += ToBase(i < 0 ? 0 - static_cast<uint64_t>(i) : static_cast<uint64_t>(i), 16, upper);
        } else if (v.Is(Kind::kUint)) {
          out += ToBase(v.AsUint(), 16, upper);
        } else if (v.Is(Kind::kString) || v.Is(Kind::kBytes)) {
          const char* digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
          for (char byte : v.AsString()) {
            unsigned value = static_cast<unsigned char>(byte);
            out += digits[value >> 4];
            out += digits[value & 15];
          }
        } else {
          return fail("only integers, byte buffers, and strings can be formatted as hex");
        }
        break;
      }
      case 'o':
      case 'b': {
        int base = verb == 'o' ? 8 : 2;
        if (v.Is(Kind::kInt)) {
          int64_t i = v.AsInt();
          if (i < 0) out += '-';
          out +=
              ToBase(i < 0 ? 0 - static_cast<uint64_t>(i) : static_cast<uint64_t>(i), base, false);
        } else if (v.Is(Kind::kUint)) {
          out += ToBase(v.AsUint(), base, false);
        } else if (v.Is(Kind::kBool) && verb == 'b') {
          out += v.AsBool() ? "1" : "0";
        } else {
          return fail(verb == 'o' ? "octal clause can only be used on integers"
                                  : "only integers and bools can be formatted as binary");
        }
        break;
      }
    }
  }
  return Value::String(std::move(out));
}

// ---- math --------------------------------------------------------------------------------

Value Extreme(CallContext& c, const Value* a, size_t n, bool greatest) {
  const Value* items = a;
  size_t count = n;
  if (n == 1 && a[0].Is(Kind::kList)) {
    items = a[0].AsList().data();
    count = a[0].AsList().size();
    if (count == 0) {
      return c.Error(std::string("math.") + (greatest ? "greatest" : "least") +
                     "(list) argument must not be empty");
    }
  }
  const Value* best = nullptr;
  for (size_t i = 0; i < count; ++i) {
    if (!items[i].IsNumber()) return c.NoOverload(a, n);
    if (best == nullptr) {
      best = &items[i];
      continue;
    }
    int cmp = Compare(items[i], *best);
    if (cmp == kIncomparable) {
      if (std::isnan(items[i].Is(Kind::kDouble) ? items[i].AsDouble() : 0)) best = &items[i];
      continue;
    }
    if (greatest ? cmp > 0 : cmp < 0) best = &items[i];
  }
  return *best;
}
Value Greatest(CallContext& c, const Value* a, size_t n) { return Extreme(c, a, n, true); }
Value Least(CallContext& c, const Value* a, size_t n) { return Extreme(c, a, n, false); }

template <double (*F)(double)>
Value DoubleOp(CallContext& c, const Value* a, size_t n) {
  if (!a[0].Is(Kind::kDouble)) return c.NoOverload(a, n);
  return Value::Double(F(a[0].AsDouble()));
}

Value Abs(CallContext& c, const Value* a, size_t n) {
  switch (a[0].kind()) {
    case Kind::kInt:
      if (a[0].AsInt() == INT64_MIN) return c.Error("integer overflow");
      return Value::Int(a[0].AsInt() < 0 ? -a[0].AsInt() : a[0].AsInt());
    case Kind::kUint:
      return a[0];
    case Kind::kDouble:
      return Value::Double(std::fabs(a[0].AsDouble()));
    default:
      return c.NoOverload(a, n);
  }
}

Value SignOf(CallContext& c, const Value* a, size_t n) {
  switch (a[0].kind()) {
    case Kind::kInt:
      return Value::Int(a[0].AsInt() > 0 ? 1 : (a[0].AsInt() < 0 ? -1 : 0));
    case Kind::kUint:
      return Value::Uint(a[0].AsUint() > 0 ? 1 : 0);
    case Kind::kDouble: {
      double d = a[0].AsDouble();
      if (std::isnan(d)) return a[0];
      return Value::Double(d > 0 ? 1.0 : (d < 0 ? -1.0 : 0.0));
    }
    default:
      return c.NoOverload(a, n);
  }
}

template <bool (*F)(double)>
Value DoubleTest(CallContext& c, const Value* a, size_t n) {
  if (!a[0].Is(Kind::kDouble)) return c.NoOverload(a, n);
  return Value::Bool(F(a[0].AsDouble()));
}
bool IsInfTest(double d) { return std::isinf(d); }
bool IsNanTest(double d) { return std::isnan(d); }
bool IsFiniteTest(double d) { return std::isfinite(d); }
double Ceil(double d) { return std::ceil(d); }
double Floor(double d) { return std::floor(d); }
double Round(double d) { return std::round(d); }
double Trunc(double d) { return std::trunc(d); }

enum class BitOp { kAnd, kOr, kXor };

template <BitOp Op>
Value Bitwise(CallContext& c, const Value* a, size_t n) {
  auto apply = [](uint64_t x, uint64_t y) {
    return Op == BitOp::kAnd ? (x & y) : Op == BitOp::kOr ? (x | y) : (x ^ y);
  };
  if (a[0].Is(Kind::kInt) && a[1].Is(Kind::kInt)) {
    return Value::Int(static_cast<int64_t>(
        apply(static_cast<uint64_t>(a[0].AsInt()), static_cast<uint64_t>(a[1].AsInt()))));
  }
  if (a[0].Is(Kind::kUint) && a[1].Is(Kind::kUint)) {
    return Value::Uint(apply(a[0].AsUint(), a[1].AsUint()));
  }
  return c.NoOverload(a, n);
}

Value BitNot(CallContext& c, const Value* a, size_t n) {
  if (a[0].Is(Kind::kInt)) return Value::Int(~a[0].AsInt());
  if (a[0].Is(Kind::kUint)) return Value::Uint(~a[0].AsUint());
  return c.NoOverload(a, n);
}

template <bool Left>
Value BitShift(CallContext& c, const Value* a, size_t n) {
  if (!a[1].Is(Kind::kInt) || !(a[0].Is(Kind::kInt) || a[0].Is(Kind::kUint))) {
    return c.NoOverload(a, n);
  }
  int64_t shift = a[1].AsInt();
  if (shift < 0) return c.Error("math.bitShift() negative offset: " + std::to_string(shift));
  uint64_t bits = a[0].Is(Kind::kInt) ? static_cast<uint64_t>(a[0].AsInt()) : a[0].AsUint();
  uint64_t result = shift >= 64 ? 0 : (Left ? bits << shift : bits >> shift);
  if (a[0].Is(Kind::kInt)) return Value::Int(static_cast<int64_t>(result));
  return Value::Uint(result);
}

Value Sqrt(CallContext& c, const Value* a, size_t n) {
  switch (a[0].kind()) {
    case Kind::kInt:
      return Value::Double(std::sqrt(static_cast<double>(a[0].AsInt())));
    case Kind::kUint:
      return Value::Double(std::sqrt(static_cast<double>(a[0].AsUint())));
    case Kind::kDouble:
      return Value::Double(std::sqrt(a[0].AsDouble()));
    default:
      return c.NoOverload(a, n);
  }
}

}  // namespace

void AddStringFunctions(std::vector<FunctionDef>& out) {
  const FunctionDef defs[] = {
      {"charAt", kReceiver, A2, CharAt},
      {"indexOf", kReceiver, A2 | A3, IndexOf},
      {"lastIndexOf", kReceiver, A2 | A3, LastIndexOf},
      {"substring", kReceiver, A2 | A3, Substring},
      {"lowerAscii", kReceiver, A1, LowerAscii},
      {"upperAscii", kReceiver, A1, UpperAscii},
      {"replace", kReceiver, A3 | A4, Replace},
      {"split", kReceiver, A2 | A3, Split},
      {"trim", kReceiver, A1, Trim},
      {"join", kReceiver, A1 | A2, Join},
      {"reverse", kReceiver, A1, Reverse},
      {"strings.quote", kGlobal, A1, Quote},
      {"format", kReceiver, A2, FormatImpl},
  };
  out.insert(out.end(), std::begin(defs), std::end(defs));
}

void AddMathFunctions(std::vector<FunctionDef>& out) {
  const FunctionDef defs[] = {
      {"math.greatest", kGlobal, kAnyArity & ~A0, Greatest},
      {"math.least", kGlobal, kAnyArity & ~A0, Least},
      {"math.ceil", kGlobal, A1, DoubleOp<Ceil>},
      {"math.floor", kGlobal, A1, DoubleOp<Floor>},
      {"math.round", kGlobal, A1, DoubleOp<Round>},
      {"math.trunc", kGlobal, A1, DoubleOp<Trunc>},
      {"math.abs", kGlobal, A1, Abs},
      {"math.sign", kGlobal, A1, SignOf},
      {"math.isInf", kGlobal, A1, DoubleTest<IsInfTest>},
      {"math.isNaN", kGlobal, A1, DoubleTest<IsNanTest>},
      {"math.isFinite", kGlobal, A1, DoubleTest<IsFiniteTest>},
      {"math.bitAnd", kGlobal, A2, Bitwise<BitOp::kAnd>},
      {"math.bitOr", kGlobal, A2, Bitwise<BitOp::kOr>},
      {"math.bitXor", kGlobal, A2, Bitwise<BitOp::kXor>},
      {"math.bitNot", kGlobal, A1, BitNot},
      {"math.bitShiftLeft", kGlobal, A2, BitShift<true>},
      {"math.bitShiftRight", kGlobal, A2, BitShift<false>},
      {"math.sqrt", kGlobal, A1, Sqrt},
  };
  out.insert(out.end(), std::begin(defs), std::end(defs));
}

}  // namespace moat::cel
