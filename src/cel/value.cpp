#include "cel/value.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <unordered_map>

#include "cel/time.h"

namespace moat::cel {
namespace {

struct TextObject : HeapObject {
  explicit TextObject(std::string t) : text(std::move(t)) {}
  std::string text;
};

struct ListObject : HeapObject {
  explicit ListObject(std::vector<Value> v) : items(std::move(v)) {}
  std::vector<Value> items;
};

// Kubernetes objects are maps with string keys; past a handful of entries a hash index on those
// keys keeps field selection O(1). Other keys are looked up by a scan.
constexpr size_t kIndexThreshold = 8;

struct MapObject : HeapObject {
  explicit MapObject(std::vector<MapEntry> e) : entries(std::move(e)) {
    if (entries.size() > kIndexThreshold) {
      for (size_t i = 0; i < entries.size(); ++i) {
        if (entries[i].key.Is(Kind::kString)) string_index.emplace(entries[i].key.AsString(), i);
      }
    }
  }
  std::vector<MapEntry> entries;
  std::unordered_map<std::string_view, size_t> string_index;
};

struct OptionalObject : HeapObject {
  explicit OptionalObject(Value v) : value(std::move(v)) {}
  Value value;
};

const std::string& EmptyString() {
  static const std::string empty;
  return empty;
}

// Numeric comparison across int, uint and double without losing precision.
int CompareIntUint(int64_t a, uint64_t b) {
  if (a < 0) return -1;
  uint64_t ua = static_cast<uint64_t>(a);
  return ua < b ? -1 : (ua > b ? 1 : 0);
}

// Ordering between a double and an integer converts the integer to double, as cel-go does
// (the conformance tests expect 9223372036854775807 < 9223372036854775808.0 to be false).
int CompareDoubleInt(double a, int64_t b) {
  if (std::isnan(a)) return kIncomparable;
  double bd = static_cast<double>(b);
  return a < bd ? -1 : (a > bd ? 1 : 0);
}

int CompareDoubleUint(double a, uint64_t b) {
  if (std::isnan(a)) return kIncomparable;
  double bd = static_cast<double>(b);
  return a < bd ? -1 : (a > bd ? 1 : 0);
}

int Sign(int c) { return c == kIncomparable ? c : -c; }

int CompareNumbers(const Value& a, const Value& b) {
  switch (a.kind()) {
    case Kind::kInt:
      if (b.Is(Kind::kInt)) return a.AsInt() < b.AsInt() ? -1 : (a.AsInt() > b.AsInt() ? 1 : 0);
      if (b.Is(Kind::kUint)) return CompareIntUint(a.AsInt(), b.AsUint());
      return Sign(CompareDoubleInt(b.AsDouble(), a.AsInt()));
    case Kind::kUint:
      if (b.Is(Kind::kUint))
        return a.AsUint() < b.AsUint() ? -1 : (a.AsUint() > b.AsUint() ? 1 : 0);
      if (b.Is(Kind::kInt)) return Sign(CompareIntUint(b.AsInt(), a.AsUint()));
      return Sign(CompareDoubleUint(b.AsDouble(), a.AsUint()));
    default:
      if (b.Is(Kind::kDouble)) {
        if (std::isnan(a.AsDouble()) || std::isnan(b.AsDouble())) return kIncomparable;
        return a.AsDouble() < b.AsDouble() ? -1 : (a.AsDouble() > b.AsDouble() ? 1 : 0);
      }
      if (b.Is(Kind::kInt)) return CompareDoubleInt(a.AsDouble(), b.AsInt());
      return CompareDoubleUint(a.AsDouble(), b.AsUint());
  }
}

void AppendQuoted(std::string& out, const std::string& text, char quote, bool bytes) {
  if (bytes) out += 'b';
  out += quote;
  for (unsigned char c : text) {
    if (c == static_cast<unsigned char>(quote) || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c < 0x20 || c == 0x7f || (bytes && c >= 0x80)) {
      char buffer[8];
      std::snprintf(buffer, sizeof(buffer), "\\x%02x", c);
      out += buffer;
    } else {
      out += static_cast<char>(c);
    }
  }
  out += quote;
}

void AppendDebug(std::string& out, const Value& v) {
  switch (v.kind()) {
    case Kind::kNull:
      out += "null";
      break;
    case Kind::kBool:
      out += v.AsBool() ? "true" : "false";
      break;
    case Kind::kInt:
      out += std::to_string(v.AsInt());
      break;
    case Kind::kUint:
      out += std::to_string(v.AsUint()) + "u";
      break;
    case Kind::kDouble:
      out += FormatDouble(v.AsDouble());
      break;
    case Kind::kString:
      AppendQuoted(out, v.AsString(), '"', false);
      break;
    case Kind::kBytes:
      AppendQuoted(out, v.AsString(), '"', true);
      break;
    case Kind::kList: {
      out += '[';
      bool first = true;
      for (const Value& item : v.AsList()) {
        if (!first) out += ", ";
        first = false;
        AppendDebug(out, item);
      }
      out += ']';
      break;
    }
    case Kind::kMap: {
      out += '{';
      bool first = true;
      for (const MapEntry& e : v.AsMap()) {
        if (!first) out += ", ";
        first = false;
        AppendDebug(out, e.key);
        out += ": ";
        AppendDebug(out, e.value);
      }
      out += '}';
      break;
    }
    case Kind::kType:
      out += v.AsString();
      break;
    case Kind::kTimestamp:
      out += "timestamp(\"" + FormatTimestamp(v.AsNanos()) + "\")";
      break;
    case Kind::kDuration:
      out += "duration(\"" + FormatDuration(v.AsNanos()) + "\")";
      break;
    case Kind::kOptional:
      if (v.HasValue()) {
        out += "optional.of(";
        AppendDebug(out, v.OptionalValue());
        out += ')';
      } else {
        out += "optional.none()";
      }
      break;
    case Kind::kOpaque:
      out += std::string(v.TypeName()) + "(\"" + v.AsOpaque()->ToString() + "\")";
      break;
    case Kind::kError:
      out += "error(" + v.AsString() + ")";
      break;
  }
}

// Appends 0, 3, 6 or 9 fraction digits of `nanos` (0..999999999), as protobuf's JSON does.
void AppendFraction(std::string& out, int64_t nanos) {
  if (nanos == 0) return;
  char buffer[32];
  if (nanos % 1000000 == 0) {
    std::snprintf(buffer, sizeof(buffer), ".%03lld", static_cast<long long>(nanos / 1000000));
  } else if (nanos % 1000 == 0) {
    std::snprintf(buffer, sizeof(buffer), ".%06lld", static_cast<long long>(nanos / 1000));
  } else {
    std::snprintf(buffer, sizeof(buffer), ".%09lld", static_cast<long long>(nanos));
  }
  out += buffer;
}

}  // namespace

Value Value::Bool(bool value) {
  Value v;
  v.kind_ = Kind::kBool;
  v.scalar_.n = 0;
  v.scalar_.b = value;
  return v;
}
Value Value::Int(int64_t value) {
  Value v;
  v.kind_ = Kind::kInt;
  v.scalar_.n = 0;
  v.scalar_.i = value;
  return v;
}
Value Value::Uint(uint64_t value) {
  Value v;
  v.kind_ = Kind::kUint;
  v.scalar_.n = 0;
  v.scalar_.u = value;
  return v;
}
Value Value::Double(double value) {
  Value v;
  v.kind_ = Kind::kDouble;
  v.scalar_.n = 0;
  v.scalar_.d = value;
  return v;
}
Value Value::String(std::string value) {
  Value v;
  v.kind_ = Kind::kString;
  v.heap_ = std::make_shared<TextObject>(std::move(value));
  return v;
}
Value Value::Bytes(std::string value) {
  Value v;
  v.kind_ = Kind::kBytes;
  v.heap_ = std::make_shared<TextObject>(std::move(value));
  return v;
}
Value Value::List(std::vector<Value> items) {
  Value v;
  v.kind_ = Kind::kList;
  v.heap_ = std::make_shared<ListObject>(std::move(items));
  return v;
}
Value Value::Map(std::vector<MapEntry> entries) {
  Value v;
  v.kind_ = Kind::kMap;
  v.heap_ = std::make_shared<MapObject>(std::move(entries));
  return v;
}
Value Value::Type(std::string_view name) {
  Value v;
  v.kind_ = Kind::kType;
  v.heap_ = std::make_shared<TextObject>(std::string(name));
  return v;
}
Value Value::Timestamp(Nanos since_epoch) {
  Value v;
  v.kind_ = Kind::kTimestamp;
  v.scalar_.n = since_epoch;
  return v;
}
Value Value::Duration(Nanos span) {
  Value v;
  v.kind_ = Kind::kDuration;
  v.scalar_.n = span;
  return v;
}
Value Value::OptionalOf(Value value) {
  Value v;
  v.kind_ = Kind::kOptional;
  v.heap_ = std::make_shared<OptionalObject>(std::move(value));
  return v;
}
Value Value::OptionalNone() {
  Value v;
  v.kind_ = Kind::kOptional;
  return v;
}
Value Value::Opaque(std::shared_ptr<const OpaqueObject> object) {
  Value v;
  v.kind_ = Kind::kOpaque;
  v.heap_ = std::move(object);
  return v;
}

Value Value::Error(std::string message, uint32_t position) {
  Value v;
  v.kind_ = Kind::kError;
  v.scalar_.n = 0;
  v.scalar_.position = position;
  v.heap_ = std::make_shared<TextObject>(std::move(message));
  return v;
}

const std::string& Value::AsString() const {
  if (!heap_) return EmptyString();
  if (kind_ != Kind::kString && kind_ != Kind::kBytes && kind_ != Kind::kType &&
      kind_ != Kind::kError) {
    return EmptyString();
  }
  return static_cast<const TextObject&>(*heap_).text;
}

const std::vector<Value>& Value::AsList() const {
  static const std::vector<Value> empty;
  if (kind_ != Kind::kList) return empty;
  return static_cast<const ListObject&>(*heap_).items;
}

const std::vector<MapEntry>& Value::AsMap() const {
  static const std::vector<MapEntry> empty;
  if (kind_ != Kind::kMap) return empty;
  return static_cast<const MapObject&>(*heap_).entries;
}

const Value& Value::OptionalValue() const {
  static const Value null_value;
  if (kind_ != Kind::kOptional || !heap_) return null_value;
  return static_cast<const OptionalObject&>(*heap_).value;
}

const Value* Value::FindString(std::string_view key) const {
  if (kind_ != Kind::kMap) return nullptr;
  const auto& map = static_cast<const MapObject&>(*heap_);
  if (!map.string_index.empty()) {
    auto it = map.string_index.find(key);
    return it == map.string_index.end() ? nullptr : &map.entries[it->second].value;
  }
  for (const MapEntry& e : map.entries) {
    if (e.key.Is(Kind::kString) && e.key.AsString() == key) return &e.value;
  }
  return nullptr;
}

const Value* Value::Find(const Value& key) const {
  if (kind_ != Kind::kMap) return nullptr;
  if (key.Is(Kind::kString)) return FindString(key.AsString());
  for (const MapEntry& e : AsMap()) {
    if (Equal(e.key, key)) return &e.value;
  }
  return nullptr;
}

std::string_view Value::TypeName() const {
  switch (kind_) {
    case Kind::kNull:
      return "null_type";
    case Kind::kBool:
      return "bool";
    case Kind::kInt:
      return "int";
    case Kind::kUint:
      return "uint";
    case Kind::kDouble:
      return "double";
    case Kind::kString:
      return "string";
    case Kind::kBytes:
      return "bytes";
    case Kind::kList:
      return "list";
    case Kind::kMap:
      return "map";
    case Kind::kType:
      return "type";
    case Kind::kTimestamp:
      return "google.protobuf.Timestamp";
    case Kind::kDuration:
      return "google.protobuf.Duration";
    case Kind::kOptional:
      return "optional_type";
    case Kind::kOpaque:
      return AsOpaque()->TypeName();
    case Kind::kError:
      return "error";
  }
  return "unknown";
}

Value MakeMap(std::vector<MapEntry> entries, uint32_t position) {
  for (size_t i = 0; i < entries.size(); ++i) {
    const Value& key = entries[i].key;
    if (key.IsError()) return key;
    if (entries[i].value.IsError()) return entries[i].value;
    Kind k = key.kind();
    if (k != Kind::kString && k != Kind::kInt && k != Kind::kUint && k != Kind::kBool) {
      return Value::Error("unsupported key type '" + std::string(key.TypeName()) + "' in map",
                          position);
    }
  }
  // Duplicate keys: a hash set for string keys, a scan for the (rare) others.
  if (entries.size() > 1) {
    std::unordered_map<std::string_view, size_t> seen;
    for (size_t i = 0; i < entries.size(); ++i) {
      const Value& key = entries[i].key;
      bool duplicate = false;
      if (key.Is(Kind::kString)) {
        duplicate = !seen.emplace(key.AsString(), i).second;
      } else {
        for (size_t j = 0; j < i && !duplicate; ++j) duplicate = Equal(entries[j].key, key);
      }
      if (duplicate) return Value::Error("Failed with repeated key: " + DebugString(key), position);
    }
  }
  return Value::Map(std::move(entries));
}

bool Equal(const Value& a, const Value& b) {
  if (a.IsNumber() && b.IsNumber()) return CompareNumbers(a, b) == 0;
  if (a.kind() != b.kind()) return false;
  switch (a.kind()) {
    case Kind::kNull:
      return true;
    case Kind::kBool:
      return a.AsBool() == b.AsBool();
    case Kind::kString:
    case Kind::kBytes:
    case Kind::kType:
      return a.AsString() == b.AsString();
    case Kind::kTimestamp:
    case Kind::kDuration:
      return a.AsNanos() == b.AsNanos();
    case Kind::kList: {
      const auto& x = a.AsList();
      const auto& y = b.AsList();
      if (x.size() != y.size()) return false;
      for (size_t i = 0; i < x.size(); ++i) {
        if (!Equal(x[i], y[i])) return false;
      }
      return true;
    }
    case Kind::kMap: {
      if (a.AsMap().size() != b.AsMap().size()) return false;
      for (const MapEntry& e : a.AsMap()) {
        const Value* other = b.Find(e.key);
        if (other == nullptr || !Equal(e.value, *other)) return false;
      }
      return true;
    }
    case Kind::kOptional:
      if (a.HasValue() != b.HasValue()) return false;
      return !a.HasValue() || Equal(a.OptionalValue(), b.OptionalValue());
    case Kind::kOpaque:
      return a.AsOpaque()->TypeName() == b.AsOpaque()->TypeName() &&
             a.AsOpaque()->Equals(*b.AsOpaque());
    default:
      return false;
  }
}

int Compare(const Value& a, const Value& b) {
  if (a.IsNumber() && b.IsNumber()) return CompareNumbers(a, b);
  if (a.kind() != b.kind()) return kIncomparable;
  switch (a.kind()) {
    case Kind::kBool:
      return a.AsBool() == b.AsBool() ? 0 : (a.AsBool() ? 1 : -1);
    case Kind::kString:
    case Kind::kBytes: {
      int c = a.AsString().compare(b.AsString());
      return c < 0 ? -1 : (c > 0 ? 1 : 0);
    }
    case Kind::kTimestamp:
    case Kind::kDuration:
      return a.AsNanos() < b.AsNanos() ? -1 : (a.AsNanos() > b.AsNanos() ? 1 : 0);
    default:
      return kIncomparable;
  }
}

std::string DebugString(const Value& value) {
  std::string out;
  AppendDebug(out, value);
  return out;
}

std::string FormatDouble(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  // Shortest representation that reads back to the same double; Go's 'g' with exponent
  // threshold 21, as cel-go's string(double) gives ("1e+21", "123.456", "-0.0045").
  char buffer[64];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof(buffer), value);
  std::string shortest(buffer, end);
  // std::to_chars picks the shorter of fixed and scientific; Go switches to scientific only
  // when the exponent is < -4 or >= 21.
  int exponent = value == 0 ? 0 : static_cast<int>(std::floor(std::log10(std::fabs(value))));
  if (exponent < -4 || exponent >= 21) {
    auto [e2, ec2] =
        std::to_chars(buffer, buffer + sizeof(buffer), value, std::chars_format::scientific);
    std::string s(buffer, e2);
    // Go writes at least two exponent digits: 1e+21, 1e-05.
    return s;
  }
  auto [e3, ec3] = std::to_chars(buffer, buffer + sizeof(buffer), value, std::chars_format::fixed);
  return std::string(buffer, e3);
}

std::string FormatTimestamp(Nanos since_epoch) {
  CivilTime c = ToCivil(since_epoch, "").value();  // UTC: no zone lookup that could fail
  char buffer[64];
  std::snprintf(buffer, sizeof(buffer), "%04lld-%02d-%02dT%02d:%02d:%02d",
                static_cast<long long>(c.year), c.month, c.day, c.hour, c.minute, c.second);
  std::string out = buffer;
  AppendFraction(out, c.nanos);
  out += 'Z';
  return out;
}

std::string FormatDuration(Nanos span) {
  constexpr Nanos kSecond = 1000000000;
  std::string out;
  if (span < 0) {
    out += '-';
    span = -span;
  }
  out += std::to_string(static_cast<int64_t>(span / kSecond));
  AppendFraction(out, static_cast<int64_t>(span % kSecond));
  out += 's';
  return out;
}

}  // namespace moat::cel
