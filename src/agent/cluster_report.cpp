#include "agent/cluster_report.h"

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <tuple>

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
                                             std::vector<std::string>& notes) {
  for (const auto& note : listing.notes) notes.push_back(note);
  for (const auto& warning : listing.input.warnings) notes.push_back(warning);
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
               {"notes", notes}};
  return body.dump();
}

Result<std::string> BuildClusterReport(const ClusterReportOptions& options,
                                       std::vector<std::string>& notes) {
  MOAT_ASSIGN_OR_RETURN(k8s::ClusterConnection connection,
                        k8s::ResolveConnection(options.connection));
  MOAT_ASSIGN_OR_RETURN(k8s::ClusterListing listing, k8s::ListCluster(connection, options.list));
  return ClusterReportFromListing(options, connection, std::move(listing), notes);
}

}  // namespace moat::agent
