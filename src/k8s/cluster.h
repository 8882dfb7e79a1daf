#pragma once
// Reads a live cluster through the Kubernetes REST API: every kind the checks know, across
// namespaces, page by page (limit + continue). A kind the credentials may not list (403) or the
// server does not serve (404) is a warning naming the kind and the status; the others are still
// read. The objects come out as a LoadResult, ready for the same Assess() as manifests.

#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "k8s/kubeconfig.h"
#include "k8s/loader.h"

namespace moat::k8s {

/// One listable kind: GET <prefix>/<resource> lists it across namespaces.
struct ResourceKind {
  std::string api_version;  // "v1", "apps/v1"
  std::string resource;     // "deployments"
  std::string kind;         // "Deployment"
  /// Secrets and ConfigMaps: only metadata is kept (data never reaches memory beyond the page,
  /// nor a report).
  bool metadata_only = false;

  /// "/api/v1/pods" or "/apis/apps/v1/deployments".
  std::string Path() const;
};

/// The kinds `moat k8s cluster` lists, in a stable order.
const std::vector<ResourceKind>& ClusterResourceKinds();

struct ClusterListOptions {
  long request_timeout_seconds = 30;  // per request, TLS handshake included
  long connect_timeout_seconds = 10;
  size_t page_limit = 500;
  size_t max_pages_per_kind = 10'000;  // a server that keeps answering "continue" is not trusted
};

/// What was read for one kind.
struct KindListing {
  std::string kind;
  size_t objects = 0;
  size_t pages = 0;
  long status = 200;  // the HTTP status that ended the listing
};

struct ClusterListing {
  LoadResult input;  // objects (live), and warnings for the kinds that could not be listed
  std::vector<KindListing> kinds;
};

/// Lists every kind. Fails as a whole only when the server cannot be reached (refused, timed
/// out, TLS failure) or rejects the credentials (401): then nothing could be assessed.
Result<ClusterListing> ListCluster(const ClusterConnection& connection,
                                   const ClusterListOptions& options);

/// Parses one list response page (untrusted): appends its items to `out` as live objects of
/// `kind` (list items carry no kind/apiVersion; they are set), and returns the continue token
/// ("" on the last page). `url` names the page in errors and becomes each object's `file`.
Result<std::string> ParseListPage(std::string_view body, const ResourceKind& kind,
                                  const std::string& url, LoadResult& out);

}  // namespace moat::k8s
