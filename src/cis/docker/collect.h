#pragma once
// Reads a live Docker host into DockerFacts: the Engine API over its unix socket, the dockerd
// command line and daemon.json, unit files, audit rules and other host files (under host_root).

#include <string>

#include "cis/docker/facts.h"
#include "cis/engine.h"

namespace moat::cis::docker {

struct CollectOptions {
  std::string docker_host;  // unix:///path or /path; empty = DOCKER_HOST or the default
  std::string host_root = "/";
  size_t threads = 8;        // concurrent Engine API requests
  bool run_auditctl = true;  // `auditctl -l` when host_root is "/" and it is installed
};

/// Never fails as a whole: inputs that could not be read are recorded in facts.input_errors
/// (the checks that need them become WARN). `notes` gets one line per problem, for people.
DockerFacts CollectDockerFacts(const CollectOptions& options, std::vector<std::string>& notes);

/// All CIS Docker Benchmark v1.6.0 checks (sections 1-7), in benchmark order.
const std::vector<Check<DockerFacts>>& DockerChecks();
/// Section titles ("1" -> "Host Configuration", "1.1" -> "Linux Hosts Specific Configuration").
const std::vector<Group>& DockerGroups();

/// Runs the selected checks over the facts and fills in the report (summary, results, totals).
BenchReport AssessDocker(const DockerFacts& facts, const Selection& selection);

}  // namespace moat::cis::docker
