// Mutations: each one looks at the object (the request's, decoded into the k8s object model),
// changes the tree in place and records the same change as a JSON Patch operation, so that the
// mutations after it see what it did (a securityContext the first one created is not created
// twice) and the patch, applied to the request's object by the API server, gives the same tree.

#include "admission/mutation.h"

#include <algorithm>
#include <charconv>

#include "core/json_writer.h"
#include "core/text.h"
#include "k8s/check_util.h"  // ParseQuantity: quantities read as the resource checks read them

namespace moat::admission {
namespace {

using k8s::Value;
using Type = k8s::Value::Type;

// Mutator::Step::containers bits: which containers a container-level mutation changes, and kPod
// for the pod-level part of run-as-user.
constexpr unsigned kContainers = 1, kInitContainers = 2, kEphemeralContainers = 4, kPod = 8;
constexpr unsigned kAllContainers = kContainers | kInitContainers | kEphemeralContainers;
// The API server refuses resources on ephemeral containers.
constexpr unsigned kResourceContainers = kContainers | kInitContainers;

/// In AllMutations() order.
enum class Kind : uint8_t {
  kDropCapabilities,
  kReadOnlyRootFilesystem,
  kAutomountToken,
  kRunAsNonRoot,
  kRunAsUser,
  kSeccompRuntimeDefault,
  kNoPrivilegeEscalation,
  kCpuLimits,
  kMemoryLimits,
  kPdbMaxUnavailable,
  kPdbUnhealthyPodEviction,
};

constexpr std::string_view kCpuLimit = "cpuLimit";
constexpr std::string_view kMemoryLimit = "memoryLimit";
constexpr std::string_view kRunAsUser = "runAsUser";

/// A name accepted in `mutate:`: Moat's own, or an Azure definition's file stem or id, with the
/// containers it covers.
struct Alias {
  std::string_view name;
  Kind kind;
  unsigned containers;
};

/// The seed's Mutate definitions (azure_policy_kubernetes_builtin_definitions.csv), each by its
/// file stem and its policy definition id; the Azure definitions come in one per container kind.
constexpr Alias kAzureAliases[] = {
    {"MutateContainerAllowedCapabilitiesContainers", Kind::kDropCapabilities, kContainers},
    {"c873b3ba-c605-42e4-a64b-a142a93826fc", Kind::kDropCapabilities, kContainers},
    {"MutateContainerAllowedCapabilitiesInitContainers", Kind::kDropCapabilities, kInitContainers},
    {"c812272d-7488-495f-a505-047d34b83f58", Kind::kDropCapabilities, kInitContainers},
    {"MutateReadOnlyRootFilesystem", Kind::kReadOnlyRootFilesystem, kContainers},
    {"8e875f96-2c56-40ca-86db-b9f6a0be7347", Kind::kReadOnlyRootFilesystem, kContainers},
    {"MutateReadOnlyRootFilesystemInitContainers", Kind::kReadOnlyRootFilesystem, kInitContainers},
    {"2ae2f266-ecc3-4d26-82c5-8c3cb7774f45", Kind::kReadOnlyRootFilesystem, kInitContainers},
    {"MutateMountServiceAccountToken", Kind::kAutomountToken, kPod},
    {"57f274ef-580a-4ed2-bcf8-5c6fa3775253", Kind::kAutomountToken, kPod},
    {"MutateRunAsNonRoot", Kind::kRunAsNonRoot, kContainers},
    {"2fe7ba7d-f670-41f5-8b70-b61dc7dfbe18", Kind::kRunAsNonRoot, kContainers},
    {"MutateRunAsNonRootInitContainers", Kind::kRunAsNonRoot, kInitContainers},
    {"fed6510d-00b9-40db-a347-933125a6a327", Kind::kRunAsNonRoot, kInitContainers},
    {"MutateRunAsNonRootUserPod", Kind::kRunAsUser, kPod},
    {"fe74a23d-79e4-401c-bd0d-fd7a5b35af32", Kind::kRunAsUser, kPod},
    {"MutateRunAsNonRootUserContainers", Kind::kRunAsUser, kContainers},
    {"a8e3ce3c-cac3-4402-a28a-03ee3ede9790", Kind::kRunAsUser, kContainers},
    {"MutateRunAsNonRootUserInitContainers", Kind::kRunAsUser, kInitContainers},
    {"97de439f-fd35-4d43-a693-3644f51a51fd", Kind::kRunAsUser, kInitContainers},
    {"MutateSeccompProfileContainers", Kind::kSeccompRuntimeDefault, kContainers},
    {"6f87d474-38a9-46c9-bdfe-d7fa3b9836bf", Kind::kSeccompRuntimeDefault, kContainers},
    {"MutateSeccompProfileInitContainers", Kind::kSeccompRuntimeDefault, kInitContainers},
    {"6bcd4321-fb89-4e3e-bf6c-999c13d47f43", Kind::kSeccompRuntimeDefault, kInitContainers},
    {"MutatePrivilegeEscalationContainers", Kind::kNoPrivilegeEscalation, kContainers},
    {"d77df159-718b-4aca-b94b-8e8890a98231", Kind::kNoPrivilegeEscalation, kContainers},
    {"MutatePrivilegeEscalationInitContainers", Kind::kNoPrivilegeEscalation, kInitContainers},
    {"4ee3ee6a-96ea-4d25-9c00-17f11d2e02c8", Kind::kNoPrivilegeEscalation, kInitContainers},
    {"MutateResourceCPULimits", Kind::kCpuLimits, kResourceContainers},
    {"42ba1d72-e90f-42f8-bf99-5a1351eed2b1", Kind::kCpuLimits, kResourceContainers},
    {"MutateResourceMemoryLimits", Kind::kMemoryLimits, kResourceContainers},
    {"5f86d473-38a8-46c9-bdfe-d7fa3b9836bf", Kind::kMemoryLimits, kResourceContainers},
    {"MutateMaxUnavailablePods", Kind::kPdbMaxUnavailable, kPod},
    {"d77f191e-2338-45d0-b6d4-4ee1c586a192", Kind::kPdbMaxUnavailable, kPod},
    {"MutateUnhealthyPodEvictionPolicy", Kind::kPdbUnhealthyPodEviction, kPod},
    {"5c58d54b-87f0-4dcd-83ea-e855fc988997", Kind::kPdbUnhealthyPodEviction, kPod},
};

/// The one Mutate definition of the seed Moat does not implement, and why.
constexpr std::string_view kReservedSystemPoolTaints[] = {"MutateReservedSystemPoolTaints",
                                                          "e16d171b-bfe5-4d79-a525-19736b396e92"};

/// What Moat's own names cover: every container kind the field exists on.
constexpr unsigned kOwnNameContainers[] = {
    kAllContainers,       // drop-capabilities
    kAllContainers,       // read-only-root-filesystem
    kPod,                 // automount-service-account-token
    kAllContainers,       // run-as-non-root
    kPod,                 // run-as-user: the pod's securityContext covers every container
    kAllContainers,       // seccomp-runtime-default
    kAllContainers,       // no-privilege-escalation
    kResourceContainers,  // cpu-limits
    kResourceContainers,  // memory-limits
    kPod,                 // pdb-max-unavailable
    kPod,                 // pdb-unhealthy-pod-eviction
};

std::vector<std::string> AzureNames(Kind kind) {
  std::vector<std::string> out;
  for (size_t i = 0; i + 1 < std::size(kAzureAliases); i += 2) {
    if (kAzureAliases[i].kind == kind)
      out.push_back(std::string(kAzureAliases[i].name) + " (" +
                    std::string(kAzureAliases[i + 1].name) + ")");
  }
  return out;
}

/// An Azure definition's name as compared: lower case, without ".json".
std::string AzureKey(std::string_view name) {
  std::string lower = AsciiLower(name);
  if (lower.size() > 5 && lower.compare(lower.size() - 5, 5, ".json") == 0)
    lower.resize(lower.size() - 5);
  return lower;
}

/// The mutation and containers a name in `mutate:` stands for (Azure names case-insensitively,
/// with or without ".json").
std::optional<Alias> ResolveName(std::string_view name) {
  const std::vector<MutationInfo>& all = AllMutations();
  for (size_t i = 0; i < all.size(); ++i) {
    if (all[i].name == name) return Alias{all[i].name, static_cast<Kind>(i), kOwnNameContainers[i]};
  }
  const std::string key = AzureKey(name);
  for (const Alias& alias : kAzureAliases) {
    if (AzureKey(alias.name) == key) return alias;
  }
  return std::nullopt;
}

std::string Where(const std::string& name, const Value& v) {
  return name + ":" + std::to_string(v.line);
}

/// Checks one parameter's value; the error says what is expected.
Result<void> CheckParameter(std::string_view parameter, const Value& value) {
  if (!value.IsScalar() || value.IsNull())
    return Fail(parameter, " must be a single value, found a ", value.TypeName());
  if (parameter == kRunAsUser) {
    const std::optional<int64_t> uid = value.Int();
    if (!uid || *uid <= 0 || *uid > 2147483647)
      return Fail("runAsUser \"", value.text, "\" must be a non-root user id (1 to 2147483647)");
    return Ok();
  }
  const std::optional<double> quantity = k8s::internal::ParseQuantity(value.text);
  if (!quantity || *quantity <= 0)
    return Fail(parameter, " \"", value.text,
                "\" is not a positive Kubernetes quantity (\"500m\", \"1\", \"512Mi\")");
  return Ok();
}

// --- the tree and the patch ------------------------------------------------------------------

/// JSON for a value: scalars as the request wrote them (integers and floats keep their text).
void AppendValueJson(std::string& out, const Value& v) {
  switch (v.type) {
    case Type::kNull:
      out += "null";
      return;
    case Type::kBool:
      out += v.IsTrue() ? "true" : "false";
      return;
    case Type::kInt:
    case Type::kFloat:
      out += v.text;
      return;
    case Type::kString:
      AppendJsonString(out, v.text);
      return;
    case Type::kSequence:
    case Type::kMap: {
      const bool map = v.IsMap();
      out += map ? '{' : '[';
      for (size_t i = 0; i < v.children.size(); ++i) {
        if (i > 0) out += ',';
        if (map) {
          AppendJsonString(out, v.children[i].key);
          out += ':';
        }
        AppendValueJson(out, v.children[i]);
      }
      out += map ? '}' : ']';
      return;
    }
  }
}

Value Bool(bool b) { return Value::Scalar(Type::kBool, b ? "true" : "false", b); }
Value Int(int64_t n) { return Value::Scalar(Type::kInt, std::to_string(n)); }
Value String(std::string s) { return Value::Scalar(Type::kString, std::move(s)); }

/// The entry `key` of a map, null ones included (the last one, as Value::Get).
Value* MutableEntry(Value& map, std::string_view key) {
  if (!map.IsMap()) return nullptr;
  for (auto it = map.children.rbegin(); it != map.children.rend(); ++it) {
    if (it->key == key) return &*it;
  }
  return nullptr;
}

/// Looks a field up under `holder` (null counts as absent, as Kubernetes decodes it).
const Value* Lookup(const Value& holder, std::initializer_list<std::string_view> path) {
  return holder.Path(path);
}
Value* Lookup(Value& holder, std::initializer_list<std::string_view> path) {
  // Value::Path reads; the tree under a non-const holder is ours to change.
  return const_cast<Value*>(holder.Path(path));
}

/// Applies changes to the tree and writes each one as a JSON Patch operation.
class Patch {
 public:
  /// Sets the field at `path` under `holder` (at JSON pointer `at`) to `leaf`, which must be
  /// missing (absent or null): one "add" of the first missing level, maps created as needed.
  /// Nothing happens when a level on the way is not a map (the API server refuses such an
  /// object anyway) or the field is there.
  bool Add(Value& holder, std::string at, std::initializer_list<std::string_view> path,
           Value leaf) {
    Value* current = &holder;
    const std::string_view* tokens = path.begin();
    for (size_t i = 0; i < path.size(); ++i) {
      if (!current->IsMap()) return false;
      AppendJsonPointerToken(at, tokens[i]);
      Value* next = MutableEntry(*current, tokens[i]);
      if (next == nullptr || next->IsNull()) {
        Value value = std::move(leaf);
        for (size_t j = path.size() - 1; j > i; --j) {
          value.key = std::string(tokens[j]);
          Value parent;
          parent.type = Type::kMap;
          parent.children.push_back(std::move(value));
          value = std::move(parent);
        }
        value.key = std::string(tokens[i]);
        Write("add", at, value);
        if (next != nullptr) {
          *next = std::move(value);
        } else {
          current->children.push_back(std::move(value));
        }
        return true;
      }
      current = next;
    }
    return false;
  }

