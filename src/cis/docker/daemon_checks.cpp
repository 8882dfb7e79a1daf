// CIS Docker Benchmark v1.6.0, section 2: Docker daemon configuration. Settings come from the
// effective configuration: daemon.json and the dockerd command line, or /info where the engine
// reports the effective value itself.

#include "cis/docker/check_util.h"

namespace moat::cis::docker {
namespace {

using Source = DaemonConfig::Setting::Source;

Control Daemon(std::string id, std::string title, int level, bool automated, std::string reads,
               std::string condition, std::string remediation) {
  return {std::move(id),        std::move(title),      "2", level, automated, std::move(reads),
          std::move(condition), std::move(remediation)};
}

Outcome UnknownSetting(const std::string& key) {
  return Warn("the dockerd command line could not be read and daemon.json does not set \"" + key +
              "\"");
}

}  // namespace

std::vector<DockerCheck> DaemonChecks() {
  std::vector<DockerCheck> checks;
  checks.push_back(
      {Daemon("2.1", "Run the Docker daemon as a non-root user, if possible", 1, false,
              "/info SecurityOptions (rootless)",
              "the daemon runs rootless where the workload allows",
              "Consider rootless mode (dockerd-rootless-setuptool.sh install) for hosts whose "
              "workloads do not need root-only features."),
       {"engine.info"},
       [](const DockerFacts& f) {
         return Manual("decide whether this host's workloads can run under a rootless daemon",
                       {std::string("daemon runs rootless: ") +
                        (f.info.HasSecurityOption("rootless") ? "yes" : "no")});
       }});
  checks.push_back(
      {Daemon("2.2",
              "Ensure network traffic is restricted between containers on the default bridge", 1,
              true, "daemon.json \"icc\", dockerd --icc",
              "icc is false (containers on the default bridge cannot talk to each other)",
              "Set \"icc\": false in daemon.json (or run dockerd with --icc=false) and link the "
              "containers that must talk through user-defined networks."),
       {"daemon.json"},
       [](const DockerFacts& f) { return BoolSetting(f, "icc", "icc", false, true); }});
  checks.push_back(
      {Daemon("2.3", "Ensure the logging level is set to 'info'", 1, true,
              "daemon.json \"log-level\"/\"debug\", dockerd --log-level/-l, --debug/-D",
              "log level is info (the default)",
              "Remove the log-level setting or set \"log-level\": \"info\"; do not run with "
              "--debug in production."),
       {"daemon.json"},
       [](const DockerFacts& f) {
         auto debug = f.daemon.Lookup("debug", "debug");
         if (debug.source == Source::kFlag || debug.source == Source::kJson) {
           if (!debug.values.empty() && IsTrue(debug.values.back())) {
             return Failed({debug.where + " (debug logging)"});
           }
         }
         auto level = f.daemon.Lookup("log-level", "log-level");
         if (level.source == Source::kUnknown) return UnknownSetting("log-level");
         if (level.source == Source::kUnset) {
           return Pass({UnsetWhere(f, "log-level", "log-level") + " (default info)"});
         }
         std::string value = level.values.empty() ? "" : level.values.back();
         if (value == "info") return Pass({level.where});
         return Failed({level.where + " (want info)"});
       }});
  checks.push_back(
      {Daemon("2.4", "Ensure Docker is allowed to make changes to iptables", 1, true,
              "daemon.json \"iptables\", dockerd --iptables", "iptables is true (the default)",
              "Remove \"iptables\": false from daemon.json and --iptables=false from the dockerd "
              "command line."),
       {"daemon.json"},
       [](const DockerFacts& f) { return BoolSetting(f, "iptables", "iptables", true, true); }});
  checks.push_back(
      {Daemon("2.5", "Ensure insecure registries are not used", 1, true,
              "/info RegistryConfig (InsecureRegistryCIDRs, IndexConfigs Secure=false)",
              "no insecure registry besides the built-in 127.0.0.0/8",
              "Remove \"insecure-registries\" from daemon.json and --insecure-registry from the "
              "command line; give the registries TLS certificates (/etc/docker/certs.d)."),
       {"engine.info"},
       [](const DockerFacts& f) {
         std::vector<std::string> evidence;
         for (const auto& registry : f.info.insecure_registries) {
           evidence.push_back("insecure registry: " + registry);
         }
         for (const auto& cidr : f.info.insecure_registry_cidrs) {
           evidence.push_back("insecure registry range: " + cidr);
         }
         if (!evidence.empty()) return Failed(std::move(evidence));
         return Pass({"no insecure registries besides 127.0.0.0/8"});
       }});
  checks.push_back(
      {Daemon("2.6", "Ensure aufs storage driver is not used", 1, true, "/info Driver",
              "storage driver is not aufs",
              "Use overlay2 (set \"storage-driver\": \"overlay2\" after migrating images)."),
       {"engine.info"},
       [](const DockerFacts& f) {
         std::string evidence = "storage driver: " + f.info.driver;
         if (f.info.driver == "aufs") return Failed({evidence});
         return Pass({evidence});
       }});
  checks.push_back(
      {Daemon("2.7", "Ensure TLS authentication for Docker daemon is configured", 1, true,
              "daemon.json \"hosts\"/\"tlsverify\"/\"tlscacert\"/\"tlscert\"/\"tlskey\", dockerd "
              "-H/--tlsverify/--tlscacert/--tlscert/--tlskey",
              "every TCP listener requires client certificates (tlsverify with CA, cert and key)",
              "Listen on TCP only with --tlsverify, --tlscacert, --tlscert and --tlskey (or the "
              "same daemon.json keys), or do not listen on TCP at all."),
       {"daemon.json"},
       [](const DockerFacts& f) {
         auto hosts = f.daemon.Lookup("host", "hosts");
         if (hosts.source == Source::kUnknown) return UnknownSetting("hosts");
         std::vector<std::string> tcp;
         for (const auto& h : hosts.values) {
           if (h.rfind("unix://", 0) != 0 && h.rfind("fd://", 0) != 0 &&
               h.rfind("npipe://", 0) != 0 && h.rfind("/", 0) != 0) {
             tcp.push_back(h);
           }
         }
         if (tcp.empty()) {
           std::string listeners;
           for (const auto& h : hosts.values) listeners += (listeners.empty() ? "" : ", ") + h;
           if (listeners.empty()) listeners = "unix:///var/run/docker.sock (default)";
           return Pass({"no TCP listener: " + listeners});
         }
         std::vector<std::string> missing;
         auto verify = f.daemon.Lookup("tlsverify", "tlsverify");
         if (verify.values.empty() || !IsTrue(verify.values.back())) missing.push_back("tlsverify");
         for (const char* key : {"tlscacert", "tlscert", "tlskey"}) {
           if (f.daemon.Lookup(key, key).values.empty()) missing.push_back(key);
         }
         if (missing.empty()) return Pass({"TCP listener(s) with tlsverify: " + tcp.front()});
         std::vector<std::string> evidence;
         for (const auto& h : tcp) {
           std::string list;
           for (const auto& m : missing) list += (list.empty() ? "" : ", ") + m;
           evidence.push_back("listens on " + h + " without " + list);
         }
         return Failed(std::move(evidence));
       }});
  checks.push_back(
      {Daemon("2.8", "Ensure the default ulimit is configured appropriately", 1, false,
              "daemon.json \"default-ulimits\", dockerd --default-ulimit",
              "default ulimits suit the workloads",
              "Set \"default-ulimits\" (e.g. nofile, nproc) in daemon.json to what the workloads "
              "need."),
       {"daemon.json"},
       [](const DockerFacts& f) {
         auto setting = f.daemon.Lookup("default-ulimit", "default-ulimits");
         std::string observed = setting.source == Source::kUnset
                                    ? UnsetWhere(f, "default-ulimit", "default-ulimits") +
                                          " (containers inherit the daemon's limits)"
                                : setting.source == Source::kUnknown
                                    ? "dockerd command line not readable; daemon.json does not set "
                                      "\"default-ulimits\""
                                    : setting.where;
         return Manual("decide whether the default ulimits fit the workloads", {observed});
       }});
  checks.push_back(
      {Daemon("2.9", "Enable user namespace support", 2, true,
              "/info SecurityOptions (name=userns, name=rootless)",
              "the daemon remaps container root to an unprivileged host user (userns-remap) or "
              "runs rootless",
              "Set \"userns-remap\": \"default\" in daemon.json (creates the dockremap user) and "
              "restart the daemon; images and containers must be recreated."),
       {"engine.info"},
       [](const DockerFacts& f) {
         if (f.info.HasSecurityOption("userns")) return Pass({"SecurityOptions has name=userns"});
         if (f.info.HasSecurityOption("rootless")) {
           return Pass({"daemon runs rootless (SecurityOptions has name=rootless)"});
         }
         auto remap = f.daemon.Lookup("userns-remap", "userns-remap");
         std::string where = remap.source == Source::kFlag || remap.source == Source::kJson
                                 ? remap.where + " but the engine does not report name=userns"
                                 : UnsetWhere(f, "userns-remap", "userns-remap");
         return Failed({"user namespace remapping is off: " + where});
       }});
  checks.push_back(
      {Daemon("2.10", "Ensure the default cgroup usage has been confirmed", 2, true,
              "daemon.json \"cgroup-parent\", dockerd --cgroup-parent",
              "cgroup-parent is not changed from the default",
              "Leave cgroup-parent at its default unless a specific cgroup is required and "
              "reviewed."),
       {"daemon.json"},
       [](const DockerFacts& f) {
         auto setting = f.daemon.Lookup("cgroup-parent", "cgroup-parent");
         if (setting.source == Source::kUnknown) return UnknownSetting("cgroup-parent");
         if (setting.source == Source::kUnset) {
           return Pass({UnsetWhere(f, "cgroup-parent", "cgroup-parent") + " (default)"});
         }
         return Warn("cgroup-parent is changed from the default; confirm it is intended",
                     {setting.where});
       }});
  checks.push_back(
      {Daemon("2.11", "Ensure base device size is not changed until needed", 2, true,
              "daemon.json \"storage-opts\", dockerd --storage-opt",
              "no dm.basesize storage option",
              "Remove dm.basesize from the storage options unless a larger base device is needed."),
       {"daemon.json"},
       [](const DockerFacts& f) {
         auto setting = f.daemon.Lookup("storage-opt", "storage-opts");
         if (setting.source == Source::kUnknown) return UnknownSetting("storage-opts");
         for (const auto& value : setting.values) {
           if (value.rfind("dm.basesize", 0) == 0) {
             return Warn("the base device size is changed; confirm it is needed", {setting.where});
           }
         }
         if (setting.source == Source::kUnset) {
           return Pass({UnsetWhere(f, "storage-opt", "storage-opts")});
         }
         return Pass({setting.where + " (no dm.basesize)"});
       }});
  checks.push_back(
      {Daemon("2.12", "Ensure that authorization for Docker client commands is enabled", 2, true,
              "/info Plugins.Authorization, daemon.json \"authorization-plugins\"",
              "an authorization plugin is configured",
              "Install an authorization plugin and set \"authorization-plugins\" in daemon.json."),
       {"engine.info"},
       [](const DockerFacts& f) {
         if (!f.info.authorization_plugins.empty()) {
           std::string list;
           for (const auto& p : f.info.authorization_plugins)
             list += (list.empty() ? "" : ", ") + p;
           return Pass({"authorization plugins: " + list});
         }
         return Failed({"no authorization plugin (/info Plugins.Authorization is empty)"});
       }});
  checks.push_back(
      {Daemon("2.13", "Ensure centralized and remote logging is configured", 2, true,
              "/info LoggingDriver",
              "the default log driver ships logs off the host (syslog, journald, gelf, fluentd, "
              "awslogs, splunk, gcplogs, logentries, ...)",
              "Set \"log-driver\" (and \"log-opts\") in daemon.json to a remote-capable driver."),
       {"engine.info"},
       [](const DockerFacts& f) {
         const std::string& driver = f.info.logging_driver;
         std::string evidence = "LoggingDriver=" + driver;
         if (driver.empty() || driver == "json-file" || driver == "local" || driver == "none") {
           return Failed({evidence + " (logs stay on the host)"});
         }
         return Pass({evidence});
       }});
  checks.push_back(
      {Daemon("2.14", "Ensure containers are restricted from acquiring new privileges", 1, true,
              "daemon.json \"no-new-privileges\", dockerd --no-new-privileges",
              "no-new-privileges is true", "Set \"no-new-privileges\": true in daemon.json."),
       {"daemon.json"},
       [](const DockerFacts& f) {
         return BoolSetting(f, "no-new-privileges", "no-new-privileges", true, false);
       }});
  checks.push_back(
      {Daemon("2.15", "Ensure live restore is enabled", 1, true, "/info LiveRestoreEnabled",
              "live restore is enabled (containers survive a daemon restart)",
              "Set \"live-restore\": true in daemon.json (not available in swarm mode)."),
       {"engine.info"},
       [](const DockerFacts& f) {
         if (f.info.swarm_state == "active") {
           return NotApplicable("live restore is incompatible with swarm mode, which is active");
         }
         if (f.info.live_restore) return Pass({"LiveRestoreEnabled=true"});
         return Failed({"LiveRestoreEnabled=false"});
       }});
  checks.push_back({Daemon("2.16", "Ensure Userland Proxy is Disabled", 1, true,
                           "daemon.json \"userland-proxy\", dockerd --userland-proxy",
                           "userland-proxy is false (hairpin NAT instead)",
                           "Set \"userland-proxy\": false in daemon.json."),
                    {"daemon.json"},
                    [](const DockerFacts& f) {
                      return BoolSetting(f, "userland-proxy", "userland-proxy", false, true);
                    }});
  checks.push_back(
      {Daemon("2.17", "Ensure that a daemon-wide custom seccomp profile is applied if appropriate",
              2, false, "/info SecurityOptions (seccomp profile), daemon.json \"seccomp-profile\"",
              "the seccomp profile in use fits the workloads",
              "Set \"seccomp-profile\" in daemon.json when the default profile does not fit."),
       {"engine.info"},
       [](const DockerFacts& f) {
         std::string profile = f.info.SecurityOptionValue("seccomp", "profile");
         std::vector<std::string> evidence;
         evidence.push_back(f.info.HasSecurityOption("seccomp")
                                ? "seccomp profile: " + (profile.empty() ? "default" : profile)
                                : "seccomp not enabled in the engine");
         return Info(std::move(evidence), "confirm the daemon-wide seccomp profile fits");
       }});
  checks.push_back(
      {Daemon("2.18", "Ensure that experimental features are not implemented in production", 1,
              true, "/version Experimental, /info ExperimentalBuild",
              "experimental features are off",
              "Remove \"experimental\": true from daemon.json and --experimental from the command "
              "line."),
       {"engine.info", "engine.version"},
       [](const DockerFacts& f) {
         if (f.info.experimental) return Failed({"Experimental=true"});
         return Pass({"Experimental=false"});
       }});
  return checks;
}

}  // namespace moat::cis::docker
