// CIS Docker Benchmark v1.6.0, section 1: host configuration.

#include "cis/docker/check_util.h"

namespace moat::cis::docker {
namespace {

// The binary in the usual places; whichever exist are the audit targets.
std::vector<std::string> Binary(const std::string& name) {
  return {"/usr/bin/" + name, "/usr/sbin/" + name, "/usr/local/bin/" + name};
}

DockerCheck Audit(std::string id, std::string title, std::string target, int level,
                  std::function<std::vector<std::string>(const DockerFacts&)> paths) {
  return {{std::move(id), std::move(title), "1.1", level, true,
           "audit rules (auditctl -l, else /etc/audit/rules.d/*.rules and /etc/audit/audit.rules)",
           "an audit rule (-w PATH or -F path=/dir=PATH) watches " + target,
           "Add a rule such as `-w " + target +
               " -k docker` to /etc/audit/rules.d/docker.rules and reload the rules "
               "(augenrules --load or systemctl restart auditd)."},
          {"host.audit"},
          [paths = std::move(paths)](const DockerFacts& f) { return AuditWatch(f, paths(f)); }};
}

}  // namespace

std::vector<DockerCheck> HostChecks() {
  std::vector<DockerCheck> checks;
  checks.push_back(
      {{"1.1.1", "Ensure a separate partition for containers has been created", "1.1", 1, true,
        "/info DockerRootDir, host /proc/mounts",
        "the Docker root directory is itself a mount point",
        "Put the Docker root directory (default /var/lib/docker) on its own partition or logical "
        "volume; on an installed system create an LVM volume, move the data and mount it there."},
       {"engine.info", "host.mounts"},
       [](const DockerFacts& f) {
         std::string root =
             f.info.docker_root_dir.empty() ? "/var/lib/docker" : f.info.docker_root_dir;
         for (const auto& [point, device] : f.host_mounts) {
           if (point == root) return Pass({root + " is a mount point (device " + device + ")"});
         }
         return Failed({root + " is not a mount point (it shares the partition of its parent)"});
       }});
  checks.push_back(
      {{"1.1.2", "Ensure only trusted users are allowed to control Docker daemon", "1.1", 1, true,
        "host /etc/group (docker group members)",
        "the docker group has no members, or each member is confirmed as trusted",
        "Remove untrusted users from the docker group (gpasswd -d USER docker); membership is "
        "equivalent to root on the host."},
       {"host.group"},
       [](const DockerFacts& f) {
         if (!f.docker_group_exists) return Pass({"no docker group in /etc/group"});
         if (f.docker_group_members.empty()) return Pass({"docker group has no members"});
         std::vector<std::string> evidence;
         for (const auto& user : f.docker_group_members) {
           evidence.push_back("docker group member: " + user);
         }
         return Warn(
             "members of the docker group control the daemon (root-equivalent); confirm "
             "each is trusted",
             std::move(evidence));
       }});
  checks.push_back(Audit("1.1.3", "Ensure auditing is configured for the Docker daemon",
                         "/usr/bin/dockerd", 1, [](const DockerFacts& f) {
                           std::vector<std::string> paths;
                           if (f.daemon.cmdline_found && !f.daemon.exe.empty() &&
                               f.daemon.exe[0] == '/') {
                             paths.push_back(f.daemon.exe);
                           }
                           for (auto& p : Binary("dockerd")) paths.push_back(p);
                           return paths;
                         }));
  checks.push_back(Audit(
      "1.1.4", "Ensure auditing is configured for Docker files and directories -/run/containerd",
      "/run/containerd", 1,
      [](const DockerFacts&) { return std::vector<std::string>{"/run/containerd"}; }));
  checks.push_back(Audit(
      "1.1.5", "Ensure auditing is configured for Docker files and directories - /var/lib/docker",
      "/var/lib/docker", 1, [](const DockerFacts& f) {
        return std::vector<std::string>{f.info.docker_root_dir.empty() ? "/var/lib/docker"
                                                                       : f.info.docker_root_dir};
      }));
  checks.push_back(
      Audit("1.1.6", "Ensure auditing is configured for Docker files and directories - /etc/docker",
            "/etc/docker", 1,
            [](const DockerFacts&) { return std::vector<std::string>{"/etc/docker"}; }));
  checks.push_back(Audit(
      "1.1.7", "Ensure auditing is configured for Docker files and directories - docker.service",
      "/lib/systemd/system/docker.service", 1, [](const DockerFacts& f) {
        return std::vector<std::string>{UnitFile(f, "docker.service")};
      }));
  checks.push_back(Audit(
      "1.1.8", "Ensure auditing is configured for Docker files and directories - containerd.sock",
      "/run/containerd/containerd.sock", 1, [](const DockerFacts& f) {
        return std::vector<std::string>{ContainerdSocket(f), UnitFile(f, "containerd.socket")};
      }));
  checks.push_back(Audit(
      "1.1.9", "Ensure auditing is configured for Docker files and directories - docker.socket",
      "/lib/systemd/system/docker.socket", 1,
      [](const DockerFacts& f) { return std::vector<std::string>{UnitFile(f, "docker.socket")}; }));
  checks.push_back(
      Audit("1.1.10",
            "Ensure auditing is configured for Docker files and directories - /etc/default/docker",
            "/etc/default/docker", 1,
            [](const DockerFacts&) { return std::vector<std::string>{"/etc/default/docker"}; }));
  checks.push_back(Audit(
      "1.1.11",
      "Ensure auditing is configured for Dockerfiles and directories - /etc/docker/daemon.json",
      "/etc/docker/daemon.json", 1,
      [](const DockerFacts& f) { return std::vector<std::string>{f.daemon.json_path}; }));
  checks.push_back(Audit(
      "1.1.12",
      "Ensure auditing is configured for Dockerfiles and directories - /etc/containerd/config.toml",
      "/etc/containerd/config.toml", 1,
      [](const DockerFacts&) { return std::vector<std::string>{"/etc/containerd/config.toml"}; }));
  checks.push_back(Audit(
      "1.1.13",
      "Ensure auditing is configured for Docker files and directories - /etc/sysconfig/docker",
      "/etc/sysconfig/docker", 1,
      [](const DockerFacts&) { return std::vector<std::string>{"/etc/sysconfig/docker"}; }));
  checks.push_back(
      Audit("1.1.14",
            "Ensure auditing is configured for Docker files and directories - /usr/bin/containerd",
            "/usr/bin/containerd", 1, [](const DockerFacts&) { return Binary("containerd"); }));
  checks.push_back(Audit(
      "1.1.15",
      "Ensure auditing is configured for Docker files and directories - /usr/bin/containerd-shim",
      "/usr/bin/containerd-shim", 1, [](const DockerFacts&) { return Binary("containerd-shim"); }));
  checks.push_back(Audit("1.1.16",
                         "Ensure auditing is configured for Docker files and directories - "
                         "/usr/bin/containerd-shim-runc-v1",
                         "/usr/bin/containerd-shim-runc-v1", 1,
                         [](const DockerFacts&) { return Binary("containerd-shim-runc-v1"); }));
  checks.push_back(Audit("1.1.17",
                         "Ensure auditing is configured for Docker files and directories - "
                         "/usr/bin/containerd-shim-runc-v2",
                         "/usr/bin/containerd-shim-runc-v2", 1,
                         [](const DockerFacts&) { return Binary("containerd-shim-runc-v2"); }));
  checks.push_back(Audit(
      "1.1.18", "Ensure auditing is configured for Docker files and directories - /usr/bin/runc",
      "/usr/bin/runc", 1, [](const DockerFacts&) { return Binary("runc"); }));
  checks.push_back(
      {{"1.2.1", "Ensure the container host has been Hardened", "1.2", 1, false, "-",
        "the host follows a hardening guide (CIS Linux benchmark, vendor guide)",
        "Harden the host OS: minimal packages, patched kernel, the CIS benchmark for the "
        "distribution, no other services on a container host."},
       {},
       [](const DockerFacts& f) {
         std::vector<std::string> evidence;
         if (!f.os_pretty_name.empty()) evidence.push_back("OS: " + f.os_pretty_name);
         if (!f.info.kernel.empty()) evidence.push_back("kernel: " + f.info.kernel);
         return Manual("review the host against the CIS benchmark for its distribution",
                       std::move(evidence));
       }});
  checks.push_back({{"1.2.2", "Ensure that the version of Docker is up to date", "1.2", 1, false,
                     "/version", "the engine is a supported, patched release",
                     "Update Docker Engine to a supported release with current security fixes."},
                    {"engine.version"},
                    [](const DockerFacts& f) {
                      return Info({"Docker Engine " + f.info.server_version + ", API " +
                                   f.info.api_version +
                                   (f.info.go_version.empty() ? "" : ", " + f.info.go_version)},
                                  "compare with the current releases of your Docker distribution");
                    }});
  return checks;
}

}  // namespace moat::cis::docker
