// CIS Docker Benchmark v1.6.0, sections 6 (security operations) and 7 (swarm configuration).

#include <set>

#include "cis/docker/check_util.h"

namespace moat::cis::docker {
namespace {

// Swarm controls apply only on an active swarm node; most need a manager's view.
std::optional<Outcome> SwarmGate(const DockerFacts& f, bool needs_manager = true) {
  std::string state = f.info.swarm_state.empty() ? "inactive" : f.info.swarm_state;
  if (state != "active") return NotApplicable("swarm mode is " + state);
  if (needs_manager && !f.info.swarm_manager) {
    return NotApplicable("this node is a swarm worker; assess a manager");
  }
  return std::nullopt;
}

DockerCheck Swarm(std::string id, std::string title, int level, bool automated, std::string reads,
                  std::string condition, std::string remediation,
                  std::function<Outcome(const DockerFacts&)> evaluate,
                  std::vector<std::string> inputs = {"engine.info"}) {
  return {{std::move(id), std::move(title), "7", level, automated, std::move(reads),
           std::move(condition), std::move(remediation)},
          std::move(inputs),
          [evaluate = std::move(evaluate)](const DockerFacts& f) {
            if (auto gate = SwarmGate(f)) return *gate;
            if (const std::string* why = f.InputError("engine.swarm")) {
              return Warn("swarm details could not be read: " + *why);
            }
            return evaluate(f);
          }};
}

}  // namespace

std::vector<DockerCheck> OperationsChecks() {
  std::vector<DockerCheck> checks;
  checks.push_back(
      {{"6.1", "Ensure that image sprawl is avoided", "6", 1, false,
        "/images/json, Image of every container", "images no container uses are removed",
        "Remove unused images regularly (docker image prune -a after review)."},
       {"engine.images", "engine.containers"},
       [](const DockerFacts& f) {
         std::set<std::string> used;
         for (const auto& c : f.containers) used.insert(c.image_id);
         std::vector<std::string> evidence;
         evidence.push_back(std::to_string(f.images.size()) + " image(s), " +
                            std::to_string(used.size()) + " in use by containers");
         for (const auto& image : f.images) {
           if (!used.count(image.id)) evidence.push_back(image.Describe() + ": not used");
         }
         return Info(std::move(evidence), "remove the images listed as not used if not needed");
       }});
  checks.push_back(
      {{"6.2", "Ensure that container sprawl is avoided", "6", 1, false, "/containers/json?all=1",
        "stopped containers are removed", "Remove stopped containers (docker container prune)."},
       {"engine.containers"},
       [](const DockerFacts& f) {
         size_t running = f.Running().size();
         std::vector<std::string> evidence{std::to_string(f.containers.size()) + " container(s), " +
                                           std::to_string(running) + " running"};
         for (const auto& c : f.containers) {
           if (!c.running) evidence.push_back(c.Describe() + ": " + c.status);
         }
         return Info(std::move(evidence), "remove the stopped containers that are not needed");
       }});
  checks.push_back(
      Swarm("7.1", "Ensure that the minimum number of manager nodes have been created in a swarm",
            1, true, "/nodes (roles)", "an odd number of managers, no more than 7",
            "Promote or demote nodes (docker node promote/demote) to an odd number of managers.",
            [](const DockerFacts& f) {
              int64_t managers = f.swarm.manager_nodes;
              std::string evidence = std::to_string(managers) + " manager(s) among " +
                                     std::to_string(f.swarm.total_nodes) + " node(s)";
              if (managers % 2 == 1 && managers <= 7) return Pass({evidence});
              return Failed({evidence + " (want an odd number, at most 7)"});
            }));
  checks.push_back({{"7.2", "Ensure that swarm services are bound to a specific host interface",
                     "7", 1, true, "host /proc/net/tcp{,6}: listener on the swarm port 2377",
                     "the swarm management port listens on a specific address",
                     "Initialize or join with --listen-addr ADDRESS:2377."},
                    {"engine.info", "host.net"},
                    [](const DockerFacts& f) {
                      if (auto gate = SwarmGate(f, false)) return *gate;
                      std::vector<std::string> evidence;
                      bool found = false;
                      for (const auto& s : f.listeners) {
                        if (s.port != 2377) continue;
                        found = true;
                        if (s.address == "0.0.0.0" || s.address == "::") {
                          evidence.push_back("swarm port 2377 listens on all interfaces (" +
                                             s.address + ")");
                        }
                      }
                      if (!evidence.empty()) return Failed(std::move(evidence));
                      if (!found)
                        return Warn("no listener on port 2377 found in this network namespace");
                      return Pass({"swarm port 2377 bound to a specific address"});
                    }});
  checks.push_back(Swarm(
      "7.3", "Ensure that all Docker swarm overlay networks are encrypted", 1, true,
      "/networks (overlay driver, Options.encrypted)", "every overlay network is encrypted",
      "Create overlay networks with --opt encrypted.",
      [](const DockerFacts& f) {
        std::vector<std::string> evidence;
        size_t overlays = 0;
        for (const auto& n : f.networks) {
          if (n.driver != "overlay") continue;
          ++overlays;
          if (!n.options.count("encrypted")) {
            evidence.push_back("network " + n.name + " (" + n.scope + "): overlay not encrypted");
          }
        }
        if (!evidence.empty()) return Failed(std::move(evidence));
        if (overlays == 0) return NotApplicable("no overlay networks");
        return Pass({std::to_string(overlays) + " overlay network(s) encrypted"});
      },
      {"engine.info", "engine.networks"}));
  checks.push_back(Swarm(
      "7.4",
      "Ensure that Docker's secret management commands are used for managing secrets in a swarm "
      "cluster",
      1, false, "/secrets", "services get secrets through docker secret",
      "Store service secrets with docker secret create and grant them per service.",
      [](const DockerFacts& f) {
        return Info({std::to_string(f.swarm.secrets) + " swarm secret(s), " +
                     std::to_string(f.swarm.configs) + " config(s)"},
                    "confirm services take their secrets from docker secret");
      }));
  checks.push_back(Swarm("7.5", "Ensure that swarm manager is run in auto-lock mode", 1, true,
                         "/swarm Spec.EncryptionConfig.AutoLockManagers", "auto-lock is on",
                         "docker swarm update --autolock=true (keep the unlock key safe).",
                         [](const DockerFacts& f) {
                           if (f.swarm.autolock) return Pass({"AutoLockManagers=true"});
                           return Failed({"AutoLockManagers=false"});
                         }));
  checks.push_back(Swarm(
      "7.6", "Ensure that the swarm manager auto-lock key is rotated periodically", 1, false, "-",
      "the unlock key is rotated on a schedule",
      "Rotate with docker swarm unlock-key --rotate on a schedule.", [](const DockerFacts& f) {
        return Manual("confirm the unlock key is rotated periodically",
                      {std::string("AutoLockManagers=") + (f.swarm.autolock ? "true" : "false")});
      }));
  checks.push_back(Swarm("7.7", "Ensure that node certificates are rotated as appropriate", 1,
                         false, "/swarm Spec.CAConfig.NodeCertExpiry",
                         "node certificate expiry suits the policy",
                         "docker swarm update --cert-expiry DURATION.", [](const DockerFacts& f) {
                           int64_t hours = f.swarm.node_cert_expiry_ns / 3600000000000LL;
                           return Info({"NodeCertExpiry=" + std::to_string(hours) + "h"},
                                       "confirm the certificate lifetime fits the rotation policy");
                         }));
  checks.push_back(Swarm("7.8", "Ensure that CA certificates are rotated as appropriate", 1, false,
                         "/swarm RootRotationInProgress", "the root CA is rotated on a schedule",
                         "docker swarm ca --rotate on a schedule.", [](const DockerFacts& f) {
                           return Info({std::string("RootRotationInProgress=") +
                                        (f.swarm.root_rotation_in_progress ? "true" : "false")},
                                       "confirm the swarm root CA is rotated periodically");
                         }));
  checks.push_back(
      Swarm("7.9", "Ensure that management plane traffic is separated from data plane traffic", 1,
            false, "/nodes addresses, /swarm DataPathAddr",
            "management and data traffic use different interfaces",
            "Join/init with --advertise-addr (management) and --data-path-addr (data) on different "
            "interfaces.",
            [](const DockerFacts& f) {
              std::vector<std::string> evidence = f.swarm.node_addrs;
              evidence.push_back("DataPathAddr=" + (f.swarm.data_path_addr.empty()
                                                        ? std::string("(same as node address)")
                                                        : f.swarm.data_path_addr));
              return Info(std::move(evidence), "confirm management and data traffic are separated");
            }));
  return checks;
}

}  // namespace moat::cis::docker
