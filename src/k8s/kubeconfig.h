#pragma once
// Where a live cluster is and how to authenticate to it: a kubeconfig context (client
// certificate, bearer token or basic auth; CA data or file; insecure-skip-tls-verify) or the
// in-cluster service account. Follows kubectl's rules: *-data wins over the file variant, token
// over tokenFile, relative paths are relative to the kubeconfig, KUBECONFIG may list several
// files (the first file that defines a name wins).

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace moat::k8s {

struct ClusterConnection {
  std::string server;  // "https://10.0.0.1:6443", no trailing slash
  std::string ca_pem;  // empty = the system trust store
  std::string client_cert_pem;
  std::string client_key_pem;
  std::string token;  // bearer token
  std::string username, password;
  bool insecure_skip_tls_verify = false;
  std::string context;  // the context used; "in-cluster" for the service account
  std::string source;   // the kubeconfig file(s) or the service account directory
};

/// Reads a file named by a kubeconfig (certificates, keys, token files). Injected so the parser
/// can be fuzzed and tested without touching the file system.
using KubeconfigFileReader = std::function<Result<std::string>(const std::string& path)>;

/// The reader used outside tests: the file's contents, capped at 1 MiB.
KubeconfigFileReader DefaultKubeconfigFileReader();

/// One kubeconfig file's text and the path it was read from (relative names resolve against its
/// directory).
struct KubeconfigText {
  std::string path;
  std::string text;
};

/// Resolves `context` (empty = current-context) across the files, in order, into a connection.
/// Errors name the file and the entry: missing contexts, clusters or users, base64 that does not
/// decode, exec/auth-provider users (not supported: use a token or a certificate).
Result<ClusterConnection> ParseKubeconfig(const std::vector<KubeconfigText>& files,
                                          const std::string& context,
                                          const KubeconfigFileReader& read_file);

/// Reads and resolves kubeconfig files from disk.
Result<ClusterConnection> LoadKubeconfig(const std::vector<std::string>& paths,
                                         const std::string& context);

/// The in-cluster service account: KUBERNETES_SERVICE_HOST/PORT from `getenv`, the token and
/// ca.crt under `account_dir` (default /var/run/secrets/kubernetes.io/serviceaccount).
Result<ClusterConnection> InClusterConnection(
    const std::function<const char*(const char*)>& getenv,
    const std::string& account_dir = "/var/run/secrets/kubernetes.io/serviceaccount");

struct ConnectionOptions {
  std::string kubeconfig;   // --kubeconfig; empty = $KUBECONFIG, then ~/.kube/config
  std::string context;      // --context; empty = current-context
  bool in_cluster = false;  // --in-cluster: the service account even when a kubeconfig exists
};

/// kubectl's order: --kubeconfig, $KUBECONFIG (colon-separated), ~/.kube/config, then the
/// in-cluster service account when KUBERNETES_SERVICE_HOST is set.
Result<ClusterConnection> ResolveConnection(const ConnectionOptions& options);

}  // namespace moat::k8s
