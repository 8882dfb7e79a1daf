// The seed's Azure Policy for Kubernetes bundle: every definition of mode
// Microsoft.Kubernetes.Data with an Audit/Deny effect that is not about Windows nodes or AKS's
// own infrastructure, as checks of group "azure" with the definitions' parameter names and
// defaults (../shared/data/seed/azure_policy_kubernetes_builtin_definitions.csv). The rules are
// those of the Gatekeeper templates the definitions install. Where a built-in check states the
// same rule, the policy runs that check's code with its own parameters (check_util.h); the rest
// are written here. Each policy also takes its definition's excludedNamespaces and, where the
// definition has them, excludedContainers and excludedImages.

#include <re2/re2.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "core/text.h"
#include "k8s/check_util.h"

namespace moat::k8s::internal {
namespace {

// The definitions' excludedNamespaces defaults (two variants in the CSV).
constexpr std::string_view kSystemNamespaces =
    "kube-system,gatekeeper-system,azure-arc,azure-extensions-usage-system";
constexpr std::string_view kSystemNamespacesShort = "kube-system,gatekeeper-system,azure-arc";

const Parameter kExcludedContainers{"excludedContainers", "",
                                    "container names the policy does not look at"};
const Parameter kExcludedImages{
    "excludedImages", "", "images the policy does not look at (exact, or a prefix ending in *)"};

/// What every policy's wrapper applies before the rule itself.
struct Exclusions {
  std::vector<std::string> namespaces;
  std::vector<std::string> containers;
  std::vector<std::string> images;

