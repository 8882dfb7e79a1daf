// Exposure: every path in from outside the cluster (LoadBalancer, NodePort, externalIPs,
// Ingress), Ingress without TLS, LoadBalancer/NodePort services in front of sensitive
// applications, and namespaces without any network policy (Kubernetes, Cilium or Calico).

#include <algorithm>
#include <cctype>
#include <string>

#include "core/text.h"
#include "k8s/check_util.h"

namespace moat::k8s::internal {
namespace {

/// Whether `labels` (a map) carries every key/value of `selector` (a map).
bool SelectorMatches(const Value* selector, const Value* labels) {
  if (selector == nullptr || !selector->IsMap() || selector->children.empty()) return false;
  if (labels == nullptr) return false;
  for (const Value& s : selector->Entries()) {
    const Value* l = labels->Get(s.key);
    if (l == nullptr || l->Str() != s.Str()) return false;
  }
  return true;
}

void SensitiveExposure(const CheckContext& c, Emitter& e) {
  const Value* spec = c.object.root.Field("spec");
  if (spec == nullptr) return;
  const Value* type = spec->Get("type");
  if (type == nullptr || (type->Str() != "LoadBalancer" && type->Str() != "NodePort")) return;
  std::vector<std::string> names;
  for (const std::string& n : c.params.List("sensitiveNames")) names.push_back(AsciiLower(n));
  const std::vector<std::string> ports = c.params.List("sensitivePorts");
  std::string why;
  auto match_text = [&](std::string_view text, const std::string& where) {
    const std::string lower = AsciiLower(text);
    for (const std::string& n : names) {
      if (why.empty() && !n.empty() && lower.find(n) != std::string::npos)
        why = where + " \"" + std::string(text) + "\" looks like " + n;
    }
  };
  match_text(c.object.name, "service name");
  if (const Value* selector = spec->Field("selector")) {
    for (const Value& s : selector->Entries()) match_text(s.Str(), "selector " + s.key);
    // The workloads behind the service: their images tell what they are.
    auto workloads = c.inventory.workloads_by_namespace.find(c.object.EffectiveNamespace());
    const std::vector<size_t> none;
    for (size_t index :
         workloads == c.inventory.workloads_by_namespace.end() ? none : workloads->second) {
      if (!why.empty()) break;
      const Object& o = (*c.inventory.objects)[index];
      std::optional<PodTemplate> pod = FindPodTemplate(o);
      if (!pod || pod->metadata == nullptr) continue;
      if (!SelectorMatches(selector, pod->metadata->Field("labels"))) continue;
      ForEachContainer(*pod, [&](const Value& container, const std::string&) {
        if (const Value* image = container.Get("image"))
          match_text(image->Str(), "image of " + o.Reference());
      });
    }
  }
  if (const Value* service_ports = spec->Get("ports")) {
    for (const Value& p : service_ports->Items()) {
      for (std::string_view field : {"port", "targetPort"}) {
        const Value* v = p.Get(field);
        if (v == nullptr || !why.empty()) continue;
        if (std::find(ports.begin(), ports.end(), v->text) != ports.end())
          why = "port " + v->text + " is a well-known database or dashboard port";
      }
    }
  }
  if (!why.empty())
    e.Fail(type, "spec.type",
           "service of type " + type->text + " exposes a sensitive application (" + why + ")");
}

bool HasNetworkPolicy(const Inventory& inventory, const std::string& ns) {
  return inventory.cluster_wide_policy || inventory.namespace_has_policy.count(ns) != 0;
}

}  // namespace

/// Annotations that make a cloud provider's LoadBalancer internal (a private address in the VPC).
bool InternalLoadBalancer(const Value* annotations) {
  if (annotations == nullptr) return false;
  static constexpr std::pair<std::string_view, std::string_view> kInternal[] = {
      {"service.beta.kubernetes.io/aws-load-balancer-internal", ""},  // any value but "false"
      {"service.beta.kubernetes.io/aws-load-balancer-scheme", "internal"},
      {"service.beta.kubernetes.io/azure-load-balancer-internal", "true"},
      {"networking.gke.io/load-balancer-type", "Internal"},
      {"cloud.google.com/load-balancer-type", "Internal"},
      {"service.beta.kubernetes.io/openstack-internal-load-balancer", "true"},
      {"service.beta.kubernetes.io/oci-load-balancer-internal", "true"},
      {"service.kubernetes.io/ibm-load-balancer-cloud-provider-ip-type", "private"},
  };
  for (const auto& [key, value] : kInternal) {
    const Value* a = annotations->Get(key);
    if (a == nullptr) continue;
    if (value.empty() ? (a->Str() != "false" && !a->Str().empty())
                      : AsciiLower(a->Str()) == AsciiLower(value))
      return true;
  }
  return false;
}

namespace {

std::string PortList(const Value* ports, std::string_view field) {
  std::string out;
  for (const Value& p : ports != nullptr ? ports->Items() : std::vector<Value>{}) {
    const Value* v = p.Get(field);
    if (v == nullptr) continue;
    if (!out.empty()) out += ",";
    out += v->text;
  }
  return out;
}

void ServiceExposure(const CheckContext& c, Emitter& e) {
  const Value* spec = c.object.root.Field("spec");
  if (spec == nullptr) return;
  const Value* type = spec->Get("type");
  const std::string_view t = type != nullptr ? type->Str() : std::string_view();
  const Value* ports = spec->Get("ports");
  if (t == "LoadBalancer") {
    const Value* metadata = c.object.root.Field("metadata");
    if (!InternalLoadBalancer(metadata != nullptr ? metadata->Field("annotations") : nullptr)) {
      const Value* ranges = spec->Get("loadBalancerSourceRanges");
      const bool restricted = ranges != nullptr && !ranges->Items().empty();
      e.Fail(type, "spec.type",
             "LoadBalancer service reachable from outside the cluster on port(s) " +
                 PortList(ports, "port") +
                 (restricted ? " (limited by loadBalancerSourceRanges)" : " from any address"));
    }
  }
  if (t == "NodePort") {
    const std::string node_ports = PortList(ports, "nodePort");
    e.Fail(type, "spec.type",
           "NodePort service reachable on every node's address" +
               (node_ports.empty() ? std::string() : " at port(s) " + node_ports));
  }
  const Value* external_ips = spec->Get("externalIPs");
  if (external_ips != nullptr && !external_ips->Items().empty()) {
    std::vector<std::string> ips;
    for (const Value& ip : external_ips->Items()) ips.push_back(ip.text);
    e.Fail(external_ips, "spec.externalIPs",
           "service accepts traffic for external IP(s) " + QuoteList(ips));
  }
}

/// "host/path -> service:port" for each backend of an Ingress.
std::vector<std::string> IngressPaths(const Value& spec) {
  std::vector<std::string> out;
  auto backend = [](const Value* b) {
    if (b == nullptr) return std::string("?");
    if (const Value* service = b->Field("service")) {
      const Value* name = service->Get("name");
      const Value* port = service->Path({"port", "number"});
      if (port == nullptr) port = service->Path({"port", "name"});
      return std::string(name != nullptr ? name->Str() : "?") +
             (port != nullptr ? ":" + port->text : std::string());
    }
    const Value* name = b->Get("serviceName");  // extensions/v1beta1 and networking v1beta1
    const Value* port = b->Get("servicePort");
    if (name != nullptr)
      return std::string(name->Str()) + (port != nullptr ? ":" + port->text : std::string());
    return std::string("resource backend");
  };
  if (const Value* def = spec.Field("defaultBackend")) out.push_back("* -> " + backend(def));
  if (const Value* def = spec.Field("backend")) out.push_back("* -> " + backend(def));
  for (const Value& rule :
       spec.Get("rules") != nullptr ? spec.Get("rules")->Items() : std::vector<Value>{}) {
    const Value* host = rule.Get("host");
    const std::string h = host != nullptr && !host->Str().empty() ? host->text : "*";
    const Value* paths = rule.Path({"http", "paths"});
    for (const Value& p : paths != nullptr ? paths->Items() : std::vector<Value>{}) {
      const Value* path = p.Get("path");
      out.push_back(h + (path != nullptr ? path->text : "/") + " -> " +
                    backend(p.Field("backend")));
    }
  }
  return out;
}

void IngressExposure(const CheckContext& c, Emitter& e) {
  const Value* spec = c.object.root.Field("spec");
  if (spec == nullptr) return;
  const std::vector<std::string> paths = IngressPaths(*spec);
  std::string list;
  for (const std::string& p : paths) list += (list.empty() ? "" : ", ") + p;
  e.Fail(spec, "spec",
         "Ingress routes outside traffic to the cluster" + (list.empty() ? "" : ": " + list),
         &c.object.root);
}

void ExternalExposure(const CheckContext& c, Emitter& e) {
  if (c.object.kind == "Service") {
    ServiceExposure(c, e);
  } else {
    IngressExposure(c, e);
  }
}

/// Whether a TLS host pattern ("*.example.com" covers one label) covers a rule's host.
bool TlsCovers(std::string_view pattern, std::string_view host) {
  if (pattern == host) return true;
  if (pattern.rfind("*.", 0) != 0) return false;
  const size_t dot = host.find('.');
  return dot != std::string_view::npos && host.substr(dot) == pattern.substr(1);
}

void IngressTls(const CheckContext& c, Emitter& e) {
  const Value* spec = c.object.root.Field("spec");
  if (spec == nullptr) return;
  const Value* tls = spec->Get("tls");
  if (tls == nullptr || tls->Items().empty()) {
    e.Fail(tls, "spec.tls", "Ingress serves plain HTTP: it has no tls section", spec);
    return;
  }
  const Value* rules = spec->Get("rules");
  size_t i = 0;
  for (const Value& rule : rules != nullptr ? rules->Items() : std::vector<Value>{}) {
    const Value* host = rule.Get("host");
    // A rule without a host is served by a tls entry without hosts (the default certificate).
    const std::string_view h = host != nullptr ? host->Str() : std::string_view();
    bool covered = false;
    for (const Value& entry : tls->Items()) {
      const Value* hosts = entry.Get("hosts");
      if (hosts == nullptr || hosts->Items().empty()) covered |= h.empty();
      for (const Value& pattern : hosts != nullptr ? hosts->Items() : std::vector<Value>{})
        covered |= TlsCovers(pattern.Str(), h);
    }
    if (!covered)
      e.Fail(
          host != nullptr ? host : &rule, "spec.rules[" + std::to_string(i) + "].host",
          "host \"" + std::string(h) + "\" is not listed in any tls entry: served over plain HTTP");
    ++i;
  }
}

void NamespaceWithoutPolicy(const CheckContext& c, Emitter& e) {
  if (c.object.kind == "Namespace") {
    if (!HasNetworkPolicy(c.inventory, c.object.name))
      e.Fail(&c.object.root, "metadata.name",
             "namespace \"" + c.object.name +
                 "\" has no NetworkPolicy: every pod accepts "
                 "traffic from everywhere");
    return;
  }
  // Manifests often leave the Namespace object out: report once per namespace, on its first
  // workload.
  const std::string ns = c.object.EffectiveNamespace();
  if (c.inventory.namespace_object.count(ns) != 0) return;
  auto workloads = c.inventory.workloads_by_namespace.find(ns);
  if (workloads == c.inventory.workloads_by_namespace.end() ||
      &(*c.inventory.objects)[workloads->second.front()] != &c.object)
    return;
  if (!HasNetworkPolicy(c.inventory, ns))
    e.Fail(c.object.root.Path({"metadata", "namespace"}), "metadata.namespace",
           "namespace \"" + ns +
               "\" has no NetworkPolicy: every pod accepts traffic from "
               "everywhere",
           &c.object.root);
}

}  // namespace

void AddNetworkChecks(std::vector<CheckDef>& checks) {
  AddCheck(
      checks,
      MakeInfo("net-sensitive-exposure", "network",
               "Sensitive application exposed by LoadBalancer or NodePort", Severity::kHigh,
               "Dashboards and databases behind a LoadBalancer or NodePort service are reachable "
               "from outside the cluster.",
               "Use a ClusterIP service behind an authenticated ingress, or restrict "
               "loadBalancerSourceRanges.",
               {"MDC: Kubernetes clusters should be accessible only over HTTPS",
                "Azure Policy: LoadbalancerNoPublicIPs.json"},
               {"Service"},
               {{"sensitiveNames",
                 "dashboard,grafana,kibana,prometheus,alertmanager,jenkins,argocd,mysql,mariadb,"
                 "postgres,redis,mongo,elasticsearch,opensearch,cassandra,memcached,etcd,"
                 "rabbitmq,kafka,zookeeper,couchdb,influxdb,minio,phpmyadmin,adminer",
                 "substrings of service names, selectors and images that mark a sensitive "
                 "application"},
                {"sensitivePorts",
                 "2379,3306,5432,5601,6379,7000,8086,9042,9092,9200,9300,11211,15672,27017,2181",
                 "service ports that mark a database or dashboard"}}),
      SensitiveExposure);
  AddCheck(checks,
           MakeInfo("net-namespace-without-networkpolicy", "network",
                    "Namespace without NetworkPolicy", Severity::kMedium,
                    "Without any network policy every pod of the namespace accepts connections "
                    "from every pod in the cluster. NetworkPolicy (networking.k8s.io and "
                    "Calico), CiliumNetworkPolicy, and cluster-wide "
                    "CiliumClusterwideNetworkPolicy or Calico GlobalNetworkPolicy objects that "
                    "select every namespace count.",
                    "Add a default-deny NetworkPolicy to the namespace and allow the flows it "
                    "needs.",
                    {"CIS Kubernetes Benchmark 5.3.2",
                     "GCP: Network policy should be enabled on GKE clusters"},
                    {"Namespace", "workload"}),
           NamespaceWithoutPolicy);
  AddCheck(
      checks,
      MakeInfo("net-external-exposure", "network", "Reachable from outside the cluster",
               Severity::kLow,
               "Every path in from outside the cluster: LoadBalancer services (unless "
               "annotated internal), NodePort services, services with externalIPs and "
               "Ingresses. Each is attack surface to review; the finding lists the ports, "
               "hosts and backends.",
               "Keep services ClusterIP unless they must be public; put public HTTP behind "
               "an Ingress with TLS and authentication; restrict loadBalancerSourceRanges; "
               "remove externalIPs (CVE-2020-8554).",
               {"kubescape C-0256 (External facing)", "Azure Policy: LoadbalancerNoPublicIPs.json",
                "Azure Policy: AllowedExternalIPs.json"},
               {"Service", "Ingress"}),
      ExternalExposure);
  AddCheck(checks,
           MakeInfo("net-ingress-tls", "network", "Ingress without TLS", Severity::kMedium,
                    "An Ingress without a tls section, or a host not listed in any tls entry, is "
                    "served over plain HTTP: credentials and session cookies cross the network "
                    "in clear text.",
                    "Add spec.tls with a certificate Secret for every host (cert-manager can "
                    "issue them).",
                    {"MDC: Kubernetes clusters should be accessible only over HTTPS",
                     "Azure Policy: IngressHttpsOnly.json"},
                    {"Ingress"}),
           IngressTls);
}

}  // namespace moat::k8s::internal
