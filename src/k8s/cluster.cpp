#include "k8s/cluster.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <set>

#include "artifact/source_util.h"
#include "core/http.h"

namespace moat::k8s {
namespace {

std::string ScalarOf(const Value* v) {
  return v != nullptr && v->IsScalar() && !v->IsNull() ? v->text : std::string();
}

/// Query-string encoding for continue tokens (base64 with '+', '/', '=').
std::string QueryEscape(std::string_view text) {
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      char buffer[4];
      std::snprintf(buffer, sizeof buffer, "%%%02X", c);
      out += buffer;
    }
  }
  return out;
}

/// Removes the entries of `map` whose key is one of `keys` (a range of strings).
template <typename Keys>
void RemoveKeysIn(Value& map, const Keys& keys) {
  if (!map.IsMap()) return;
  auto& entries = map.children;
  entries.erase(std::remove_if(entries.begin(), entries.end(),
                               [&](const Value& e) {
                                 return std::find(keys.begin(), keys.end(), e.key) != keys.end();
                               }),
                entries.end());
}

void RemoveKeys(Value& map, std::initializer_list<std::string_view> keys) {
  RemoveKeysIn(map, keys);
}

Value KeyedString(std::string key, std::string text, uint32_t line) {
  Value v = Value::Scalar(Value::Type::kString, std::move(text));
  v.key = std::move(key);
  v.line = line;
  return v;
}

/// The message of a Status object in an error body, else the start of the body.
std::string StatusMessage(const std::string& body) {
  auto parsed = ParseYamlDocument(body, "status");
  if (parsed.ok() && parsed->IsMap()) {
    std::string message = ScalarOf(parsed->Get("message"));
    if (!message.empty()) return message;
  }
  std::string start = body.substr(0, 200);
  std::replace(start.begin(), start.end(), '\n', ' ');
  return start;
}

std::string StatusText(long status) {
  switch (status) {
    case 401:
      return "401 Unauthorized";
    case 403:
      return "403 Forbidden";
    case 404:
      return "404 Not Found";
    case 410:
      return "410 Gone";
    default:
      return std::to_string(status);
  }
}

}  // namespace

std::string ResourceKind::Path() const {
  const bool core = api_version.find('/') == std::string::npos;
  return (core ? "/api/" : "/apis/") + api_version + "/" + resource;
}

std::string ResourceKind::Group() const {
  const size_t slash = api_version.find('/');
  return slash == std::string::npos ? std::string() : api_version.substr(0, slash);
}

const std::vector<ResourceKind>& ClusterResourceKinds() {
  constexpr bool kCustom = true;
  const std::string kCalicoApi = "projectcalico.org/v3";
  static const std::vector<ResourceKind> kKinds = {
      {"v1", "namespaces", "Namespace"},
      {"v1", "pods", "Pod"},
      {"v1", "replicationcontrollers", "ReplicationController"},
      {"v1", "services", "Service"},
      {"v1", "serviceaccounts", "ServiceAccount"},
      {"v1", "secrets", "Secret", {"data", "stringData"}},
      {"v1", "configmaps", "ConfigMap", {"binaryData"}},
      {"apps/v1", "deployments", "Deployment"},
      {"apps/v1", "statefulsets", "StatefulSet"},
      {"apps/v1", "daemonsets", "DaemonSet"},
      {"apps/v1", "replicasets", "ReplicaSet"},
      {"batch/v1", "jobs", "Job"},
      {"batch/v1", "cronjobs", "CronJob"},
      {"networking.k8s.io/v1", "ingresses", "Ingress"},
      {"networking.k8s.io/v1", "networkpolicies", "NetworkPolicy"},
      {"rbac.authorization.k8s.io/v1", "roles", "Role"},
      {"rbac.authorization.k8s.io/v1", "clusterroles", "ClusterRole"},
      {"rbac.authorization.k8s.io/v1", "rolebindings", "RoleBinding"},
      {"rbac.authorization.k8s.io/v1", "clusterrolebindings", "ClusterRoleBinding"},
      // The network policies of the CNI plugins that have their own.
      {"cilium.io/v2", "ciliumnetworkpolicies", "CiliumNetworkPolicy", {}, kCustom},
      {"cilium.io/v2",
       "ciliumclusterwidenetworkpolicies",
       "CiliumClusterwideNetworkPolicy",
       {},
       kCustom},
      // Calico's API server, when installed, serves its resources as projectcalico.org/v3; they
      // are stored as crd.projectcalico.org/v1 custom resources, which clusters without it list.
      {kCalicoApi, "networkpolicies", "NetworkPolicy", {}, kCustom},
      {kCalicoApi, "globalnetworkpolicies", "GlobalNetworkPolicy", {}, kCustom},
      {"crd.projectcalico.org/v1", "networkpolicies", "NetworkPolicy", {}, kCustom, kCalicoApi},
      {"crd.projectcalico.org/v1",
       "globalnetworkpolicies",
       "GlobalNetworkPolicy",
       {},
       kCustom,
       kCalicoApi},
  };
  return kKinds;
}

