#include "k8s/value.h"

#include <charconv>

namespace moat::k8s {

const std::vector<Value>& Value::Empty() {
  static const std::vector<Value> kEmpty;
  return kEmpty;
}

const Value* Value::Get(std::string_view name) const {
  if (type != Type::kMap) return nullptr;
  // Last one wins, as in JSON decoding; maps are small, a linear scan beats hashing.
  for (auto it = children.rbegin(); it != children.rend(); ++it) {
    if (it->key == name) return &*it;
  }
  return nullptr;
}

const Value* Value::Field(std::string_view name) const {
  const Value* v = Get(name);
  return v == nullptr || v->IsNull() ? nullptr : v;
}

const Value* Value::Path(std::initializer_list<std::string_view> names) const {
  const Value* v = this;
  for (std::string_view name : names) {
    v = v->Field(name);
    if (v == nullptr) return nullptr;
  }
  return v;
}

std::optional<bool> Value::Bool() const {
  if (type != Type::kBool) return std::nullopt;
  return text_bool_;
}

std::optional<int64_t> Value::Int() const {
  if (type != Type::kInt) return std::nullopt;
  std::string_view t = text;
  if (!t.empty() && t[0] == '+') t.remove_prefix(1);
  int base = 10;
  bool negative = false;
  if (!t.empty() && t[0] == '-') {
    negative = true;
    t.remove_prefix(1);
  }
  if (t.size() > 2 && t[0] == '0' && (t[1] == 'x' || t[1] == 'X')) {
    base = 16;
    t.remove_prefix(2);
  } else if (t.size() > 2 && t[0] == '0' && t[1] == 'o') {
    base = 8;
    t.remove_prefix(2);
  }
  int64_t out = 0;
  auto [ptr, ec] = std::from_chars(t.data(), t.data() + t.size(), out, base);
  if (ec != std::errc() || ptr != t.data() + t.size()) return std::nullopt;
  return negative ? -out : out;
}

std::string_view Value::TypeName() const {
  switch (type) {
    case Type::kNull:
      return "null";
    case Type::kBool:
      return "boolean";
    case Type::kInt:
      return "integer";
    case Type::kFloat:
      return "number";
    case Type::kString:
      return "string";
    case Type::kSequence:
      return "list";
    case Type::kMap:
      return "map";
  }
  return "value";
}

size_t Value::CountNodes() const {
  size_t n = 1;
  for (const Value& c : children) n += c.CountNodes();
  return n;
}

Value Value::Scalar(Type type, std::string text, bool bool_value) {
  Value v;
  v.type = type;
  v.text = std::move(text);
  v.text_bool_ = bool_value;
  return v;
}

std::string Object::Reference() const {
  std::string out = kind.empty() ? std::string("<no kind>") : kind;
  out += '/';
  if (!namespace_name.empty()) {
    out += namespace_name;
    out += '/';
  }
  out += name.empty() ? std::string("<no name>") : name;
  return out;
}

std::string Object::Location(uint32_t line) const {
  if (live) {
    std::string out;
    const std::string ns = EffectiveNamespace();
    if (!ns.empty()) out = ns + "/";
    return out + kind + "/" + (name.empty() ? std::string("<no name>") : name);
  }
  std::string out = file;
  if (line > 0) out += ":" + std::to_string(line);
  return out;
}

std::string Object::EffectiveNamespace() const {
  if (!namespace_name.empty()) return namespace_name;
  if (IsClusterScopedKind(kind)) return "";
  return "default";
}

bool IsClusterScopedKind(std::string_view kind) {
  static constexpr std::string_view kClusterScoped[] = {
      "Namespace",
      "Node",
      "PersistentVolume",
      "ClusterRole",
      "ClusterRoleBinding",
      "StorageClass",
      "CustomResourceDefinition",
      "PriorityClass",
      "IngressClass",
      "RuntimeClass",
      "PodSecurityPolicy",
      "ValidatingWebhookConfiguration",
      "MutatingWebhookConfiguration",
      "ValidatingAdmissionPolicy",
      "ValidatingAdmissionPolicyBinding",
      "APIService",
      "CertificateSigningRequest",
      "CSIDriver",
      "CSINode",
      "VolumeAttachment",
      // Network policy engines' cluster-wide policies (Cilium, Calico).
      "CiliumClusterwideNetworkPolicy",
      "GlobalNetworkPolicy",
      "GlobalNetworkSet",
  };
  for (std::string_view k : kClusterScoped) {
    if (k == kind) return true;
  }
  return false;
}

}  // namespace moat::k8s
