#include "agent/cluster_report.h"

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <tuple>

#include "admission/audit.h"
#include "admission/decision.h"
#include "agent/cluster_admission.h"
#include "artifact/manifest.h"
#include "core/log.h"

namespace moat::agent {
namespace {

using Json = nlohmann::json;

// (namespace, kind, name): how owner references name their owner.
using ObjectKey = std::tuple<std::string, std::string, std::string>;

ObjectKey KeyOf(const k8s::Object& object) {
  return {object.EffectiveNamespace(), object.kind, object.name};
}

std::string TextOf(const k8s::Value* value) {
  return value != nullptr && value->IsScalar() && !value->IsNull() ? value->text : std::string();
}

// Kinds reported although no pod runs in them: those whose checks feed recommendations (RBAC,
// exposure, network policy per namespace), so that their healthy objects count in the score too.
bool IsReviewedKind(const std::string& kind) {
  static const std::set<std::string> kKinds = {
      "Namespace",   "Service",     "Ingress",           "Role",
      "RoleBinding", "ClusterRole", "ClusterRoleBinding"};
  return kKinds.count(kind) > 0;
}

// The object that controls `object` (its ownerReference with controller: true), when it was
// listed too: a Pod's ReplicaSet, a ReplicaSet's Deployment, a Job's CronJob.
std::optional<size_t> ControllerOf(const k8s::Object& object,
                                   const std::map<ObjectKey, size_t>& index) {
  const k8s::Value* owners = object.root.Path({"metadata", "ownerReferences"});
  if (owners == nullptr) return std::nullopt;
  for (const k8s::Value& owner : owners->Items()) {
    const k8s::Value* controller = owner.Get("controller");
    if (controller == nullptr || !controller->IsTrue()) continue;
    auto it = index.find(
        {object.EffectiveNamespace(), TextOf(owner.Get("kind")), TextOf(owner.Get("name"))});
    if (it != index.end()) return it->second;
  }
  return std::nullopt;
}

// The containers of a workload's pod template, with the digests its pods report running.
Json ContainersOf(const k8s::Object& object,
                  const std::map<std::string, std::string>& digest_by_container) {
  Json containers = Json::array();
  auto pod = k8s::FindPodTemplate(object);
  if (!pod) return containers;
  for (auto [key, init] : {std::pair{"initContainers", true}, {"containers", false}}) {
    const k8s::Value* list = pod->spec->Get(key);
    if (list == nullptr) continue;
    for (const k8s::Value& container : list->Items()) {
      const std::string name = TextOf(container.Get("name"));
      const std::string image = TextOf(container.Get("image"));
      if (name.empty()) continue;
      std::string digest;
      if (auto it = digest_by_container.find(name); it != digest_by_container.end()) {
        digest = it->second;
      }
      // An image pinned by digest in the spec runs that digest.
      if (digest.empty()) digest = DigestOfImageId(image);
      containers.push_back({{"name", name}, {"image", image}, {"image_digest", digest}});
      if (init) containers.back()["init"] = true;
    }
  }
  return containers;
}

// A kubeconfig context name as a server resource name: letters, digits, '-', '.', '_'.
std::string ResourceName(const std::string& text) {
  std::string name;
  for (char c : text) {
    name +=
        std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_' ? c : '-';
  }
  return name.substr(0, 253);
}

// The Node objects with what their status says (kubelet, OS, kernel, runtime, conditions) and the
// pods bound to each (spec.nodeName), each with the workload that stands for it. A node the
// account may not list still appears with its pods, by name only.
Json NodesOf(const std::vector<k8s::Object>& objects, const std::vector<size_t>& top) {
  std::map<std::string, Json> nodes;
  for (const k8s::Object& object : objects) {
    if (object.kind != "Node" || object.name.empty()) continue;
    const k8s::Value* info = object.root.Path({"status", "nodeInfo"});
    auto field = [&](const char* key) {
      return info == nullptr ? std::string() : TextOf(info->Get(key));
    };
    Json roles = Json::array();
    if (const k8s::Value* labels = object.root.Path({"metadata", "labels"}); labels != nullptr) {
      constexpr std::string_view kRolePrefix = "node-role.kubernetes.io/";
      for (const k8s::Value& label : labels->Entries()) {
        if (label.key.starts_with(kRolePrefix) && label.key.size() > kRolePrefix.size()) {
          roles.push_back(label.key.substr(kRolePrefix.size()));
        }
      }
    }
    Json conditions = Json::array();
    std::string ready;
    if (const k8s::Value* list = object.root.Path({"status", "conditions"}); list != nullptr) {
      for (const k8s::Value& condition : list->Items()) {
        const std::string type = TextOf(condition.Get("type"));
        if (type.empty()) continue;
        if (type == "Ready") ready = TextOf(condition.Get("status"));
        conditions.push_back({{"type", type},
                              {"status", TextOf(condition.Get("status"))},
                              {"reason", TextOf(condition.Get("reason"))},
                              {"message", TextOf(condition.Get("message"))}});
      }
    }
    const k8s::Value* unschedulable = object.root.Path({"spec", "unschedulable"});
    nodes[object.name] = {{"name", object.name},
                          {"kubelet_version", field("kubeletVersion")},
                          {"os_image", field("osImage")},
                          {"kernel", field("kernelVersion")},
                          {"container_runtime", field("containerRuntimeVersion")},
                          {"architecture", field("architecture")},
                          {"ready", ready},
                          {"unschedulable", unschedulable != nullptr && unschedulable->IsTrue()},
                          {"roles", roles},
                          {"conditions", conditions},
                          {"pods", Json::array()}};
  }
  for (size_t i = 0; i < objects.size(); ++i) {
    const k8s::Object& pod = objects[i];
    if (pod.kind != "Pod" || pod.name.empty()) continue;
    const std::string node = TextOf(pod.root.Path({"spec", "nodeName"}));
    if (node.empty()) continue;  // not scheduled yet
    Json& entry = nodes[node];
    if (!entry.contains("name")) entry = {{"name", node}, {"pods", Json::array()}};
    const k8s::Value* containers = pod.root.Path({"spec", "containers"});
    const k8s::Object& workload = objects[top[i]];
    entry["pods"].push_back({{"namespace", pod.EffectiveNamespace()},
                             {"name", pod.name},
                             {"phase", TextOf(pod.root.Path({"status", "phase"}))},
                             {"containers", containers == nullptr ? 0 : containers->Items().size()},
                             {"workload_kind", workload.kind},
                             {"workload_name", workload.name}});
  }
  Json list = Json::array();
  for (auto& [name, node] : nodes) list.push_back(std::move(node));
  return list;
}

// "http://IP:PORT" of the running pods that carry the sensor's label.
std::vector<std::string> SensorPodUrls(const std::vector<k8s::Object>& objects,
                                       const ClusterReportOptions& options) {
  std::vector<std::string> urls;
  const size_t equals = options.sensor_pod_label.find('=');
  if (equals == std::string::npos) return urls;
  const std::string key = options.sensor_pod_label.substr(0, equals);
  const std::string value = options.sensor_pod_label.substr(equals + 1);
  for (const k8s::Object& object : objects) {
    if (object.kind != "Pod") continue;
    const k8s::Value* labels = object.root.Path({"metadata", "labels"});
    if (labels == nullptr || TextOf(labels->Get(key)) != value) continue;
    if (TextOf(object.root.Path({"status", "phase"})) != "Running") continue;
    const std::string ip = TextOf(object.root.Path({"status", "podIP"}));
    if (ip.empty()) continue;
    const std::string host = ip.find(':') != std::string::npos ? "[" + ip + "]" : ip;
    urls.push_back("http://" + host + ":" + std::to_string(options.sensor_port));
  }
  return urls;
}

// The audit's violations as the report's admission_audit: one result per object, policy and
// place. A controlled object (a Deployment's pods) repeats its controller's template, which is
// reported instead, as for the findings.
Json AdmissionAuditOf(const admission::AuditResult& audit, const std::vector<k8s::Object>& objects,
                      const std::vector<size_t>& top) {
  Json results = Json::array();
  const std::vector<k8s::Finding>& findings = audit.assessment.findings;
  for (size_t f = 0; f < findings.size() && f < audit.finding_actions.size(); ++f) {
    const k8s::Finding& finding = findings[f];
    if (finding.object >= objects.size() || top[finding.object] != finding.object) continue;
    if (objects[finding.object].name.empty()) continue;
    if (finding.check == nullptr) continue;
    const k8s::Object& object = objects[finding.object];
    const admission::Action action = audit.finding_actions[f];
    results.push_back({{"kind", object.kind},
                       {"namespace", object.EffectiveNamespace()},
                       {"name", object.name},
                       {"policy", finding.check->id},
                       {"action", std::string(admission::ActionName(action))},
                       {"path", finding.path},
                       {"message", std::string(admission::AuditMessage(finding, action))}});
  }
  return {{"objects", objects.size()}, {"results", results}};
}

}  // namespace

std::string DigestOfImageId(const std::string& image_id) {
  const size_t at = image_id.rfind("@sha256:");
  if (at == std::string::npos) return "";
  std::string digest = image_id.substr(at + 1);
  return IsSha256Digest(digest) ? digest : "";
}

Result<std::string> ClusterReportFromListing(const ClusterReportOptions& options,
                                             const k8s::ClusterConnection& connection,
                                             k8s::ClusterListing listing,
                                             std::vector<std::string>& notes,
                                             SensorTargets* sensors) {
  for (const auto& note : listing.notes) notes.push_back(note);
  for (const auto& warning : listing.input.warnings) notes.push_back(warning);
  // The admission audit judges the objects first and lends them back in their order, so that its
  // findings' object indices are those of the assessment below: one listing for both.
  std::optional<admission::AuditResult> audit;
  if (options.admission != nullptr) {
    auto policies = options.admission->Policies(listing.input.objects, notes);
    if (!policies.ok()) {
      notes.push_back("admission audit not run: " + policies.error().message);
      log::Warn("cluster report: admission audit not run: " + policies.error().message);
    } else {
      audit = admission::Audit(**policies, std::move(listing.input));
      listing.input.objects = std::move(audit->assessment.objects);
      listing.input.errors = std::move(audit->assessment.errors);
      listing.input.warnings = std::move(audit->assessment.warnings);
    }
  }
  MOAT_ASSIGN_OR_RETURN(k8s::Assessment assessment,
                        k8s::Assess(std::move(listing.input), options.assess));
  for (const auto& error : assessment.errors) notes.push_back(error.ToString());
  const std::vector<k8s::Object>& objects = assessment.objects;

  std::map<ObjectKey, size_t> index;
  for (size_t i = 0; i < objects.size(); ++i) index.emplace(KeyOf(objects[i]), i);
  // The top of each object's chain of controllers (itself when nothing listed controls it).
  std::vector<size_t> top(objects.size());
  for (size_t i = 0; i < objects.size(); ++i) {
    size_t at = i;
    for (size_t hops = 0; hops < 8; ++hops) {  // Pod -> ReplicaSet -> Deployment; no cycles
      auto controller = ControllerOf(objects[at], index);
      if (!controller || *controller == i) break;
      at = *controller;
    }
    top[i] = at;
  }
  // What the pods run, by their top controller and container name.
  std::map<size_t, std::map<std::string, std::string>> digests;
  for (size_t i = 0; i < objects.size(); ++i) {
    if (objects[i].kind != "Pod") continue;
    for (const char* key : {"initContainerStatuses", "containerStatuses"}) {
      const k8s::Value* statuses = objects[i].root.Path({"status", key});
      if (statuses == nullptr) continue;
      for (const k8s::Value& status : statuses->Items()) {
        const std::string digest = DigestOfImageId(TextOf(status.Get("imageID")));
        if (!digest.empty()) digests[top[i]].emplace(TextOf(status.Get("name")), digest);
      }
    }
  }
  std::set<size_t> with_findings;
  for (const k8s::Finding& finding : assessment.findings) with_findings.insert(finding.object);
  if (sensors != nullptr) {
    for (std::string& url : SensorPodUrls(objects, options))
      sensors->urls.push_back(std::move(url));
    for (const k8s::Object& pod : objects) {
      if (pod.kind != "Pod") continue;
      for (const char* key : {"initContainerStatuses", "containerStatuses"}) {
        const k8s::Value* statuses = pod.root.Path({"status", key});
        if (statuses == nullptr) continue;
        for (const k8s::Value& status : statuses->Items()) {
          const std::string id = TextOf(status.Get("containerID"));  // "containerd://<id>"
          const std::string digest = DigestOfImageId(TextOf(status.Get("imageID")));
          const size_t scheme = id.find("://");
          if (scheme == std::string::npos || digest.empty()) continue;
          sensors->digest_by_container[id.substr(scheme + 3)] = digest;
        }
      }
    }
  }

  // The cluster's identity: the kube-system namespace's uid does not change with its name.
  std::string uid;
  Json namespaces = Json::array();
  for (const k8s::Object& object : objects) {
    if (object.kind != "Namespace" || object.name.empty()) continue;
    namespaces.push_back(object.name);
    if (object.name == "kube-system") uid = TextOf(object.root.Path({"metadata", "uid"}));
  }
  std::string name = options.cluster_name;
  if (name.empty() && connection.context != "in-cluster") name = ResourceName(connection.context);
  if (name.empty() && uid.size() >= 8) name = "cluster-" + uid.substr(0, 8);
  if (name.empty()) {
    return Fail(
        "the cluster has no name: give --cluster-name (the kube-system namespace, whose "
        "uid would name it, could not be read)");
  }

  Json workloads = Json::array();
  std::set<size_t> reported;
  // Two API groups can serve one kind name (NetworkPolicy: networking.k8s.io and Calico's): the
  // first object of a (namespace, kind, name) stands for it, as the server keys workloads so.
  std::set<ObjectKey> reported_keys;
  for (size_t i = 0; i < objects.size(); ++i) {
    const k8s::Object& object = objects[i];
    if (top[i] != i || object.name.empty()) continue;  // its controller stands for it
    if (reported_keys.count(KeyOf(object))) continue;
    const bool pod_bearing = k8s::IsWorkloadKind(object.kind);
    if (!pod_bearing && !IsReviewedKind(object.kind) && !with_findings.count(i)) continue;
    reported.insert(i);
    reported_keys.insert(KeyOf(object));
    Json workload = {
        {"kind", object.kind}, {"namespace", object.EffectiveNamespace()}, {"name", object.name}};
    if (pod_bearing) workload["containers"] = ContainersOf(object, digests[i]);
    workloads.push_back(std::move(workload));
  }
  // Findings of the reported objects; a controlled object's findings repeat its controller's
  // template, which is reported instead.
  Json findings = Json::array();
  for (const k8s::Finding& finding : assessment.findings) {
    if (!reported.count(finding.object)) continue;
    const k8s::Object& object = objects[finding.object];
    findings.push_back({{"check", finding.check->id},
                        {"severity", std::string(k8s::SeverityName(finding.check->severity))},
                        {"title", finding.check->title},
                        {"group", finding.check->group},
                        {"remediation", finding.check->remediation},
                        {"kind", object.kind},
                        {"namespace", object.EffectiveNamespace()},
                        {"name", object.name},
                        {"path", finding.path},
                        {"message", finding.message}});
  }
  size_t passed = 0, failed = 0;
  for (const k8s::CheckSummary& summary : assessment.checks) {
    passed += summary.passed;
    failed += summary.failed;
  }
  Json body = {{"cluster",
                {{"name", name},
                 {"uid", uid},
                 {"server", connection.server},
                 {"context", connection.context},
                 {"checks_passed", passed},
                 {"checks_failed", failed}}},
               {"namespaces", namespaces},
               {"workloads", workloads},
               {"findings", findings},
               {"nodes", NodesOf(objects, top)},
               {"notes", notes}};
  if (audit) body["admission_audit"] = AdmissionAuditOf(*audit, objects, top);
  return body.dump();
}

Result<std::string> BuildClusterReport(const ClusterReportOptions& options,
                                       std::vector<std::string>& notes, SensorTargets* sensors) {
  MOAT_ASSIGN_OR_RETURN(k8s::ClusterConnection connection,
                        k8s::ResolveConnection(options.connection));
  MOAT_ASSIGN_OR_RETURN(k8s::ClusterListing listing, k8s::ListCluster(connection, options.list));
  // Nodes are inventoried, not assessed by `moat k8s cluster`: listed here, beside its kinds.
  const k8s::ResourceKind nodes{"v1", "nodes", "Node"};
  k8s::KindListing nodes_listing{nodes.kind, nodes.api_version, 0, 0, 200};
  MOAT_TRY(k8s::ListKind(connection, nodes, options.list, listing.input, nodes_listing));
  listing.kinds.push_back(std::move(nodes_listing));
  return ClusterReportFromListing(options, connection, std::move(listing), notes, sensors);
}

}  // namespace moat::agent