Result<std::string> ParseListPage(std::string_view body, const ResourceKind& kind,
                                  const std::string& url, LoadResult& out) {
  LoadLimits limits;
  MOAT_ASSIGN_OR_RETURN(Value root, ParseYamlDocument(body, url, limits));
  if (!root.IsMap()) {
    return Fail(url, ": the response is a ", std::string(root.TypeName()), ", not a list");
  }
  const std::string list_kind = ScalarOf(root.Get("kind"));
  if (list_kind == "Status") {
    return Fail(url, ": the server answered with a Status: ", ScalarOf(root.Get("message")));
  }
  Value* items = const_cast<Value*>(root.Get("items"));
  if (items != nullptr && !items->IsNull() && !items->IsSequence()) {
    return Fail(url, ":", std::to_string(items->line), ": items is a ",
                std::string(items->TypeName()), ", not a list");
  }
  const std::string continue_token = ScalarOf(root.Path({"metadata", "continue"}));
  if (items == nullptr || items->IsNull()) return continue_token;

  size_t index = 0;
  for (Value& item : items->children) {
    const std::string item_path = "items[" + std::to_string(index++) + "]";
    if (!item.IsMap()) {
      out.errors.push_back(
          {url, item.line, item.column,
           item_path + " is a " + std::string(item.TypeName()) + ", not an object"});
      continue;
    }
    // List items leave out kind and apiVersion; the checks key on them.
    RemoveKeys(item, {"kind", "apiVersion"});
    item.children.insert(item.children.begin(),
                         KeyedString("apiVersion", kind.api_version, item.line));
    item.children.insert(item.children.begin(), KeyedString("kind", kind.kind, item.line));
    Object object;
    object.live = true;
    object.item_path = item_path;
    object.api_version = kind.api_version;
    object.kind = kind.kind;
    if (Value* metadata = const_cast<Value*>(item.Field("metadata")); metadata != nullptr) {
      // Server bookkeeping nobody checks, and often the bulk of an object.
      RemoveKeys(*metadata, {"managedFields"});
      if (Value* annotations = const_cast<Value*>(metadata->Get("annotations"))) {
        RemoveKeys(*annotations, {"kubectl.kubernetes.io/last-applied-configuration"});
      }
      object.name = ScalarOf(metadata->Get("name"));
      object.namespace_name = ScalarOf(metadata->Get("namespace"));
    }
    RemoveKeysIn(item, kind.dropped_fields);
    object.file = url.substr(0, url.find('?'));
    if (!object.namespace_name.empty() || !object.name.empty()) {
      // The object's own URL: where `kubectl get --raw` would find it.
      const std::string path = kind.Path();
      const size_t slash = path.rfind('/');
      object.file = url.substr(0, url.find(path)) + path.substr(0, slash) +
                    (object.namespace_name.empty() ? "" : "/namespaces/" + object.namespace_name) +
                    path.substr(slash) + "/" + object.name;
    }
    object.root = std::move(item);
    out.objects.push_back(std::move(object));
  }
  return continue_token;
}

HttpRequest ApiRequest(const ClusterConnection& connection, const ClusterListOptions& options) {
  HttpRequest base;
  base.headers = {{"Accept", "application/json"}};
  if (!connection.token.empty()) {
    base.headers.emplace_back("Authorization", "Bearer " + connection.token);
  }
  base.connect_timeout_seconds = options.connect_timeout_seconds;
  base.timeout_seconds = options.request_timeout_seconds;
  base.stall_timeout_seconds = 0;  // the whole-request timeout covers stalls
  base.follow_redirects = false;   // an API server does not redirect list calls
  base.verify_tls = !connection.insecure_skip_tls_verify;
  base.ca_pem = connection.ca_pem;
  base.client_cert_pem = connection.client_cert_pem;
  base.client_key_pem = connection.client_key_pem;
  if (connection.token.empty() && !connection.username.empty()) {
    base.headers.emplace_back(
        "Authorization", "Basic " + Base64Encode(connection.username + ":" + connection.password));
  }
  return base;
}