  /// Replaces the value `target` (at JSON pointer `at`), keeping its key.
  void Replace(Value& target, const std::string& at, Value leaf) {
    leaf.key = target.key;
    Write("replace", at, leaf);
    target = std::move(leaf);
  }

  /// Appends `item` to the sequence `list` (at JSON pointer `at`).
  void Append(Value& list, const std::string& at, Value item) {
    Write("add", at + "/-", item);
    list.children.push_back(std::move(item));
  }

  size_t count() const { return count_; }
  std::string Take() { return count_ == 0 ? std::string() : "[" + std::move(ops_) + "]"; }

 private:
  void Write(std::string_view op, const std::string& path, const Value& value) {
    if (count_++ > 0) ops_ += ',';
    ops_ += "{\"op\":\"";
    ops_ += op;
    ops_ += "\",\"path\":";
    AppendJsonString(ops_, path);
    ops_ += ",\"value\":";
    AppendValueJson(ops_, value);
    ops_ += '}';
  }

  std::string ops_;
  size_t count_ = 0;
};

// --- the mutations ---------------------------------------------------------------------------

/// What a mutation works on: the pod spec (of a Pod or a template) and where it is.
struct PodSpec {
  Value* spec;
  std::string pointer;  // "/spec/template/spec"
  /// Windows pods: the API server refuses the Linux-only securityContext fields there.
  bool windows;
  /// Ephemeral containers already in the pod (pods/ephemeralcontainers updates change only the
  /// new ones; the others are immutable).
  std::vector<std::string> existing_ephemeral;
};

struct Parameters {
  const std::string& cpu_limit;
  const std::string& memory_limit;
  int64_t run_as_user;
};

bool AddsSysAdmin(const Value& container) {
  const Value* add = Lookup(container, {"securityContext", "capabilities", "add"});
  if (add == nullptr) return false;
  for (const Value& cap : add->Items()) {
    if (cap.Str() == "SYS_ADMIN" || cap.Str() == "CAP_SYS_ADMIN") return true;
  }
  return false;
}

/// The default limit, or the container's request when that is larger (a limit below the request
/// is refused by the API server).
std::string LimitFor(const Value& container, std::string_view resource, const std::string& def) {
  const Value* request = Lookup(container, {"resources", "requests", resource});
  if (request == nullptr || !request->IsScalar()) return def;
  const std::optional<double> requested = k8s::internal::ParseQuantity(request->text);
  const std::optional<double> fallback = k8s::internal::ParseQuantity(def);
  return requested && fallback && *requested > *fallback ? request->text : def;
}

/// One container-level mutation on one container; true when it changed something.
bool MutateContainer(Kind kind, const PodSpec& pod, Value& container, const std::string& at,
                     const Parameters& params, Patch& patch) {
  const Value* pod_context = pod.spec->Field("securityContext");
  auto pod_sets = [pod_context](std::string_view field) {
    return pod_context != nullptr && pod_context->Field(field) != nullptr;
  };
  switch (kind) {
    case Kind::kDropCapabilities: {
      if (pod.windows) return false;
      Value* drop = Lookup(container, {"securityContext", "capabilities", "drop"});
      if (drop == nullptr)
        return patch.Add(container, at, {"securityContext", "capabilities", "drop"}, [] {
          Value list;
          list.type = Type::kSequence;
          list.children.push_back(String("ALL"));
          return list;
        }());
      if (!drop->IsSequence()) return false;
      for (const Value& cap : drop->Items()) {
        if (cap.Str() == "ALL") return false;
      }
      std::string list_at = at;
      for (std::string_view token : {"securityContext", "capabilities", "drop"})
        AppendJsonPointerToken(list_at, token);
      patch.Append(*drop, list_at, String("ALL"));
      return true;
    }
    case Kind::kReadOnlyRootFilesystem:
      if (pod.windows || Lookup(container, {"securityContext", "readOnlyRootFilesystem"}))
        return false;
      return patch.Add(container, at, {"securityContext", "readOnlyRootFilesystem"}, Bool(true));
    case Kind::kRunAsNonRoot:
      // The pod's value is the container's when the container has none: an explicit one stays.
      if (Lookup(container, {"securityContext", "runAsNonRoot"}) || pod_sets("runAsNonRoot"))
        return false;
      return patch.Add(container, at, {"securityContext", "runAsNonRoot"}, Bool(true));
    case Kind::kRunAsUser:
      if (pod.windows || Lookup(container, {"securityContext", "runAsUser"}) ||
          pod_sets("runAsUser"))
        return false;
      return patch.Add(container, at, {"securityContext", "runAsUser"}, Int(params.run_as_user));
    case Kind::kSeccompRuntimeDefault:
      if (pod.windows || Lookup(container, {"securityContext", "seccompProfile"}) ||
          pod_sets("seccompProfile"))
        return false;
      return patch.Add(container, at, {"securityContext", "seccompProfile", "type"},
                       String("RuntimeDefault"));
    case Kind::kNoPrivilegeEscalation: {
      // The API server refuses allowPrivilegeEscalation false beside privileged or CAP_SYS_ADMIN.
      const Value* privileged = Lookup(container, {"securityContext", "privileged"});
      if (pod.windows || (privileged != nullptr && privileged->IsTrue()) || AddsSysAdmin(container))
        return false;
      Value* current = Lookup(container, {"securityContext", "allowPrivilegeEscalation"});
      if (current == nullptr)
        return patch.Add(container, at, {"securityContext", "allowPrivilegeEscalation"},
                         Bool(false));
      if (!current->IsTrue()) return false;
      // Azure's definition sets it to false, an explicit true included.
      std::string value_at = at;
      for (std::string_view token : {"securityContext", "allowPrivilegeEscalation"})
        AppendJsonPointerToken(value_at, token);
      patch.Replace(*current, value_at, Bool(false));
      return true;
    }
    case Kind::kCpuLimits:
      if (Lookup(container, {"resources", "limits", "cpu"})) return false;
      return patch.Add(container, at, {"resources", "limits", "cpu"},
                       String(LimitFor(container, "cpu", params.cpu_limit)));
    case Kind::kMemoryLimits:
      if (Lookup(container, {"resources", "limits", "memory"})) return false;
      return patch.Add(container, at, {"resources", "limits", "memory"},
                       String(LimitFor(container, "memory", params.memory_limit)));
    default:
      return false;
  }
}

/// One mutation on a pod spec: its pod-level part, then the containers it covers.
bool MutatePod(Kind kind, unsigned containers, PodSpec& pod, const Parameters& params,
               Patch& patch) {
  bool changed = false;
  if (kind == Kind::kAutomountToken) {
    Value* current = Lookup(*pod.spec, {"automountServiceAccountToken"});
    if (current == nullptr)
      return patch.Add(*pod.spec, pod.pointer, {"automountServiceAccountToken"}, Bool(false));
    if (!current->IsTrue()) return false;
    // Azure's definition sets it to false, an explicit true included.
    std::string at = pod.pointer;
    AppendJsonPointerToken(at, "automountServiceAccountToken");
    patch.Replace(*current, at, Bool(false));
    return true;
  }
  if (kind == Kind::kRunAsUser && (containers & kPod) && !pod.windows &&
      Lookup(*pod.spec, {"securityContext", "runAsUser"}) == nullptr)
    changed |= patch.Add(*pod.spec, pod.pointer, {"securityContext", "runAsUser"},
                         Int(params.run_as_user));
  static constexpr std::pair<std::string_view, unsigned> kLists[] = {
      {"containers", kContainers},
      {"initContainers", kInitContainers},
      {"ephemeralContainers", kEphemeralContainers}};
  for (const auto& [field, bit] : kLists) {
    if (!(containers & bit)) continue;
    // Looked up again for each list: a pod-level change may have moved the spec's entries.
    Value* list = MutableEntry(*pod.spec, field);
    if (list == nullptr || !list->IsSequence()) continue;
    std::string list_at = pod.pointer;
    AppendJsonPointerToken(list_at, field);
    for (size_t i = 0; i < list->children.size(); ++i) {
      Value& container = list->children[i];
      if (!container.IsMap()) continue;
      if (bit == kEphemeralContainers) {
        const Value* name = container.Field("name");
        const std::string_view n = name != nullptr ? name->Str() : std::string_view();
        if (std::find(pod.existing_ephemeral.begin(), pod.existing_ephemeral.end(), n) !=
            pod.existing_ephemeral.end())
          continue;
      }
      changed |=
          MutateContainer(kind, pod, container, list_at + "/" + std::to_string(i), params, patch);
    }
  }
  return changed;
}

/// A PodDisruptionBudget mutation.
bool MutatePdb(Kind kind, Value& root, Patch& patch) {
  const Value* spec = root.Field("spec");
  if (kind == Kind::kPdbMaxUnavailable) {
    if (spec != nullptr && (spec->Field("minAvailable") || spec->Field("maxUnavailable")))
      return false;
    return patch.Add(root, "", {"spec", "maxUnavailable"}, Int(1));
  }
  if (kind == Kind::kPdbUnhealthyPodEviction) {
    if (spec != nullptr && spec->Field("unhealthyPodEvictionPolicy")) return false;
    return patch.Add(root, "", {"spec", "unhealthyPodEvictionPolicy"}, String("AlwaysAllow"));
  }
  return false;
}

bool IsPdbMutation(Kind kind) {
  return kind == Kind::kPdbMaxUnavailable || kind == Kind::kPdbUnhealthyPodEviction;
}

}  // namespace

const std::vector<MutationInfo>& AllMutations() {
  static const std::vector<MutationInfo> kAll = [] {
    std::vector<MutationInfo> all = {
        {"drop-capabilities",
         "adds ALL to securityContext.capabilities.drop of every container, init and ephemeral "
         "container (the other entries stay)",
         {},
         {}},
        {"read-only-root-filesystem",
         "sets securityContext.readOnlyRootFilesystem true in every container that does not set "
         "it",
         {},
         {}},
        {"automount-service-account-token",
         "sets the pod's automountServiceAccountToken false (an explicit true included, as the "
         "Azure definition does)",
         {},
         {}},
        {"run-as-non-root",
         "sets securityContext.runAsNonRoot true in every container when neither the container "
         "nor the pod sets it",
         {},
         {}},
        {"run-as-user",
         "sets the pod's securityContext.runAsUser when it is not set (the Azure container and "
         "init container definitions set it on containers that, like their pod, have none)",
         {},
         {{std::string(kRunAsUser), "1000", "the non-root user id to run as"}}},
        {"seccomp-runtime-default",
         "sets securityContext.seccompProfile.type RuntimeDefault in every container when "
         "neither the container nor the pod has a seccompProfile",
         {},
         {}},
        {"no-privilege-escalation",
         "sets securityContext.allowPrivilegeEscalation false in every container (an explicit "
         "true included, as the Azure definitions do; not beside privileged or CAP_SYS_ADMIN, "
         "which the API server refuses)",
         {},
         {}},
        {"cpu-limits",
         "sets resources.limits.cpu of containers and init containers that have none (to the "
         "request when that is larger)",
         {},
         {{std::string(kCpuLimit), "500m", "the CPU limit given to containers without one"}}},
        {"memory-limits",
         "sets resources.limits.memory of containers and init containers that have none (to "
         "the request when that is larger)",
         {},
         {{std::string(kMemoryLimit), "500Mi",
           "the memory limit given to containers without one"}}},
        {"pdb-max-unavailable",
         "sets a PodDisruptionBudget's maxUnavailable to 1 when it has neither minAvailable nor "
         "maxUnavailable",
         {},
         {}},
        {"pdb-unhealthy-pod-eviction",
         "sets a PodDisruptionBudget's unhealthyPodEvictionPolicy to AlwaysAllow when it is not "
         "set",
         {},
         {}},
    };
    for (size_t i = 0; i < all.size(); ++i) all[i].azure_definitions = AzureNames(Kind(i));
    return all;
  }();
  return kAll;
}

void AppendJsonPointerToken(std::string& pointer, std::string_view token) {
  pointer += '/';
  for (char c : token) {
    if (c == '~') {
      pointer += "~0";
    } else if (c == '/') {
      pointer += "~1";
    } else {
      pointer += c;
    }
  }
}

Result<MutationRule> ParseMutationRule(const std::string& name, const Value& item) {
  if (!item.IsMap()) return Fail(Where(name, item), ": each mutation entry must be a map");
  MutationRule rule;
  rule.origin = Where(name, item);
  const Value* parameters = nullptr;
  std::vector<Alias> selected;
  for (const Value& entry : item.Entries()) {
    MOAT_ASSIGN_OR_RETURN(const bool scope_key, ParseScopeEntry(name, entry, rule));
    if (scope_key) continue;
    if (entry.key == "mutate") {
      std::vector<const Value*> names;
      if (entry.IsScalar() && !entry.IsNull()) {
        names.push_back(&entry);
      } else if (entry.IsSequence()) {
        for (const Value& n : entry.Items()) names.push_back(&n);
      } else {
        return Fail(Where(name, entry), ": mutate must be a name or a list of names");
      }
      for (const Value* n : names) {
        const std::optional<Alias> alias = n->IsScalar() ? ResolveName(n->text) : std::nullopt;
        if (alias) {
          selected.push_back(*alias);
          rule.mutations.push_back(n->text);
          continue;
        }
        for (std::string_view unsupported : kReservedSystemPoolTaints) {
          if (AzureKey(n->text) == AzureKey(unsupported))
            return Fail(Where(name, *n), ": mutation \"", n->text,
                        "\" is not supported: it manages the taints of AKS system node pools, "
                        "which exist only in AKS");
        }
        std::string known;
        for (const MutationInfo& info : AllMutations())
          known += (known.empty() ? "" : ", ") + info.name;
        return Fail(Where(name, *n), ": unknown mutation \"", n->text, "\" (expected ", known,
                    ", or an Azure Mutate definition's name or id)");
      }
    } else if (entry.key == "parameters") {
      if (!entry.IsMap() && !entry.IsNull())
        return Fail(Where(name, entry), ": parameters must be a map");
      parameters = &entry;
    } else {
      return Fail(Where(name, entry), ": unknown key \"", entry.key,
                  "\" in a mutation entry (expected mutate, parameters, namespaces, "
                  "excludedNamespaces, namespaceSelector, objectSelector)");
    }
  }
  if (rule.mutations.empty()) return Fail(rule.origin, ": a mutation entry needs mutate: [names]");
  if (parameters != nullptr) {
    for (const Value& p : parameters->Entries()) {
      bool taken = false;
      std::string takers;
      for (const MutationInfo& info : AllMutations()) {
        for (const k8s::Parameter& param : info.parameters) {
          takers += (takers.empty() ? "" : ", ") + param.name + " (" + info.name + ")";
          if (param.name != p.key) continue;
          for (const Alias& alias : selected)
            taken |= &AllMutations()[static_cast<size_t>(alias.kind)] == &info;
        }
      }
      if (!taken)
        return Fail(Where(name, p), ": parameter \"", p.key,
                    "\" is not one of this entry's mutations' (parameters: ", takers, ")");
      auto checked = CheckParameter(p.key, p);
      if (!checked.ok()) return checked.error().Wrap(Where(name, p));
      rule.parameters.emplace_back(p.key, p.text);
    }
  }
  return rule;
}

Mutator::Mutator(const AdmissionConfig& config)
    : excluded_namespaces_(config.excluded_namespaces), namespaces_(config.namespaces) {
  const std::vector<MutationInfo>& all = AllMutations();
  for (const MutationRule& mutation_rule : config.mutations) {
    Rule rule;
    rule.scope = static_cast<const RuleScope&>(mutation_rule);
    std::vector<unsigned> containers(all.size(), 0);
    std::vector<bool> chosen(all.size(), false);
    for (const std::string& name : mutation_rule.mutations) {
      const std::optional<Alias> alias = ResolveName(name);
      if (!alias) continue;  // ParseMutationRule refused it already
      chosen[static_cast<size_t>(alias->kind)] = true;
      containers[static_cast<size_t>(alias->kind)] |= alias->containers;
    }
    for (size_t i = 0; i < all.size(); ++i) {
      if (chosen[i]) rule.steps.push_back(Step{static_cast<uint8_t>(i), containers[i]});
    }
    rule.cpu_limit = all[static_cast<size_t>(Kind::kCpuLimits)].parameters[0].default_value;
    rule.memory_limit = all[static_cast<size_t>(Kind::kMemoryLimits)].parameters[0].default_value;
    for (const auto& [key, value] : mutation_rule.parameters) {
      if (key == kCpuLimit) rule.cpu_limit = value;
      if (key == kMemoryLimit) rule.memory_limit = value;
      if (key == kRunAsUser)
        std::from_chars(value.data(), value.data() + value.size(), rule.run_as_user);
    }
    rules_.push_back(std::move(rule));
  }
}

MutationResult Mutator::Mutate(AdmissionRequest& request) const {
  MutationResult result;
  if (rules_.empty() || !request.has_object) return result;
  if (request.operation != Operation::kCreate && request.operation != Operation::kUpdate)
    return result;
  k8s::Object& object = request.object;
  const bool pdb = object.kind == "PodDisruptionBudget";
  const bool pod_kind = object.kind == "Pod";
  const bool ephemeral_update = pod_kind && request.sub_resource == "ephemeralcontainers";
  if (!request.sub_resource.empty() && !ephemeral_update) return result;
  // A pod's spec cannot change after its creation but through the ephemeralcontainers
  // subresource: a patch would make the update fail.
  if (pod_kind && request.operation == Operation::kUpdate && !ephemeral_update) return result;
  if (std::find(excluded_namespaces_.begin(), excluded_namespaces_.end(), request.namespace_name) !=
      excluded_namespaces_.end())
    return result;

  std::optional<PodSpec> pod;
  if (!pdb) {
    const std::optional<k8s::PodTemplate> found = k8s::FindPodTemplate(object);
    if (!found) return result;
    // FindPodTemplate reads; the object is ours to change (the request owns it, not const).
    pod = PodSpec{const_cast<Value*>(found->spec), "", false, {}};
    for (std::string_view token : Split(found->spec_path, '.'))
      AppendJsonPointerToken(pod->pointer, token);
    const Value* os = Lookup(*pod->spec, {"os", "name"});
    pod->windows = os != nullptr && os->Str() == "windows";
    if (ephemeral_update && request.has_old_object) {
      if (const Value* old = request.old_object.root.Path({"spec", "ephemeralContainers"})) {
        for (const Value& c : old->Items()) {
          if (const Value* n = c.Field("name")) pod->existing_ephemeral.emplace_back(n->Str());
        }
      }
    }
  }

  const std::vector<MutationInfo>& all = AllMutations();
  std::vector<bool> applied(all.size(), false);
  Patch patch;
  for (const Rule& rule : rules_) {
    if (!rule.scope.Matches(object, namespaces_.get())) continue;
    const Parameters params{rule.cpu_limit, rule.memory_limit, rule.run_as_user};
    for (const Step& step : rule.steps) {
      const Kind kind = static_cast<Kind>(step.mutation);
      if (IsPdbMutation(kind) != pdb) continue;
      result.evaluated = true;
      const unsigned containers =
          ephemeral_update ? step.containers & kEphemeralContainers : step.containers;
      if (ephemeral_update && containers == 0) continue;
      const bool changed = pdb ? MutatePdb(kind, object.root, patch)
                               : MutatePod(kind, containers, *pod, params, patch);
      if (changed) applied[step.mutation] = true;
    }
  }
  for (size_t i = 0; i < all.size(); ++i) {
    if (applied[i]) result.applied.push_back(all[i].name);
  }
  result.operations = patch.count();
  result.patch = patch.Take();
  return result;
}

}  // namespace moat::admission
