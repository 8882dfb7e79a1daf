// Exposure: LoadBalancer/NodePort services in front of sensitive applications, and namespaces
// without any NetworkPolicy.

#include <algorithm>
#include <cctype>
#include <string>

#include "k8s/check_util.h"

namespace moat::k8s::internal {
namespace {

std::string Lower(std::string_view s) {
  std::string out;
  for (char c : s) out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

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
  for (const std::string& n : c.params.List("sensitiveNames")) names.push_back(Lower(n));
  const std::vector<std::string> ports = c.params.List("sensitivePorts");
  std::string why;
  auto match_text = [&](std::string_view text, const std::string& where) {
    const std::string lower = Lower(text);
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
  return inventory.namespace_has_policy.count(ns) != 0;
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
  CheckDef exposure;
  exposure.info.id = "net-sensitive-exposure";
  exposure.info.group = "network";
  exposure.info.title = "Sensitive application exposed by LoadBalancer or NodePort";
  exposure.info.severity = Severity::kHigh;
  exposure.info.description =
      "Dashboards and databases behind a LoadBalancer or NodePort service are reachable from "
      "outside the cluster.";
  exposure.info.remediation =
      "Use a ClusterIP service behind an authenticated ingress, or restrict "
      "loadBalancerSourceRanges.";
  exposure.info.references = {"MDC: Kubernetes clusters should be accessible only over HTTPS",
                              "Azure Policy: LoadbalancerNoPublicIPs.json"};
  exposure.info.parameters = {
      {"sensitiveNames",
       "dashboard,grafana,kibana,prometheus,alertmanager,jenkins,argocd,mysql,mariadb,postgres,"
       "redis,mongo,elasticsearch,opensearch,cassandra,memcached,etcd,rabbitmq,kafka,zookeeper,"
       "couchdb,influxdb,minio,phpmyadmin,adminer",
       "substrings of service names, selectors and images that mark a sensitive application"},
      {"sensitivePorts",
       "2379,3306,5432,5601,6379,7000,8086,9042,9092,9200,9300,11211,15672,27017,2181",
       "service ports that mark a database or dashboard"}};
  exposure.info.kinds = {"Service"};
  exposure.kinds = {"Service"};
  exposure.pod_check = false;
  exposure.run = SensitiveExposure;
  checks.push_back(std::move(exposure));

  CheckDef policy;
  policy.info.id = "net-namespace-without-networkpolicy";
  policy.info.group = "network";
  policy.info.title = "Namespace without NetworkPolicy";
  policy.info.severity = Severity::kMedium;
  policy.info.description =
      "Without any NetworkPolicy every pod of the namespace accepts connections from every pod "
      "in the cluster.";
  policy.info.remediation =
      "Add a default-deny NetworkPolicy to the namespace and allow the flows it needs.";
  policy.info.references = {"CIS Kubernetes Benchmark 5.3.2",
                            "GCP: Network policy should be enabled on GKE clusters"};
  policy.info.kinds = {"Namespace", "workload"};
  policy.kinds = {"Namespace",
                  "Pod",
                  "Deployment",
                  "StatefulSet",
                  "DaemonSet",
                  "ReplicaSet",
                  "ReplicationController",
                  "Job",
                  "CronJob"};
  policy.pod_check = false;
  policy.run = NamespaceWithoutPolicy;
  checks.push_back(std::move(policy));
}

}  // namespace moat::k8s::internal