Result<void> ListKind(const ClusterConnection& connection, const ResourceKind& kind,
                      const ClusterListOptions& options, LoadResult& out, KindListing& listing) {
  const HttpRequest base = ApiRequest(connection, options);
  std::string continue_token;
  const size_t objects_before = out.objects.size();
  do {
    if (listing.pages >= options.max_pages_per_kind) {
      out.warnings.push_back("listing " + kind.resource + " (" + kind.api_version +
                             ") stopped after " + std::to_string(listing.pages) +
                             " pages: the server keeps returning a continue token");
      break;
    }
    HttpRequest request = base;
    request.url = connection.server + kind.Path() + "?limit=" + std::to_string(options.page_limit);
    if (!continue_token.empty()) request.url += "&continue=" + QueryEscape(continue_token);
    auto response = HttpFetch(request);
    if (!response.ok()) {
      return Fail("cannot list ", kind.resource, " from the Kubernetes API server ",
                  connection.server, " (timeout ", std::to_string(options.request_timeout_seconds),
                  " s per request): ", response.error().message);
    }
    listing.status = response->status;
    if (response->status == 401) {
      return Fail("the Kubernetes API server ", connection.server,
                  " rejected the credentials of context \"", connection.context,
                  "\" (401 Unauthorized): ", StatusMessage(response->body));
    }
    if (response->status == 404 && kind.custom && listing.pages == 0) break;
    if (response->status != 200) {
      out.warnings.push_back(
          "cannot list " + kind.resource + " (" + kind.kind + ", " + kind.api_version +
          "): " + StatusText(response->status) + ": " + StatusMessage(response->body) +
          (listing.pages > 0
               ? " (after " + std::to_string(listing.pages) + " pages; those objects are assessed)"
               : "; not assessed"));
      break;
    }
    ++listing.pages;
    auto next = ParseListPage(response->body, kind, request.url, out);
    if (!next.ok()) {
      out.errors.push_back({request.url, 0, 0, next.error().message});
      break;
    }
    if (!next->empty() && *next == continue_token) {
      out.errors.push_back(
          {request.url, 0, 0, "the server returned the same continue token again"});
      break;
    }
    continue_token = std::move(*next);
    listing.complete = continue_token.empty();
  } while (!continue_token.empty());
  listing.objects = out.objects.size() - objects_before;
  return Ok();
}

Result<ClusterListing> ListCluster(const ClusterConnection& connection,
                                   const ClusterListOptions& options) {
  ClusterListing listing;
  std::set<std::string> listed;  // "apiVersion/resource" of the kinds read to the last page
  std::string not_installed;     // the custom resources whose definition is not installed
  for (const ResourceKind& listed_kind : ClusterResourceKinds()) {
    KindListing kind_listing{listed_kind.kind, listed_kind.api_version, 0, 0, 200};
    if (!listed_kind.unless_listed.empty() &&
        listed.count(listed_kind.unless_listed + "/" + listed_kind.resource) != 0) {
      kind_listing.status = 0;
      listing.kinds.push_back(std::move(kind_listing));
      continue;
    }
    ResourceKind kind = listed_kind;
    if (kind.kind == "ConfigMap" && !options.configmap_data) kind.dropped_fields.push_back("data");
    MOAT_TRY(ListKind(connection, kind, options, listing.input, kind_listing));
    if (kind_listing.status == 404 && kind.custom && kind_listing.pages == 0) {
      not_installed +=
          (not_installed.empty() ? "" : ", ") + kind.kind + " (" + kind.api_version + ")";
    }
    if (kind_listing.complete) listed.insert(kind.api_version + "/" + kind.resource);
    listing.kinds.push_back(std::move(kind_listing));
  }
  if (!not_installed.empty()) {
    listing.notes.push_back("not installed in the cluster, not listed: " + not_installed);
  }
  return listing;
}

}  // namespace moat::k8s
