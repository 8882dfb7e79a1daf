#pragma once
// The CEL value model (https://github.com/google/cel-spec/blob/master/doc/langdef.md#values):
// null, bool, int, uint, double, string, bytes, list, map, type, timestamp, duration, optional,
// and the error value that evaluation carries through && and || as the spec says. Scalars live
// inline; strings, lists and maps are shared and immutable, so copying a Value is cheap.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace moat::cel {

enum class Kind : uint8_t {
  kNull,
  kBool,
  kInt,
  kUint,
  kDouble,
  kString,
  kBytes,
  kList,
  kMap,
  kType,
  kTimestamp,
  kDuration,
  kOptional,
  kOpaque,  // a library type: Kubernetes' URL, IP, CIDR, Quantity, Semver
  kError,
};

/// Nanoseconds: timestamps since the Unix epoch, durations as a signed span. 128 bits hold
/// CEL's whole timestamp range (years 1 to 9999) at nanosecond precision.
using Nanos = __int128;

class Value;
struct MapEntry;

/// Shared payload of the heap kinds.
struct HeapObject {
  virtual ~HeapObject() = default;
};

/// A value of a library type: its CEL type name, equality and string form.
struct OpaqueObject : HeapObject {
  virtual std::string_view TypeName() const = 0;
  virtual bool Equals(const OpaqueObject& other) const = 0;
  virtual std::string ToString() const = 0;
};

class Value {
 public:
  Value() = default;  // null

  static Value Bool(bool value);
  static Value Int(int64_t value);
  static Value Uint(uint64_t value);
  static Value Double(double value);
  static Value String(std::string value);
  static Value Bytes(std::string value);
  static Value List(std::vector<Value> items);
  /// Map entries in their written order. Keys must be distinct (see MakeMap for the check).
  static Value Map(std::vector<MapEntry> entries);
  /// A type value by its CEL name: "int", "list", "google.protobuf.Timestamp", ...
  static Value Type(std::string_view name);
  static Value Timestamp(Nanos since_epoch);
  static Value Duration(Nanos span);
  static Value OptionalOf(Value value);
  static Value OptionalNone();
  static Value Opaque(std::shared_ptr<const OpaqueObject> object);
  /// An error value; `position` is the offset into the expression where it arose.
  static Value Error(std::string message, uint32_t position = 0);

  Kind kind() const { return kind_; }
  bool Is(Kind kind) const { return kind_ == kind; }
  bool IsError() const { return kind_ == Kind::kError; }
  bool IsNumber() const {
    return kind_ == Kind::kInt || kind_ == Kind::kUint || kind_ == Kind::kDouble;
  }

  bool AsBool() const { return scalar_.b; }
  int64_t AsInt() const { return scalar_.i; }
  uint64_t AsUint() const { return scalar_.u; }
  double AsDouble() const { return scalar_.d; }
  Nanos AsNanos() const { return scalar_.n; }
  /// String and bytes contents; the type name for kType; the message for kError.
  const std::string& AsString() const;
  const std::vector<Value>& AsList() const;
  const std::vector<MapEntry>& AsMap() const;
  /// Map lookup with CEL's key equality (1, 1u and 1.0 find the same entry); nullptr if absent.
  const Value* Find(const Value& key) const;
  const Value* FindString(std::string_view key) const;
  /// Optional: whether it holds a value, and the value.
  bool HasValue() const { return heap_ != nullptr; }
  const Value& OptionalValue() const;
  uint32_t ErrorPosition() const { return scalar_.position; }
  /// The library object of a kOpaque value (nullptr for other kinds).
  const OpaqueObject* AsOpaque() const {
    return kind_ == Kind::kOpaque ? static_cast<const OpaqueObject*>(heap_.get()) : nullptr;
  }

  /// The CEL type name of this value ("int", "map", "google.protobuf.Duration", ...).
  std::string_view TypeName() const;

 private:
  Kind kind_ = Kind::kNull;
  union Scalar {
    bool b;
    int64_t i;
    uint64_t u;
    double d;
    Nanos n;
    uint32_t position;
  } scalar_{.n = 0};
  std::shared_ptr<const HeapObject> heap_;
};

struct MapEntry {
  Value key;
  Value value;
};

/// Builds a map, failing (as an error value) on a duplicate key or a key of a type CEL does not
/// allow (only int, uint, bool and string).
Value MakeMap(std::vector<MapEntry> entries, uint32_t position = 0);

/// CEL equality: numbers compare across int, uint and double; values of different types are
/// unequal; lists and maps compare element-wise. NaN equals nothing.
bool Equal(const Value& a, const Value& b);

/// Ordering for <, <=, >, >=: -1, 0 or 1; nullopt-like 2 when the values are not comparable
/// (different non-numeric types, NaN, lists, maps...).
constexpr int kIncomparable = 2;
int Compare(const Value& a, const Value& b);

/// A readable rendering for messages and debugging (not the JSON mapping): 1, 1u, "a", b"\x01",
/// [1, 2], {"a": 1}, timestamp("..."), ...
std::string DebugString(const Value& value);

/// Formats a timestamp as RFC 3339 in UTC with 0, 3, 6 or 9 fraction digits
/// ("2009-02-13T23:31:30Z", "2009-02-13T23:31:30.123Z").
std::string FormatTimestamp(Nanos since_epoch);
/// Formats a duration as protobuf's JSON does: seconds with 0, 3, 6 or 9 fraction digits, "1.5s".
std::string FormatDuration(Nanos span);
/// Formats a double as CEL's string() does (shortest round-trip form: 1.5, 1e+100, -0).
std::string FormatDouble(double value);

}  // namespace moat::cel
