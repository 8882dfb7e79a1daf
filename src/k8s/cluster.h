#pragma once
// Reads a live cluster through the Kubernetes REST API: every kind the checks know, across
// namespaces, page by page (limit + continue), Cilium's and Calico's network policies among them.
// A kind the credentials may not list (403) or the server does not serve (404) is a warning
// naming the kind and the status; the others are still read. A custom resource whose
// definition is not installed (404) is only a note: most clusters run neither Cilium nor Calico.
// The objects come out as a LoadResult, ready for the same Assess() as manifests.

#include <string>
#include <string_view>
#include <vector>

#include "core/http.h"
#include "core/result.h"
#include "k8s/kubeconfig.h"
#include "k8s/loader.h"

namespace moat::k8s {

/// One listable kind: GET <prefix>/<resource> lists it across namespaces.
struct ResourceKind {
  std::string api_version;  // "v1", "apps/v1", "cilium.io/v2"
  std::string resource;     // "deployments"
  std::string kind;         // "Deployment"
  /// Top-level fields dropped from every item as soon as its page is parsed: what no check reads
  /// (a ConfigMap's binaryData) and what must not reach memory beyond the page, nor a report
  /// (a Secret's data).
  std::vector<std::string> dropped_fields = {};
  /// A custom resource (Cilium, Calico): a 404 means its definition is not installed.
  bool custom = false;
  /// When set, the kind is read only if this API version did not list (Calico's CRDs in
  /// crd.projectcalico.org hold the objects that its API server serves as projectcalico.org/v3:
  /// one of the two is enough).
  std::string unless_listed = {};

  /// "/api/v1/pods" or "/apis/apps/v1/deployments".
  std::string Path() const;
  /// "apps" for "apps/v1", "" for the core group "v1".
  std::string Group() const;
};

/// The kinds `moat k8s cluster` lists, in a stable order.
const std::vector<ResourceKind>& ClusterResourceKinds();

struct ClusterListOptions {
  long request_timeout_seconds = 30;  // per request, TLS handshake included
  long connect_timeout_seconds = 10;
  size_t page_limit = 500;
  size_t max_pages_per_kind = 10'000;  // a server that keeps answering "continue" is not trusted
  /// Keep ConfigMap data (what cred-configmap-plaintext reads). Off when that check does not
  /// run: ConfigMaps can hold megabytes each (dashboards, scripts) that nothing else reads.
  bool configmap_data = true;
};

/// What was read for one kind.
struct KindListing {
  std::string kind;
  std::string api_version;
  size_t objects = 0;
  size_t pages = 0;
  long status = 200;  // the HTTP status that ended the listing; 0 when not asked (unless_listed)
  bool complete = false;  // read to the last page
};

struct ClusterListing {
  LoadResult input;  // objects (live), and warnings for the kinds that could not be listed
  std::vector<KindListing> kinds;
  /// Not problems, for the log: the custom resources that are not installed.
  std::vector<std::string> notes;
};

/// The GET every call to the API server starts from: the connection's credentials and trust,
/// the timeouts (the URL is the caller's).
HttpRequest ApiRequest(const ClusterConnection& connection, const ClusterListOptions& options);

/// Lists every kind. Fails as a whole only when the server cannot be reached (refused, timed
/// out, TLS failure) or rejects the credentials (401): then nothing could be assessed.
Result<ClusterListing> ListCluster(const ClusterConnection& connection,
                                   const ClusterListOptions& options);

/// Lists one kind, page by page (limit + continue), into `out`; a status other than 200 ends
/// the listing with a warning in `out` (a custom resource's first 404 only sets
/// `listing.status`). Fails only when the server cannot be reached or rejects the credentials.
Result<void> ListKind(const ClusterConnection& connection, const ResourceKind& kind,
                      const ClusterListOptions& options, LoadResult& out, KindListing& listing);

/// Parses one list response page (untrusted): appends its items to `out` as live objects of
/// `kind` (list items of built-in kinds carry no kind/apiVersion; they are set), without
/// kind.dropped_fields, managedFields and kubectl's last-applied-configuration annotation (a
/// second copy of the object, a Secret's data included), and returns the continue token
/// ("" on the last page). `url` names the page in errors and becomes each object's `file`.
Result<std::string> ParseListPage(std::string_view body, const ResourceKind& kind,
                                  const std::string& url, LoadResult& out);

}  // namespace moat::k8s
