// CIS Docker Benchmark v1.6.0, section 3: ownership and permissions of the daemon's files.

#include "cis/docker/check_util.h"

namespace moat::cis::docker {
namespace {

using Source = DaemonConfig::Setting::Source;
using PathOf = std::function<std::string(const DockerFacts&)>;

std::string Mode(mode_t mode) { return Octal(mode).substr(1); }

DockerCheck Owner(std::string id, std::string title, std::string what, PathOf path,
                  std::vector<std::string> inputs = {}, std::string group = "") {
  std::string want = group.empty() ? "root:root" : "root:" + group;
  return {{std::move(id), std::move(title), "3", 1, true, "owner of " + what,
           what + " is owned by " + want,
           "chown " + want + " " + what + (group.empty() ? "" : " (root:root is also accepted)")},
          std::move(inputs),
          [path = std::move(path), group, what](const DockerFacts& f) {
            return FileOwnership(f, path(f), group, what);
          }};
}

DockerCheck Perms(std::string id, std::string title, std::string what, mode_t max, PathOf path,
                  std::vector<std::string> inputs = {}) {
  return {
      {std::move(id), std::move(title), "3", 1, true, "permissions of " + what,
       what + " has mode " + Mode(max) + " or more restrictive", "chmod " + Mode(max) + " " + what},
      std::move(inputs),
      [path = std::move(path), max, what](const DockerFacts& f) {
        return FilePermissions(f, path(f), max, what);
      }};
}

PathOf Fixed(std::string path) {
  return [path = std::move(path)](const DockerFacts&) { return path; };
}

PathOf Unit(std::string unit) {
  return [unit = std::move(unit)](const DockerFacts& f) { return UnitFile(f, unit); };
}

// A TLS file named in the daemon configuration: not configured -> NOT_APPLICABLE.
DockerCheck Tls(std::string id, std::string title, std::string key, bool ownership, mode_t max) {
  std::string what = "the file named by " + key;
  Control control{std::move(id),
                  std::move(title),
                  "3",
                  1,
                  true,
                  "daemon.json \"" + key + "\" / dockerd --" + key + ", then the file",
                  ownership ? what + " is owned by root:root"
                            : what + " has mode " + Mode(max) + " or more restrictive",
                  ownership ? "chown root:root <" + key + " file>"
                            : "chmod " + Mode(max) + " <" + key + " file>"};
  return {std::move(control), {"daemon.json"}, [key, ownership, max](const DockerFacts& f) {
            auto setting = f.daemon.Lookup(key, key);
            if (setting.source == Source::kUnknown) {
              return Warn(
                  "the dockerd command line could not be read and daemon.json does not "
                  "set \"" +
                  key + "\"");
            }
            if (setting.values.empty() || setting.values.back().empty()) {
              return NotApplicable("no " + key + " configured (" + UnsetWhere(f, key, key) + ")");
            }
            const std::string& path = setting.values.back();
            return ownership ? FileOwnership(f, path, "", key) : FilePermissions(f, path, max, key);
          }};
}

}  // namespace

std::vector<DockerCheck> FileChecks() {
  std::vector<DockerCheck> checks;
  checks.push_back(Owner("3.1", "Ensure that the docker.service file ownership is set to root:root",
                         "docker.service", Unit("docker.service")));
  checks.push_back(Perms("3.2", "Ensure that docker.service file permissions are appropriately set",
                         "docker.service", 0644, Unit("docker.service")));
  checks.push_back(Owner("3.3", "Ensure that docker.socket file ownership is set to root:root",
                         "docker.socket", Unit("docker.socket")));
  checks.push_back(
      Perms("3.4", "Ensure that docker.socket file permissions are set to 644 or more restrictive",
            "docker.socket", 0644, Unit("docker.socket")));
  checks.push_back(Owner("3.5",
                         "Ensure that the /etc/docker directory ownership is set to root:root",
                         "/etc/docker", Fixed("/etc/docker")));
  checks.push_back(Perms(
      "3.6", "Ensure that /etc/docker directory permissions are set to 755 or more restrictively",
      "/etc/docker", 0755, Fixed("/etc/docker")));
  checks.push_back({{"3.7", "Ensure that registry certificate file ownership is set to root:root",
                     "3", 1, true, "owner of /etc/docker/certs.d and every file below it",
                     "everything under /etc/docker/certs.d is owned by root:root",
                     "chown -R root:root /etc/docker/certs.d"},
                    {},
                    [](const DockerFacts& f) { return TreeOwnership(f, "/etc/docker/certs.d"); }});
  checks.push_back(
      {{"3.8",
        "Ensure that registry certificate file permissions are set to 444 or more restrictively",
        "3", 1, true, "permissions of every file under /etc/docker/certs.d",
        "each certificate file has mode 444 or more restrictive",
        "find /etc/docker/certs.d -type f -exec chmod 444 {} +"},
       {},
       [](const DockerFacts& f) { return TreePermissions(f, "/etc/docker/certs.d", 0444); }});
  checks.push_back(Tls("3.9", "Ensure that TLS CA certificate file ownership is set to root:root",
                       "tlscacert", true, 0));
  checks.push_back(
      Tls("3.10",
          "Ensure that TLS CA certificate file permissions are set to 444 or more restrictively",
          "tlscacert", false, 0444));
  checks.push_back(Tls("3.11",
                       "Ensure that Docker server certificate file ownership is set to root:root",
                       "tlscert", true, 0));
  checks.push_back(
      Tls("3.12",
          "Ensure that the Docker server certificate file permissions are set to 444 or more "
          "restrictively",
          "tlscert", false, 0444));
  checks.push_back(Tls(
      "3.13", "Ensure that the Docker server certificate key file ownership is set to root:root",
      "tlskey", true, 0));
  checks.push_back(
      Tls("3.14", "Ensure that the Docker server certificate key file permissions are set to 400",
          "tlskey", false, 0400));
  checks.push_back(Owner(
      "3.15", "Ensure that the Docker socket file ownership is set to root:docker",
      "the Docker socket", [](const DockerFacts& f) { return f.socket_path; }, {}, "docker"));
  checks.push_back(Perms(
      "3.16", "Ensure that the Docker socket file permissions are set to 660 or more restrictively",
      "the Docker socket", 0660, [](const DockerFacts& f) { return f.socket_path; }));
  checks.push_back(Owner("3.17", "Ensure that the daemon.json file ownership is set to root:root",
                         "daemon.json", [](const DockerFacts& f) { return f.daemon.json_path; }));
  checks.push_back(
      Perms("3.18", "Ensure that daemon.json file permissions are set to 644 or more restrictive",
            "daemon.json", 0644, [](const DockerFacts& f) { return f.daemon.json_path; }));
  checks.push_back(Owner("3.19",
                         "Ensure that the /etc/default/docker file ownership is set to root:root",
                         "/etc/default/docker", Fixed("/etc/default/docker")));
  checks.push_back(Perms(
      "3.20",
      "Ensure that the /etc/default/docker file permissions are set to 644 or more restrictively",
      "/etc/default/docker", 0644, Fixed("/etc/default/docker")));
  checks.push_back(Perms(
      "3.21",
      "Ensure that the /etc/sysconfig/docker file permissions are set to 644 or more restrictively",
      "/etc/sysconfig/docker", 0644, Fixed("/etc/sysconfig/docker")));
  checks.push_back(Owner("3.22",
                         "Ensure that the /etc/sysconfig/docker file ownership is set to root:root",
                         "/etc/sysconfig/docker", Fixed("/etc/sysconfig/docker")));
  checks.push_back(Owner("3.23",
                         "Ensure that the Containerd socket file ownership is set to root:root",
                         "the containerd socket", ContainerdSocket));
  checks.push_back(Perms(
      "3.24",
      "Ensure that the Containerd socket file permissions are set to 660 or more restrictively",
      "the containerd socket", 0660, ContainerdSocket));
  return checks;
}

}  // namespace moat::cis::docker
