// CIS Docker Benchmark v1.6.0, section 5: container runtime. Each automated control is decided
// per running container from its inspect document; one evidence line per offending container.

#include <algorithm>

#include "cis/docker/check_util.h"

namespace moat::cis::docker {
namespace {

using Source = DaemonConfig::Setting::Source;
using Offender = std::function<std::optional<std::string>(const ContainerInfo&)>;

DockerCheck Runtime(std::string id, std::string title, int level, std::string reads,
                    std::string condition, std::string remediation, Offender offender) {
  return {{std::move(id), std::move(title), "5", level, true, std::move(reads),
           std::move(condition), std::move(remediation)},
          {"engine.containers"},
          [offender = std::move(offender)](const DockerFacts& f) {
            return ForEachRunning(f, offender);
          }};
}

bool Has(const std::vector<std::string>& values, std::string_view wanted) {
  return std::find(values.begin(), values.end(), wanted) != values.end();
}

std::string Join(const std::vector<std::string>& values) {
  std::string out;
  for (const auto& v : values) out += (out.empty() ? "" : ",") + v;
  return out;
}

std::string Quoted(const std::string& value) { return "\"" + value + "\""; }

bool SeccompUnconfined(const ContainerInfo& c) {
  for (const auto& opt : c.security_opt) {
    if (opt == "seccomp=unconfined" || opt == "seccomp:unconfined") return true;
  }
  return false;
}

bool NoNewPrivileges(const ContainerInfo& c) {
  for (const auto& opt : c.security_opt) {
    if (opt == "no-new-privileges" || opt == "no-new-privileges:true" ||
        opt == "no-new-privileges=true") {
      return true;
    }
  }
  return false;
}

// Host paths CIS names as sensitive; a bind of one of them or of anything below it counts.
constexpr std::string_view kSensitive[] = {"/",    "/boot", "/dev", "/etc",
                                           "/lib", "/proc", "/sys", "/usr"};

std::optional<std::string> SensitiveMount(const ContainerInfo& c) {
  std::vector<std::string> hits;
  for (const auto& m : c.mounts) {
    if (m.type != "bind") continue;
    for (std::string_view dir : kSensitive) {
      bool under = m.source == dir ||
                   (dir != "/" && m.source.size() > dir.size() &&
                    m.source.compare(0, dir.size(), dir) == 0 && m.source[dir.size()] == '/');
      if (under) {
        hits.push_back(m.source + ":" + m.destination + (m.rw ? " (rw)" : " (ro)"));
        break;
      }
    }
  }
  if (hits.empty()) return std::nullopt;
  return "Mounts " + Join(hits);
}

bool IsDockerSocket(const DockerFacts& f, const MountInfo& m) {
  std::string_view source = m.source;
  if (source == f.socket_path) return true;
  size_t slash = source.rfind('/');
  std::string_view base = slash == std::string_view::npos ? source : source.substr(slash + 1);
  return base == "docker.sock";
}

}  // namespace

std::vector<DockerCheck> ContainerChecks() {
  std::vector<DockerCheck> checks;
  checks.push_back({{"5.1", "Ensure swarm mode is not Enabled, if not needed", "5", 1, true,
                     "/info Swarm.LocalNodeState", "swarm mode is inactive, or confirmed as needed",
                     "Leave the swarm (docker swarm leave) on hosts that do not need it."},
                    {"engine.info"},
                    [](const DockerFacts& f) {
                      std::string state =
                          f.info.swarm_state.empty() ? "inactive" : f.info.swarm_state;
                      if (state == "inactive") return Pass({"Swarm.LocalNodeState=inactive"});
                      return Warn("swarm mode is on; confirm this host needs it",
                                  {"Swarm.LocalNodeState=" + state +
                                   (f.info.swarm_manager ? " (manager)" : "")});
                    }});
  checks.push_back(
      {{"5.2", "Ensure that, if applicable, an AppArmor Profile is enabled", "5", 1, true,
        "/info SecurityOptions (apparmor), AppArmorProfile of each running container",
        "on AppArmor hosts every container runs under a profile (not unconfined)",
        "Run containers with the default profile or --security-opt apparmor=PROFILE."},
       {"engine.info", "engine.containers"},
       [](const DockerFacts& f) {
         if (!f.info.HasSecurityOption("apparmor")) {
           return NotApplicable(
               "AppArmor is not enabled on this host (not in /info "
               "SecurityOptions)");
         }
         return ForEachRunning(f, [](const ContainerInfo& c) -> std::optional<std::string> {
           if (!c.apparmor_profile.empty() && c.apparmor_profile != "unconfined") {
             return std::nullopt;
           }
           return "AppArmorProfile=" + Quoted(c.apparmor_profile);
         });
       }});
  checks.push_back(
      {{"5.3", "Ensure that, if applicable, SELinux security options are set", "5", 2, true,
        "/info SecurityOptions (selinux), ProcessLabel and SecurityOpt of each running container",
        "on SELinux hosts every container has a label and label=disable is not used",
        "Run the daemon with --selinux-enabled and containers without --security-opt "
        "label=disable."},
       {"engine.info", "engine.containers"},
       [](const DockerFacts& f) {
         if (!f.info.HasSecurityOption("selinux")) {
           return NotApplicable(
               "SELinux support is not enabled in the daemon (not in /info "
               "SecurityOptions)");
         }
         return ForEachRunning(f, [](const ContainerInfo& c) -> std::optional<std::string> {
           if (Has(c.security_opt, "label=disable") || Has(c.security_opt, "label:disable")) {
             return "SecurityOpt=[" + Join(c.security_opt) + "]";
           }
           if (c.process_label.empty()) return std::string("ProcessLabel=\"\"");
           return std::nullopt;
         });
       }});
  checks.push_back(
      Runtime("5.4", "Ensure that Linux kernel capabilities are restricted within containers", 1,
              "HostConfig.CapAdd, HostConfig.Privileged",
              "no capabilities are added beyond the default set",
              "Run without --cap-add (or drop all and add back only what is needed: --cap-drop=ALL "
              "--cap-add=...).",
              [](const ContainerInfo& c) -> std::optional<std::string> {
                if (c.privileged)
                  return std::string("HostConfig.Privileged=true (all capabilities)");
                if (c.cap_add.empty()) return std::nullopt;
                return "HostConfig.CapAdd=[" + Join(c.cap_add) + "]";
              }));
  checks.push_back(Runtime("5.5", "Ensure that privileged containers are not used", 1,
                           "HostConfig.Privileged", "no container runs privileged",
                           "Run without --privileged; add the single capability or device "
                           "needed instead.",
                           [](const ContainerInfo& c) -> std::optional<std::string> {
                             if (!c.privileged) return std::nullopt;
                             return std::string("HostConfig.Privileged=true");
                           }));
  checks.push_back(
      Runtime("5.6", "Ensure sensitive host system directories are not mounted on containers", 1,
              "Mounts (bind sources)",
              "no bind mount of /, /boot, /dev, /etc, /lib, /proc, /sys, /usr or below them",
              "Do not bind-mount host system directories; use volumes or copy the needed files.",
              SensitiveMount));
  checks.push_back(
      {{"5.7", "Ensure sshd is not run within containers", "5", 1, true,
        "process list of each running container (/containers/ID/top)",
        "no sshd process runs in a container",
        "Remove the SSH server from the image; use docker exec for access."},
       {"engine.containers"},
       [](const DockerFacts& f) {
         auto running = f.Running();
         if (running.empty()) return NotApplicable("no running containers");
         std::vector<std::string> evidence, unchecked;
         for (const ContainerInfo* c : running) {
           if (!c->processes) {
             unchecked.push_back(c->Describe() +
                                 ": process list unavailable: " + c->processes_error);
             continue;
           }
           for (const auto& process : *c->processes) {
             if (process.find("sshd") != std::string::npos) {
               evidence.push_back(c->Describe() + ": process \"" + process.substr(0, 120) + "\"");
               break;
             }
           }
         }
         if (!evidence.empty()) {
           for (auto& u : unchecked) evidence.push_back(std::move(u));
           return Failed(std::move(evidence));
         }
         if (!unchecked.empty()) {
           return Warn("some containers' processes could not be listed", std::move(unchecked));
         }
         return Pass({std::to_string(running.size()) + " running container(s) have no sshd"});
       }});
  checks.push_back(Runtime("5.8", "Ensure privileged ports are not mapped within containers", 1,
                           "NetworkSettings.Ports (published host ports)",
                           "no host port below 1024 is published",
                           "Publish on host ports 1024 and above (-p 8080:80).",
                           [](const ContainerInfo& c) -> std::optional<std::string> {
                             std::vector<std::string> hits;
                             for (const auto& p : c.ports) {
                               int port = std::atoi(p.host_port.c_str());
                               if (port > 0 && port < 1024) {
                                 hits.push_back((p.host_ip.empty() ? "0.0.0.0" : p.host_ip) + ":" +
                                                p.host_port + "->" + p.container_port);
                               }
                             }
                             if (hits.empty()) return std::nullopt;
                             return "published privileged port " + Join(hits);
                           }));
  checks.push_back({{"5.9", "Ensure that only needed ports are open on the container", "5", 1,
                     false, "NetworkSettings.Ports", "each published port is needed",
                     "Publish only the ports the application serves; avoid -P."},
                    {"engine.containers"},
                    [](const DockerFacts& f) {
                      std::vector<std::string> evidence;
                      for (const ContainerInfo* c : f.Running()) {
                        if (c->ports.empty()) continue;
                        std::vector<std::string> ports;
                        for (const auto& p : c->ports) {
                          ports.push_back((p.host_ip.empty() ? "0.0.0.0" : p.host_ip) + ":" +
                                          p.host_port + "->" + p.container_port);
                        }
                        evidence.push_back(c->Describe() + ": " + Join(ports));
                      }
                      if (evidence.empty())
                        evidence.push_back("no running container publishes ports");
                      return Manual("confirm each published port is needed", std::move(evidence));
                    }});
  checks.push_back(Runtime("5.10", "Ensure that the host's network namespace is not shared", 1,
                           "HostConfig.NetworkMode", "NetworkMode is not host",
                           "Do not run with --network=host.",
                           [](const ContainerInfo& c) -> std::optional<std::string> {
                             if (c.network_mode != "host") return std::nullopt;
                             return std::string("HostConfig.NetworkMode=host");
                           }));
  checks.push_back(Runtime("5.11", "Ensure that the memory usage for containers is limited", 1,
                           "HostConfig.Memory", "a memory limit is set",
                           "Run with --memory (and --memory-swap).",
                           [](const ContainerInfo& c) -> std::optional<std::string> {
                             if (c.memory > 0) return std::nullopt;
                             return std::string("HostConfig.Memory=0 (no memory limit)");
                           }));
  checks.push_back(
      Runtime("5.12", "Ensure that CPU priority is set appropriately on containers", 1,
              "HostConfig.CpuShares, NanoCpus, CpuQuota, CpusetCpus",
              "CPU shares (other than the default 1024), a CPU quota or a CPU set is configured",
              "Run with --cpu-shares, --cpus or --cpuset-cpus.",
              [](const ContainerInfo& c) -> std::optional<std::string> {
                if ((c.cpu_shares > 0 && c.cpu_shares != 1024) || c.nano_cpus > 0 ||
                    c.cpu_quota > 0 || !c.cpuset_cpus.empty()) {
                  return std::nullopt;
                }
                return "HostConfig.CpuShares=" + std::to_string(c.cpu_shares) +
                       " NanoCpus=0 CpuQuota=0 (no CPU limit)";
              }));
  checks.push_back(
      Runtime("5.13", "Ensure that the container's root filesystem is mounted as read only", 1,
              "HostConfig.ReadonlyRootfs", "the root filesystem is read-only",
              "Run with --read-only and mount writable volumes/tmpfs only where needed.",
              [](const ContainerInfo& c) -> std::optional<std::string> {
                if (c.readonly_rootfs) return std::nullopt;
                return std::string("HostConfig.ReadonlyRootfs=false");
              }));
  checks.push_back(Runtime(
      "5.14", "Ensure that incoming container traffic is bound to a specific host interface", 1,
      "NetworkSettings.Ports HostIp", "each published port is bound to a specific address",
      "Publish as -p ADDRESS:HOSTPORT:PORT.",
      [](const ContainerInfo& c) -> std::optional<std::string> {
        std::vector<std::string> hits;
        for (const auto& p : c.ports) {
          if (p.host_ip.empty() || p.host_ip == "0.0.0.0" || p.host_ip == "::") {
            hits.push_back((p.host_ip.empty() ? "0.0.0.0" : p.host_ip) + ":" + p.host_port + "->" +
                           p.container_port);
          }
        }
        if (hits.empty()) return std::nullopt;
        return "port bound to all interfaces " + Join(hits);
      }));
  checks.push_back(
      {{"5.15", "Ensure that the 'on-failure' container restart policy is set to '5'", "5", 1, true,
        "HostConfig.RestartPolicy; swarm services' RestartPolicy.MaxAttempts",
        "restart policy is no, or on-failure with at most 5 retries",
        "Run with --restart=on-failure:5 (services: --restart-max-attempts 5)."},
       {"engine.containers"},
       [](const DockerFacts& f) {
         std::vector<std::string> evidence;
         size_t checked = 0;
         for (const ContainerInfo* c : f.Running()) {
           ++checked;
           const std::string& policy = c->restart_policy;
           if (policy == "always" || policy == "unless-stopped") {
             evidence.push_back(c->Describe() + ": HostConfig.RestartPolicy.Name=" + policy);
           } else if (policy == "on-failure" &&
                      (c->restart_max_retries <= 0 || c->restart_max_retries > 5)) {
             evidence.push_back(c->Describe() +
                                ": HostConfig.RestartPolicy=on-failure, MaximumRetryCount=" +
                                std::to_string(c->restart_max_retries));
           }
         }
         for (const auto& s : f.swarm.services) {
           ++checked;
           if (s.restart_condition == "none") continue;
           if (!s.restart_max_attempts || *s.restart_max_attempts <= 0 ||
               *s.restart_max_attempts > 5) {
             evidence.push_back("service " + s.name + ": RestartPolicy.MaxAttempts=" +
                                (s.restart_max_attempts ? std::to_string(*s.restart_max_attempts)
                                                        : std::string("unset")) +
                                " (condition " + s.restart_condition + ")");
           }
         }
         if (checked == 0) return NotApplicable("no running containers or services");
         if (!evidence.empty()) return Failed(std::move(evidence));
         return Pass({std::to_string(checked) + " container(s)/service(s) checked"});
       }});
  checks.push_back(Runtime("5.16", "Ensure that the host's process namespace is not shared", 1,
                           "HostConfig.PidMode", "PidMode is not host",
                           "Do not run with --pid=host.",
                           [](const ContainerInfo& c) -> std::optional<std::string> {
                             if (c.pid_mode != "host") return std::nullopt;
                             return std::string("HostConfig.PidMode=host");
                           }));
  checks.push_back(Runtime("5.17", "Ensure that the host's IPC namespace is not shared", 1,
                           "HostConfig.IpcMode", "IpcMode is not host",
                           "Do not run with --ipc=host.",
                           [](const ContainerInfo& c) -> std::optional<std::string> {
                             if (c.ipc_mode != "host") return std::nullopt;
                             return std::string("HostConfig.IpcMode=host");
                           }));
  checks.push_back(
      {{"5.18", "Ensure that host devices are not directly exposed to containers", "5", 1, false,
        "HostConfig.Devices", "each device passed through is needed, with minimal permissions",
        "Pass devices only when needed and with the least permissions (--device "
        "/dev/x:/dev/x:r)."},
       {"engine.containers"},
       [](const DockerFacts& f) {
         std::vector<std::string> evidence;
         for (const ContainerInfo* c : f.Running()) {
           if (!c->devices.empty()) {
             evidence.push_back(c->Describe() + ": HostConfig.Devices=[" + Join(c->devices) + "]");
           }
           if (c->privileged) evidence.push_back(c->Describe() + ": privileged (all host devices)");
         }
         if (evidence.empty()) evidence.push_back("no running container has host devices");
         return Info(std::move(evidence), "confirm each device listed is needed");
       }});
  checks.push_back(
      {{"5.19", "Ensure that the default ulimit is overwritten at runtime if needed", "5", 1, false,
        "HostConfig.Ulimits", "per-container ulimits are set where the default does not fit",
        "Override the default ulimits per container with --ulimit only where needed."},
       {"engine.containers"},
       [](const DockerFacts& f) {
         std::vector<std::string> evidence;
         for (const ContainerInfo* c : f.Running()) {
           if (!c->ulimits.empty()) {
             evidence.push_back(c->Describe() + ": HostConfig.Ulimits=[" + Join(c->ulimits) + "]");
           }
         }
         if (evidence.empty()) evidence.push_back("no running container overrides the ulimits");
         return Info(std::move(evidence), "confirm the overrides are needed");
       }});
  checks.push_back(Runtime("5.20", "Ensure mount propagation mode is not set to shared", 1,
                           "Mounts[].Propagation", "no mount uses shared or rshared propagation",
                           "Mount without shared propagation (default rprivate).",
                           [](const ContainerInfo& c) -> std::optional<std::string> {
                             std::vector<std::string> hits;
                             for (const auto& m : c.mounts) {
                               if (m.propagation == "shared" || m.propagation == "rshared") {
                                 hits.push_back(m.destination + " Propagation=" + m.propagation);
                               }
                             }
                             if (hits.empty()) return std::nullopt;
                             return "Mounts " + Join(hits);
                           }));
  checks.push_back(Runtime("5.21", "Ensure that the host's UTS namespace is not shared", 1,
                           "HostConfig.UTSMode", "UTSMode is not host",
                           "Do not run with --uts=host.",
                           [](const ContainerInfo& c) -> std::optional<std::string> {
                             if (c.uts_mode != "host") return std::nullopt;
                             return std::string("HostConfig.UTSMode=host");
                           }));
  checks.push_back(Runtime("5.22", "Ensure the default seccomp profile is not Disabled", 1,
                           "HostConfig.SecurityOpt", "seccomp is not unconfined",
                           "Do not run with --security-opt seccomp=unconfined.",
                           [](const ContainerInfo& c) -> std::optional<std::string> {
                             if (SeccompUnconfined(c))
                               return "HostConfig.SecurityOpt=[" + Join(c.security_opt) + "]";
                             if (c.privileged)
                               return std::string("HostConfig.Privileged=true (seccomp disabled)");
                             return std::nullopt;
                           }));
  checks.push_back(
      {{"5.23", "Ensure that docker exec commands are not used with the privileged option", "5", 1,
        true, "exec sessions the daemon still records (ExecIDs, /exec/ID/json)",
        "no exec session runs privileged",
        "Do not use docker exec --privileged; audit exec use (ausearch -k docker)."},
       {"engine.containers"},
       [](const DockerFacts& f) {
         std::vector<std::string> evidence;
         size_t records = 0;
         for (const ContainerInfo* c : f.Running()) {
           for (const auto& exec : c->execs) {
             ++records;
             if (exec.privileged) {
               evidence.push_back(c->Describe() + ": exec " + exec.id.substr(0, 12) +
                                  " privileged=true (" + exec.command.substr(0, 80) + ")");
             }
           }
         }
         if (!evidence.empty()) return Failed(std::move(evidence));
         return Warn(
             "the daemon forgets finished exec sessions; review the audit log for "
             "`docker exec --privileged`",
             {"no privileged exec among the " + std::to_string(records) +
              " exec session(s) the daemon still records"});
       }});
  checks.push_back(
      {{"5.24", "Ensure that docker exec commands are not used with the user=root option", "5", 1,
        false, "exec sessions the daemon still records (ExecIDs, /exec/ID/json)",
        "no exec session runs as root", "Do not use docker exec --user=root."},
       {"engine.containers"},
       [](const DockerFacts& f) {
         std::vector<std::string> evidence;
         for (const ContainerInfo* c : f.Running()) {
           for (const auto& exec : c->execs) {
             std::string user = exec.user.substr(0, exec.user.find(':'));
             if (user == "root" || user == "0") {
               evidence.push_back(c->Describe() + ": exec " + exec.id.substr(0, 12) +
                                  " user=" + exec.user);
             }
           }
         }
         if (evidence.empty()) {
           evidence.push_back("no recorded exec session with user=root");
         }
         return Manual("review the audit log for `docker exec --user=root`", std::move(evidence));
       }});
  checks.push_back(Runtime("5.25", "Ensure that cgroup usage is confirmed", 1,
                           "HostConfig.CgroupParent", "containers use the default cgroup parent",
                           "Run without --cgroup-parent unless the cgroup is reviewed.",
                           [](const ContainerInfo& c) -> std::optional<std::string> {
                             if (c.cgroup_parent.empty()) return std::nullopt;
                             return "HostConfig.CgroupParent=" + Quoted(c.cgroup_parent);
                           }));
  checks.push_back(
      {{"5.26", "Ensure that the container is restricted from acquiring additional privileges", "5",
        1, true, "HostConfig.SecurityOpt; daemon no-new-privileges default",
        "no-new-privileges applies (per container or daemon-wide)",
        "Run with --security-opt=no-new-privileges or set \"no-new-privileges\": true in "
        "daemon.json."},
       {"engine.containers", "daemon.json"},
       [](const DockerFacts& f) {
         auto daemon = f.daemon.Lookup("no-new-privileges", "no-new-privileges");
         bool daemon_default = !daemon.values.empty() && IsTrue(daemon.values.back());
         if (daemon_default) {
           auto running = f.Running();
           if (running.empty()) return NotApplicable("no running containers");
           return Pass({daemon.where + " (applies to every container)"});
         }
         if (daemon.source == Source::kUnknown) {
           // Containers that set it themselves pass; the rest depend on the unknown default.
           std::vector<std::string> unknown;
           for (const ContainerInfo* c : f.Running()) {
             if (!NoNewPrivileges(*c)) unknown.push_back(c->Describe() + ": no no-new-privileges");
           }
           if (unknown.empty() && !f.Running().empty()) {
             return Pass({"every running container sets no-new-privileges"});
           }
           if (f.Running().empty()) return NotApplicable("no running containers");
           return Warn("the daemon-wide no-new-privileges default could not be read",
                       std::move(unknown));
         }
         return ForEachRunning(f, [](const ContainerInfo& c) -> std::optional<std::string> {
           if (NoNewPrivileges(c)) return std::nullopt;
           return "HostConfig.SecurityOpt=[" + Join(c.security_opt) +
                  "] without no-new-privileges (daemon default false)";
         });
       }});
  checks.push_back(Runtime("5.27", "Ensure that container health is checked at runtime", 1,
                           "State.Health.Status, Config.Healthcheck",
                           "a health check runs and the container is not unhealthy",
                           "Define a HEALTHCHECK in the image or run with --health-cmd.",
                           [](const ContainerInfo& c) -> std::optional<std::string> {
                             if (!c.has_healthcheck || c.health_status.empty()) {
                               return std::string("no health check (State.Health absent)");
                             }
                             if (c.health_status == "unhealthy") {
                               return std::string("State.Health.Status=unhealthy");
                             }
                             return std::nullopt;
                           }));
  checks.push_back(
      {{"5.28", "Ensure that Docker commands always make use of the latest version of their image",
        "5", 1, false, "Config.Image of each running container",
        "images are pulled fresh (docker pull / --pull=always) before use",
        "Pull images before running them (docker run --pull=always) and pin by digest."},
       {"engine.containers"},
       [](const DockerFacts& f) {
         std::vector<std::string> evidence;
         for (const ContainerInfo* c : f.Running()) {
           if (c->image_ref.find('@') == std::string::npos) {
             evidence.push_back(c->Describe() + ": image referenced by tag, not digest");
           }
         }
         if (evidence.empty()) evidence.push_back("every running container uses a digest");
         return Info(std::move(evidence),
                     "confirm images are pulled before use; local caches may hold stale tags");
       }});
  checks.push_back(
      Runtime("5.29", "Ensure that the PIDs cgroup limit is used", 1, "HostConfig.PidsLimit",
              "a positive PIDs limit is set", "Run with --pids-limit N.",
              [](const ContainerInfo& c) -> std::optional<std::string> {
                if (c.pids_limit && *c.pids_limit > 0) return std::nullopt;
                return "HostConfig.PidsLimit=" +
                       (c.pids_limit ? std::to_string(*c.pids_limit) : std::string("null")) +
                       " (no PIDs limit)";
              }));
  checks.push_back({{"5.30", "Ensure that Docker's default bridge 'docker0' is not used", "5", 1,
                     false, "NetworkSettings.Networks of each running container",
                     "containers use user-defined networks, not the default bridge",
                     "Attach containers to user-defined networks (docker network create)."},
                    {"engine.containers"},
                    [](const DockerFacts& f) {
                      std::vector<std::string> evidence;
                      for (const ContainerInfo* c : f.Running()) {
                        if (Has(c->networks, "bridge")) {
                          evidence.push_back(c->Describe() + ": on the default bridge network");
                        }
                      }
                      if (evidence.empty())
                        evidence.push_back("no running container on the default bridge");
                      return Info(std::move(evidence),
                                  "move containers listed to user-defined networks");
                    }});
  checks.push_back(Runtime("5.31", "Ensure that the host's user namespaces are not shared", 1,
                           "HostConfig.UsernsMode", "UsernsMode is not host",
                           "Do not run with --userns=host.",
                           [](const ContainerInfo& c) -> std::optional<std::string> {
                             if (c.userns_mode != "host") return std::nullopt;
                             return std::string("HostConfig.UsernsMode=host");
                           }));
  checks.push_back(
      {{"5.32", "Ensure that the Docker socket is not mounted inside any containers", "5", 1, true,
        "Mounts (source docker.sock)", "no container mounts the Docker socket",
        "Do not mount /var/run/docker.sock into containers; it gives root on the host."},
       {"engine.containers"},
       [](const DockerFacts& f) {
         return ForEachRunning(f, [&f](const ContainerInfo& c) -> std::optional<std::string> {
           for (const auto& m : c.mounts) {
             if (IsDockerSocket(f, m)) {
               return "Mounts " + m.source + ":" + m.destination + (m.rw ? " (rw)" : " (ro)");
             }
           }
           return std::nullopt;
         });
       }});
  return checks;
}

}  // namespace moat::cis::docker
