// Pod Security Standards, baseline and restricted, as the pod-security-admission library defines
// them (k8s.io/pod-security-admission/policy/check_*.go), version by version. The fixtures in
// ../shared/data/k8s/psa are the authority; pss_test.cpp runs all of them.

#include <algorithm>
#include <string>
#include <string_view>

#include "k8s/check_util.h"

namespace moat::k8s::internal {
namespace {

constexpr std::string_view kPssDoc =
    "https://kubernetes.io/docs/concepts/security/pod-security-standards/";

bool In(std::string_view value, std::initializer_list<std::string_view> set) {
  return std::find(set.begin(), set.end(), value) != set.end();
}

std::string Describe(const Value& v) {
  if (v.IsScalar()) return "\"" + v.text + "\"";
  return std::string(v.TypeName());
}

bool IsWindowsPod(const PodTemplate& pod) {
  const Value* name = pod.spec->Path({"os", "name"});
  return name != nullptr && name->Str() == "windows";
}

/// spec.hostUsers explicitly false: the pod runs in a user namespace.
bool UserNamespacePod(const PodTemplate& pod) {
  const Value* host_users = pod.spec->Get("hostUsers");
  return host_users != nullptr && host_users->Bool() == false;
}

const Value* Annotations(const PodTemplate& pod) {
  if (pod.metadata == nullptr) return nullptr;
  const Value* a = pod.metadata->Field("annotations");
  return a != nullptr && a->IsMap() ? a : nullptr;
}

std::string AnnotationPath(const PodTemplate& pod, const std::string& key) {
  return pod.metadata_path + ".annotations[\"" + key + "\"]";
}

CheckInfo Info(std::string id, std::string title, Severity severity, std::string description,
               std::string remediation, std::string control) {
  const bool restricted = id.rfind("pss-restricted-", 0) == 0;
  const std::string level = restricted ? "restricted" : "baseline";
  return MakeInfo(std::move(id), "pss-" + level, std::move(title), severity, std::move(description),
                  std::move(remediation),
                  {"Pod Security Standards (" + level + "): " + control, std::string(kPssDoc)},
                  {"workload"});
}

void Add(std::vector<CheckDef>& checks, CheckInfo info, int min_minor, CheckFn run) {
  AddCheck(checks, std::move(info), std::move(run), min_minor);
}

// --- baseline -----------------------------------------------------------------------------

void HostProcess(const CheckContext& c, Emitter& e) {
  const PodTemplate& pod = *c.pod;
  if (const Value* sc = SecurityContextOf(*pod.spec)) {
    const Value* hp = sc->Path({"windowsOptions", "hostProcess"});
    if (hp != nullptr && hp->IsTrue())
      e.Fail(hp, pod.spec_path + ".securityContext.windowsOptions.hostProcess",
             "pod sets windowsOptions.hostProcess=true");
  }
  ForEachContainer(pod, [&](const Value& container, const std::string& path) {
    const Value* sc = SecurityContextOf(container);
    const Value* hp = sc != nullptr ? sc->Path({"windowsOptions", "hostProcess"}) : nullptr;
    if (hp != nullptr && hp->IsTrue())
      e.Fail(hp, path + ".securityContext.windowsOptions.hostProcess",
             DescribeContainer(container) + " sets windowsOptions.hostProcess=true");
  });
}

void HostNamespaces(const CheckContext& c, Emitter& e) {
  for (std::string_view field : {"hostNetwork", "hostPID", "hostIPC"}) {
    const Value* v = c.pod->spec->Get(field);
    if (v != nullptr && v->IsTrue())
      e.Fail(v, Join(c.pod->spec_path, field), std::string(field) + "=true");
  }
}

void Privileged(const CheckContext& c, Emitter& e) {
  ForEachContainer(*c.pod, [&](const Value& container, const std::string& path) {
    const Value* sc = SecurityContextOf(container);
    const Value* v = sc != nullptr ? sc->Get("privileged") : nullptr;
    if (v != nullptr && v->IsTrue())
      e.Fail(v, path + ".securityContext.privileged",
             DescribeContainer(container) + " is privileged");
  });
}

void CapabilitiesBaseline(const CheckContext& c, Emitter& e) {
  ForEachContainer(*c.pod, [&](const Value& container, const std::string& path) {
    const Value* sc = SecurityContextOf(container);
    const Value* add = sc != nullptr ? sc->Path({"capabilities", "add"}) : nullptr;
    if (add == nullptr) return;
    size_t i = 0;
    for (const Value& cap : add->Items()) {
      if (!In(cap.Str(),
              {"AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD",
               "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"}))
        e.Fail(&cap, path + ".securityContext.capabilities.add[" + std::to_string(i) + "]",
               DescribeContainer(container) + " adds capability " + Describe(cap));
      ++i;
    }
  });
}

void HostPathVolumes(const CheckContext& c, Emitter& e) {
  const Value* volumes = c.pod->spec->Get("volumes");
  if (volumes == nullptr) return;
  size_t i = 0;
  for (const Value& volume : volumes->Items()) {
    if (const Value* hp = volume.Field("hostPath"))
      e.Fail(hp, c.pod->spec_path + ".volumes[" + std::to_string(i) + "].hostPath",
             "volume \"" + NameOf(volume) + "\" is a hostPath volume");
    ++i;
  }
}

void HostPorts(const CheckContext& c, Emitter& e) {
  ForEachContainer(*c.pod, [&](const Value& container, const std::string& path) {
    const Value* ports = container.Get("ports");
    if (ports == nullptr) return;
    size_t i = 0;
    for (const Value& port : ports->Items()) {
      const Value* hp = port.Field("hostPort");
      if (hp != nullptr && hp->Int() != 0)
        e.Fail(hp, path + ".ports[" + std::to_string(i) + "].hostPort",
               DescribeContainer(container) + " uses hostPort " + Describe(*hp));
      ++i;
    }
  });
}

void HostProbes(const CheckContext& c, Emitter& e) {
  ForEachContainer(*c.pod, [&](const Value& container, const std::string& path) {
    auto check_handler = [&](const Value* handler, const std::string& handler_path) {
      if (handler == nullptr) return;
      for (std::string_view action : {"httpGet", "tcpSocket"}) {
        const Value* host = handler->Path({action, "host"});
        if (host != nullptr && !host->Str().empty())
          e.Fail(host, handler_path + "." + std::string(action) + ".host",
                 DescribeContainer(container) + " sets " + std::string(action) +
                     ".host=" + Describe(*host));
      }
    };
    for (std::string_view probe : {"livenessProbe", "readinessProbe", "startupProbe"})
      check_handler(container.Field(probe), Join(path, probe));
    if (const Value* lifecycle = container.Field("lifecycle")) {
      for (std::string_view hook : {"postStart", "preStop"})
        check_handler(lifecycle->Field(hook), path + ".lifecycle." + std::string(hook));
    }
  });
}

void AppArmor(const CheckContext& c, Emitter& e) {
  const PodTemplate& pod = *c.pod;
  auto check_profile = [&](const Value* sc, const std::string& path, const std::string& who) {
    const Value* profile = sc != nullptr ? sc->Field("appArmorProfile") : nullptr;
    if (profile == nullptr) return;
    const Value* type = profile->Get("type");
    std::string_view t = type != nullptr ? type->Str() : std::string_view();
    if (t != "RuntimeDefault" && t != "Localhost")
      e.Fail(type != nullptr ? type : profile, path + ".appArmorProfile.type",
             who + " sets appArmorProfile.type=\"" + std::string(t) + "\"", profile);
  };
  check_profile(SecurityContextOf(*pod.spec), pod.spec_path + ".securityContext", "pod");
  ForEachContainer(pod, [&](const Value& container, const std::string& path) {
    check_profile(SecurityContextOf(container), path + ".securityContext",
                  DescribeContainer(container));
  });
  if (const Value* annotations = Annotations(pod)) {
    constexpr std::string_view kPrefix = "container.apparmor.security.beta.kubernetes.io/";
    for (const Value& a : annotations->Entries()) {
      if (a.key.rfind(kPrefix, 0) != 0) continue;
      std::string_view v = a.Str();
      if (!v.empty() && v != "runtime/default" && v.rfind("localhost/", 0) != 0)
        e.Fail(&a, AnnotationPath(pod, a.key), "annotation " + a.key + "=" + Describe(a));
    }
  }
}

void SeLinux(const CheckContext& c, Emitter& e) {
  const PodTemplate& pod = *c.pod;
  const bool engine_t = c.pss_minor >= 31;
  auto check_options = [&](const Value* sc, const std::string& path, const std::string& who) {
    const Value* options = sc != nullptr ? sc->Field("seLinuxOptions") : nullptr;
    if (options == nullptr) return;
    if (const Value* type = options->Get("type")) {
      std::string_view t = type->Str();
      if (!In(t, {"", "container_t", "container_init_t", "container_kvm_t"}) &&
          !(engine_t && t == "container_engine_t"))
        e.Fail(type, path + ".seLinuxOptions.type",
               who + " sets seLinuxOptions.type=" + Describe(*type));
    }
    for (std::string_view field : {"user", "role"}) {
      const Value* v = options->Get(field);
      if (v != nullptr && !v->Str().empty())
        e.Fail(v, path + ".seLinuxOptions." + std::string(field),
               who + " sets seLinuxOptions." + std::string(field) + "=" + Describe(*v));
    }
  };
  check_options(SecurityContextOf(*pod.spec), pod.spec_path + ".securityContext", "pod");
  ForEachContainer(pod, [&](const Value& container, const std::string& path) {
    check_options(SecurityContextOf(container), path + ".securityContext",
                  DescribeContainer(container));
  });
}

void ProcMountCheck(const CheckContext& c, Emitter& e) {
  ForEachContainer(*c.pod, [&](const Value& container, const std::string& path) {
    const Value* sc = SecurityContextOf(container);
    const Value* pm = sc != nullptr ? sc->Field("procMount") : nullptr;
    if (pm != nullptr && pm->Str() != "Default")
      e.Fail(pm, path + ".securityContext.procMount",
             DescribeContainer(container) + " sets procMount=" + Describe(*pm));
  });
}

void ProcMountBaseline(const CheckContext& c, Emitter& e) {
  // Since 1.35 a pod in a user namespace may unmask /proc.
  if (c.pss_minor >= 35 && UserNamespacePod(*c.pod)) return;
  ProcMountCheck(c, e);
}

bool ValidSeccompType(const Value* profile) {
  const Value* type = profile->Get("type");
  std::string_view t = type != nullptr ? type->Str() : std::string_view();
  return t == "RuntimeDefault" || t == "Localhost";
}

std::string SeccompType(const Value* profile) {
  const Value* type = profile->Get("type");
  return type != nullptr ? std::string(type->Str()) : std::string();
}

void SeccompBaseline(const CheckContext& c, Emitter& e) {
  const PodTemplate& pod = *c.pod;
  if (c.pss_minor < 19) {
    // Before 1.19 seccomp was set by annotations; baseline forbids only "unconfined".
    const Value* annotations = Annotations(pod);
    if (annotations == nullptr) return;
    const std::string pod_key = "seccomp.security.alpha.kubernetes.io/pod";
    if (const Value* a = annotations->Get(pod_key); a != nullptr && a->Str() == "unconfined")
      e.Fail(a, AnnotationPath(pod, pod_key), "annotation " + pod_key + "=\"unconfined\"");
    ForEachContainer(pod, [&](const Value& container, const std::string&) {
      const std::string key = "container.seccomp.security.alpha.kubernetes.io/" + NameOf(container);
      if (const Value* a = annotations->Get(key); a != nullptr && a->Str() == "unconfined")
        e.Fail(a, AnnotationPath(pod, key), "annotation " + key + "=\"unconfined\"");
    });
    return;
  }
  if (const Value* sc = SecurityContextOf(*pod.spec)) {
    const Value* profile = sc->Field("seccompProfile");
    if (profile != nullptr && !ValidSeccompType(profile))
      e.Fail(profile->Get("type"), pod.spec_path + ".securityContext.seccompProfile.type",
             "pod sets seccompProfile.type=\"" + SeccompType(profile) + "\"", profile);
  }
  ForEachContainer(pod, [&](const Value& container, const std::string& path) {
    const Value* sc = SecurityContextOf(container);
    const Value* profile = sc != nullptr ? sc->Field("seccompProfile") : nullptr;
    if (profile != nullptr && !ValidSeccompType(profile))
      e.Fail(profile->Get("type"), path + ".securityContext.seccompProfile.type",
             DescribeContainer(container) + " sets seccompProfile.type=\"" + SeccompType(profile) +
                 "\"",
             profile);
  });
}

bool AllowedSysctl(std::string_view name, int minor) {
  if (In(name, {"kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range",
                "net.ipv4.ip_unprivileged_port_start", "net.ipv4.tcp_syncookies",
                "net.ipv4.ping_group_range"}))
    return true;
  if (minor >= 27 && name == "net.ipv4.ip_local_reserved_ports") return true;
  if (minor >= 29 && In(name, {"net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout",
                               "net.ipv4.tcp_keepalive_intvl", "net.ipv4.tcp_keepalive_probes"}))
    return true;
  if (minor >= 32 && In(name, {"net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem"})) return true;
  if (minor >= 37 && In(name, {"net.ipv4.tcp_slow_start_after_idle", "net.ipv4.tcp_notsent_lowat"}))
    return true;
  return false;
}

void Sysctls(const CheckContext& c, Emitter& e) {
  ForEachSysctl(*c.pod, [&](const Value& s, const Value* name, const std::string& path) {
    std::string_view n = name != nullptr ? name->Str() : std::string_view();
    if (!AllowedSysctl(n, c.pss_minor))
      e.Fail(name != nullptr ? name : &s, path,
             "sysctl \"" + std::string(n) + "\" is not in the safe set");
  });
}

// --- restricted ---------------------------------------------------------------------------

void VolumeTypes(const CheckContext& c, Emitter& e) {
  const Value* volumes = c.pod->spec->Get("volumes");
  if (volumes == nullptr) return;
  size_t i = 0;
  for (const Value& volume : volumes->Items()) {
    bool allowed = false;
    for (std::string_view source : {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral",
                                    "persistentVolumeClaim", "projected", "secret"})
      allowed |= volume.Field(source) != nullptr;
    // A volume with no source at all is defaulted to emptyDir by the API server.
    std::string type;
    for (const Value& field : volume.Entries()) {
      if (field.key != "name" && !field.IsNull()) type = field.key;
    }
    if (!allowed && !type.empty()) {
      e.Fail(&volume, c.pod->spec_path + ".volumes[" + std::to_string(i) + "]",
             "volume \"" + NameOf(volume) + "\" has a restricted type (" + type + ")");
    }
    ++i;
  }
}

void PrivilegeEscalation(const CheckContext& c, Emitter& e) {
  if (c.pss_minor >= 25 && IsWindowsPod(*c.pod)) return;
  ForEachContainer(*c.pod, [&](const Value& container, const std::string& path) {
    const Value* sc = SecurityContextOf(container);
    const Value* ape = sc != nullptr ? sc->Get("allowPrivilegeEscalation") : nullptr;
    if (ape == nullptr || ape->Bool() != false)
      e.Fail(ape, path + ".securityContext.allowPrivilegeEscalation",
             DescribeContainer(container) + " must set allowPrivilegeEscalation=false", &container);
  });
}

void RunAsNonRoot(const CheckContext& c, Emitter& e) {
  const PodTemplate& pod = *c.pod;
  bool pod_non_root = false;
  if (const Value* sc = SecurityContextOf(*pod.spec)) {
    if (const Value* v = sc->Field("runAsNonRoot")) {
      if (v->IsTrue()) {
        pod_non_root = true;
      } else {
        e.Fail(v, pod.spec_path + ".securityContext.runAsNonRoot", "pod sets runAsNonRoot=false");
      }
    }
  }
  ForEachContainer(pod, [&](const Value& container, const std::string& path) {
    const Value* sc = SecurityContextOf(container);
    const Value* v = sc != nullptr ? sc->Field("runAsNonRoot") : nullptr;
    if (v != nullptr) {
      if (!v->IsTrue())
        e.Fail(v, path + ".securityContext.runAsNonRoot",
               DescribeContainer(container) + " sets runAsNonRoot=false");
    } else if (!pod_non_root) {
      e.Fail(nullptr, path + ".securityContext.runAsNonRoot",
             DescribeContainer(container) +
                 " must set runAsNonRoot=true (or the pod securityContext must)",
             &container);
    }
  });
}

void RunAsUser(const CheckContext& c, Emitter& e) {
  const PodTemplate& pod = *c.pod;
  if (const Value* sc = SecurityContextOf(*pod.spec)) {
    const Value* v = sc->Field("runAsUser");
    if (v != nullptr && v->Int() == 0)
      e.Fail(v, pod.spec_path + ".securityContext.runAsUser", "pod sets runAsUser=0");
  }
  ForEachContainer(pod, [&](const Value& container, const std::string& path) {
    const Value* sc = SecurityContextOf(container);
    const Value* v = sc != nullptr ? sc->Field("runAsUser") : nullptr;
    if (v != nullptr && v->Int() == 0)
      e.Fail(v, path + ".securityContext.runAsUser",
             DescribeContainer(container) + " sets runAsUser=0");
  });
}

void SeccompRestricted(const CheckContext& c, Emitter& e) {
  const PodTemplate& pod = *c.pod;
  if (c.pss_minor >= 25 && IsWindowsPod(pod)) return;
  bool pod_set = false;
  if (const Value* sc = SecurityContextOf(*pod.spec)) {
    if (const Value* profile = sc->Field("seccompProfile")) {
      if (ValidSeccompType(profile)) {
        pod_set = true;
      } else {
        e.Fail(profile->Get("type"), pod.spec_path + ".securityContext.seccompProfile.type",
               "pod sets seccompProfile.type=\"" + SeccompType(profile) + "\"", profile);
      }
    }
  }
  ForEachContainer(pod, [&](const Value& container, const std::string& path) {
    const Value* sc = SecurityContextOf(container);
    const Value* profile = sc != nullptr ? sc->Field("seccompProfile") : nullptr;
    if (profile != nullptr) {
      if (!ValidSeccompType(profile))
        e.Fail(profile->Get("type"), path + ".securityContext.seccompProfile.type",
               DescribeContainer(container) + " sets seccompProfile.type=\"" +
                   SeccompType(profile) + "\"",
               profile);
    } else if (!pod_set) {
      e.Fail(nullptr, path + ".securityContext.seccompProfile.type",
             DescribeContainer(container) +
                 " must set seccompProfile.type to RuntimeDefault or Localhost (or the pod "
                 "securityContext must)",
             &container);
    }
  });
}

void CapabilitiesRestricted(const CheckContext& c, Emitter& e) {
  if (c.pss_minor >= 25 && IsWindowsPod(*c.pod)) return;
  ForEachContainer(*c.pod, [&](const Value& container, const std::string& path) {
    const Value* sc = SecurityContextOf(container);
    const Value* caps = sc != nullptr ? sc->Field("capabilities") : nullptr;
    if (caps == nullptr) {
      e.Fail(nullptr, path + ".securityContext.capabilities.drop",
             DescribeContainer(container) + " must drop ALL capabilities", &container);
      return;
    }
    bool drop_all = false;
    if (const Value* drop = caps->Get("drop")) {
      for (const Value& cap : drop->Items()) drop_all |= cap.Str() == "ALL";
    }
    if (!drop_all)
      e.Fail(caps->Get("drop"), path + ".securityContext.capabilities.drop",
             DescribeContainer(container) + " must drop ALL capabilities", caps);
    if (const Value* add = caps->Get("add")) {
      size_t i = 0;
      for (const Value& cap : add->Items()) {
        if (cap.Str() != "NET_BIND_SERVICE")
          e.Fail(&cap, path + ".securityContext.capabilities.add[" + std::to_string(i) + "]",
                 DescribeContainer(container) + " adds capability " + Describe(cap) +
                     " (only NET_BIND_SERVICE may be added)");
        ++i;
      }
    }
  });
}

}  // namespace

void AddPssChecks(std::vector<CheckDef>& checks) {
  const Severity kB = Severity::kHigh;
  const Severity kR = Severity::kMedium;
  Add(checks,
      Info("pss-baseline-hostprocess", "Windows HostProcess containers", kB,
           "Windows HostProcess containers have privileged access to the Windows node.",
           "Remove securityContext.windowsOptions.hostProcess or set it to false.", "HostProcess"),
      0, HostProcess);
  Add(checks,
      Info("pss-baseline-host-namespaces", "Host namespaces", kB,
           "Sharing the host's network, PID or IPC namespace gives the pod a view of, and access "
           "to, everything on the node.",
           "Remove spec.hostNetwork, spec.hostPID and spec.hostIPC or set them to false.",
           "Host Namespaces"),
      0, HostNamespaces);
  Add(checks,
      Info("pss-baseline-privileged", "Privileged containers", Severity::kCritical,
           "Privileged containers disable most security mechanisms and can take over the node.",
           "Remove securityContext.privileged or set it to false.", "Privileged Containers"),
      0, Privileged);
  Add(checks,
      Info("pss-baseline-capabilities", "Capabilities beyond the baseline set", kB,
           "Adding capabilities beyond the default set (AUDIT_WRITE, CHOWN, DAC_OVERRIDE, "
           "FOWNER, FSETID, KILL, MKNOD, NET_BIND_SERVICE, SETFCAP, SETGID, SETPCAP, SETUID, "
           "SYS_CHROOT) must be disallowed.",
           "Remove the other capabilities from securityContext.capabilities.add.", "Capabilities"),
      0, CapabilitiesBaseline);
  Add(checks,
      Info("pss-baseline-hostpath-volumes", "HostPath volumes", kB,
           "HostPath volumes give the pod the node's files.",
           "Replace hostPath volumes with persistent volumes, emptyDir or configMap volumes.",
           "HostPath Volumes"),
      0, HostPathVolumes);
  Add(checks,
      Info("pss-baseline-host-ports", "Host ports", kB,
           "Host ports expose the pod on the node's network and bypass network policy.",
           "Remove ports[].hostPort (use a Service).", "Host Ports"),
      0, HostPorts);
  Add(checks,
      Info("pss-baseline-host-probes", "Host field in probes and lifecycle hooks", kB,
           "A probe or lifecycle hook with a host can make the kubelet connect anywhere (SSRF).",
           "Remove .host from httpGet and tcpSocket in probes and lifecycle hooks.",
           "Host Probes / Lifecycle Hooks"),
      34, HostProbes);
  Add(checks,
      Info("pss-baseline-apparmor", "AppArmor profile overridden", kB,
           "Overriding or disabling the default AppArmor profile must be prevented.",
           "Use appArmorProfile.type RuntimeDefault or Localhost (annotation runtime/default or "
           "localhost/NAME).",
           "AppArmor"),
      0, AppArmor);
  Add(checks,
      Info("pss-baseline-selinux", "SELinux options", kB,
           "Setting a custom SELinux user or role, or a type outside the container types, must "
           "be forbidden.",
           "Remove seLinuxOptions.user and .role; use type container_t, container_init_t, "
           "container_kvm_t or container_engine_t.",
           "SELinux"),
      0, SeLinux);
  Add(checks,
      Info("pss-baseline-procmount", "/proc mount type", kB,
           "The default /proc masks reduce the attack surface and are required.",
           "Remove securityContext.procMount or set it to Default.", "/proc Mount Type"),
      0, ProcMountBaseline);
  Add(checks,
      Info("pss-baseline-seccomp", "Seccomp profile Unconfined", kB,
           "The seccomp profile must not be explicitly set to Unconfined.",
           "Set seccompProfile.type to RuntimeDefault or Localhost, or leave it unset.", "Seccomp"),
      0, SeccompBaseline);
  Add(checks,
      Info("pss-baseline-sysctls", "Unsafe sysctls", kB,
           "Sysctls can disable security mechanisms or affect every container on the node; only "
           "the safe, namespaced subset is allowed.",
           "Remove the sysctl from spec.securityContext.sysctls.", "Sysctls"),
      0, Sysctls);
  Add(checks,
      Info("pss-restricted-volume-types", "Volume types", kR,
           "The restricted policy permits only configMap, csi, downwardAPI, emptyDir, ephemeral, "
           "persistentVolumeClaim, projected and secret volumes.",
           "Use one of the permitted volume types.", "Volume Types"),
      0, VolumeTypes);
  Add(checks,
      Info("pss-restricted-privilege-escalation", "Privilege escalation", kR,
           "Privilege escalation (setuid binaries, file capabilities) must not be allowed.",
           "Set securityContext.allowPrivilegeEscalation: false in every container.",
           "Privilege Escalation"),
      8, PrivilegeEscalation);
  Add(checks,
      Info("pss-restricted-run-as-non-root", "Running as non-root", kR,
           "Containers must be required to run as non-root users.",
           "Set securityContext.runAsNonRoot: true on the pod or every container.",
           "Running as Non-root"),
      0, RunAsNonRoot);
  Add(checks,
      Info("pss-restricted-run-as-non-root-user", "Running as non-root user (UID 0)", kR,
           "Containers must not set runAsUser to 0.",
           "Set runAsUser to a non-zero UID or remove it.", "Running as Non-root user"),
      23, RunAsUser);
  Add(checks,
      Info("pss-restricted-seccomp", "Seccomp profile required", kR,
           "Seccomp must be explicitly set to RuntimeDefault or Localhost.",
           "Set spec.securityContext.seccompProfile.type: RuntimeDefault.", "Seccomp"),
      19, SeccompRestricted);
  Add(checks,
      Info("pss-restricted-capabilities", "Capabilities: drop ALL", kR,
           "Containers must drop ALL capabilities and may only add back NET_BIND_SERVICE.",
           "Set securityContext.capabilities.drop: [ALL]; add only NET_BIND_SERVICE.",
           "Capabilities"),
      22, CapabilitiesRestricted);
  Add(checks,
      Info("pss-restricted-procmount", "/proc mount type (user namespaces too)", kR,
           "The default /proc masks are required, also for pods in user namespaces.",
           "Remove securityContext.procMount or set it to Default.", "/proc Mount Type"),
      35, ProcMountCheck);
}

}  // namespace moat::k8s::internal
