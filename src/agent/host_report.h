#pragma once
// What the agent reports about a Docker host (docs/server/agent-protocol.md "host_report"): the
// host, its containers with their images' digests, and the CIS Docker Benchmark run in-process
// exactly as `moat bench docker --format json` runs it.

#include <atomic>
#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "core/result.h"

namespace moat::agent {

struct HostReportOptions {
  std::string docker_host;  // unix:///path or /path; empty = DOCKER_HOST or the default socket
  std::string host_root = "/";
  std::string tool_version;  // stamped into the CIS report
  size_t threads = 4;        // concurrent Engine API requests
};

/// The body of a host_report message (a JSON object text). Never fails as a whole: an engine that
/// does not answer gives an empty container list and a CIS report of WARNs, and `notes` (also in
/// the body) say what could not be read.
std::string BuildHostReport(const HostReportOptions& options, std::vector<std::string>& notes);

/// "sha256:..." from the image's RepoDigests: the entry of the container's repository when
/// there is one (an image pulled from several registries has one per repository), else the
/// first; "" when the image has none (built locally, never pushed or pulled).
std::string PickImageDigest(const std::vector<std::string>& repo_digests,
                            const std::string& image_ref);

/// Follows the engine's container events (start, die, destroy) with GET /events, calling
/// `on_event` for each, until `stop` is set. Each request covers a bounded window (`since`..
/// `until`) so that stopping never waits on a silent stream and no event between windows is lost;
/// an engine that is down is retried every `retry`.
void WatchContainerEvents(const std::string& docker_host, const std::atomic<bool>& stop,
                          const std::function<void(const std::string& action)>& on_event,
                          std::chrono::seconds window = std::chrono::seconds(10),
                          std::chrono::seconds retry = std::chrono::seconds(5));

}  // namespace moat::agent
