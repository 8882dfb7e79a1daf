// Workload best practices: the seed system's container recommendations (ASC 2020, MDC 2024) and
// the Azure Policy for Kubernetes built-ins they are enforced with, as checks with parameters.

#include <re2/re2.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "core/text.h"
#include "k8s/check_util.h"

namespace moat::k8s::internal {
namespace {

std::string Upper(std::string_view s) {
  std::string out;
  for (char c : s) out += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

/// CAP_NET_RAW and net_raw both mean NET_RAW.
std::string CapabilityName(std::string_view s) {
  std::string u = Upper(s);
  if (u.rfind("CAP_", 0) == 0) u.erase(0, 4);
  return u;
}

/// Parses a Kubernetes quantity ("500m", "2", "1.5Gi", "128M", "1e3") into a number.
std::optional<double> ParseQuantity(std::string_view text) {
  if (text.empty()) return std::nullopt;
  size_t i = 0;
  while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.' ||
                             text[i] == '+' || text[i] == '-'))
    ++i;
  std::string number(text.substr(0, i));
  std::string_view suffix = text.substr(i);
  if (!suffix.empty() && (suffix[0] == 'e' || suffix[0] == 'E') && suffix.size() > 1) {
    number += std::string(suffix);
    suffix = {};
  }
  if (number.empty()) return std::nullopt;
  char* end = nullptr;
  double value = std::strtod(number.c_str(), &end);
  if (end == nullptr || *end != '\0' || !std::isfinite(value)) return std::nullopt;
  static const std::pair<std::string_view, double> kSuffixes[] = {{"", 1},
                                                                  {"m", 1e-3},
                                                                  {"k", 1e3},
                                                                  {"M", 1e6},
                                                                  {"G", 1e9},
                                                                  {"T", 1e12},
                                                                  {"P", 1e15},
                                                                  {"E", 1e18},
                                                                  {"Ki", 1024.},
                                                                  {"Mi", 1048576.},
                                                                  {"Gi", 1073741824.},
                                                                  {"Ti", 1099511627776.},
                                                                  {"Pi", 1125899906842624.},
                                                                  {"Ei", 1152921504606846976.},
                                                                  {"n", 1e-9},
                                                                  {"u", 1e-6}};
  for (const auto& [s, factor] : kSuffixes) {
    if (s == suffix) return value * factor;
  }
  return std::nullopt;
}

ImageRef ParseImage(std::string_view image) {
  ImageRef ref;
  size_t at = image.find('@');
  if (at != std::string_view::npos) {
    ref.digest = true;
    image = image.substr(0, at);
  }
  size_t slash = image.find('/');
  if (slash != std::string_view::npos) {
    std::string_view first = image.substr(0, slash);
    if (first.find('.') != std::string_view::npos || first.find(':') != std::string_view::npos ||
        first == "localhost")
      ref.registry = std::string(first);
  }
  if (ref.registry.empty()) ref.registry = "docker.io";
  size_t last_slash = image.rfind('/');
  size_t colon = image.rfind(':');
  if (colon != std::string_view::npos &&
      (last_slash == std::string_view::npos || colon > last_slash))
    ref.tag = std::string(image.substr(colon + 1));
  return ref;
}

/// Compiled user patterns, cached (RE2: linear time whatever the pattern).
const RE2* CompiledPattern(const std::string& pattern) {
  static std::mutex mutex;
  static std::unordered_map<std::string, std::unique_ptr<RE2>> cache;
  std::lock_guard<std::mutex> lock(mutex);
  auto& slot = cache[pattern];
  if (!slot) {
    RE2::Options options;
    options.set_log_errors(false);
    slot = std::make_unique<RE2>(pattern, options);
  }
  return slot->ok() ? slot.get() : nullptr;
}

namespace {

CheckInfo Info(std::string id, std::string title, Severity severity, std::string description,
               std::string remediation, std::vector<std::string> references,
               std::vector<Parameter> parameters = {}) {
  return MakeInfo(std::move(id), "workload", std::move(title), severity, std::move(description),
                  std::move(remediation), std::move(references), {"workload"},
                  std::move(parameters));
}

/// Off unless selected by id (or the pattern "optional").
CheckInfo Optional(CheckInfo info) {
  info.optional = true;
  return info;
}

constexpr unsigned kRunnable = kRegular | kInit;

}  // namespace

void LimitCheck(const CheckContext& c, Emitter& e, std::string_view resource,
                const std::string& max_text) {
  const std::optional<double> max = ParseQuantity(max_text);
  ForEachContainer(
      *c.pod,
      [&](const Value& container, const std::string& path) {
        const Value* resources = container.Field("resources");
        const Value* limits = resources != nullptr ? resources->Field("limits") : nullptr;
        const Value* limit = limits != nullptr ? limits->Field(resource) : nullptr;
        const std::string field = path + ".resources.limits." + std::string(resource);
        if (limit == nullptr) {
          e.Fail(nullptr, field,
                 DescribeContainer(container) + " has no " + std::string(resource) + " limit",
                 resources != nullptr ? resources : &container);
          return;
        }
        const std::optional<double> value = ParseQuantity(limit->Str());
        if (!value) {
          e.Fail(limit, field,
                 DescribeContainer(container) + " has an invalid " + std::string(resource) +
                     " limit \"" + limit->text + "\"");
        } else if (max && *value > *max + 1e-12) {
          e.Fail(limit, field,
                 DescribeContainer(container) + " " + std::string(resource) + " limit " +
                     limit->text + " exceeds the maximum " + max_text);
        }
      },
      kRunnable);
}

void ImageTagCheck(const CheckContext& c, Emitter& e) {
  ForEachContainer(*c.pod, [&](const Value& container, const std::string& path) {
    const Value* image = container.Get("image");
    if (image == nullptr || !image->IsString()) return;
    const ImageRef ref = ParseImage(image->text);
    if (ref.digest) return;
    if (ref.tag.empty())
      e.Fail(image, path + ".image",
             DescribeContainer(container) + " image \"" + image->text + "\" has no tag");
    else if (ref.tag == "latest")
      e.Fail(image, path + ".image",
             DescribeContainer(container) + " image \"" + image->text + "\" uses :latest");
  });
}

void ImagePatternCheck(const CheckContext& c, Emitter& e, const std::string& pattern,
                       std::string_view parameter) {
  if (pattern.empty()) return;  // not configured
  const RE2* re = CompiledPattern(pattern);
  ForEachContainer(*c.pod, [&](const Value& container, const std::string& path) {
    const Value* image = container.Get("image");
    if (image == nullptr) return;
    if (re == nullptr) {
      e.Fail(image, path + ".image", std::string(parameter) + " is not a valid regular expression");
      return;
    }
    if (!RE2::PartialMatch(image->text, *re))
      e.Fail(image, path + ".image",
             DescribeContainer(container) + " image \"" + image->text +
                 "\" is not from an allowed registry (" + pattern + ")");
  });
}

// Ephemeral containers too: a debug container with a writable root is where tools get dropped.
void ReadOnlyRootFsCheck(const CheckContext& c, Emitter& e) {
  ForEachContainer(*c.pod, [&](const Value& container, const std::string& path) {
    const Value* sc = SecurityContextOf(container);
    const Value* ro = sc != nullptr ? sc->Get("readOnlyRootFilesystem") : nullptr;
    if (ro == nullptr || !ro->IsTrue())
      e.Fail(ro, path + ".securityContext.readOnlyRootFilesystem",
             DescribeContainer(container) + " root filesystem is writable", &container);
  });
}

/// The scheduler places pods by their requests; a container without one is scheduled as if it
/// needed nothing. The API server copies a limit into a missing request, so a limit counts.
void RequestCheck(const CheckContext& c, Emitter& e, std::string_view resource) {
  ForEachContainer(
      *c.pod,
      [&](const Value& container, const std::string& path) {
        const Value* resources = container.Field("resources");
        for (std::string_view kind : {"requests", "limits"}) {
          const Value* values = resources != nullptr ? resources->Field(kind) : nullptr;
          if (values != nullptr && values->Field(resource) != nullptr) return;
        }
        e.Fail(nullptr, path + ".resources.requests." + std::string(resource),
               DescribeContainer(container) + " has no " + std::string(resource) + " request",
               resources != nullptr ? resources : &container);
      },
      kRunnable);
}

namespace {

/// The container's value of a securityContext field, else the pod's.
const Value* Effective(const Value* pod_sc, const Value& container, std::string_view field) {
  const Value* sc = SecurityContextOf(container);
  const Value* v = sc != nullptr ? sc->Field(field) : nullptr;
  if (v == nullptr && pod_sc != nullptr) v = pod_sc->Field(field);
  return v;
}

void HighIds(const CheckContext& c, Emitter& e) {
  const std::string min_text = c.params.String("minimumId");
  const int64_t minimum = std::atoll(min_text.c_str());
  const Value* pod_sc = SecurityContextOf(*c.pod->spec);
  ForEachContainer(*c.pod, [&](const Value& container, const std::string& path) {
    for (std::string_view field : {"runAsUser", "runAsGroup"}) {
      const Value* v = Effective(pod_sc, container, field);
      const std::string what = field == "runAsUser" ? "UID" : "GID";
      if (v == nullptr) {
        e.Fail(nullptr, path + ".securityContext." + std::string(field),
               DescribeContainer(container) + " sets no " + std::string(field) + ": the image's " +
                   what + " applies (often 0)",
               &container);
      } else if (v->Int().value_or(0) < minimum) {
        e.Fail(v, path + ".securityContext." + std::string(field),
               DescribeContainer(container) + " runs with " + what + " " + v->text + ", below " +
                   min_text + " (it may collide with a host user)");
      }
    }
  });
}

void RootGroup(const CheckContext& c, Emitter& e) {
  const Value* pod_sc = SecurityContextOf(*c.pod->spec);
  const std::string pod_path = c.pod->spec_path + ".securityContext";
  if (pod_sc != nullptr) {
    for (std::string_view field : {"runAsGroup", "fsGroup"}) {
      const Value* v = pod_sc->Field(field);
      if (v != nullptr && v->Int() == 0)
        e.Fail(v, pod_path + "." + std::string(field), "pod sets " + std::string(field) + "=0");
    }
    if (const Value* groups = pod_sc->Get("supplementalGroups")) {
      size_t i = 0;
      for (const Value& g : groups->Items()) {
        if (g.Int() == 0)
          e.Fail(&g, pod_path + ".supplementalGroups[" + std::to_string(i) + "]",
                 "pod adds the root group (0) to supplementalGroups");
        ++i;
      }
    }
  }
  ForEachContainer(*c.pod, [&](const Value& container, const std::string& path) {
    const Value* sc = SecurityContextOf(container);
    const Value* v = sc != nullptr ? sc->Field("runAsGroup") : nullptr;
    if (v != nullptr && v->Int() == 0)
      e.Fail(v, path + ".securityContext.runAsGroup",
             DescribeContainer(container) + " sets runAsGroup=0");
  });
}

/// Whether a seccompProfile or appArmorProfile confines (any type but Unconfined).
bool Confines(const Value* profile) {
  if (profile == nullptr) return false;
  const Value* type = profile->Get("type");
  return type != nullptr && !type->Str().empty() && type->Str() != "Unconfined";
}

void NoHardening(const CheckContext& c, Emitter& e) {
  const Value* pod_sc = SecurityContextOf(*c.pod->spec);
  const Value* annotations =
      c.pod->metadata != nullptr ? c.pod->metadata->Field("annotations") : nullptr;
  const bool pod_hardened = pod_sc != nullptr && (Confines(pod_sc->Field("seccompProfile")) ||
                                                  Confines(pod_sc->Field("appArmorProfile")) ||
                                                  pod_sc->Field("seLinuxOptions") != nullptr);
  if (pod_hardened) return;
  ForEachContainer(
      *c.pod,
      [&](const Value& container, const std::string& path) {
        const Value* sc = SecurityContextOf(container);
        if (sc != nullptr) {
          if (Confines(sc->Field("seccompProfile")) || Confines(sc->Field("appArmorProfile")) ||
              sc->Field("seLinuxOptions") != nullptr)
            return;
          const Value* drop = sc->Path({"capabilities", "drop"});
          if (drop != nullptr && !drop->Items().empty()) return;
        }
        if (annotations != nullptr) {
          const Value* a = annotations->Get("container.apparmor.security.beta.kubernetes.io/" +
                                            NameOf(container));
          if (a != nullptr && !a->Str().empty() && a->Str() != "unconfined") return;
        }
        e.Fail(sc, path + ".securityContext",
               DescribeContainer(container) +
                   " has no seccomp, AppArmor or SELinux profile and drops no capabilities",
               &container);
      },
      kRunnable);
}

void ImageDigest(const CheckContext& c, Emitter& e) {
  ForEachContainer(*c.pod, [&](const Value& container, const std::string& path) {
    const Value* image = container.Get("image");
    if (image == nullptr || !image->IsString() || ParseImage(image->text).digest) return;
    e.Fail(image, path + ".image",
           DescribeContainer(container) + " image \"" + image->text +
               "\" is not pinned by digest (@sha256:...)");
  });
}

/// Workloads in kube-system share it with the control plane's service accounts and secrets. From
/// a live cluster the system's own components (those carrying one of `systemComponentLabels`, or
/// static pods mirrored by the kubelet) are not findings; in manifests every workload is someone's
/// choice to deploy there.
void KubeSystemWorkload(const CheckContext& c, Emitter& e) {
  if (c.object.EffectiveNamespace() != "kube-system") return;
  if (c.object.live) {
    const std::vector<std::string> system_labels = c.params.List("systemComponentLabels");
    for (const Value* metadata : {c.object.root.Field("metadata"), c.pod->metadata}) {
      if (const Value* labels = LabelsOf(metadata)) {
        for (const std::string& label : system_labels) {
          if (labels->Get(label) != nullptr) return;
        }
      }
      const Value* annotations = metadata != nullptr ? metadata->Field("annotations") : nullptr;
      if (annotations != nullptr && annotations->Get("kubernetes.io/config.mirror") != nullptr)
        return;
    }
  }
  e.Fail(c.object.root.Path({"metadata", "namespace"}), "metadata.namespace",
         "workload runs in kube-system", &c.object.root);
}

}  // namespace

void AutomountTokenCheck(const CheckContext& c, Emitter& e) {
  const Value* automount = c.pod->spec->Get("automountServiceAccountToken");
  if (automount != nullptr && automount->Bool() == false) return;
  if (automount == nullptr || automount->IsNull()) {
    // Unset on the pod: the service account decides.
    const Value* sa = c.pod->spec->Field("serviceAccountName");
    std::string sa_name = sa != nullptr ? std::string(sa->Str()) : "default";
    if (const Object* account =
            c.inventory.Find("ServiceAccount", c.object.EffectiveNamespace(), sa_name)) {
      const Value* v = account->root.Get("automountServiceAccountToken");
      if (v != nullptr && v->Bool() == false) return;
    }
  }
  e.Fail(automount, c.pod->spec_path + ".automountServiceAccountToken",
         "the service account token is mounted into the pod", c.pod->spec);
}

namespace {

std::string AppArmorOf(const Value* sc) {
  const Value* profile = sc != nullptr ? sc->Field("appArmorProfile") : nullptr;
  if (profile == nullptr) return "";
  const Value* type = profile->Get("type");
  std::string_view t = type != nullptr ? type->Str() : std::string_view();
  if (t == "RuntimeDefault") return "runtime/default";
  if (t == "Unconfined") return "unconfined";
  if (t == "Localhost") {
    const Value* local = profile->Get("localhostProfile");
    return "localhost/" + std::string(local != nullptr ? local->Str() : "");
  }
  return std::string(t);
}

bool MatchesAny(const std::vector<std::string>& patterns, std::string_view value) {
  for (const std::string& p : patterns) {
    if (GlobMatch(p, value)) return true;
  }
  return false;
}

}  // namespace

void AppArmorProfilesCheck(const CheckContext& c, Emitter& e) {
  const std::vector<std::string> allowed = c.params.List("allowedProfiles");
  const std::string pod_profile = AppArmorOf(SecurityContextOf(*c.pod->spec));
  const Value* annotations =
      c.pod->metadata != nullptr ? c.pod->metadata->Field("annotations") : nullptr;
  ForEachContainer(
      *c.pod,
      [&](const Value& container, const std::string& path) {
        std::string profile = AppArmorOf(SecurityContextOf(container));
        if (profile.empty() && annotations != nullptr) {
          const Value* a = annotations->Get("container.apparmor.security.beta.kubernetes.io/" +
                                            NameOf(container));
          if (a != nullptr) profile = std::string(a->Str());
        }
        if (profile.empty()) profile = pod_profile;
        if (profile.empty()) {
          e.Fail(nullptr, path + ".securityContext.appArmorProfile",
                 DescribeContainer(container) + " has no AppArmor profile", &container);
        } else if (!MatchesAny(allowed, profile)) {
          e.Fail(
              nullptr, path + ".securityContext.appArmorProfile",
              DescribeContainer(container) + " AppArmor profile \"" + profile + "\" is not allowed",
              &container);
        }
      },
      kRunnable);
}

namespace {

std::string SeccompOf(const Value* sc) {
  const Value* profile = sc != nullptr ? sc->Field("seccompProfile") : nullptr;
  if (profile == nullptr) return "";
  const Value* type = profile->Get("type");
  std::string t(type != nullptr ? type->Str() : "");
  if (t == "Localhost") {
    const Value* local = profile->Get("localhostProfile");
    return "Localhost/" + std::string(local != nullptr ? local->Str() : "");
  }
  return t.empty() ? std::string("<empty>") : t;
}

}  // namespace

void SeccompProfilesCheck(const CheckContext& c, Emitter& e) {
  std::vector<std::string> allowed = c.params.List("allowedProfiles");
  // The annotation-era names (Gatekeeper's and Azure's policies take both forms).
  for (std::string& a : allowed) {
    if (a == "Localhost") {
      a = "Localhost/*";
    } else if (a == "runtime/default" || a == "docker/default") {
      a = "RuntimeDefault";
    } else if (a == "unconfined") {
      a = "Unconfined";
    } else if (a.rfind("localhost/", 0) == 0) {
      a = "Localhost/" + a.substr(10);
    }
  }
  const std::string pod_profile = SeccompOf(SecurityContextOf(*c.pod->spec));
  ForEachContainer(
      *c.pod,
      [&](const Value& container, const std::string& path) {
        std::string profile = SeccompOf(SecurityContextOf(container));
        if (profile.empty()) profile = pod_profile;
        if (profile.empty()) {
          e.Fail(nullptr, path + ".securityContext.seccompProfile",
                 DescribeContainer(container) + " has no seccomp profile", &container);
        } else if (!MatchesAny(allowed, profile)) {
          e.Fail(
              nullptr, path + ".securityContext.seccompProfile",
              DescribeContainer(container) + " seccomp profile \"" + profile + "\" is not allowed",
              &container);
        }
      },
      kRunnable);
}

namespace {

bool PortAllowed(int64_t port, const std::vector<std::string>& allowed) {
  for (const std::string& entry : allowed) {
    size_t dash = entry.find('-');
    const long lo = std::atol(entry.substr(0, dash).c_str());
    const long hi = dash == std::string::npos ? lo : std::atol(entry.substr(dash + 1).c_str());
    if (port >= lo && port <= hi) return true;
  }
  return false;
}

}  // namespace

void HostPortsCheck(const CheckContext& c, Emitter& e) {
  const Value* host_network = c.pod->spec->Get("hostNetwork");
  if (host_network != nullptr && host_network->IsTrue() && !c.params.Bool("allowHostNetwork"))
    e.Fail(host_network, c.pod->spec_path + ".hostNetwork", "the pod uses the host network");
  const std::vector<std::string> allowed = c.params.List("allowedHostPorts");
  ForEachContainer(*c.pod, [&](const Value& container, const std::string& path) {
    const Value* ports = container.Get("ports");
    if (ports == nullptr) return;
    size_t i = 0;
    for (const Value& port : ports->Items()) {
      const Value* hp = port.Field("hostPort");
      const std::optional<int64_t> n = hp != nullptr ? hp->Int() : std::nullopt;
      if (hp != nullptr && n != 0 && !(n && PortAllowed(*n, allowed)))
        e.Fail(hp, path + ".ports[" + std::to_string(i) + "].hostPort",
               DescribeContainer(container) + " uses host port " + hp->text +
                   ", which is not in the allowed list");
      ++i;
    }
  });
}

void AllowedCapabilitiesCheck(const CheckContext& c, Emitter& e) {
  std::vector<std::string> allowed;
  for (const std::string& a : c.params.List("allowedCapabilities")) {
    if (a == "*") return;  // any capability may be added
    allowed.push_back(CapabilityName(a));
  }
  ForEachContainer(*c.pod, [&](const Value& container, const std::string& path) {
    const Value* sc = SecurityContextOf(container);
    const Value* add = sc != nullptr ? sc->Path({"capabilities", "add"}) : nullptr;
    if (add == nullptr) return;
    size_t i = 0;
    for (const Value& cap : add->Items()) {
      if (std::find(allowed.begin(), allowed.end(), CapabilityName(cap.Str())) == allowed.end())
        e.Fail(&cap, path + ".securityContext.capabilities.add[" + std::to_string(i) + "]",
               DescribeContainer(container) + " adds capability " + cap.text +
                   ", which is not in the allowed list");
      ++i;
    }
  });
}

void DisallowedCapabilitiesCheck(const CheckContext& c, Emitter& e,
                                 const std::vector<std::string>& disallowed) {
  ForEachContainer(*c.pod, [&](const Value& container, const std::string& path) {
    const Value* sc = SecurityContextOf(container);
    const Value* add = sc != nullptr ? sc->Path({"capabilities", "add"}) : nullptr;
    if (add == nullptr) return;
    size_t i = 0;
    for (const Value& cap : add->Items()) {
      const std::string name = CapabilityName(cap.Str());
      const bool listed = std::any_of(disallowed.begin(), disallowed.end(),
                                      [&](const auto& d) { return CapabilityName(d) == name; });
      if (listed || (name == "ALL" && !disallowed.empty()))
        e.Fail(&cap, path + ".securityContext.capabilities.add[" + std::to_string(i) + "]",
               DescribeContainer(container) + " adds " + cap.text);
      ++i;
    }
  });
}

namespace {

void DropNetRaw(const CheckContext& c, Emitter& e) {
  ForEachContainer(
      *c.pod,
      [&](const Value& container, const std::string& path) {
        const Value* sc = SecurityContextOf(container);
        const Value* drop = sc != nullptr ? sc->Path({"capabilities", "drop"}) : nullptr;
        bool dropped = false;
        if (drop != nullptr) {
          for (const Value& cap : drop->Items()) {
            const std::string name = CapabilityName(cap.Str());
            dropped |= name == "NET_RAW" || name == "ALL";
          }
        }
        if (!dropped)
          e.Fail(drop, path + ".securityContext.capabilities.drop",
                 DescribeContainer(container) + " does not drop NET_RAW", &container);
      },
      kRunnable);
}

}  // namespace

void PrivilegeEscalationCheck(const CheckContext& c, Emitter& e, bool require_explicit_false) {
  ForEachContainer(*c.pod, [&](const Value& container, const std::string& path) {
    const Value* sc = SecurityContextOf(container);
    const Value* ape = sc != nullptr ? sc->Get("allowPrivilegeEscalation") : nullptr;
    const Value* privileged = sc != nullptr ? sc->Get("privileged") : nullptr;
    const bool allowed = require_explicit_false ? ape == nullptr || ape->Bool() != false
                                                : ape != nullptr && ape->IsTrue();
    if (allowed || (privileged && privileged->IsTrue()))
      e.Fail(ape, path + ".securityContext.allowPrivilegeEscalation",
             DescribeContainer(container) + " allows privilege escalation", &container);
  });
}

void PrivilegedCheck(const CheckContext& c, Emitter& e) {
  ForEachContainer(*c.pod, [&](const Value& container, const std::string& path) {
    const Value* sc = SecurityContextOf(container);
    const Value* v = sc != nullptr ? sc->Get("privileged") : nullptr;
    if (v != nullptr && v->IsTrue())
      e.Fail(v, path + ".securityContext.privileged",
             DescribeContainer(container) + " is privileged");
  });
}

void NonRootCheck(const CheckContext& c, Emitter& e) {
  const Value* pod_sc = SecurityContextOf(*c.pod->spec);
  const Value* pod_non_root = pod_sc != nullptr ? pod_sc->Field("runAsNonRoot") : nullptr;
  const Value* pod_user = pod_sc != nullptr ? pod_sc->Field("runAsUser") : nullptr;
  ForEachContainer(*c.pod, [&](const Value& container, const std::string& path) {
    const Value* sc = SecurityContextOf(container);
    const Value* non_root = sc != nullptr ? sc->Field("runAsNonRoot") : nullptr;
    const Value* user = sc != nullptr ? sc->Field("runAsUser") : nullptr;
    if (non_root == nullptr) non_root = pod_non_root;
    if (user == nullptr) user = pod_user;
    if (user != nullptr && user->Int() == 0) {
      e.Fail(user, path + ".securityContext.runAsUser",
             DescribeContainer(container) + " runs as UID 0");
    } else if (!(non_root != nullptr && non_root->IsTrue()) &&
               !(user != nullptr && user->Int().value_or(0) > 0)) {
      e.Fail(non_root, path + ".securityContext.runAsNonRoot",
             DescribeContainer(container) + " may run as root", &container);
    }
  });
}

void HostNamespacesCheck(const CheckContext& c, Emitter& e) {
  for (std::string_view field : {"hostPID", "hostIPC"}) {
    const Value* v = c.pod->spec->Get(field);
    if (v != nullptr && v->IsTrue())
      e.Fail(v, Join(c.pod->spec_path, field), std::string(field) + "=true");
  }
}

namespace {

void Probe(const CheckContext& c, Emitter& e, std::string_view probe) {
  if (c.object.kind == "Job" || c.object.kind == "CronJob") return;  // run to completion
  ForEachContainer(
      *c.pod,
      [&](const Value& container, const std::string& path) {
        if (container.Field(probe) == nullptr)
          e.Fail(nullptr, Join(path, probe),
                 DescribeContainer(container) + " has no " + std::string(probe), &container);
      },
      kRegular);
}

}  // namespace

void DefaultNamespaceCheck(const CheckContext& c, Emitter& e, bool treat_missing_as_default) {
  const bool missing = c.object.namespace_name.empty();
  if (c.object.namespace_name == "default" || (missing && treat_missing_as_default))
    e.Fail(c.object.root.Path({"metadata", "namespace"}), "metadata.namespace",
           missing ? "no namespace: the " + c.object.kind + " would go to \"default\""
                   : "the " + c.object.kind + " is in the default namespace",
           &c.object.root);
}

namespace {

void SecretsInEnv(const CheckContext& c, Emitter& e) {
  ForEachContainer(*c.pod, [&](const Value& container, const std::string& path) {
    if (const Value* env = container.Get("env")) {
      size_t i = 0;
      for (const Value& var : env->Items()) {
        const Value* ref = var.Path({"valueFrom", "secretKeyRef"});
        if (ref != nullptr) {
          const Value* name = var.Get("name");
          e.Fail(ref, path + ".env[" + std::to_string(i) + "].valueFrom.secretKeyRef",
                 DescribeContainer(container) + " passes a secret in environment variable " +
                     std::string(name != nullptr ? name->Str() : ""));
        }
        ++i;
      }
    }
    if (const Value* env_from = container.Get("envFrom")) {
      size_t i = 0;
      for (const Value& source : env_from->Items()) {
        if (const Value* ref = source.Field("secretRef"))
          e.Fail(ref, path + ".envFrom[" + std::to_string(i) + "].secretRef",
                 DescribeContainer(container) + " loads a whole secret into its environment");
        ++i;
      }
    }
  });
}

}  // namespace

void VolumeTypesCheck(const CheckContext& c, Emitter& e) {
  const std::vector<std::string> allowed = c.params.List("allowedVolumeTypes");
  const Value* volumes = c.pod->spec->Get("volumes");
  if (volumes == nullptr) return;
  size_t i = 0;
  for (const Value& volume : volumes->Items()) {
    for (const Value& field : volume.Entries()) {
      if (field.key == "name" || field.IsNull()) continue;
      if (std::find(allowed.begin(), allowed.end(), field.key) == allowed.end() &&
          std::find(allowed.begin(), allowed.end(), "*") == allowed.end())
        e.Fail(&field, c.pod->spec_path + ".volumes[" + std::to_string(i) + "]." + field.key,
               "volume \"" + NameOf(volume) + "\" has type " + field.key +
                   ", which is not in the allowed list");
    }
    ++i;
  }
}

void HostPathsCheck(const CheckContext& c, Emitter& e,
                    const std::vector<AllowedHostPath>& allowed) {
  const Value* volumes = c.pod->spec->Get("volumes");
  if (volumes == nullptr) return;
  size_t i = 0;
  for (const Value& volume : volumes->Items()) {
    const Value* hp = volume.Field("hostPath");
    const Value* path = hp != nullptr ? hp->Get("path") : nullptr;
    if (hp != nullptr) {
      std::string p(path != nullptr ? path->Str() : "");
      while (p.size() > 1 && p.back() == '/') p.pop_back();
      bool ok = false;
      bool needs_read_only = false;
      for (const AllowedHostPath& entry : allowed) {
        std::string prefix = entry.prefix;
        while (prefix.size() > 1 && prefix.back() == '/') prefix.pop_back();
        if (p == prefix || (p.rfind(prefix + "/", 0) == 0) || prefix == "/") {
          // Gatekeeper's rule: some matching entry must allow the mounts as they are.
          if (!entry.read_only) {
            ok = true;
            needs_read_only = false;
            break;
          }
          ok = needs_read_only = true;
        }
      }
      if (!ok) {
        e.Fail(path != nullptr ? path : hp,
               c.pod->spec_path + ".volumes[" + std::to_string(i) + "].hostPath.path",
               "volume \"" + NameOf(volume) + "\" mounts host path \"" + p +
                   "\", which is not in the allowed list");
      } else if (needs_read_only) {
        const std::string volume_name = NameOf(volume);
        ForEachContainer(*c.pod, [&](const Value& container, const std::string& cpath) {
          const Value* mounts = container.Get("volumeMounts");
          size_t m = 0;
          for (const Value& mount : mounts != nullptr ? mounts->Items() : std::vector<Value>{}) {
            const Value* name = mount.Get("name");
            const Value* ro = mount.Get("readOnly");
            if (name != nullptr && name->Str() == volume_name && !(ro != nullptr && ro->IsTrue()))
              e.Fail(&mount, cpath + ".volumeMounts[" + std::to_string(m) + "].readOnly",
                     DescribeContainer(container) + " mounts host path \"" + p +
                         "\" writable; it is allowed read-only");
            ++m;
          }
        });
      }
    }
    ++i;
  }
}

namespace {

/// Fields whose type Kubernetes would reject: reported instead of guessed at.
void InvalidFields(const CheckContext& c, Emitter& e) {
  auto expect = [&](const Value* holder, std::string_view field, Value::Type type,
                    const std::string& base) {
    if (holder == nullptr) return;
    const Value* v = holder->Get(field);
    if (v == nullptr || v->IsNull() || v->type == type) return;
    if (type == Value::Type::kFloat && v->IsInt()) return;
    Value expected;
    expected.type = type;
    e.Fail(v, Join(base, field),
           std::string(field) + " is a " + std::string(v->TypeName()) + " (\"" + v->text +
               "\"), expected a " + std::string(expected.TypeName()));
  };
  using T = Value::Type;
  const Value* spec = c.pod->spec;
  for (std::string_view f :
       {"hostNetwork", "hostPID", "hostIPC", "hostUsers", "automountServiceAccountToken"})
    expect(spec, f, T::kBool, c.pod->spec_path);
  for (std::string_view f : {"containers", "initContainers", "ephemeralContainers", "volumes"})
    expect(spec, f, T::kSequence, c.pod->spec_path);
  expect(spec, "securityContext", T::kMap, c.pod->spec_path);
  const Value* pod_sc = SecurityContextOf(*spec);
  for (std::string_view f : {"runAsNonRoot"})
    expect(pod_sc, f, T::kBool, c.pod->spec_path + ".securityContext");
  for (std::string_view f : {"runAsUser", "runAsGroup", "fsGroup"})
    expect(pod_sc, f, T::kInt, c.pod->spec_path + ".securityContext");
  ForEachContainer(*c.pod, [&](const Value& container, const std::string& path) {
    expect(&container, "securityContext", T::kMap, path);
    expect(&container, "ports", T::kSequence, path);
    expect(&container, "image", T::kString, path);
    const Value* sc = SecurityContextOf(container);
    const std::string sc_path = path + ".securityContext";
    for (std::string_view f :
         {"privileged", "allowPrivilegeEscalation", "runAsNonRoot", "readOnlyRootFilesystem"})
      expect(sc, f, T::kBool, sc_path);
    for (std::string_view f : {"runAsUser", "runAsGroup"}) expect(sc, f, T::kInt, sc_path);
    if (const Value* caps = sc != nullptr ? sc->Field("capabilities") : nullptr) {
      expect(caps, "add", T::kSequence, sc_path + ".capabilities");
      expect(caps, "drop", T::kSequence, sc_path + ".capabilities");
    }
    if (const Value* ports = container.Get("ports")) {
      size_t i = 0;
      for (const Value& port : ports->Items()) {
        expect(&port, "hostPort", T::kInt, path + ".ports[" + std::to_string(i) + "]");
        expect(&port, "containerPort", T::kInt, path + ".ports[" + std::to_string(i) + "]");
        ++i;
      }
    }
  });
}

}  // namespace

void AddWorkloadChecks(std::vector<CheckDef>& checks) {
  const std::string kAsc = "ASC 2020 / MDC 2024 recommendation: ";
  const std::string kAzure = "Azure Policy for Kubernetes: ";
  AddCheck(checks,
           Info("wl-cpu-limits", "CPU limits", Severity::kMedium,
                "Containers without a CPU limit can starve the node and other workloads "
                "(denial of service).",
                "Set resources.limits.cpu in every container, at most maxCpu.",
                {kAsc + "Container CPU and memory limits should be enforced",
                 kAzure + "ContainerResourceLimits.json"},
                {{"maxCpu", "", "largest CPU limit allowed, e.g. \"2\" or \"500m\"; empty = any"}}),
           [](const CheckContext& c, Emitter& e) {
             LimitCheck(c, e, "cpu", c.params.String("maxCpu"));
           });
  AddCheck(checks,
           Info("wl-memory-limits", "Memory limits", Severity::kMedium,
                "Containers without a memory limit can exhaust the node's memory.",
                "Set resources.limits.memory in every container, at most maxMemory.",
                {kAsc + "Container CPU and memory limits should be enforced",
                 kAzure + "ContainerResourceLimits.json"},
                {{"maxMemory", "", "largest memory limit allowed, e.g. \"1Gi\"; empty = any"}}),
           [](const CheckContext& c, Emitter& e) {
             LimitCheck(c, e, "memory", c.params.String("maxMemory"));
           });
  AddCheck(
      checks,
      Info("wl-cpu-requests", "CPU requests", Severity::kMedium,
           "Without a CPU request the scheduler places the container as if it needed no CPU; "
           "nodes get overcommitted and the container is the first to be starved.",
           "Set resources.requests.cpu in every container (a limit alone also sets the request).",
           {"kube-score container-resources", "Polaris cpuRequestsMissing",
            "Trivy KSV015 (CPU requests not specified)"}),
      [](const CheckContext& c, Emitter& e) { RequestCheck(c, e, "cpu"); });
  AddCheck(checks,
           Info("wl-memory-requests", "Memory requests", Severity::kMedium,
                "Without a memory request the scheduler places the container as if it needed no "
                "memory; under pressure it is evicted first.",
                "Set resources.requests.memory in every container (a limit alone also sets the "
                "request).",
                {"kube-score container-resources", "Polaris memoryRequestsMissing",
                 "Trivy KSV016 (Memory requests not specified)"}),
           [](const CheckContext& c, Emitter& e) { RequestCheck(c, e, "memory"); });
  AddCheck(
      checks,
      Info("wl-allowed-registries", "Images from allowed registries only", Severity::kHigh,
           "Images from untrusted registries may carry malware or unpatched vulnerabilities.",
           "Pull images only from registries matched by allowedImages.",
           {kAsc + "Container images should be deployed from trusted registries only",
            kAzure + "ContainerAllowedImages.json"},
           {{"allowedImages", "",
             "RE2 regular expression an image reference must match (unanchored: use ^); empty = "
             "check not configured"}}),
      [](const CheckContext& c, Emitter& e) {
        ImagePatternCheck(c, e, c.params.String("allowedImages"), "allowedImages");
      });
  AddCheck(
      checks,
      Info("wl-image-tag", "Image tag pinned (no :latest, no untagged)", Severity::kMedium,
           "Untagged and :latest images change under the workload; what runs cannot be known or "
           "reproduced.",
           "Use an explicit version tag or, better, a digest (image@sha256:...).",
           {kAzure + "ImagesDoNotUseLatest.json"}),
      ImageTagCheck);
  AddCheck(
      checks,
      Info("wl-readonly-rootfs", "Read-only root filesystem", Severity::kMedium,
           "A writable root filesystem lets an attacker drop tools and persist in the container.",
           "Set securityContext.readOnlyRootFilesystem: true; mount emptyDir volumes where the "
           "application writes.",
           {kAsc + "Immutable (read-only) root filesystem should be enforced for containers",
            kAzure + "ReadOnlyRootFileSystem.json"}),
      ReadOnlyRootFsCheck);
  AddCheck(checks,
           Info("wl-automount-sa-token", "Service account token not automounted", Severity::kMedium,
                "A mounted API token lets a compromised container talk to the API server with the "
                "service account's rights.",
                "Set automountServiceAccountToken: false on the pod (or its ServiceAccount) unless "
                "the workload calls the API.",
                {kAsc + "Kubernetes clusters should disable automounting API credentials",
                 kAzure + "BlockAutomountToken.json"}),
           AutomountTokenCheck);
  AddCheck(checks,
           Info("wl-apparmor", "AppArmor profile set and allowed", Severity::kLow,
                "Containers should run under an AppArmor profile from the allowed list.",
                "Set securityContext.appArmorProfile (RuntimeDefault or Localhost).",
                {kAsc + "Containers should only use allowed AppArmor profiles",
                 kAzure + "EnforceAppArmorProfile.json"},
                {{"allowedProfiles", "runtime/default,localhost/*",
                  "allowed profiles as runtime/default, localhost/NAME (globs allowed)"}}),
           AppArmorProfilesCheck);
  AddCheck(
      checks,
      Info("wl-seccomp", "Seccomp profile set and allowed", Severity::kMedium,
           "Without a seccomp profile a container can use every system call.",
           "Set securityContext.seccompProfile.type: RuntimeDefault (pod or container).",
           {kAzure + "AllowedSeccompProfile.json"},
           {{"allowedProfiles", "RuntimeDefault,Localhost",
             "allowed types: RuntimeDefault, Localhost (any), Localhost/FILE (globs allowed)"}}),
      SeccompProfilesCheck);
  AddCheck(checks,
           Info("wl-host-ports", "Host network and ports restricted", Severity::kHigh,
                "Host networking and host ports expose the pod on the node's interfaces.",
                "Remove hostNetwork and hostPort, or list the ports in allowedHostPorts.",
                {kAsc + "Usage of host networking and ports should be restricted",
                 kAzure + "HostNetworkPorts.json"},
                {{"allowedHostPorts", "", "host ports or ranges allowed, e.g. \"80,8000-8080\""},
                 {"allowHostNetwork", "false", "whether hostNetwork: true is allowed"}}),
           HostPortsCheck);
  AddCheck(
      checks,
      Info("wl-allowed-capabilities", "Only allowed capabilities added", Severity::kHigh,
           "Each added Linux capability widens what a compromised container can do.",
           "Remove capabilities not in allowedCapabilities from securityContext.capabilities.add.",
           {kAsc + "Least privileged Linux capabilities should be enforced for containers",
            kAzure + "ContainerAllowedCapabilities.json"},
           {{"allowedCapabilities", "", "capabilities that may be added, e.g. NET_BIND_SERVICE"}}),
      AllowedCapabilitiesCheck);
  AddCheck(
      checks,
      Info("wl-sys-admin", "CAP_SYS_ADMIN not granted", Severity::kHigh,
           "CAP_SYS_ADMIN is nearly root on the node.",
           "Remove SYS_ADMIN (and ALL) from securityContext.capabilities.add.",
           {kAsc + "Kubernetes clusters should not grant CAPSYSADMIN security capabilities",
            kAzure + "ContainerDisallowedSysAdminCapability.json"}),
      [](const CheckContext& c, Emitter& e) { DisallowedCapabilitiesCheck(c, e, {"SYS_ADMIN"}); });
  AddCheck(checks,
           Info("wl-drop-net-raw", "NET_RAW dropped", Severity::kMedium,
                "NET_RAW allows packet spoofing and sniffing inside the pod network.",
                "Add NET_RAW (or ALL) to securityContext.capabilities.drop.",
                {kAsc + "Least privileged Linux capabilities should be enforced for containers",
                 kAzure + "ContainerDisallowedCapabilities.json"}),
           DropNetRaw);
  AddCheck(checks,
           Info("wl-privilege-escalation", "No privilege escalation", Severity::kHigh,
                "Containers that allow privilege escalation can gain root through setuid binaries.",
                "Set securityContext.allowPrivilegeEscalation: false.",
                {kAsc + "Container with privilege escalation should be avoided",
                 kAzure + "ContainerNoPrivilegeEscalation.json"}),
           [](const CheckContext& c, Emitter& e) { PrivilegeEscalationCheck(c, e, true); });
  AddCheck(checks,
           Info("wl-privileged", "No privileged containers", Severity::kCritical,
                "Privileged containers have all the node's devices and capabilities.",
                "Remove securityContext.privileged.",
                {kAsc + "Privileged containers should be avoided",
                 kAzure + "ContainerNoPrivilege.json"}),
           PrivilegedCheck);
  AddCheck(checks,
           Info("wl-run-as-non-root", "Containers do not run as root", Severity::kMedium,
                "Root in a container is one kernel bug away from root on the node.",
                "Set runAsNonRoot: true and a non-zero runAsUser.",
                {kAsc + "Running containers as root user should be avoided",
                 kAzure + "AllowedUsersGroups.json"}),
           NonRootCheck);
  AddCheck(checks,
           Info("wl-host-namespaces", "No host PID or IPC namespace", Severity::kHigh,
                "Sharing the host's PID or IPC namespace exposes every process on the node.",
                "Remove hostPID and hostIPC.",
                {kAsc + "Containers sharing sensitive host namespaces should be avoided",
                 kAzure + "BlockHostNamespace.json"}),
           HostNamespacesCheck);
  AddCheck(checks,
           Info("wl-liveness-probe", "Liveness probe", Severity::kLow,
                "Without a liveness probe a hung container is never restarted.",
                "Add a livenessProbe to every container (not needed for Jobs).",
                {kAzure + "ContainerEnforceProbes.json"}),
           [](const CheckContext& c, Emitter& e) { Probe(c, e, "livenessProbe"); });
  AddCheck(checks,
           Info("wl-readiness-probe", "Readiness probe", Severity::kLow,
                "Without a readiness probe traffic reaches containers that are not ready.",
                "Add a readinessProbe to every container (not needed for Jobs).",
                {kAzure + "ContainerEnforceProbes.json"}),
           [](const CheckContext& c, Emitter& e) { Probe(c, e, "readinessProbe"); });
  AddCheck(
      checks,
      Info("wl-default-namespace", "Not in the default namespace", Severity::kLow,
           "The default namespace mixes unrelated workloads and is where RBAC and network policy "
           "are usually weakest.",
           "Deploy workloads into their own namespaces.",
           {kAsc + "Kubernetes clusters should not use the default namespace",
            kAzure + "BlockDefaultNamespace.json"},
           {{"treatMissingAsDefault", "false",
             "also fail objects without metadata.namespace (they land in the namespace of the "
             "kubectl context)"}}),
      [](const CheckContext& c, Emitter& e) {
        DefaultNamespaceCheck(c, e, c.params.Bool("treatMissingAsDefault"));
      });
  AddCheck(checks,
           Info("wl-secrets-in-env", "Secrets not in environment variables", Severity::kMedium,
                "Environment variables leak into logs, crash dumps and child processes.",
                "Mount secrets as files (secret volumes) instead of env/envFrom.",
                {"CIS Kubernetes Benchmark 5.4.1"}),
           SecretsInEnv);
  AddCheck(
      checks,
      Info("wl-volume-types", "Allowed volume types", Severity::kMedium,
           "Some volume types reach outside the pod (host, network storage, git).",
           "Use only volume types in allowedVolumeTypes.", {kAzure + "AllowedVolumeTypes.json"},
           {{"allowedVolumeTypes",
             "configMap,csi,downwardAPI,emptyDir,ephemeral,persistentVolumeClaim,projected,secret",
             "volume types allowed (\"*\" = all)"}}),
      VolumeTypesCheck);
  AddCheck(
      checks,
      Info("wl-host-paths", "Allowed host paths", Severity::kHigh,
           "hostPath volumes give the container files of the node.",
           "Remove hostPath volumes or list the path prefixes in allowedHostPaths.",
           {kAsc + "Usage of pod HostPath volume mounts should be restricted to a known list to "
                   "restrict node access from compromised containers",
            kAzure + "AllowedHostPaths.json"},
           {{"allowedHostPaths", "", "host path prefixes allowed, e.g. /var/log"}}),
      [](const CheckContext& c, Emitter& e) {
        std::vector<AllowedHostPath> allowed;
        for (std::string& prefix : c.params.List("allowedHostPaths"))
          allowed.push_back({std::move(prefix), false});
        HostPathsCheck(c, e, allowed);
      });
  AddCheck(
      checks,
      Info("wl-root-group", "No root primary or supplementary group", Severity::kLow,
           "Group 0 owns many files on the node and in images; a container in the root group can "
           "read and write them.",
           "Remove runAsGroup: 0, fsGroup: 0 and 0 in supplementalGroups; use a non-zero GID.",
           {"Trivy KSV029 (A root primary or supplementary GID set)",
            "kubescape C-0013 (Non-root containers)"}),
      RootGroup);
  AddCheck(
      checks,
      Info("wl-no-hardening", "Some Linux hardening", Severity::kMedium,
           "A container with no seccomp profile, no AppArmor profile, no SELinux options and no "
           "dropped capabilities runs with every default the runtime allows.",
           "Set seccompProfile.type: RuntimeDefault (pod or container), or an AppArmor or SELinux "
           "profile, and drop capabilities (drop: [ALL]).",
           {"kubescape C-0055 (Linux hardening)"}),
      NoHardening);
  AddCheck(
      checks,
      SeesExcludedNamespaces(Info(
          "wl-kube-system", "No user workloads in kube-system", Severity::kMedium,
          "kube-system holds the control plane's service accounts and secrets; a workload there "
          "can reach them, and policies often exempt the namespace. The check looks at "
          "kube-system even when --exclude-namespaces leaves it out of the other checks.",
          "Deploy the workload into its own namespace.",
          {"Trivy KSV037 (User pods should not be placed in kube-system namespace)"},
          {{"systemComponentLabels", "k8s-app,component,tier,addonmanager.kubernetes.io/mode",
            "labels that mark the system's own components in a live cluster"}})),
      KubeSystemWorkload);
  AddCheck(checks,
           Optional(Info(
               "wl-high-uid-gid", "UID and GID above 10000 (optional)", Severity::kLow,
               "Optional policy. Low UIDs and GIDs exist on the node too; a container "
               "escaping as one of them gets that host user's files.",
               "Set runAsUser and runAsGroup to at least minimumId (pod or container).",
               {"Trivy KSV020 (Runs with UID <= 10000)", "Trivy KSV021 (Runs with GID <= 10000)",
                "kube-score container-security-context-user-group-id"},
               {{"minimumId", "10001", "lowest UID and GID allowed"}})),
           HighIds);
  AddCheck(checks,
           Optional(Info("wl-image-digest", "Images pinned by digest (optional)", Severity::kLow,
                         "Optional policy. A tag can be moved to other content; only a digest "
                         "names exactly what runs.",
                         "Reference images as name@sha256:DIGEST (tools such as crane digest "
                         "resolve it).",
                         {"Checkov CKV_K8S_43 (Image should use digest)"})),
           ImageDigest);
  CheckInfo invalid =
      Info("k8s-invalid-field", "Field of the wrong type", Severity::kMedium,
           "A security-relevant field has a type the API server would reject; the object "
           "cannot be assessed as written.",
           "Fix the field's type (e.g. privileged: true, not \"true\").", {});
  invalid.group = "schema";
  AddCheck(checks, std::move(invalid), InvalidFields);
}

}  // namespace moat::k8s::internal
