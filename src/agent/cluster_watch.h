#pragma once
// `moat agent --kind cluster` re-assesses the cluster on watch events, not only every --interval
// (docs/agent.md "Watch events"). For each workload kind it lists the objects (their uids and
// generations, and the list's resourceVersion), then watches from that resourceVersion
// (`?watch=1&allowWatchBookmarks=true`): a stream of WatchEvents, one JSON object a line. A change
// that can change the assessment calls back: an object added or deleted, or its spec changed
// (metadata.generation moved); status updates and objects a controller owns (a Deployment's
// ReplicaSets and pods, whose template is the controller's) do not. A watch that ends is resumed
// from the last resourceVersion seen (bookmarks move it on for quiet kinds); a 410 Gone (the
// version is older than the server keeps) lists again, and what changed meanwhile calls back.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "k8s/cluster.h"
#include "k8s/kubeconfig.h"

namespace moat::agent {

/// One line of a watch stream (untrusted input).
struct WatchEvent {
  std::string type;  // ADDED, MODIFIED, DELETED, BOOKMARK, ERROR
  std::string kind;
  std::string namespace_name;
  std::string name;
  std::string uid;
  std::string resource_version;
  int64_t generation = 0;
  bool controlled = false;  // an ownerReference with controller: true
  int64_t code = 0;         // ERROR: the Status's code (410: the resourceVersion is too old)
  std::string message;      // ERROR: the Status's message
};
Result<WatchEvent> ParseWatchEvent(std::string_view line);

/// The kinds a cluster agent watches: those whose pod templates the workload checks assess.
const std::vector<k8s::ResourceKind>& WatchedKinds();

struct ClusterWatchOptions {
  std::vector<k8s::ResourceKind> kinds = WatchedKinds();
  /// The server ends each watch after this long (timeoutSeconds) and the agent resumes it; it is
  /// also how long a stop may wait for a quiet watch to end.
  int watch_seconds = 30;
  std::chrono::milliseconds first_retry = std::chrono::seconds(1);
  std::chrono::milliseconds max_retry = std::chrono::seconds(30);
  k8s::ClusterListOptions list;
};

/// Watches until `stop` is set, calling `changed` (from several threads, one per kind) with what
/// changed ("Deployment shop/cart added"). The connection is resolved again for each list and
/// watch (a projected service account token is renewed by the kubelet).
void WatchCluster(const k8s::ConnectionOptions& connection, const ClusterWatchOptions& options,
                  const std::atomic<bool>& stop,
                  const std::function<void(const std::string& what)>& changed);

}  // namespace moat::agent
