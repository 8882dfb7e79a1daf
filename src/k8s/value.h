#pragma once
// The Kubernetes object model: a parsed YAML/JSON document as a small tree of Values, each
// remembering the line and column it came from, so every finding can point at file:line. The
// YAML parser stays in loader.cpp; checks see only this model.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace moat::k8s {

class Value {
 public:
  enum class Type : uint8_t { kNull, kBool, kInt, kFloat, kString, kSequence, kMap };

  Type type = Type::kNull;

 private:
  // Declared here, beside `type`, so that both share one word: a large input holds millions of
  // Values.
  bool text_bool_ = false;

 public:
  /// Where the value is written (1-based). For a map entry this is the line of its key, which is
  /// what people look for ("privileged: true" rather than the value after it).
  uint32_t line = 0;
  uint32_t column = 0;
  /// For an entry of a map: its key.
  std::string key;
  /// For scalars: the text as written (after YAML unescaping). "true", "42", "nginx:1.25".
  std::string text;
  /// Sequence items, or map entries (each with its key) in document order.
  std::vector<Value> children;

  bool IsNull() const { return type == Type::kNull; }
  bool IsMap() const { return type == Type::kMap; }
  bool IsSequence() const { return type == Type::kSequence; }
  bool IsString() const { return type == Type::kString; }
  bool IsBool() const { return type == Type::kBool; }
  bool IsInt() const { return type == Type::kInt; }
  bool IsScalar() const { return type != Type::kSequence && type != Type::kMap; }

  /// Map lookup; nullptr when this is not a map or the key is absent.
  const Value* Get(std::string_view name) const;
  /// Like Get, but an explicit null counts as absent (how Go decodes into a pointer field).
  const Value* Field(std::string_view name) const;
  /// Follows keys: v.Path({"spec", "template", "spec"}); nullptr when any step is missing.
  const Value* Path(std::initializer_list<std::string_view> names) const;

  /// The boolean value when this is a YAML boolean.
  std::optional<bool> Bool() const;
  /// The integer value when this is an integer that fits.
  std::optional<int64_t> Int() const;
  /// Scalar text ("" for maps and sequences).
  std::string_view Str() const { return IsScalar() ? std::string_view(text) : std::string_view(); }
  /// True when the value is the boolean true.
  bool IsTrue() const { return type == Type::kBool && text_bool_; }
  /// Sequence items (empty for anything else).
  const std::vector<Value>& Items() const { return type == Type::kSequence ? children : Empty(); }
  /// Map entries (empty for anything else).
  const std::vector<Value>& Entries() const { return type == Type::kMap ? children : Empty(); }

  /// Human name of the type: "map", "sequence", "string", ...
  std::string_view TypeName() const;
  /// Number of values in this tree.
  size_t CountNodes() const;

  /// Builders (loader and tests).
  static Value Scalar(Type type, std::string text, bool bool_value = false);
  void set_bool(bool b) { text_bool_ = b; }

 private:
  static const std::vector<Value>& Empty();
};

/// One Kubernetes object as found in the input.
struct Object {
  std::string file;       // as given ("-" for stdin)
  uint32_t document = 0;  // 0-based document index within the file
  std::string item_path;  // "items[3]" for objects of a `kind: List`, else ""
  std::string api_version;
  std::string kind;
  std::string name;
  std::string namespace_name;  // "" when the object does not say (cluster-scoped or default)
  /// Read from a live cluster's API: `file` is the API URL it was listed from and lines are
  /// positions in a response body, so reports name it by namespace/kind/name instead.
  bool live = false;
  Value root;

  /// "Deployment/web" or "Deployment/shop/web".
  std::string Reference() const;
  /// Where people find the object: "file:line" for manifests, "namespace/Kind/name" (or
  /// "Kind/name" when cluster-scoped) for live objects.
  std::string Location(uint32_t line) const;
  /// The namespace used for grouping: the object's own, "default" for namespaced kinds without
  /// one, "" for cluster-scoped kinds.
  std::string EffectiveNamespace() const;
};

/// True for kinds that live outside namespaces (Namespace, ClusterRole, Node, ...).
bool IsClusterScopedKind(std::string_view kind);

}  // namespace moat::k8s
