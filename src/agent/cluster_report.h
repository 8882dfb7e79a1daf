#pragma once
// What `moat agent --kind cluster` reports about a Kubernetes cluster
// (docs/server/agent-protocol.md "cluster_report"): the cluster's identity, its namespaces, its
// workloads with their containers' images and the digests the pods run, the failed checks of the
// Kubernetes check library, read and assessed exactly as `moat k8s cluster` does, and the
// admission policy audit of the same objects.

#include <map>
#include <string>
#include <vector>

#include "core/result.h"
#include "k8s/checks.h"
#include "k8s/cluster.h"
#include "k8s/kubeconfig.h"

namespace moat::agent {

class ClusterAdmission;

struct ClusterReportOptions {
  k8s::ConnectionOptions connection;  // kubeconfig and context, or the in-cluster account
  /// The cluster's name on the server; empty = the kubeconfig context, or in the cluster
  /// "cluster-" and the start of the kube-system namespace's uid.
  std::string cluster_name;
  k8s::AssessOptions assess;
  k8s::ClusterListOptions list;
  /// The sensor DaemonSet's pods (`key=value` of their labels; empty = none) and the port of
  /// their --metrics-listen, where the agent fetches each node's in-use export.
  std::string sensor_pod_label = "app.kubernetes.io/name=moat-sensor";
  int sensor_port = 8766;
  /// The admission policy audit of the listed objects (agent/cluster_admission.h), reported as
  /// the body's admission_audit; null = none (the body has no admission_audit).
  ClusterAdmission* admission = nullptr;
};

/// What a cluster listing tells the in-use export (agent/in_use.h): where the sensors are, and
/// the image each container runs (a sensor on containerd cannot ask a Docker engine).
struct SensorTargets {
  std::vector<std::string> urls;  // "http://POD-IP:PORT" of each running sensor pod
  /// Container id (the runtime's, without "containerd://") -> the repository digest it runs.
  std::map<std::string, std::string> digest_by_container;
};

/// The body of a cluster_report message (a JSON object text). Fails when the API server cannot
/// be reached or refuses the credentials (nothing could be read); kinds the account may not list
/// are notes (also in the body). `sensors` (when given) receives the sensor pods and the
/// containers' digests.
Result<std::string> BuildClusterReport(const ClusterReportOptions& options,
                                       std::vector<std::string>& notes,
                                       SensorTargets* sensors = nullptr);

/// The body from objects already listed (tests, and BuildClusterReport after the listing).
Result<std::string> ClusterReportFromListing(const ClusterReportOptions& options,
                                             const k8s::ClusterConnection& connection,
                                             k8s::ClusterListing listing,
                                             std::vector<std::string>& notes,
                                             SensorTargets* sensors = nullptr);

/// "sha256:..." of a container status's imageID ("docker-pullable://repo@sha256:...",
/// "repo@sha256:..."); "" when it names no repository digest (a bare image id is the config's
/// digest, which no registry serves).
std::string DigestOfImageId(const std::string& image_id);

}  // namespace moat::agent
