#include "server/api/agent_messages.h"

#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "artifact/manifest.h"

namespace moat::server {

namespace {

using nlohmann::json;

StoredAlert ToStoredAlert(const Alert& alert) {
  StoredAlert stored;
  stored.dedupe_key = AlertDedupeKey(alert);
  stored.time_ns = alert.time_ns;
  stored.rule = alert.rule;
  stored.priority = std::string(AlertPriorityName(alert.priority));
  stored.incident_key = AlertIncidentKey(alert);
  stored.source = alert.source;
  stored.container_id = alert.container.id;
  stored.namespace_name = alert.k8s.namespace_name;
  stored.pod = alert.k8s.pod;
  stored.node = alert.k8s.node.empty() ? alert.hostname : alert.k8s.node;
  stored.image = !alert.image.digest.empty() ? alert.image.digest : alert.container.image;
  if (!alert.mitre.empty()) {
    stored.mitre_tactic = alert.mitre.front().tactic;
    stored.mitre_technique = alert.mitre.front().technique_id;
  }
  stored.body = AlertToJson(alert);
  return stored;
}

Result<json> ParseObject(std::string_view text, const std::string& where) {
  json value = json::parse(text, nullptr, false);
  if (value.is_discarded()) return Fail(where, ": not valid JSON");
  if (!value.is_object()) return Fail(where, ": expected a JSON object");
  return value;
}

// "where.key", or "key" for a field of the message body itself (where = "").
std::string FieldName(const std::string& where, const char* key) {
  return where.empty() ? std::string(key) : where + "." + key;
}

// The string field `key` of `object` ("" when absent or null); `where` names the object.
Result<std::string> Text(const json& object, const char* key, const std::string& where,
                         bool required = false) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) {
    if (required) return Fail(FieldName(where, key), ": required");
    return std::string();
  }
  if (!it->is_string()) return Fail(FieldName(where, key), ": expected a string");
  return it->get<std::string>();
}

// The array field `key` of `object` (empty when absent).
Result<json> Array(const json& object, const char* key, const std::string& where) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return json::array();
  if (!it->is_array()) return Fail(FieldName(where, key), ": expected an array");
  return *it;
}

std::string Index(const std::string& where, const char* key, size_t i) {
  return where + "." + key + "[" + std::to_string(i) + "]";
}

// The CIS Docker Benchmark JSON report (moat bench docker --format json: controls[] (sections)
// -> groups[] -> checks[]) -> one finding per failing check; passes are counted. The benchmark
// gives no severity: a failed level-1 control (the baseline every host should meet) is MEDIUM, a
// level-2 control (defence in depth) LOW.
Result<std::vector<FindingRecord>> CisFindings(const json& report, const std::string& host_id,
                                               int64_t* passed, int64_t* failed) {
  if (!report.is_object()) return Fail("expected the JSON report of moat bench docker");
  auto sections = report.find("controls");
  if (sections == report.end() || !sections->is_array()) return Fail("controls: expected an array");
  std::vector<FindingRecord> findings;
  for (size_t s = 0; s < sections->size(); ++s) {
    const auto& section = (*sections)[s];
    const std::string section_where = "controls[" + std::to_string(s) + "]";
    if (!section.is_object() || !section.contains("groups") || !section["groups"].is_array()) {
      return Fail(section_where, ".groups: expected an array");
    }
    for (size_t g = 0; g < section["groups"].size(); ++g) {
      const auto& group = section["groups"][g];
      const std::string group_where = section_where + ".groups[" + std::to_string(g) + "]";
      if (!group.is_object() || !group.contains("checks") || !group["checks"].is_array()) {
        return Fail(group_where, ".checks: expected an array");
      }
      for (size_t c = 0; c < group["checks"].size(); ++c) {
        const auto& check = group["checks"][c];
        const std::string where = group_where + ".checks[" + std::to_string(c) + "]";
        if (!check.is_object() || !check.contains("id") || !check["id"].is_string() ||
            !check.contains("result") || !check["result"].is_string()) {
          return Fail(where, ": expected an object with string id and result");
        }
        const std::string result = check["result"];
        if (result == "PASS") ++*passed;
        if (result != "FAIL") continue;
        ++*failed;
        FindingRecord f;
        f.resource_kind = "host";
        f.resource_id = host_id;
        f.source = "cis-docker";
        f.finding_id = check["id"];
        f.title = check.value("title", "");
        f.category = section.value("text", "");
        const bool level2 = check.contains("level") && check["level"].is_number_integer() &&
                            check["level"].get<int>() >= 2;
        f.severity = level2 ? "LOW" : "MEDIUM";
        f.remediation = check.value("remediation", "");
        if (auto evidence = check.find("evidence"); evidence != check.end()) {
          f.evidence = evidence->is_string() ? evidence->get<std::string>() : evidence->dump();
        }
        findings.push_back(std::move(f));
      }
    }
  }
  return findings;
}