  bool ExcludesContainer(const Value& container) const {
    if (containers.empty() && images.empty()) return false;
    const Value* name = container.Get("name");
    const Value* image = container.Get("image");
    for (const std::string& c : containers) {
      if (name != nullptr && GlobMatch(c, name->Str())) return true;
    }
    for (const std::string& i : images) {
      if (image != nullptr && GlobMatch(i, image->Str())) return true;
    }
    return false;
  }
};

template <typename T>
struct Prepared {
  Exclusions exclusions;
  T rule;
};

struct NoParameters {};

/// A parameter that may be written as JSON (a definition's object parameters such as
/// {"paths": [...]}, or a list holding an empty string as [""]); null when unset.
Result<std::optional<Value>> JsonParameter(const Parameters& params, std::string_view name) {
  const std::vector<std::string> values = params.List(name);
  if (values.size() != 1 || values[0].empty() || (values[0][0] != '{' && values[0][0] != '['))
    return std::optional<Value>();
  auto parsed = ParseYamlDocument(values[0], std::string(name));
  if (!parsed.ok()) return parsed.error().Wrap("parameter " + std::string(name));
  return std::optional<Value>(std::move(*parsed));
}

/// A list parameter: comma-separated or a list in the config, or a JSON array.
Result<std::vector<std::string>> ListParameter(const Parameters& params, std::string_view name) {
  MOAT_ASSIGN_OR_RETURN(std::optional<Value> json, JsonParameter(params, name));
  if (!json) return params.List(name);
  if (!json->IsSequence())
    return Fail("parameter ", std::string(name), ": expected a list of strings");
  std::vector<std::string> out;
  for (const Value& item : json->Items()) {
    if (!item.IsScalar()) return Fail("parameter ", std::string(name), ": expected strings");
    out.push_back(item.text);
  }
  return out;
}

/// The entries of an object parameter {"<member>": [...]} (Azure's shape) or of a bare list.
Result<std::vector<Value>> ObjectListParameter(const Parameters& params, std::string_view name,
                                               std::string_view member) {
  MOAT_ASSIGN_OR_RETURN(std::optional<Value> json, JsonParameter(params, name));
  std::vector<Value> out;
  if (!json) return out;
  const Value* list = json->IsMap() ? json->Get(member) : &*json;
  if (list == nullptr || !list->IsSequence())
    return Fail("parameter ", std::string(name), ": expected {\"", std::string(member),
                "\": [...]}");
  for (const Value& item : list->Items()) {
    if (!item.IsMap())
      return Fail("parameter ", std::string(name), ": ", std::string(member),
                  " items must be objects");
    out.push_back(item);
  }
  return out;
}

/// One definition of the CSV.
struct Definition {
  std::string file;  // "ContainerEnforceProbes" (the CSV's file without .json)
  std::string display_name;
  std::string id;
  Severity severity;
  std::string description;
  std::string remediation;
  std::vector<std::string> kinds;     // {"workload"}: pods and the pod templates of controllers
  std::vector<Parameter> parameters;  // the definition's, excludedNamespaces added here
  std::string_view excluded_namespaces = kSystemNamespaces;
};

template <typename T>
using RuleFn = void (*)(const CheckContext&, const T&, Emitter&);
template <typename T>
using PrepareRuleFn = Result<T> (*)(const Parameters&);

template <typename T>
void Add(std::vector<CheckDef>& checks, Definition d, PrepareRuleFn<T> prepare, RuleFn<T> rule) {
  std::vector<Parameter> parameters;
  parameters.push_back({"excludedNamespaces", std::string(d.excluded_namespaces),
                        "namespaces the policy does not look at (the definition's default)"});
  for (Parameter& p : d.parameters) parameters.push_back(std::move(p));
  const std::string display_name = d.display_name;
  CheckInfo info = MakeInfo(
      d.id, "azure", d.display_name, d.severity, std::move(d.description), std::move(d.remediation),
      {"Azure Policy for Kubernetes: " + d.file + ".json (" + display_name + ")"},
      std::move(d.kinds), std::move(parameters));
  info.bundle = true;
  info.aliases = {d.file, d.file + ".json", display_name};
  const bool kind_parameter = std::any_of(info.parameters.begin(), info.parameters.end(),
                                          [](const Parameter& p) { return p.name == "kind"; });
  if (kind_parameter) info.kinds = {"*"};
  AddCheck(checks, std::move(info), [rule](const CheckContext& c, Emitter& e) {
    const auto& state = *static_cast<const Prepared<T>*>(c.prepared);
    const std::string ns =
        c.object.kind == "Namespace" ? c.object.name : c.object.EffectiveNamespace();
    if (!ns.empty() &&
        std::find(state.exclusions.namespaces.begin(), state.exclusions.namespaces.end(), ns) !=
            state.exclusions.namespaces.end())
      return;
    if (c.pod == nullptr ||
        (state.exclusions.containers.empty() && state.exclusions.images.empty())) {
      rule(c, state.rule, e);
      return;
    }
    // A pod whose every container is excluded is not looked at; otherwise the findings inside
    // excluded containers are dropped.
    bool any = false, all_excluded = true;
    ForEachContainer(*c.pod, [&](const Value& container, const std::string&) {
      any = true;
      all_excluded &= state.exclusions.ExcludesContainer(container);
    });
    if (any && all_excluded) return;
    const size_t mark = e.mark();
    rule(c, state.rule, e);
    e.Retain(mark, [&](const Finding& f) {
      const Value* container = ContainerAtPath(*c.pod, f.path);
      return container == nullptr || !state.exclusions.ExcludesContainer(*container);
    });
  });
  CheckDef& def = checks.back();
  if (kind_parameter) {
    def.kinds_parameter = "kind";
    def.pod_check = false;
  }
  def.prepare = [prepare](const Parameters& params) -> Result<std::shared_ptr<const void>> {
    auto state = std::make_shared<Prepared<T>>();
    state->exclusions.namespaces = params.List("excludedNamespaces");
    state->exclusions.containers = params.List("excludedContainers");
    state->exclusions.images = params.List("excludedImages");
    MOAT_ASSIGN_OR_RETURN(state->rule, prepare(params));
    return std::shared_ptr<const void>(std::move(state));
  };
}

Result<NoParameters> Nothing(const Parameters&) { return NoParameters{}; }

/// A rule that is a built-in check's code run with the policy's parameters.
void Add(std::vector<CheckDef>& checks, Definition d, RuleFn<NoParameters> rule) {
  Add<NoParameters>(checks, std::move(d), Nothing, rule);
}

// --- rules written for the bundle -------------------------------------------------------------

struct StringList {
  std::vector<std::string> values;
};

template <const char* kName>
Result<StringList> ReadList(const Parameters& params) {
  StringList out;
  MOAT_ASSIGN_OR_RETURN(out.values, ListParameter(params, kName));
  return out;
}

bool Contains(const std::vector<std::string>& list, std::string_view value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

/// requiredProbes: each listed probe set, with a handler, in every (non-init) container.
constexpr char kRequiredProbes[] = "requiredProbes";
void Probes(const CheckContext& c, const StringList& probes, Emitter& e) {
  ForEachContainer(
      *c.pod,
      [&](const Value& container, const std::string& path) {
        for (const std::string& probe : probes.values) {
          const Value* p = container.Field(probe);
          const bool handler = p != nullptr && (p->Field("httpGet") || p->Field("tcpSocket") ||
                                                p->Field("exec") || p->Field("grpc"));
          if (!handler)
            e.Fail(p, Join(path, probe),
                   DescribeContainer(container) +
                       (p == nullptr ? " has no " : " has no handler in its ") + probe,
                   &container);
        }
      },
      kRegular);
}

void PreStopHook(const CheckContext& c, const NoParameters&, Emitter& e) {
  if (c.pod == nullptr) return;
  ForEachContainer(
      *c.pod,
      [&](const Value& container, const std::string& path) {
        const Value* lifecycle = container.Field("lifecycle");
        if (lifecycle == nullptr || lifecycle->Field("preStop") == nullptr)
          e.Fail(lifecycle, path + ".lifecycle.preStop",
                 DescribeContainer(container) + " has no preStop hook", &container);
      },
      kRegular);
}

struct Limits {
  std::string cpu, memory;
};
Result<Limits> ReadLimits(const Parameters& params) {
  return Limits{params.String("cpuLimit"), params.String("memoryLimit")};
}
void ResourceLimits(const CheckContext& c, const Limits& limits, Emitter& e) {
  LimitCheck(c, e, "cpu", limits.cpu);
  LimitCheck(c, e, "memory", limits.memory);
}

/// Gatekeeper's sysctl patterns: "*" for all, "kernel.*" for a prefix, else exact.
bool SysctlMatches(const std::vector<std::string>& patterns, std::string_view name) {
  for (const std::string& p : patterns) {
    if (GlobMatch(p, name)) return true;
  }
  return false;
}

constexpr char kForbiddenSysctls[] = "forbiddenSysctls";
void ForbiddenSysctls(const CheckContext& c, const StringList& forbidden, Emitter& e) {
  ForEachSysctl(*c.pod, [&](const Value&, const Value* name, const std::string& path) {
    if (name != nullptr && SysctlMatches(forbidden.values, name->Str()))
      e.Fail(name, path, "sysctl " + name->text + " is forbidden");
  });
}

constexpr char kAllowedSysctls[] = "allowedSysctls";
void AllowedSysctls(const CheckContext& c, const StringList& allowed, Emitter& e) {
  if (allowed.values.empty()) return;  // required parameter not set
  ForEachSysctl(*c.pod, [&](const Value&, const Value* name, const std::string& path) {
    if (name != nullptr && !SysctlMatches(allowed.values, name->Str()))
      e.Fail(name, path, "sysctl " + name->text + " is not in the allowed list");
  });
}

void ImagePullSecrets(const CheckContext& c, const NoParameters&, Emitter& e) {
  if (c.pod == nullptr) return;
  const Value* secrets = c.pod->spec->Get("imagePullSecrets");
  if (secrets != nullptr && !secrets->Items().empty()) return;
  // The service account's pull secrets are the pod's too (the API server copies them into the
  // Pod before webhooks run; in manifests the ServiceAccount may be in the input).
  const Value* sa = c.pod->spec->Field("serviceAccountName");
  const Object* account = c.inventory.Find("ServiceAccount", c.object.EffectiveNamespace(),
                                           sa != nullptr ? sa->Str() : "default");
  const Value* inherited = account != nullptr ? account->root.Get("imagePullSecrets") : nullptr;
  if (inherited != nullptr && !inherited->Items().empty()) return;
  ForEachContainer(*c.pod, [&](const Value& container, const std::string& path) {
    e.Fail(container.Get("image"), path + ".image",
           DescribeContainer(container) + " pulls its image without an image pull secret",
           &container);
  });
}

constexpr char kProcMountType[] = "procMountType";
void ProcMount(const CheckContext& c, const StringList& type, Emitter& e) {
  const bool unmasked = !type.values.empty() && type.values[0] == "Unmasked";
  ForEachContainer(*c.pod, [&](const Value& container, const std::string& path) {
    const Value* sc = SecurityContextOf(container);
    const Value* pm = sc != nullptr ? sc->Field("procMount") : nullptr;
    const std::string_view value = pm != nullptr ? pm->Str() : "Default";
    if (value != "Default" && !(unmasked && value == "Unmasked"))
      e.Fail(pm, path + ".securityContext.procMount",
             DescribeContainer(container) + " uses procMount " + std::string(value) +
                 ", not allowed by procMountType " + (unmasked ? "Unmasked" : "Default"));
  });
}

constexpr char kRequiredDrop[] = "requiredDropCapabilities";
void Capabilities(const CheckContext& c, const StringList& required_drop, Emitter& e) {
  AllowedCapabilitiesCheck(c, e);
  if (required_drop.values.empty()) return;
  ForEachContainer(*c.pod, [&](const Value& container, const std::string& path) {
    const Value* sc = SecurityContextOf(container);
    const Value* drop = sc != nullptr ? sc->Path({"capabilities", "drop"}) : nullptr;
    std::vector<std::string> dropped;
    for (const Value& cap : drop != nullptr ? drop->Items() : std::vector<Value>{})
      dropped.push_back(CapabilityName(cap.Str()));
    if (Contains(dropped, "ALL")) return;
    std::vector<std::string> missing;
    for (const std::string& required : required_drop.values) {
      if (!Contains(dropped, CapabilityName(required))) missing.push_back(required);
    }
    if (!missing.empty())
      e.Fail(drop, path + ".securityContext.capabilities.drop",
             DescribeContainer(container) + " does not drop " + QuoteList(missing), &container);
  });
}

struct Pattern {
  std::string text;
};
Result<Pattern> ReadImageRegex(const Parameters& params) {
  Pattern p{params.String("allowedContainerImagesRegex")};
  if (!p.text.empty() && CompiledPattern(p.text) == nullptr)
    return Fail("parameter allowedContainerImagesRegex: \"", p.text,
                "\" is not a valid regular expression");
  return p;
}
void AllowedImages(const CheckContext& c, const Pattern& p, Emitter& e) {
  ImagePatternCheck(c, e, p.text, "allowedContainerImagesRegex");
}

/// The pull policy the API server gives a container that sets none (before admission).
std::string_view EffectivePullPolicy(const Value& container) {
  const Value* policy = container.Get("imagePullPolicy");
  if (policy != nullptr && !policy->Str().empty()) return policy->Str();
  const Value* image = container.Get("image");
  const ImageRef ref = ParseImage(image != nullptr ? image->Str() : "");
  return !ref.digest && (ref.tag.empty() || ref.tag == "latest") ? "Always" : "IfNotPresent";
}

constexpr char kAllowedPullPolicy[] = "allowedPullPolicy";
void PullPolicy(const CheckContext& c, const StringList& allowed, Emitter& e) {
  ForEachContainer(*c.pod, [&](const Value& container, const std::string& path) {
    const std::string_view policy = EffectivePullPolicy(container);
    if (!Contains(allowed.values, policy))
      e.Fail(container.Get("imagePullPolicy"), path + ".imagePullPolicy",
             DescribeContainer(container) + " pulls with imagePullPolicy " + std::string(policy) +
                 ", not in " + QuoteList(allowed.values),
             &container);
  });
}

constexpr char kFlexDrivers[] = "allowedFlexVolumeDrivers";
void FlexVolumes(const CheckContext& c, const StringList& allowed, Emitter& e) {
  const Value* volumes = c.pod->spec->Get("volumes");
  size_t i = 0;
  for (const Value& volume : volumes != nullptr ? volumes->Items() : std::vector<Value>{}) {
    if (const Value* flex = volume.Field("flexVolume")) {
      const Value* driver = flex->Get("driver");
      const std::string_view name = driver != nullptr ? driver->Str() : "";
      if (!Contains(allowed.values, name))
        e.Fail(driver != nullptr ? driver : flex,
               c.pod->spec_path + ".volumes[" + std::to_string(i) + "].flexVolume.driver",
               "volume \"" + NameOf(volume) + "\" uses FlexVolume driver \"" + std::string(name) +
                   "\", which is not in the allowed list");
    }
    ++i;
  }
}

struct HostPaths {
  std::vector<AllowedHostPath> linux_paths, windows_paths;
};
Result<std::vector<AllowedHostPath>> ReadHostPaths(const Parameters& params,
                                                   std::string_view name) {
  std::vector<AllowedHostPath> out;
  MOAT_ASSIGN_OR_RETURN(std::optional<Value> json, JsonParameter(params, name));
  if (!json) {  // a plain list of prefixes
    for (std::string& prefix : params.List(name)) out.push_back({std::move(prefix), false});
    return out;
  }
  MOAT_ASSIGN_OR_RETURN(std::vector<Value> entries, ObjectListParameter(params, name, "paths"));
  for (const Value& entry : entries) {
    const Value* prefix = entry.Get("pathPrefix");
    const Value* read_only = entry.Get("readOnly");
    if (prefix == nullptr || prefix->Str().empty())
      return Fail("parameter ", std::string(name), ": each path needs a pathPrefix");
    out.push_back({std::string(prefix->Str()), read_only != nullptr && read_only->IsTrue()});
  }
  return out;
}
Result<HostPaths> ReadAllowedHostPaths(const Parameters& params) {
  HostPaths out;
  MOAT_ASSIGN_OR_RETURN(out.linux_paths, ReadHostPaths(params, "allowedHostPaths"));
  MOAT_ASSIGN_OR_RETURN(out.windows_paths, ReadHostPaths(params, "windowsAllowedHostPaths"));
  return out;
}
void AllowedHostPaths(const CheckContext& c, const HostPaths& paths, Emitter& e) {
  const Value* os = c.pod->spec->Path({"nodeSelector", "kubernetes.io/os"});
  const bool windows = os != nullptr && os->Str() == "windows";
  HostPathsCheck(c, e, windows ? paths.windows_paths : paths.linux_paths);
}

struct SeLinuxRule {
  bool enforce_pss = false;
  std::vector<std::string> allowed_types;
  std::vector<Value> allowed_options;
};
Result<SeLinuxRule> ReadSeLinux(const Parameters& params) {
  SeLinuxRule rule;
  rule.enforce_pss = params.Bool("enforcePSS");
  MOAT_ASSIGN_OR_RETURN(rule.allowed_types, ListParameter(params, "allowedSELinuxTypes"));
  MOAT_ASSIGN_OR_RETURN(rule.allowed_options,
                        ObjectListParameter(params, "allowedSELinuxOptions", "options"));
  return rule;
}
void SeLinux(const CheckContext& c, const SeLinuxRule& rule, Emitter& e) {
  auto check = [&](const Value* sc, const std::string& path, const std::string& who) {
    const Value* options = sc != nullptr ? sc->Field("seLinuxOptions") : nullptr;
    if (options == nullptr) return;
    const std::string base = path + ".seLinuxOptions";
    if (rule.enforce_pss) {
      // The baseline Pod Security Standard: a container type, no custom user or role.
      const Value* type = options->Get("type");
      if (type != nullptr && !type->Str().empty() && !Contains(rule.allowed_types, type->Str()))
        e.Fail(type, base + ".type", who + " sets SELinux type " + type->text);
      for (std::string_view field : {"user", "role"}) {
        const Value* v = options->Get(field);
        if (v != nullptr && !v->Str().empty())
          e.Fail(v, base + "." + std::string(field),
                 who + " sets SELinux " + std::string(field) + " " + v->text);
      }
      return;
    }
    // Gatekeeper's SELinux rule: the options must match one allowed entry, field by field.
    for (const Value& allowed : rule.allowed_options) {
      bool match = true;
      for (std::string_view field : {"level", "role", "type", "user"}) {
        const Value* v = options->Get(field);
        if (v == nullptr) continue;
        const Value* a = allowed.Get(field);
        match &= a != nullptr && a->Str() == v->Str();
      }
      if (match) return;
    }
    e.Fail(options, base, who + " sets SELinux options that are not in allowedSELinuxOptions");
  };
  check(SecurityContextOf(*c.pod->spec), c.pod->spec_path + ".securityContext", "pod");
  ForEachContainer(*c.pod, [&](const Value& container, const std::string& path) {
    check(SecurityContextOf(container), path + ".securityContext", DescribeContainer(container));
  });
}

struct IdRule {
  std::string rule;  // MustRunAs, MustRunAsNonRoot, MayRunAs, RunAsAny
  std::vector<std::pair<int64_t, int64_t>> ranges;

  bool InRange(int64_t id) const {
    if (ranges.empty()) return true;
    for (const auto& [lo, hi] : ranges) {
      if (id >= lo && id <= hi) return true;
    }
    return false;
  }
};
struct UsersGroups {
  IdRule user, group, supplemental, fs_group;
};
Result<IdRule> ReadIdRule(const Parameters& params, std::string_view name,
                          std::initializer_list<std::string_view> rules) {
  IdRule out;
  out.rule = params.String(std::string(name) + "Rule");
  if (std::find(rules.begin(), rules.end(), out.rule) == rules.end())
    return Fail("parameter ", std::string(name), "Rule: \"", out.rule, "\" is not allowed");
  MOAT_ASSIGN_OR_RETURN(std::vector<Value> ranges,
                        ObjectListParameter(params, std::string(name) + "Ranges", "ranges"));
  for (const Value& range : ranges) {
    const Value* min = range.Get("min");
    const Value* max = range.Get("max");
    if (min == nullptr || max == nullptr || !min->Int() || !max->Int())
      return Fail("parameter ", std::string(name), "Ranges: each range needs integer min and max");
    out.ranges.emplace_back(*min->Int(), *max->Int());
  }
  return out;
}
Result<UsersGroups> ReadUsersGroups(const Parameters& params) {
  UsersGroups out;
  MOAT_ASSIGN_OR_RETURN(
      out.user, ReadIdRule(params, "runAsUser", {"MustRunAs", "MustRunAsNonRoot", "RunAsAny"}));
  MOAT_ASSIGN_OR_RETURN(out.group,
                        ReadIdRule(params, "runAsGroup", {"MustRunAs", "MayRunAs", "RunAsAny"}));
  MOAT_ASSIGN_OR_RETURN(out.supplemental, ReadIdRule(params, "supplementalGroups",
                                                     {"MustRunAs", "MayRunAs", "RunAsAny"}));
  MOAT_ASSIGN_OR_RETURN(out.fs_group,
                        ReadIdRule(params, "fsGroup", {"MustRunAs", "MayRunAs", "RunAsAny"}));
  return out;
}
/// MustRunAs: set and in a range; MayRunAs: in a range when set.
void CheckId(const IdRule& rule, const Value* v, const std::string& path, const std::string& what,
             const Value* fallback, Emitter& e) {
  if (rule.rule != "MustRunAs" && rule.rule != "MayRunAs") return;
  if (v == nullptr) {
    if (rule.rule == "MustRunAs") e.Fail(nullptr, path, what + " is not set", fallback);
  } else if (!v->Int() || !rule.InRange(*v->Int())) {
    e.Fail(v, path, what + " " + v->text + " is not in the allowed ranges");
  }
}
void UsersAndGroups(const CheckContext& c, const UsersGroups& rules, Emitter& e) {
  if (rules.user.rule == "MustRunAsNonRoot") NonRootCheck(c, e);
  const Value* pod_sc = SecurityContextOf(*c.pod->spec);
  const std::string pod_path = c.pod->spec_path + ".securityContext";
  ForEachContainer(*c.pod, [&](const Value& container, const std::string& path) {
    const Value* sc = SecurityContextOf(container);
    const std::pair<std::string_view, const IdRule*> fields[] = {{"runAsUser", &rules.user},
                                                                 {"runAsGroup", &rules.group}};
    for (const auto& [field, rule] : fields) {
      const Value* v = sc != nullptr ? sc->Field(field) : nullptr;
      if (v == nullptr && pod_sc != nullptr) v = pod_sc->Field(field);
      CheckId(*rule, v, path + ".securityContext." + std::string(field),
              DescribeContainer(container) + " " + std::string(field), &container, e);
    }
  });
  CheckId(rules.fs_group, pod_sc != nullptr ? pod_sc->Field("fsGroup") : nullptr,
          pod_path + ".fsGroup", "pod fsGroup", c.pod->spec, e);
  const Value* groups = pod_sc != nullptr ? pod_sc->Field("supplementalGroups") : nullptr;
  if (groups == nullptr || groups->Items().empty()) {
    CheckId(rules.supplemental, nullptr, pod_path + ".supplementalGroups", "pod supplementalGroups",
            c.pod->spec, e);
  } else {
    size_t i = 0;
    for (const Value& g : groups->Items()) {
      CheckId(rules.supplemental, &g, pod_path + ".supplementalGroups[" + std::to_string(i) + "]",
              "pod supplementalGroup", c.pod->spec, e);
      ++i;
    }
  }
}

constexpr char kLabelsList[] = "labelsList";
void RequiredLabels(const CheckContext& c, const StringList& labels, Emitter& e) {
  const Value* present = LabelsOf(c.pod->metadata);
  for (const std::string& label : labels.values) {
    if (present == nullptr || present->Get(label) == nullptr)
      e.Fail(present, c.pod->metadata_path + ".labels", "the pod has no label \"" + label + "\"",
             c.pod->metadata != nullptr ? c.pod->metadata : c.pod->spec);
  }
}

constexpr char kServicePorts[] = "allowedServicePortsList";
void ServicePorts(const CheckContext& c, const StringList& allowed, Emitter& e) {
  if (allowed.values.empty()) return;  // required parameter not set
  const Value* ports = c.object.root.Path({"spec", "ports"});
  size_t i = 0;
  for (const Value& port : ports != nullptr ? ports->Items() : std::vector<Value>{}) {
    const Value* number = port.Get("port");
    if (number != nullptr && !Contains(allowed.values, number->Str()))
      e.Fail(number, "spec.ports[" + std::to_string(i) + "].port",
             "the Service listens on port " + number->text + ", not in the allowed list");
    ++i;
  }
}

constexpr char kExternalIps[] = "allowedExternalIPs";
void ExternalIps(const CheckContext& c, const StringList& allowed, Emitter& e) {
  const Value* ips = c.object.root.Path({"spec", "externalIPs"});
  size_t i = 0;
  for (const Value& ip : ips != nullptr ? ips->Items() : std::vector<Value>{}) {
    if (!Contains(allowed.values, ip.Str()))
      e.Fail(&ip, "spec.externalIPs[" + std::to_string(i) + "]",
             "the Service uses external IP " + ip.text + ", not in the allowed list");
    ++i;
  }
}

void UniqueSelectors(const CheckContext& c, const NoParameters&, Emitter& e) {
  const std::string key = ServiceSelectorKey(c.object);
  if (key.empty()) return;
  auto it = c.inventory.services_by_selector.find(key);
  if (it == c.inventory.services_by_selector.end()) return;
  for (size_t other : it->second) {
    const Object& service = (*c.inventory.objects)[other];
    if (&service == &c.object) continue;
    e.Fail(c.object.root.Path({"spec", "selector"}), "spec.selector",
           "the Service has the same selector as " + service.Reference(), &c.object.root);
    return;
  }
}

void NakedPod(const CheckContext& c, const NoParameters&, Emitter& e) {
  const Value* owners = c.object.root.Path({"metadata", "ownerReferences"});
  if (owners == nullptr || owners->Items().empty())
    e.Fail(c.object.root.Field("metadata"), "metadata.ownerReferences",
           "the Pod is not managed by a controller (Deployment, StatefulSet, Job, ...)",
           &c.object.root);
}

void IngressHttpsOnly(const CheckContext& c, const NoParameters&, Emitter& e) {
  const Value* tls = c.object.root.Path({"spec", "tls"});
  if (tls == nullptr || tls->Items().empty())
    e.Fail(tls, "spec.tls", "the Ingress has no tls section", &c.object.root);
  const Value* allow_http =
      c.object.root.Path({"metadata", "annotations", "kubernetes.io/ingress.allow-http"});
  if (allow_http == nullptr || allow_http->Str() != "false")
    e.Fail(allow_http, "metadata.annotations.kubernetes.io/ingress.allow-http",
           "the Ingress does not set the annotation kubernetes.io/ingress.allow-http: \"false\"",
           &c.object.root);
}

void EndpointEditRole(const CheckContext& c, const NoParameters&, Emitter& e) {
  if (c.object.name != "system:aggregate-to-edit") return;
  const Value* rules = c.object.root.Get("rules");
  size_t i = 0;
  for (const Value& rule : rules != nullptr ? rules->Items() : std::vector<Value>{}) {
    if (rule.IsMap() && RuleGrants(rule, {""}, "endpoints",
                                   {"create", "update", "patch", "delete", "deletecollection"}))
      e.Fail(&rule, "rules[" + std::to_string(i) + "]",
             "system:aggregate-to-edit lets every editor write Endpoints (CVE-2021-25740)");
    ++i;
  }
}

constexpr char kDisallowedCapabilities[] = "disallowedCapabilities";
void DisallowedCapabilities(const CheckContext& c, const StringList& caps, Emitter& e) {
  DisallowedCapabilitiesCheck(c, e, caps.values);
}

void IngressHost(const CheckContext& c, const NoParameters&, Emitter& e) {
  const Value* rules = c.object.root.Path({"spec", "rules"});
  size_t i = 0;
  for (const Value& rule : rules != nullptr ? rules->Items() : std::vector<Value>{}) {
    const Value* host = rule.Get("host");
    if (host == nullptr || host->Str().empty())
      e.Fail(&rule, "spec.rules[" + std::to_string(i) + "].host",
             "an Ingress rule has no host (it answers every name)");
    ++i;
  }
}

void CsiStorageClass(const CheckContext& c, const NoParameters&, Emitter& e) {
  const Value* provisioner = c.object.root.Get("provisioner");
  const std::string_view p = provisioner != nullptr ? provisioner->Str() : "";
  // In-tree volume plugins are named kubernetes.io/...; no-provisioner is for local volumes.
  if (p.rfind("kubernetes.io/", 0) == 0 && p != "kubernetes.io/no-provisioner")
    e.Fail(provisioner, "provisioner",
           "the StorageClass uses the in-tree provisioner " + std::string(p) +
               " instead of a CSI driver");
}

void InternalLoadBalancerRule(const CheckContext& c, const NoParameters&, Emitter& e) {
  const Value* type = c.object.root.Path({"spec", "type"});
  if (type == nullptr || type->Str() != "LoadBalancer") return;
  if (InternalLoadBalancer(c.object.root.Path({"metadata", "annotations"}))) return;
  e.Fail(type, "spec.type",
         "the LoadBalancer Service gets a public IP (no internal load balancer annotation such "
         "as service.beta.kubernetes.io/azure-load-balancer-internal: \"true\")");
}

struct RequiredAnnotation {
  std::string key;
  std::string pattern;  // "" = any value
  std::shared_ptr<const RE2> re;
};
struct Annotations {
  std::vector<RequiredAnnotation> required;
};
Result<Annotations> ReadAnnotations(const Parameters& params) {
  Annotations out;
  MOAT_ASSIGN_OR_RETURN(std::vector<Value> entries,
                        ObjectListParameter(params, "annotations", "annotations"));
  for (const Value& entry : entries) {
    const Value* key = entry.Get("key");
    const Value* regex = entry.Get("allowedRegex");
    if (key == nullptr || key->Str().empty())
      return Fail("parameter annotations: each annotation needs a key");
    RequiredAnnotation a{std::string(key->Str()), regex != nullptr ? regex->text : "", nullptr};
    if (!a.pattern.empty()) {
      RE2::Options options;
      options.set_log_errors(false);
      a.re = std::make_shared<RE2>(a.pattern, options);
      if (!a.re->ok())
        return Fail("parameter annotations: allowedRegex \"", a.pattern,
                    "\" is not a valid regular expression");
    }
    out.required.push_back(std::move(a));
  }
  return out;
}
void RequiredAnnotations(const CheckContext& c, const Annotations& annotations, Emitter& e) {
  const Value* present = c.object.root.Path({"metadata", "annotations"});
  for (const RequiredAnnotation& a : annotations.required) {
    const Value* v = present != nullptr ? present->Get(a.key) : nullptr;
    if (v == nullptr) {
      e.Fail(present, "metadata.annotations", "the object has no annotation \"" + a.key + "\"",
             &c.object.root);
    } else if (a.re != nullptr && !RE2::PartialMatch(v->Str(), *a.re)) {
      e.Fail(v, "metadata.annotations." + a.key,
             "annotation " + a.key + "=\"" + v->text + "\" does not match " + a.pattern);
    }
  }
}

void AntiAffinity(const CheckContext& c, const NoParameters&, Emitter& e) {
  if (c.pod == nullptr) return;
  const Value* replicas = c.object.root.Path({"spec", "replicas"});
  if (replicas == nullptr || replicas->Int().value_or(1) <= 1) return;
  const Value* anti = c.pod->spec->Path({"affinity", "podAntiAffinity"});
  const Value* spread = c.pod->spec->Get("topologySpreadConstraints");
  if (anti != nullptr || (spread != nullptr && !spread->Items().empty())) return;
  e.Fail(replicas, "spec.replicas",
         "the " + c.object.kind + " runs " + replicas->text +
             " replicas without podAntiAffinity or topologySpreadConstraints (they may all land "
             "on one node)");
}

/// A selector's matchLabels as "k=v,k=v" (sorted, so equal selectors give equal keys).
bool SelectorMatches(const Value* match_labels, const Value* labels) {
  if (match_labels == nullptr || match_labels->Entries().empty()) return false;
  for (const Value& want : match_labels->Entries()) {
    const Value* have = labels != nullptr ? labels->Get(want.key) : nullptr;
    if (have == nullptr || have->Str() != want.Str()) return false;
  }
  return true;
}

void DisruptionBudget(const CheckContext& c, const NoParameters&, Emitter& e) {
  const Value* spec = c.object.root.Field("spec");
  if (spec == nullptr) return;
  const Value* max = spec->Field("maxUnavailable");
  if (max != nullptr && (max->Int() == 0 || max->Str() == "0%")) {
    e.Fail(max, "spec.maxUnavailable",
           "maxUnavailable " + max->text + " blocks every voluntary eviction (node drains hang)");
  }
  const Value* min = spec->Field("minAvailable");
  if (min == nullptr) return;
  if (min->Str() == "100%") {
    e.Fail(min, "spec.minAvailable", "minAvailable 100% blocks every voluntary eviction");
    return;
  }
  if (!min->Int()) return;
  // With the workloads of the input: a minimum at or above their replicas blocks evictions too.
  const Value* selector = spec->Path({"selector", "matchLabels"});
  auto it = c.inventory.workloads_by_namespace.find(c.object.EffectiveNamespace());
  if (it == c.inventory.workloads_by_namespace.end()) return;
  for (size_t index : it->second) {
    const Object& workload = (*c.inventory.objects)[index];
    if (workload.kind == "Pod" || workload.kind == "Job" || workload.kind == "CronJob") continue;
    const std::optional<PodTemplate> pod = FindPodTemplate(workload);
    const Value* replicas = workload.root.Path({"spec", "replicas"});
    if (!pod || !SelectorMatches(selector, LabelsOf(pod->metadata))) continue;
    const int64_t count = replicas != nullptr ? replicas->Int().value_or(1) : 1;
    if (*min->Int() >= count)
      e.Fail(min, "spec.minAvailable",
             "minAvailable " + min->text + " is not below the " + std::to_string(count) +
                 " replicas of " + workload.Reference() + ": no pod can ever be evicted");
  }
}

struct BlockedKinds {
  std::vector<std::string> api_groups;
};
Result<BlockedKinds> ReadBlockedKinds(const Parameters& params) {
  BlockedKinds out;
  MOAT_ASSIGN_OR_RETURN(out.api_groups, ListParameter(params, "apiGroups"));
  return out;
}
void BlockedKind(const CheckContext& c, const BlockedKinds& blocked, Emitter& e) {
  const size_t slash = c.object.api_version.find('/');
  const std::string group =
      slash == std::string::npos ? std::string() : c.object.api_version.substr(0, slash);
  if (!Contains(blocked.api_groups, group) && !Contains(blocked.api_groups, "*")) return;
  e.Fail(c.object.root.Get("kind"), "kind",
         "objects of kind " + c.object.kind + " may not be created here", &c.object.root);
}

struct NodeEditors {
  std::vector<std::string> users, groups;
};
Result<NodeEditors> ReadNodeEditors(const Parameters& params) {
  NodeEditors out;
  MOAT_ASSIGN_OR_RETURN(out.users, ListParameter(params, "allowedUsers"));
  MOAT_ASSIGN_OR_RETURN(out.groups, ListParameter(params, "allowedGroups"));
  return out;
}
/// An admission-time rule: only an UPDATE by someone else than the node pools' agents is an
/// edit of an individual node; a manifest or a listed Node is not a change.
void NodeEdit(const CheckContext& c, const NodeEditors& editors, Emitter& e) {
  if (c.request == nullptr || c.request->operation != "UPDATE") return;
  if (Contains(editors.users, c.request->username)) return;
  if (c.request->groups != nullptr) {
    for (const std::string& g : *c.request->groups) {
      if (Contains(editors.groups, g)) return;
    }
  }
  e.Fail(c.object.root.Field("metadata"), "metadata",
         "user " + std::string(c.request->username) +
             " edits an individual node; change the node pool instead",
         &c.object.root);
}

struct Flag {
  bool value = false;
};
Result<Flag> ReadForceFalse(const Parameters& params) {
  return Flag{params.Bool("forcePrivilegeEscalationToBeFalse")};
}

const std::vector<std::string> kWorkload = {"workload"};
const std::vector<std::string> kControllers = {"Deployment", "StatefulSet", "ReplicationController",
                                               "ReplicaSet"};

Parameter Required(std::string name, std::string description) {
  return {std::move(name), "",
          std::move(description) +
              " (required by the definition: unset, "
              "the policy reports nothing)"};
}

}  // namespace

void AddAzureChecks(std::vector<CheckDef>& checks) {
  using S = Severity;
  Add<NodeEditors>(
      checks,
      {"CannotEditIndividualNodes",
       "Cannot Edit Individual Nodes",
       "azure-node-edits",
       S::kMedium,
       "Admission only: an UPDATE of a Node by a user outside allowedUsers and allowedGroups.",
       "Change the node pool (its template), not individual nodes.",
       {"Node"},
       {{"allowedUsers",
         "nodeclient,system:serviceaccount:kube-system:aci-connector-linux,"
         "system:serviceaccount:kube-system:node-controller,acsService,aksService,"
         "system:serviceaccount:kube-system:cloud-node-manager",
         "users allowed to edit nodes"},
        {"allowedGroups", "system:node", "groups allowed to edit nodes"}},
       kSystemNamespacesShort},
      ReadNodeEditors, NodeEdit);
  Add<StringList>(
      checks,
      {"ContainerEnforceProbes",
       "Ensure cluster containers have readiness or liveness probes configured",
       "azure-container-probes",
       S::kLow,
       "Every container (not init containers) has each of requiredProbes, with a handler "
       "(httpGet, tcpSocket, exec or grpc).",
       "Add the probes to every container.",
       kWorkload,
       {{"requiredProbes", "readinessProbe,livenessProbe", "probes every container must have"},
        kExcludedContainers,
        kExcludedImages}},
      ReadList<kRequiredProbes>, Probes);
  Add(checks,
      {"ContainerEnforcePreStopHook",
       "Kubernetes cluster container images must include the preStop hook",
       "azure-prestop-hook",
       S::kLow,
       "Every container of a Deployment, StatefulSet, ReplicationController or ReplicaSet has a "
       "lifecycle.preStop hook, so it shuts down cleanly.",
       "Add lifecycle.preStop to every container.",
       kControllers,
       {},
       kSystemNamespacesShort},
      PreStopHook);
  Add(checks,
      {"ImagesDoNotUseLatest",
       "Kubernetes cluster container images should not include latest image tag",
       "azure-no-latest-image",
       S::kMedium,
       "Images tagged :latest or untagged (which means :latest) change under the workload.",
       "Use a version tag or a digest.",
       kWorkload,
       {},
       kSystemNamespacesShort},
      [](const CheckContext& c, const NoParameters&, Emitter& e) { ImageTagCheck(c, e); });
  Add<Limits>(checks,
              {"ContainerResourceLimits",
               "Kubernetes cluster containers CPU and memory resource limits should not exceed the "
               "specified limits",
               "azure-resource-limits",
               S::kMedium,
               "Every container and init container has CPU and memory limits, at most cpuLimit and "
               "memoryLimit.",
               "Set resources.limits.cpu and .memory within the maximums.",
               kWorkload,
               {Required("cpuLimit", "largest CPU limit, e.g. 200m"),
                Required("memoryLimit", "largest memory limit, e.g. 1Gi"), kExcludedContainers,
                kExcludedImages}},
              ReadLimits, ResourceLimits);
  Add(checks,
      {"ContainerResourceRequests",
       "Kubernetes cluster containers CPU and memory resource requests must be defined",
       "azure-resource-requests",
       S::kMedium,
       "Every container and init container has CPU and memory requests (a limit counts).",
       "Set resources.requests.cpu and .memory.",
       kWorkload,
       {kExcludedImages}},
      [](const CheckContext& c, const NoParameters&, Emitter& e) {
        RequestCheck(c, e, "cpu");
        RequestCheck(c, e, "memory");
      });
  Add(checks,
      {"BlockHostNamespace",
       "Kubernetes cluster containers should not share host namespaces",
       "azure-host-namespace",
       S::kHigh,
       "Pods do not use hostPID or hostIPC.",
       "Remove hostPID and hostIPC.",
       kWorkload,
       {kExcludedImages}},
      [](const CheckContext& c, const NoParameters&, Emitter& e) { HostNamespacesCheck(c, e); });
  Add<StringList>(
      checks,
      {"ForbiddenSysctlInterfaces",
       "Kubernetes cluster containers should not use forbidden sysctl interfaces",
       "azure-forbidden-sysctls",
       S::kHigh,
       "Pods set no sysctl matching forbiddenSysctls (\"*\" all, \"kernel.*\" a prefix).",
       "Remove the sysctls from securityContext.sysctls.",
       kWorkload,
       {Required("forbiddenSysctls", "sysctls not allowed; * for all, kernel.* for a prefix")}},
      ReadList<kForbiddenSysctls>, ForbiddenSysctls);
  Add(checks,
      {"ContainerRestrictedImagePulls",
       "Kubernetes cluster containers should only pull images when image pull secrets are present",
       "azure-image-pull-secrets",
       S::kLow,
       "Pods pull their images with an image pull secret: their own or their service "
       "account's (the API server adds those to a Pod before webhooks run, which is why the "
       "definition looks at Pods, not at the templates of controllers).",
       "Set imagePullSecrets on the pod or its service account.",
       {"Pod"},
       {kExcludedImages}},
      ImagePullSecrets);
  Add(checks,
      {"EnforceAppArmorProfile",
       "Kubernetes cluster containers should only use allowed AppArmor profiles",
       "azure-apparmor",
       S::kMedium,
       "Every container runs under an AppArmor profile in allowedProfiles (securityContext or "
       "the container.apparmor.security.beta.kubernetes.io annotation).",
       "Set securityContext.appArmorProfile.type: RuntimeDefault.",
       kWorkload,
       {{"allowedProfiles", "runtime/default",
         "allowed profiles: runtime/default, localhost/NAME (globs allowed)"},
        kExcludedContainers,
        kExcludedImages}},
      [](const CheckContext& c, const NoParameters&, Emitter& e) { AppArmorProfilesCheck(c, e); });
  Add<StringList>(
      checks,
      {"AllowedProcMountType",
       "Kubernetes cluster containers should only use allowed ProcMountType",
       "azure-proc-mount",
       S::kHigh,
       "Containers use the Default /proc mount (or Unmasked too when procMountType is Unmasked).",
       "Remove securityContext.procMount or set it to Default.",
       kWorkload,
       {{"procMountType", "Default", "Default or Unmasked"}, kExcludedContainers, kExcludedImages}},
      ReadList<kProcMountType>, ProcMount);
  Add<StringList>(checks,
                  {"ContainerAllowedCapabilities",
                   "Kubernetes cluster containers should only use allowed capabilities",
                   "azure-allowed-capabilities",
                   S::kHigh,
                   "Containers add only allowedCapabilities (\"*\" any) and drop every "
                   "requiredDropCapabilities (or ALL).",
                   "Remove other capabilities from capabilities.add; drop the required ones.",
                   kWorkload,
                   {{"allowedCapabilities", "", "capabilities that may be added; * for any"},
                    {"requiredDropCapabilities", "", "capabilities every container must drop"},
                    kExcludedContainers,
                    kExcludedImages}},
                  ReadList<kRequiredDrop>, Capabilities);
  Add<Pattern>(
      checks,
      {"ContainerAllowedImages",
       "Kubernetes cluster containers should only use allowed images",
       "azure-allowed-images",
       S::kHigh,
       "Every image matches allowedContainerImagesRegex (RE2, unanchored as Rego's re_match).",
       "Pull images only from the allowed registries.",
       kWorkload,
       {Required("allowedContainerImagesRegex",
                 "regular expression images must match, e.g. "
                 "^registry\\.example\\.com/.+$"),
        kExcludedContainers}},
      ReadImageRegex, AllowedImages);
  Add<StringList>(
      checks,
      {"ContainerAllowedPullPolicy",
       "Kubernetes cluster containers should only use allowed pull policy",
       "azure-pull-policy",
       S::kLow,
       "Every container's imagePullPolicy (as the API server defaults it when unset) is in "
       "allowedPullPolicy.",
       "Set imagePullPolicy to an allowed value.",
       kWorkload,
       {{"allowedPullPolicy", "IfNotPresent,Never", "allowed pull policies"}, kExcludedImages}},
      ReadList<kAllowedPullPolicy>, PullPolicy);
  Add(checks,
      {"AllowedSeccompProfile",
       "Kubernetes cluster containers should only use allowed seccomp profiles",
       "azure-seccomp",
       S::kMedium,
       "Every container's seccomp profile (its own, else the pod's) is in allowedProfiles; a "
       "container without one fails.",
       "Set securityContext.seccompProfile.type: RuntimeDefault and allow it.",
       kWorkload,
       {{"allowedProfiles", "",
         "allowed profiles: RuntimeDefault, Localhost, Localhost/FILE, runtime/default, "
         "docker/default, localhost/FILE, unconfined; * for any"},
        kExcludedContainers,
        kExcludedImages}},
      [](const CheckContext& c, const NoParameters&, Emitter& e) { SeccompProfilesCheck(c, e); });
  Add(checks,
      {"ReadOnlyRootFileSystem",
       "Kubernetes cluster containers should run with a read only root file system",
       "azure-readonly-rootfs",
       S::kMedium,
       "Every container sets readOnlyRootFilesystem: true.",
       "Set securityContext.readOnlyRootFilesystem: true; mount emptyDir where it writes.",
       kWorkload,
       {kExcludedContainers, kExcludedImages}},
      [](const CheckContext& c, const NoParameters&, Emitter& e) { ReadOnlyRootFsCheck(c, e); });
  Add<StringList>(checks,
                  {"FlexVolumeDrivers",
                   "Kubernetes cluster pod FlexVolume volumes should only use allowed drivers",
                   "azure-flexvolume-drivers",
                   S::kMedium,
                   "FlexVolume volumes use only allowedFlexVolumeDrivers.",
                   "Use an allowed driver, or a CSI volume.",
                   kWorkload,
                   {{"allowedFlexVolumeDrivers", "", "FlexVolume drivers allowed"}}},
                  ReadList<kFlexDrivers>, FlexVolumes);
  Add<HostPaths>(
      checks,
      {"AllowedHostPaths",
       "Kubernetes cluster pod hostPath volumes should only use allowed host paths",
       "azure-host-paths",
       S::kHigh,
       "hostPath volumes lie under an allowed pathPrefix; where the entry says readOnly, every "
       "mount of the volume is readOnly.",
       "Remove the hostPath volume or allow its path.",
       kWorkload,
       {{"allowedHostPaths", "{\"paths\": []}",
         "{\"paths\": [{\"pathPrefix\": \"/var/log\", \"readOnly\": true}]}"},
        {"windowsAllowedHostPaths", "{\"paths\": []}",
         "the same for pods with nodeSelector kubernetes.io/os: windows"},
        kExcludedContainers,
        kExcludedImages}},
      ReadAllowedHostPaths, AllowedHostPaths);
  Add<SeLinuxRule>(
      checks,
      {"SELinux",
       "Kubernetes cluster pods and containers should follow SELinux security standards",
       "azure-selinux",
       S::kHigh,
       "seLinuxOptions of pods and containers match an allowedSELinuxOptions entry; with "
       "enforcePSS, the baseline Pod Security Standard instead (a type of allowedSELinuxTypes, "
       "no user or role).",
       "Remove seLinuxOptions or allow them.",
       kWorkload,
       {{"enforcePSS", "false", "apply the Pod Security Standard's SELinux rule"},
        {"allowedSELinuxTypes", "container_t,container_init_t,container_kvm_t,container_engine_t",
         "types allowed with enforcePSS"},
        {"allowedSELinuxOptions", "{\"options\": []}",
         "{\"options\": [{\"level\": ..., \"role\": ..., \"type\": ..., \"user\": ...}]}"},
        kExcludedImages}},
      ReadSeLinux, SeLinux);
  Add<UsersGroups>(
      checks,
      {"AllowedUsersGroups",
       "Kubernetes cluster pods and containers should only run with approved user and group IDs",
       "azure-users-groups",
       S::kMedium,
       "runAsUser, runAsGroup, supplementalGroups and fsGroup follow their rules: MustRunAs (set "
       "and in a range), MayRunAs (in a range when set), MustRunAsNonRoot, RunAsAny.",
       "Set the IDs the rules require.",
       kWorkload,
       {{"runAsUserRule", "MustRunAsNonRoot", "MustRunAs, MustRunAsNonRoot or RunAsAny"},
        {"runAsUserRanges", "{\"ranges\": []}", "{\"ranges\": [{\"min\": 1000, \"max\": 2000}]}"},
        {"runAsGroupRule", "RunAsAny", "MustRunAs, MayRunAs or RunAsAny"},
        {"runAsGroupRanges", "{\"ranges\": []}", "as runAsUserRanges"},
        {"supplementalGroupsRule", "RunAsAny", "MustRunAs, MayRunAs or RunAsAny"},
        {"supplementalGroupsRanges", "{\"ranges\": []}", "as runAsUserRanges"},
        {"fsGroupRule", "RunAsAny", "MustRunAs, MayRunAs or RunAsAny"},
        {"fsGroupRanges", "{\"ranges\": []}", "as runAsUserRanges"},
        kExcludedContainers,
        kExcludedImages}},
      ReadUsersGroups, UsersAndGroups);
  Add(checks,
      {"AllowedVolumeTypes",
       "Kubernetes cluster pods should only use allowed volume types",
       "azure-volume-types",
       S::kMedium,
       "Volumes are of allowedVolumeTypes (\"*\" any).",
       "Use allowed volume types only.",
       kWorkload,
       {{"allowedVolumeTypes", "", "volume types allowed, e.g. configMap, secret; * for any"},
        kExcludedImages}},
      [](const CheckContext& c, const NoParameters&, Emitter& e) { VolumeTypesCheck(c, e); });
  Add(checks,
      {"HostNetworkPorts",
       "Kubernetes cluster pods should only use approved host network and port list",
       "azure-host-network-ports",
       S::kHigh,
       "hostNetwork only when allowHostNetwork; host ports only from allowedHostPorts.",
       "Remove hostNetwork and hostPort, or allow them.",
       kWorkload,
       {{"allowHostNetwork", "false", "whether hostNetwork: true is allowed"},
        {"allowedHostPorts", "", "host ports or ranges allowed, e.g. 80, 8000-8080"},
        kExcludedImages}},
      [](const CheckContext& c, const NoParameters&, Emitter& e) { HostPortsCheck(c, e); });
  Add<StringList>(checks,
                  {"PodEnforceLabels",
                   "Kubernetes cluster pods should use specified labels",
                   "azure-pod-labels",
                   S::kLow,
                   "Pods carry every label of labelsList.",
                   "Add the labels to the pod (template).",
                   kWorkload,
                   {Required("labelsList", "labels every pod must have")}},
                  ReadList<kLabelsList>, RequiredLabels);
  Add<StringList>(checks,
                  {"ServiceAllowedPorts",
                   "Kubernetes cluster services should listen only on allowed ports",
                   "azure-service-ports",
                   S::kMedium,
                   "Services listen only on allowedServicePortsList.",
                   "Expose only the allowed ports.",
                   {"Service"},
                   {Required("allowedServicePortsList", "ports Services may listen on, e.g. 443")}},
                  ReadList<kServicePorts>, ServicePorts);
  Add<StringList>(checks,
                  {"AllowedExternalIPs",
                   "Kubernetes cluster services should only use allowed external IPs",
                   "azure-external-ips",
                   S::kHigh,
                   "Services use only allowedExternalIPs as externalIPs (CVE-2020-8554).",
                   "Remove externalIPs or allow them.",
                   {"Service"},
                   {{"allowedExternalIPs", "", "external IPs Services may use"}}},
                  ReadList<kExternalIps>, ExternalIps);
  Add(checks,
      {"UniqueServiceSelectors",
       "Kubernetes cluster services should use unique selectors",
       "azure-unique-service-selectors",
       S::kLow,
       "No two Services of a namespace have the same selector (compared with the other Services "
       "of the input: `moat k8s`, `moat admission audit`; one request alone has none).",
       "Give each Service its own selector.",
       {"Service"},
       {},
       kSystemNamespacesShort},
      UniqueSelectors);
  Add(checks,
      {"ContainerNoPrivilege",
       "Kubernetes cluster should not allow privileged containers",
       "azure-no-privileged",
       S::kCritical,
       "No container is privileged.",
       "Remove securityContext.privileged.",
       kWorkload,
       {kExcludedContainers, kExcludedImages}},
      [](const CheckContext& c, const NoParameters&, Emitter& e) { PrivilegedCheck(c, e); });
  Add(checks,
      {"BlockNakedPods",
       "Kubernetes cluster should not use naked pods",
       "azure-naked-pods",
       S::kLow,
       "Pods have an owner (a controller recreates them when their node goes).",
       "Run the pod from a Deployment, StatefulSet, DaemonSet or Job.",
       {"Pod"},
       {}},
      NakedPod);
  Add(checks,
      {"IngressHttpsOnly",
       "Kubernetes clusters should be accessible only over HTTPS",
       "azure-ingress-https",
       S::kMedium,
       "Ingresses have a tls section and the annotation kubernetes.io/ingress.allow-http: "
       "\"false\".",
       "Add spec.tls and the annotation.",
       {"Ingress"},
       {}},
      IngressHttpsOnly);
  Add(checks,
      {"BlockAutomountToken",
       "Kubernetes clusters should disable automounting API credentials",
       "azure-automount-token",
       S::kMedium,
       "Pods do not mount the service account token (automountServiceAccountToken: false on "
       "the pod or its ServiceAccount).",
       "Set automountServiceAccountToken: false.",
       kWorkload,
       {kExcludedImages}},
      [](const CheckContext& c, const NoParameters&, Emitter& e) { AutomountTokenCheck(c, e); });
  Add(checks,
      {"BlockAdminRolebindings",
       "Kubernetes clusters should ensure that the cluster-admin role is only used where required",
       "azure-cluster-admin-binding",
       S::kHigh,
       "RoleBindings and ClusterRoleBindings do not grant cluster-admin.",
       "Bind a role with the rights the subject needs.",
       {"ClusterRoleBinding", "RoleBinding"},
       {}},
      [](const CheckContext& c, const NoParameters&, Emitter& e) {
        ClusterAdminRoleRefCheck(c, e);
      });
  Add(checks,
      {"BlockWildcardRoles",
       "Kubernetes clusters should minimize wildcard use in role and cluster role",
       "azure-wildcard-roles",
       S::kMedium,
       "Roles and ClusterRoles grant no \"*\" verbs, resources or non-resource URLs.",
       "List the verbs and resources.",
       {"ClusterRole", "Role"},
       {}},
      [](const CheckContext& c, const NoParameters&, Emitter& e) { WildcardRulesCheck(c, e); });
  Add<Flag>(checks,
            {"ContainerNoPrivilegeEscalation",
             "Kubernetes clusters should not allow container privilege escalation",
             "azure-privilege-escalation",
             S::kHigh,
             "No container sets allowPrivilegeEscalation: true (or is privileged); with "
             "forcePrivilegeEscalationToBeFalse every container must set it to false.",
             "Set securityContext.allowPrivilegeEscalation: false.",
             kWorkload,
             {kExcludedContainers,
              kExcludedImages,
              {"forcePrivilegeEscalationToBeFalse", "false",
               "require allowPrivilegeEscalation: false (unset fails too)"}}},
            ReadForceFalse, [](const CheckContext& c, const Flag& force, Emitter& e) {
              PrivilegeEscalationCheck(c, e, force.value);
            });
  Add(checks,
      {"BlockEndpointEditDefaultRole",
       "Kubernetes clusters should not allow endpoint edit permissions of "
       "ClusterRole/system:aggregate-to-edit",
       "azure-endpoint-edit-role",
       S::kMedium,
       "The ClusterRole system:aggregate-to-edit grants no write on Endpoints (which lets "
       "editors redirect Services: CVE-2021-25740).",
       "Remove create/update/patch/delete on endpoints from system:aggregate-to-edit.",
       {"ClusterRole"},
       {}},
      EndpointEditRole);
  Add(checks,
      {"ContainerDisallowedSysAdminCapability",
       "Kubernetes clusters should not grant CAP_SYS_ADMIN security capabilities",
       "azure-sys-admin",
       S::kHigh,
       "No container adds SYS_ADMIN (or ALL).",
       "Remove SYS_ADMIN from capabilities.add.",
       kWorkload,
       {kExcludedContainers, kExcludedImages}},
      [](const CheckContext& c, const NoParameters&, Emitter& e) {
        DisallowedCapabilitiesCheck(c, e, {"SYS_ADMIN"});
      });
  Add<StringList>(checks,
                  {"ContainerDisallowedCapabilities",
                   "Kubernetes clusters should not use specific security capabilities",
                   "azure-disallowed-capabilities",
                   S::kHigh,
                   "No container adds one of disallowedCapabilities (or ALL).",
                   "Remove them from capabilities.add.",
                   kWorkload,
                   {{"disallowedCapabilities", "", "capabilities no container may add"},
                    kExcludedContainers,
                    kExcludedImages}},
                  ReadList<kDisallowedCapabilities>, DisallowedCapabilities);
  Add(checks,
      {"BlockDefaultNamespace",
       "Kubernetes clusters should not use the default namespace",
       "azure-default-namespace",
       S::kLow,
       "Pods (and workloads), Services and ServiceAccounts are not in the default namespace.",
       "Deploy into a namespace of its own.",
       {"workload", "Service", "ServiceAccount"},
       {}},
      [](const CheckContext& c, const NoParameters&, Emitter& e) {
        DefaultNamespaceCheck(c, e, false);
      });
  Add(checks,
      {"RequireIngressHost",
       "Kubernetes clusters should specify host in ingress resource rules",
       "azure-ingress-host",
       S::kLow,
       "Every Ingress rule names a host.",
       "Set spec.rules[].host.",
       {"Ingress"},
       {}},
      IngressHost);
  Add(checks,
      {"EnforceCSIDriver",
       "Kubernetes clusters should use Container Storage Interface(CSI) driver StorageClass",
       "azure-csi-storage-class",
       S::kLow,
       "StorageClasses use a CSI driver, not an in-tree kubernetes.io/ provisioner.",
       "Use the CSI driver (disk.csi.azure.com, ebs.csi.aws.com, pd.csi.storage.gke.io, ...).",
       {"StorageClass"},
       {}},
      CsiStorageClass);
  Add(checks,
      {"LoadbalancerNoPublicIPs",
       "Kubernetes clusters should use internal load balancers",
       "azure-internal-load-balancer",
       S::kMedium,
       "LoadBalancer Services are internal (service.beta.kubernetes.io/"
       "azure-load-balancer-internal: \"true\", or another cloud's internal annotation).",
       "Annotate the Service internal, or expose it through an Ingress.",
       {"Service"},
       {}},
      InternalLoadBalancerRule);
  Add<Annotations>(
      checks,
      {"EnforceResourceAnnotation",
       "Kubernetes resources should have required annotations",
       "azure-required-annotations",
       S::kLow,
       "Objects of the kinds in `kind` carry every annotation of `annotations` (matching its "
       "allowedRegex when given).",
       "Add the annotations.",
       {},
       {Required("kind", "kinds the policy looks at, e.g. [Deployment, Service]"),
        {"annotations", "{\"annotations\": []}",
         "{\"annotations\": [{\"key\": \"owner\", \"allowedRegex\": \"^team-\"}]}"}}},
      ReadAnnotations, RequiredAnnotations);
  Add(checks,
      {"MustHaveAntiAffinityRulesSet",
       "Must Have Anti Affinity Rules or Topology Spread Constraints Set",
       "azure-anti-affinity",
       S::kLow,
       "Deployments, StatefulSets, ReplicationControllers and ReplicaSets with more than one "
       "replica set podAntiAffinity or topologySpreadConstraints.",
       "Spread the replicas over nodes.",
       kControllers,
       {},
       kSystemNamespacesShort},
      AntiAffinity);
  Add<StringList>(
      checks,
      {"AllowedSysctlInterfaces",
       "[Preview]: Kubernetes cluster containers should use only allowed sysctl interfaces",
       "azure-allowed-sysctls",
       S::kHigh,
       "Pods set only sysctls matching allowedSysctls (\"*\" all, \"kernel.*\" a prefix).",
       "Remove other sysctls.",
       kWorkload,
       {Required("allowedSysctls", "sysctls allowed; * for all, kernel.* for a prefix")}},
      ReadList<kAllowedSysctls>, AllowedSysctls);
  Add(checks,
      {"DisallowedBadPodDisruptionBudgets",
       "[Preview]: Kubernetes cluster should implement accurate Pod Disruption Budgets",
       "azure-pod-disruption-budget",
       S::kLow,
       "PodDisruptionBudgets allow evictions: no maxUnavailable 0, no minAvailable 100% or at "
       "least the replicas of a workload they select (workloads of the same input).",
       "Set maxUnavailable to 1 or more, or minAvailable below the replicas.",
       {"PodDisruptionBudget"},
       {},
       kSystemNamespacesShort},
      DisruptionBudget);
  Add<BlockedKinds>(
      checks,
      {"BlockResource",
       "[Preview]: Kubernetes clusters should restrict creation of given resource type",
       "azure-blocked-kinds",
       S::kMedium,
       "No object of the kinds in `kind` (and apiGroups).",
       "Do not create these kinds.",
       {},
       {Required("kind", "kinds refused, e.g. [LimitRange]"),
        {"apiGroups", "[\"\"]", "API groups of those kinds ([\"\"] = core, * = any)"}}},
      ReadBlockedKinds, BlockedKind);
}

}  // namespace moat::k8s::internal
