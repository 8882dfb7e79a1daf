// The CIS Docker Benchmark v1.6.0 definitions assembled in benchmark order, and the assessment.

#include <set>

#include "cis/docker/check_util.h"
#include "cis/docker/collect.h"

namespace moat::cis::docker {

const std::vector<Check<DockerFacts>>& DockerChecks() {
  static const std::vector<Check<DockerFacts>> checks = [] {
    std::vector<Check<DockerFacts>> all;
    for (auto* section : {&HostChecks, &DaemonChecks, &FileChecks, &ImageChecks, &ContainerChecks,
                          &OperationsChecks}) {
      for (auto& check : (*section)()) all.push_back(std::move(check));
    }
    return all;
  }();
  return checks;
}

const std::vector<Group>& DockerGroups() {
  static const std::vector<Group> groups = {
      {"1", "Host Configuration"},
      {"1.1", "Linux Hosts Specific Configuration"},
      {"1.2", "General Configuration"},
      {"2", "Docker daemon configuration"},
      {"3", "Docker daemon configuration files"},
      {"4", "Container Images and Build File"},
      {"5", "Container Runtime"},
      {"6", "Docker Security Operations"},
      {"7", "Docker Swarm Configuration"},
  };
  return groups;
}

BenchReport AssessDocker(const DockerFacts& facts, const Selection& selection) {
  BenchReport report;
  report.benchmark = "CIS Docker Benchmark";
  report.benchmark_version = "1.6.0";
  const EngineInfo& info = facts.info;
  report.target = "docker host " + (info.name.empty() ? std::string("?") : info.name) +
                  " (unix://" + facts.socket_path + ")";
  auto add = [&](std::string key, std::string value) {
    report.summary.emplace_back(std::move(key), std::move(value));
  };
  if (!facts.InputError("engine.info")) {
    add("Docker version", info.server_version + " (API " + info.api_version + ")");
    add("Host", info.name);
    add("OS / kernel",
        (facts.os_pretty_name.empty() ? info.os : facts.os_pretty_name) + " / " + info.kernel);
    add("Storage driver", info.driver);
    add("Cgroup driver",
        info.cgroup_driver +
            (info.cgroup_version.empty() ? "" : " (cgroup v" + info.cgroup_version + ")"));
    add("Docker root", info.docker_root_dir);
    add("Rootless", info.HasSecurityOption("rootless") ? "yes" : "no");
    std::string swarm = info.swarm_state.empty() ? "inactive" : info.swarm_state;
    if (swarm == "active") swarm += info.swarm_manager ? " (manager)" : " (worker)";
    add("Swarm", swarm);
  } else {
    add("Docker engine", "unreachable: " + *facts.InputError("engine.info"));
  }
  if (!facts.InputError("engine.containers")) {
    size_t running = facts.Running().size();
    add("Containers", std::to_string(running) + " running / " +
                          std::to_string(facts.containers.size()) + " total");
    std::set<std::string> running_images;
    for (const ContainerInfo* c : facts.Running()) running_images.insert(c->image_ref);
    std::string list;
    for (const auto& image : running_images) list += (list.empty() ? "" : ", ") + image;
    add("Images running", list.empty() ? "-" : list);
  }
  if (!facts.InputError("engine.images")) add("Images", std::to_string(facts.images.size()));
  add("dockerd", facts.daemon.cmdline_found
                     ? "pid " + std::to_string(facts.daemon.pid) + " (" + facts.daemon.exe + ")"
                     : "command line not found");
  add("daemon.json", facts.daemon.json_path + (facts.daemon.json_exists ? "" : " (absent)"));
  if (facts.host.root() != "/") add("Host root", facts.host.root());

  report.groups = DockerGroups();
  report.results =
      RunChecks<DockerFacts>(DockerChecks(), facts, selection,
                             [&facts](std::string_view input) { return facts.InputError(input); });
  report.totals = ComputeTotals(report.results);
  return report;
}

}  // namespace moat::cis::docker