// A Kubernetes namespace name (RFC 1123 label); "" for cluster-scoped objects when allowed.
bool IsNamespaceName(std::string_view name) {
  if (name.empty() || name.size() > 63 || name.front() == '-' || name.back() == '-') return false;
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return true;
}

bool IsKindName(std::string_view kind) {
  if (kind.empty() || kind.size() > 63 || !std::isalpha(static_cast<unsigned char>(kind[0]))) {
    return false;
  }
  for (char c : kind) {
    if (!std::isalnum(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

// An object name as the API server accepts in a path segment (RBAC names hold ':' and '@').
bool IsObjectName(std::string_view name) {
  if (name.empty() || name.size() > 253 || name == "." || name == "..") return false;
  for (char c : name) {
    if (c == '/' || c == '%' || static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return false;
  }
  return true;
}

const std::set<std::string>& K8sSeverities() {
  static const std::set<std::string> kSeverities = {"LOW", "MEDIUM", "HIGH", "CRITICAL"};
  return kSeverities;
}

// A cluster report's admission_audit: {"objects": N, "results": [...]}, each result an object,
// the policy that judged it, its action and the violation. Any object of the cluster may be
// judged (not only the report's workloads).
Result<std::vector<AdmissionAuditRecord>> ParseAdmissionAudit(const json& audit) {
  // The audit reports every violation of every object: bounded so that one report cannot fill
  // the store (a message is at most 16 MiB anyway).
  constexpr size_t kMaxResults = 100000;
  constexpr size_t kMaxText = 4096;
  const std::string where = "admission_audit";
  if (!audit.is_object()) return Fail(where, ": expected an object");
  if (auto objects = audit.find("objects");
      objects != audit.end() && !objects->is_number_unsigned()) {
    return Fail(where, ".objects: expected a count");
  }
  auto list = audit.find("results");
  if (list == audit.end() || !list->is_array()) return Fail(where, ".results: expected an array");
  if (list->size() > kMaxResults) {
    return Fail(where, ".results: ", std::to_string(list->size()), " results, over ",
                std::to_string(kMaxResults));
  }
  std::vector<AdmissionAuditRecord> results;
  results.reserve(list->size());
  for (size_t i = 0; i < list->size(); ++i) {
    const std::string at = Index(where, "results", i);
    const json& r = (*list)[i];
    if (!r.is_object()) return Fail(at, ": expected an object");
    AdmissionAuditRecord record;
    record.seq = static_cast<int64_t>(i);
    MOAT_ASSIGN_OR_RETURN(record.kind, Text(r, "kind", at, true));
    MOAT_ASSIGN_OR_RETURN(record.namespace_name, Text(r, "namespace", at));
    MOAT_ASSIGN_OR_RETURN(record.name, Text(r, "name", at, true));
    MOAT_ASSIGN_OR_RETURN(record.policy, Text(r, "policy", at, true));
    MOAT_ASSIGN_OR_RETURN(record.action, Text(r, "action", at, true));
    MOAT_ASSIGN_OR_RETURN(record.path, Text(r, "path", at));
    MOAT_ASSIGN_OR_RETURN(record.message, Text(r, "message", at));
    if (!IsKindName(record.kind)) return Fail(at, ".kind: expected a Kubernetes kind");
    if (!record.namespace_name.empty() && !IsNamespaceName(record.namespace_name)) {
      return Fail(at, ".namespace: expected a namespace name or \"\"");
    }
    if (!IsObjectName(record.name)) return Fail(at, ".name: expected an object name");
    if (!IsObjectName(record.policy) || record.policy.size() > 253) {
      return Fail(at, ".policy: expected a check id or policy name");
    }
    if (record.action != "deny" && record.action != "warn" && record.action != "audit") {
      return Fail(at, ".action: expected deny, warn or audit (got '", record.action.substr(0, 64),
                  "')");
    }
    for (auto [key, text] : {std::pair{"path", &record.path}, {"message", &record.message}}) {
      if (text->size() > kMaxText) {
        return Fail(at, ".", key, ": over ", std::to_string(kMaxText), " bytes");
      }
    }
    results.push_back(std::move(record));
  }
  return results;
}

Result<WorkloadRecord> ParseWorkload(const json& w, const std::string& cluster_id,
                                     const std::string& where) {
  if (!w.is_object()) return Fail(where, ": expected an object");
  WorkloadRecord workload;
  workload.cluster_id = cluster_id;
  MOAT_ASSIGN_OR_RETURN(workload.kind, Text(w, "kind", where, true));
  MOAT_ASSIGN_OR_RETURN(workload.namespace_name, Text(w, "namespace", where));
  MOAT_ASSIGN_OR_RETURN(workload.name, Text(w, "name", where, true));
  if (!IsKindName(workload.kind)) {
    return Fail(where, ".kind: expected a Kubernetes kind such as Deployment (got '", workload.kind,
                "')");
  }
  if (!workload.namespace_name.empty() && !IsNamespaceName(workload.namespace_name)) {
    return Fail(where, ".namespace: not a namespace name: '", workload.namespace_name, "'");
  }
  if (!IsObjectName(workload.name)) {
    return Fail(where, ".name: 1 to 253 characters without '/', '%' or control characters");
  }
  workload.id =
      cluster_id + "/" + workload.namespace_name + "/" + workload.kind + "/" + workload.name;
  MOAT_ASSIGN_OR_RETURN(json containers, Array(w, "containers", where));
  std::set<std::string> names;
  for (size_t i = 0; i < containers.size(); ++i) {
    const std::string at = Index(where, "containers", i);
    const json& c = containers[i];
    if (!c.is_object()) return Fail(at, ": expected an object");
    WorkloadContainerRecord container;
    MOAT_ASSIGN_OR_RETURN(container.name, Text(c, "name", at, true));
    MOAT_ASSIGN_OR_RETURN(container.image, Text(c, "image", at));
    MOAT_ASSIGN_OR_RETURN(container.image_digest, Text(c, "image_digest", at));
    if (container.name.empty() || !names.insert(container.name).second) {
      return Fail(at, ".name: empty or given twice ('", container.name, "')");
    }
    if (!container.image_digest.empty() && !IsSha256Digest(container.image_digest)) {
      return Fail(at, ".image_digest: expected sha256:<64 hex digits> (got '",
                  container.image_digest, "')");
    }
    if (auto init = c.find("init"); init != c.end()) {
      if (!init->is_boolean()) return Fail(at, ".init: expected true or false");
      container.init = init->get<bool>();
    }
    workload.containers.push_back(std::move(container));
  }
  return workload;
}

// A node of the report's `nodes`, with the pods bound to it; a pod's workload is the report's
// workload of that kind and name in the pod's namespace, when the report has it.
Result<NodeRecord> ParseNode(const json& n, const std::string& cluster_id,
                             const std::map<std::string, size_t>& workload_index,
                             const std::string& where) {
  if (!n.is_object()) return Fail(where, ": expected an object");
  NodeRecord node;
  node.cluster_id = cluster_id;
  MOAT_ASSIGN_OR_RETURN(node.name, Text(n, "name", where, true));
  if (!IsObjectName(node.name)) {
    return Fail(where, ".name: 1 to 253 characters without '/', '%' or control characters");
  }
  for (auto [key, field] : {std::pair{"kubelet_version", &node.kubelet_version},
                            {"os_image", &node.os_image},
                            {"kernel", &node.kernel},
                            {"container_runtime", &node.container_runtime},
                            {"architecture", &node.architecture},
                            {"ready", &node.ready}}) {
    MOAT_ASSIGN_OR_RETURN(*field, Text(n, key, where));
  }
  if (auto it = n.find("unschedulable"); it != n.end()) {
    if (!it->is_boolean()) return Fail(where, ".unschedulable: expected true or false");
    node.unschedulable = it->get<bool>();
  }
  MOAT_ASSIGN_OR_RETURN(json roles, Array(n, "roles", where));
  for (size_t i = 0; i < roles.size(); ++i) {
    if (!roles[i].is_string() || !IsObjectName(roles[i].get<std::string>()) ||
        roles[i].get<std::string>().find(',') != std::string::npos) {
      return Fail(Index(where, "roles", i), ": expected a role name");
    }
    node.roles.push_back(roles[i].get<std::string>());
  }
  MOAT_ASSIGN_OR_RETURN(json conditions, Array(n, "conditions", where));
  json kept = json::array();
  for (size_t i = 0; i < conditions.size(); ++i) {
    const std::string at = Index(where, "conditions", i);
    if (!conditions[i].is_object()) return Fail(at, ": expected an object");
    json condition = json::object();
    for (const char* key : {"type", "status", "reason", "message"}) {
      MOAT_ASSIGN_OR_RETURN(std::string value,
                            Text(conditions[i], key, at, std::string_view(key) == "type"));
      condition[key] = value;
    }
    kept.push_back(std::move(condition));
  }
  node.conditions_json = kept.dump();
  MOAT_ASSIGN_OR_RETURN(json pods, Array(n, "pods", where));
  std::set<std::pair<std::string, std::string>> seen;
  for (size_t i = 0; i < pods.size(); ++i) {
    const std::string at = Index(where, "pods", i);
    const json& p = pods[i];
    if (!p.is_object()) return Fail(at, ": expected an object");
    NodePodRecord pod;
    MOAT_ASSIGN_OR_RETURN(pod.namespace_name, Text(p, "namespace", at, true));
    MOAT_ASSIGN_OR_RETURN(pod.name, Text(p, "name", at, true));
    MOAT_ASSIGN_OR_RETURN(pod.phase, Text(p, "phase", at));
    if (!IsNamespaceName(pod.namespace_name)) return Fail(at, ".namespace: not a namespace name");
    if (!IsObjectName(pod.name) || !seen.emplace(pod.namespace_name, pod.name).second) {
      return Fail(at, ".name: not a pod name, or given twice");
    }
    if (auto it = p.find("containers"); it != p.end()) {
      if (!it->is_number_unsigned()) return Fail(at, ".containers: expected a count");
      pod.containers = it->get<int64_t>();
    }
    MOAT_ASSIGN_OR_RETURN(std::string kind, Text(p, "workload_kind", at));
    MOAT_ASSIGN_OR_RETURN(std::string name, Text(p, "workload_name", at));
    const std::string workload_id = cluster_id + "/" + pod.namespace_name + "/" + kind + "/" + name;
    if (!kind.empty() && workload_index.count(workload_id)) pod.workload_id = workload_id;
    node.pods.push_back(std::move(pod));
  }
  return node;
}

}  // namespace

bool IsValidResourceName(std::string_view name) {
  return !name.empty() && name.size() <= 253 &&
         name.find_first_not_of(
             "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._") ==
             std::string_view::npos;
}

Result<AlertBatch> ParseAlertList(const std::string& text, const std::string& name) {
  auto parsed = ParseAlertBatch(text, name);
  if (!parsed.ok()) return parsed.error();
  AlertBatch batch;
  for (auto& item : *parsed) {
    if (!item.ok()) return item.error();
    batch.stored.push_back(ToStoredAlert(*item));
    batch.alerts.push_back(std::move(*item));
  }
  return batch;
}

Result<HostReport> ParseHostReport(std::string_view body, const std::string& agent_id) {
  MOAT_ASSIGN_OR_RETURN(json b, ParseObject(body, "host_report"));
  auto h = b.find("host");
  if (h == b.end() || !h->is_object()) return Fail("host: expected an object");
  HostReport report;
  HostRecord& host = report.host;
  host.id = agent_id;
  host.agent_id = agent_id;
  MOAT_ASSIGN_OR_RETURN(host.name, Text(*h, "name", "host"));
  if (host.name.empty()) host.name = agent_id;
  MOAT_ASSIGN_OR_RETURN(host.os, Text(*h, "os", "host"));
  MOAT_ASSIGN_OR_RETURN(host.kernel, Text(*h, "kernel", "host"));
  MOAT_ASSIGN_OR_RETURN(host.docker_version, Text(*h, "docker_version", "host"));
  MOAT_ASSIGN_OR_RETURN(json containers, Array(b, "containers", ""));
  for (size_t i = 0; i < containers.size(); ++i) {
    const json& c = containers[i];
    const std::string at = "containers[" + std::to_string(i) + "]";
    if (!c.is_object()) return Fail(at, ": expected an object");
    ContainerRecord container{host.id, "", "", "", "", "", "", ""};
    for (auto [key, field] : {std::pair{"id", &container.id},
                              {"name", &container.name},
                              {"image", &container.image},
                              {"image_id", &container.image_id},
                              {"image_digest", &container.image_digest},
                              {"state", &container.state},
                              {"started_at", &container.started_at}}) {
      MOAT_ASSIGN_OR_RETURN(*field, Text(c, key, at));
    }
    report.containers.push_back(std::move(container));
  }
  if (auto cis = b.find("cis"); cis != b.end()) {
    auto findings = CisFindings(*cis, host.id, &host.cis_passed, &host.cis_failed);
    if (!findings.ok()) return Fail("cis: ", findings.error().message);
    report.cis_findings = std::move(*findings);
  }
  return report;
}

Result<ClusterReport> ParseClusterReport(std::string_view body, const std::string& agent_id) {
  MOAT_ASSIGN_OR_RETURN(json b, ParseObject(body, "cluster_report"));
  auto c = b.find("cluster");
  if (c == b.end() || !c->is_object()) return Fail("cluster: expected an object");
  ClusterReport report;
  ClusterRecord& cluster = report.cluster;
  cluster.agent_id = agent_id;
  MOAT_ASSIGN_OR_RETURN(cluster.name, Text(*c, "name", "cluster", true));
  if (!IsValidResourceName(cluster.name)) {
    return Fail("cluster.name: 1 to 253 letters, digits, '-', '.', '_' (got '", cluster.name, "')");
  }
  cluster.id = cluster.name;
  MOAT_ASSIGN_OR_RETURN(cluster.uid, Text(*c, "uid", "cluster"));
  MOAT_ASSIGN_OR_RETURN(cluster.server, Text(*c, "server", "cluster"));
  MOAT_ASSIGN_OR_RETURN(cluster.context, Text(*c, "context", "cluster"));
  for (auto [key, field] : {std::pair{"checks_passed", &cluster.checks_passed},
                            {"checks_failed", &cluster.checks_failed}}) {
    auto it = c->find(key);
    if (it == c->end()) continue;
    if (!it->is_number_unsigned()) return Fail("cluster.", key, ": expected a count");
    *field = it->get<int64_t>();
  }

  MOAT_ASSIGN_OR_RETURN(json namespaces, Array(b, "namespaces", ""));
  for (size_t i = 0; i < namespaces.size(); ++i) {
    const json& n = namespaces[i];
    if (!n.is_string() || !IsNamespaceName(n.get<std::string>())) {
      return Fail("namespaces[", std::to_string(i), "]: expected a namespace name");
    }
    report.namespaces.push_back(n.get<std::string>());
  }

  MOAT_ASSIGN_OR_RETURN(json workloads, Array(b, "workloads", ""));
  std::map<std::string, size_t> workload_index;  // id -> index
  for (size_t i = 0; i < workloads.size(); ++i) {
    const std::string where = "workloads[" + std::to_string(i) + "]";
    MOAT_ASSIGN_OR_RETURN(WorkloadRecord workload, ParseWorkload(workloads[i], cluster.id, where));
    if (!workload_index.emplace(workload.id, i).second) {
      return Fail(where, ": ", workload.kind, " ", workload.namespace_name, "/", workload.name,
                  " is given twice");
    }
    report.workloads.push_back(std::move(workload));
  }

  MOAT_ASSIGN_OR_RETURN(json nodes, Array(b, "nodes", ""));
  std::set<std::string> node_names;
  for (size_t i = 0; i < nodes.size(); ++i) {
    const std::string where = "nodes[" + std::to_string(i) + "]";
    MOAT_ASSIGN_OR_RETURN(NodeRecord node, ParseNode(nodes[i], cluster.id, workload_index, where));
    if (!node_names.insert(node.name).second) {
      return Fail(where, ".name: node ", node.name, " is given twice");
    }
    report.nodes.push_back(std::move(node));
  }

  // One finding per workload and check: its occurrences (paths) are the evidence.
  MOAT_ASSIGN_OR_RETURN(json findings, Array(b, "findings", ""));
  std::map<std::pair<std::string, std::string>, size_t> finding_index;  // (workload, check)
  for (size_t i = 0; i < findings.size(); ++i) {
    const std::string where = "findings[" + std::to_string(i) + "]";
    const json& f = findings[i];
    if (!f.is_object()) return Fail(where, ": expected an object");
    std::string check, severity, kind, namespace_name, name, path, message, title, group,
        remediation;
    MOAT_ASSIGN_OR_RETURN(check, Text(f, "check", where, true));
    MOAT_ASSIGN_OR_RETURN(severity, Text(f, "severity", where, true));
    MOAT_ASSIGN_OR_RETURN(kind, Text(f, "kind", where, true));
    MOAT_ASSIGN_OR_RETURN(namespace_name, Text(f, "namespace", where));
    MOAT_ASSIGN_OR_RETURN(name, Text(f, "name", where, true));
    MOAT_ASSIGN_OR_RETURN(path, Text(f, "path", where));
    MOAT_ASSIGN_OR_RETURN(message, Text(f, "message", where));
    MOAT_ASSIGN_OR_RETURN(title, Text(f, "title", where));
    MOAT_ASSIGN_OR_RETURN(group, Text(f, "group", where));
    MOAT_ASSIGN_OR_RETURN(remediation, Text(f, "remediation", where));
    if (check.empty() || check.size() > 128) return Fail(where, ".check: expected a check id");
    if (!K8sSeverities().count(severity)) {
      return Fail(where, ".severity: expected LOW, MEDIUM, HIGH or CRITICAL (got '", severity,
                  "')");
    }
    const std::string workload_id = cluster.id + "/" + namespace_name + "/" + kind + "/" + name;
    if (!workload_index.count(workload_id)) {
      return Fail(where, ": ", kind, " ", namespace_name, "/", name,
                  " is not among the report's workloads");
    }
    const std::string occurrence = path.empty() ? message : path + ": " + message;
    auto [it, added] = finding_index.emplace(std::pair{workload_id, check}, report.findings.size());
    if (!added) {
      report.findings[it->second].evidence += "\n" + occurrence;
      continue;
    }
    FindingRecord record;
    record.resource_kind = "workload";
    record.resource_id = workload_id;
    record.source = "k8s";
    record.finding_id = check;
    record.severity = severity;
    record.title = title;
    record.category = group;
    record.remediation = remediation;
    record.evidence = occurrence;
    report.findings.push_back(std::move(record));
  }

  auto audit = b.find("admission_audit");
  if (audit != b.end() && !audit->is_null()) {
    MOAT_ASSIGN_OR_RETURN(report.admission_audit, ParseAdmissionAudit(*audit));
    report.has_admission_audit = true;
  }
  return report;
}

Result<InUseReport> ParseInUseReport(std::string_view body) {
  // Bounds of the export (src/sensor/in_use.cpp) and of a path (PATH_MAX).
  constexpr size_t kMaxFiles = 50000;
  constexpr size_t kMaxPath = 4096;
  MOAT_ASSIGN_OR_RETURN(json b, ParseObject(body, "in_use"));
  MOAT_ASSIGN_OR_RETURN(std::string format, Text(b, "format", "", true));
  if (format != "moat-in-use/1") {
    return Fail("format: expected \"moat-in-use/1\" (got \"", format, "\")");
  }
  InUseReport report;
  MOAT_ASSIGN_OR_RETURN(report.node, Text(b, "node", ""));
  MOAT_ASSIGN_OR_RETURN(json containers, Array(b, "containers", ""));
  std::set<std::string> ids;
  for (size_t i = 0; i < containers.size(); ++i) {
    const std::string at = "containers[" + std::to_string(i) + "]";
    const json& c = containers[i];
    if (!c.is_object()) return Fail(at, ": expected an object");
    InUseContainer container;
    MOAT_ASSIGN_OR_RETURN(container.id, Text(c, "id", at, true));
    if (!IsValidResourceName(container.id) || !ids.insert(container.id).second) {
      return Fail(at, ".id: empty, given twice or not a container id ('", container.id, "')");
    }
    // "name@sha256:..." when the engine knows a repository digest, else the image id.
    MOAT_ASSIGN_OR_RETURN(std::string digest, Text(c, "image_digest", at));
    digest = digest.substr(digest.find('@') == std::string::npos ? 0 : digest.find('@') + 1);
    if (IsSha256Digest(digest)) container.image_digest = std::move(digest);
    for (const char* key : {"executables", "libraries"}) {
      MOAT_ASSIGN_OR_RETURN(json files, Array(c, key, at));
      if (files.size() > kMaxFiles) {
        return Fail(at, ".", key, ": more than ", std::to_string(kMaxFiles), " paths");
      }
      for (size_t f = 0; f < files.size(); ++f) {
        const json& file = files[f];
        if (!file.is_string() || file.get_ref<const std::string&>().empty() ||
            file.get_ref<const std::string&>().front() != '/' ||
            file.get_ref<const std::string&>().size() > kMaxPath) {
          return Fail(Index(at, key, f), ": expected an absolute path");
        }
        container.files.insert(file.get<std::string>());
      }
    }
    report.containers.push_back(std::move(container));
  }
  return report;
}

Result<std::vector<Store::AgentMessage>> ParseAgentBatch(std::string_view body,
                                                         const std::string& agent_id) {
  MOAT_ASSIGN_OR_RETURN(json batch, ParseObject(body, "request body"));
  auto list = batch.find("messages");
  if (list == batch.end() || !list->is_array()) return Fail("messages: expected an array");
  std::vector<Store::AgentMessage> messages;
  for (size_t i = 0; i < list->size(); ++i) {
    const json& m = (*list)[i];
    const std::string where = "messages[" + std::to_string(i) + "]";
    if (!m.is_object() || !m.contains("seq") || !m["seq"].is_number_integer() ||
        m["seq"].get<int64_t>() < 1) {
      return Fail(where, ".seq: expected a positive integer");
    }
    if (!m.contains("type") || !m["type"].is_string())
      return Fail(where, ".type: expected a string");
    const std::string type = m["type"];
    if (type != "heartbeat" && type != "host_report" && type != "cluster_report" &&
        type != "alerts" && type != "dropped" && type != "in_use") {
      return Fail(where, ".type: unknown message type '", type, "'");
    }
    const int64_t seq = m["seq"].get<int64_t>();
    int64_t through = 0;
    if (m.contains("through")) {
      if (type != "dropped") return Fail(where, ".through: only a dropped message has one");
      if (!m["through"].is_number_integer() || m["through"].get<int64_t>() < seq) {
        return Fail(where, ".through: expected an integer >= seq");
      }
      through = m["through"].get<int64_t>();
    }
    json message_body = m.value("body", json::object());
    if (!message_body.is_object()) return Fail(where, ".body: expected an object");
    const std::string text = message_body.dump();
    const std::string body_where = where + ".body.";
    if (type == "alerts") {
      auto alerts = message_body.find("alerts");
      if (alerts == message_body.end() || !alerts->is_array()) {
        return Fail(body_where, "alerts: expected an array");
      }
      auto parsed = ParseAlertList(alerts->dump(), body_where + "alerts");
      if (!parsed.ok()) return parsed.error();
    } else if (type == "host_report") {
      auto report = ParseHostReport(text, agent_id);
      if (!report.ok()) return Fail(body_where, report.error().message);
    } else if (type == "cluster_report") {
      auto report = ParseClusterReport(text, agent_id);
      if (!report.ok()) return Fail(body_where, report.error().message);
    } else if (type == "in_use") {
      auto report = ParseInUseReport(text);
      if (!report.ok()) return Fail(body_where, report.error().message);
    } else if (type == "dropped") {
      for (const char* count : {"messages", "heartbeats"}) {
        auto it = message_body.find(count);
        if (it != message_body.end() && !it->is_number_integer()) {
          return Fail(body_where, count, ": expected a count");
        }
      }
      MOAT_TRY(Text(message_body, "reason", where + ".body"));
    }
    messages.push_back(Store::AgentMessage{seq, type, text, through});
  }
  return messages;
}

}  // namespace moat::server
