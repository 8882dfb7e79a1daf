#pragma once
// What an AdmissionReview does not carry but policies ask for: the namespace's labels (a
// namespaceSelector, in a ValidatingAdmissionPolicy or in the configuration's policies) and the
// Namespace object itself (CEL's `namespaceObject`). With cluster access the webhook lists the
// namespaces through the API and re-lists them periodically, as the API server's informer keeps
// its own copy; ClusterObjectCache does the same for any kinds (the VAP param objects).

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "cel/value.h"
#include "core/result.h"
#include "k8s/cluster.h"
#include "k8s/kubeconfig.h"

namespace moat::admission {

/// Runs `step` every `interval` on its own thread until destroyed (the destructor wakes it).
class PeriodicTask {
 public:
  PeriodicTask(std::function<void()> step, std::chrono::milliseconds interval);
  ~PeriodicTask();
  PeriodicTask(const PeriodicTask&) = delete;
  PeriodicTask& operator=(const PeriodicTask&) = delete;

 private:
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

/// Objects of some kinds read from a cluster, re-listed periodically. A kind whose listing fails
/// keeps its previous objects (a passing API server hiccup must not drop the params a policy
/// needs); the failure is logged.
class ClusterObjectCache {
 public:
  struct Snapshot {
    /// Per kind (in the order given), the objects of its last successful listing.
    std::vector<std::vector<k8s::Object>> objects;
    std::vector<bool> listed;  // per kind: listed at least once
  };

  ClusterObjectCache(k8s::ClusterConnection connection, std::vector<k8s::ResourceKind> kinds,
                     k8s::ClusterListOptions options = {});
  ~ClusterObjectCache();

  /// Lists every kind now; fails when the server cannot be reached or refuses the credentials
  /// (the previous objects stay).
  Result<void> Refresh();
  /// Refreshes every `interval` from now on; `on_refresh` runs after each successful one.
  void StartRefreshing(std::chrono::milliseconds interval, std::function<void()> on_refresh = {});
  std::shared_ptr<const Snapshot> snapshot() const;
  const std::vector<k8s::ResourceKind>& kinds() const { return kinds_; }

 private:
  k8s::ClusterConnection connection_;
  std::vector<k8s::ResourceKind> kinds_;
  k8s::ClusterListOptions options_;
  mutable std::mutex mutex_;
  std::shared_ptr<const Snapshot> snapshot_;
  std::unique_ptr<PeriodicTask> task_;
};

/// The namespaces of a cluster by name: labels and the object as CEL sees it.
class NamespaceCache {
 public:
  struct Namespace {
    k8s::Object object;
    cel::Value value;  // the object as CEL's namespaceObject
    const k8s::Value* labels() const { return object.root.Path({"metadata", "labels"}); }
  };

  /// From Namespace objects already read (the audit's cluster listing, tests); other kinds are
  /// ignored.
  static std::shared_ptr<NamespaceCache> FromObjects(const std::vector<k8s::Object>& objects);
  /// Lists the cluster's namespaces now (an error if that fails) and every `interval` after.
  static Result<std::shared_ptr<NamespaceCache>> Start(const k8s::ClusterConnection& connection,
                                                       std::chrono::milliseconds interval);

  /// Null when the namespace is not known.
  std::shared_ptr<const Namespace> Find(std::string_view name) const;
  size_t size() const;

 private:
  using Index = std::unordered_map<std::string, std::shared_ptr<const Namespace>>;
  void Replace(const std::vector<k8s::Object>& objects);

  mutable std::mutex mutex_;
  std::shared_ptr<const Index> index_ = std::make_shared<Index>();
  std::unique_ptr<ClusterObjectCache> source_;
};

}  // namespace moat::admission
