#include "auditlog/baseline.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <functional>
#include <nlohmann/json.hpp>

#include "auditlog/state_file.h"
#include "core/bytes.h"
#include "core/text.h"
#include "rules/engine.h"
#include "rules/k8s_audit.h"

namespace moat::auditlog {
namespace {

using Json = nlohmann::json;
using rules::JsonDoc;

constexpr size_t kSeenInsteadShown = 5;
constexpr std::string_view kServiceAccountPrefix = "system:serviceaccount:";

// "registry:5000/team/app:1.2@sha256:..." -> "registry:5000/team/app".
std::string ImageRepository(std::string_view image) {
  image = image.substr(0, image.find('@'));
  const size_t slash = image.rfind('/');
  const size_t colon = image.rfind(':');
  if (colon != std::string_view::npos && (slash == std::string_view::npos || colon > slash)) {
    image = image.substr(0, colon);
  }
  return std::string(image);
}

// Where a workload kind keeps its pod spec in a create request.
uint32_t PodSpecOf(const JsonDoc& doc, uint32_t request, std::string_view resource) {
  if (resource == "pods") return doc.Get(request, "spec");
  if (resource == "cronjobs") {
    return doc.Path(request, {"spec", "jobTemplate", "spec", "template", "spec"});
  }
  if (resource == "deployments" || resource == "daemonsets" || resource == "statefulsets" ||
      resource == "replicasets" || resource == "jobs" || resource == "replicationcontrollers") {
    return doc.Path(request, {"spec", "template", "spec"});
  }
  return JsonDoc::kNone;
}

// Accepted by the API server and complete: a refused request changed nothing, and the earlier
// stages of one request would count it twice.
bool AcceptedAndComplete(const JsonDoc& doc, uint32_t root) {
  const uint32_t stage = doc.Get(root, "stage");
  if (stage != JsonDoc::kNone && doc.String(stage) != "ResponseComplete") return false;
  const uint32_t code = doc.Path(root, {"responseStatus", "code"});
  if (code == JsonDoc::kNone) return false;
  const std::string_view text = doc.node(code).text;
  return !text.empty() && (text[0] == '2' || text == "101");
}

// "verb resource namespace" with "-" for a cluster-wide request.
std::string OperationKey(std::string_view verb, std::string_view resource,
                         std::string_view namespace_name) {
  std::string key(verb);
  key += ' ';
  key += resource;
  key += ' ';
  key += namespace_name.empty() ? "-" : namespace_name;
  return key;
}

// "get pods in ci" / "list nodes (cluster-wide)" for the alert text.
std::string DescribeOperation(std::string_view key) {
  const std::vector<std::string_view> parts = Split(key, ' ');
  if (parts.size() != 3) return std::string(key);
  std::string out = std::string(parts[0]) + " " + std::string(parts[1]);
  out += parts[2] == "-" ? " (cluster-wide)" : " in " + std::string(parts[2]);
  return out;
}

// Up to kSeenInsteadShown of `known`, those sharing a part with `wanted` first.
std::string SeenInstead(const std::set<std::string>& known,
                        const std::function<int(const std::string&)>& closeness,
                        const std::function<std::string(const std::string&)>& describe) {
  if (known.empty()) return "nothing";
  std::vector<std::pair<int, const std::string*>> ranked;
  for (const std::string& item : known) ranked.emplace_back(-closeness(item), &item);
  std::stable_sort(ranked.begin(), ranked.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::string out;
  for (size_t i = 0; i < ranked.size() && i < kSeenInsteadShown; ++i) {
    if (i) out += ", ";
    out += describe(*ranked[i].second);
  }
  if (ranked.size() > kSeenInsteadShown) {
    out += " (" + std::to_string(ranked.size()) + " in all)";
  }
  return out;
}

}  // namespace

Result<BaselineAllow> ParseBaselineAllow(const std::string& text) {
  BaselineAllow allow;
  bool any = false;
  for (std::string_view part : Split(text, ',')) {
    const size_t equals = part.find('=');
    if (equals == std::string_view::npos) {
      return Fail("baseline allow \"", text, "\": \"", part, "\" is not KEY=GLOB");
    }
    const std::string_view key = TrimSpace(part.substr(0, equals));
    const std::string value(TrimSpace(part.substr(equals + 1)));
    if (key == "identity") {
      allow.identity = value;
    } else if (key == "verb") {
      allow.verb = value;
    } else if (key == "resource") {
      allow.resource = value;
    } else if (key == "namespace") {
      allow.namespace_name = value;
    } else {
      return Fail("baseline allow \"", text, "\": unknown key \"", key,
                  "\" (identity, verb, resource, namespace)");
    }
    any = true;
  }
  if (!any) return Fail("baseline allow: empty");
  return allow;
}

Result<std::unique_ptr<Baseline>> Baseline::Open(BaselineOptions options) {
  std::unique_ptr<Baseline> baseline(new Baseline(std::move(options)));
  if (!baseline->options_.path.empty() && ::access(baseline->options_.path.c_str(), F_OK) == 0) {
    MOAT_TRY(baseline->Load());
  }
  return baseline;
}

Result<void> Baseline::Load() {
  const std::string& path = options_.path;
  MOAT_ASSIGN_OR_RETURN(std::string text, ReadFileToString(path));
  const Json json = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  auto bad = [&](std::string_view what) {
    return Fail("baseline ", path, ": ", what, " (move the file away to learn anew)");
  };
  if (!json.is_object() || json.value("version", 0) != 1) return bad("not a baseline file");
  try {
    started_ns_ = json.at("started_ns").get<int64_t>();
    for (const auto& [name, entry] : json.at("identities").items()) {
      Identity& identity = identities_[name];
      identity.first_ns = entry.at("first_ns").get<int64_t>();
      for (const Json& op : entry.at("operations"))
        identity.operations.insert(op.get<std::string>());
    }
    for (const auto& [name, images] : json.at("namespaces").items()) {
      for (const Json& image : images) namespaces_[name].images.insert(image.get<std::string>());
    }
    for (const auto& [name, roles] : json.at("bindings").items()) {
      for (const Json& role : roles) bindings_[name].insert(role.get<std::string>());
    }
  } catch (const Json::exception& e) {
    return bad(e.what());
  }
  return Ok();
}

Result<void> Baseline::Save() {
  Json json;
  {
    std::lock_guard lock(mutex_);
    if (options_.path.empty() || !dirty_) return Ok();
    json = {{"version", 1}, {"started_ns", started_ns_}};
    Json identities = Json::object();
    for (const auto& [name, identity] : identities_) {
      identities[name] = {{"first_ns", identity.first_ns}, {"operations", identity.operations}};
    }
    json["identities"] = std::move(identities);
    Json namespaces = Json::object();
    for (const auto& [name, ns] : namespaces_) namespaces[name] = ns.images;
    json["namespaces"] = std::move(namespaces);
    Json bindings = Json::object();
    for (const auto& [name, roles] : bindings_) bindings[name] = roles;
    json["bindings"] = std::move(bindings);
    dirty_ = false;
  }
  return WriteStateFile(options_.path, json.dump() + "\n");
}

BaselineStats Baseline::stats() const {
  std::lock_guard lock(mutex_);
  BaselineStats stats = stats_;
  stats.identities = identities_.size();
  stats.namespaces = namespaces_.size();
  return stats;
}

bool Baseline::Allowed(std::string_view identity, std::string_view verb, std::string_view resource,
                       std::string_view namespace_name) const {
  auto matches = [](const std::string& pattern, std::string_view text) {
    return pattern.empty() || GlobMatch(pattern, text);
  };
  for (const BaselineAllow& allow : options_.allow) {
    if (matches(allow.identity, identity) && matches(allow.verb, verb) &&
        matches(allow.resource, resource) && matches(allow.namespace_name, namespace_name)) {
      return true;
    }
  }
  return false;
}

bool Baseline::Learning(int64_t since_ns, int64_t now_ns) const {
  return now_ns - since_ns <
         std::chrono::duration_cast<std::chrono::nanoseconds>(options_.window).count();
}

Alert Baseline::MakeAnomaly(const rules::AuditEvent& event, const rules::EventSource& source,
                            std::string rule, std::vector<std::string> tags, std::string output,
                            std::string what_was_seen) const {
  Alert alert;
  alert.time_ns = event.time_ns();
  alert.time = FormatRfc3339Nanos(alert.time_ns);
  alert.rule = std::move(rule);
  alert.priority = AlertPriority::kNotice;
  alert.source = std::string(rules::kK8sAuditSourceName);
  alert.output = std::move(output) + "; seen instead: " + what_was_seen;
  Json fields = {{"moat.baseline.seen_instead", what_was_seen}};
  alert.output_fields = fields.dump();
  // The tactic and technique tags, paired as the rules' tags are (one tactic per alert).
  std::string tactic, technique;
  for (const std::string& tag : tags) {
    if (tag.rfind("mitre_", 0) == 0) tactic = tag.substr(6);
    if (tag.size() > 1 && tag[0] == 'T' && std::isdigit(static_cast<unsigned char>(tag[1]))) {
      technique = tag;
    }
  }
  for (char& c : tactic) c = c == '_' ? '-' : c;
  if (!tactic.empty()) alert.mitre.push_back({tactic, technique, ""});
  alert.tags = std::move(tags);
  source.FillAlertResources(event, alert);
  return alert;
}

void Baseline::Observe(const rules::AuditEvent& event, const rules::EventSource& source,
                       std::vector<Alert>& alerts) {
  const JsonDoc& doc = event.doc();
  const uint32_t root = event.root();
  if (!AcceptedAndComplete(doc, root)) return;
  const std::string_view user = doc.String(doc.Path(root, {"user", "username"}));
  if (user.empty()) return;
  const uint32_t object_ref = doc.Get(root, "objectRef");
  std::string resource(doc.String(doc.Get(object_ref, "resource")));
  const std::string_view subresource = doc.String(doc.Get(object_ref, "subresource"));
  if (!subresource.empty()) resource += "/" + std::string(subresource);
  if (object_ref == JsonDoc::kNone) {  // a non-resource URL: /version, /healthz, /metrics
    std::string_view uri = doc.String(doc.Get(root, "requestURI"));
    resource = std::string(uri.substr(0, uri.find('?')));
  }
  const std::string_view namespace_name = doc.String(doc.Get(object_ref, "namespace"));
  const std::string_view verb = event.verb();
  const int64_t now = event.time_ns();
  const bool service_account = std::string_view(user).rfind(kServiceAccountPrefix, 0) == 0;

  std::lock_guard lock(mutex_);
  ++stats_.observed;
  if (started_ns_ == 0) {
    started_ns_ = now;
    dirty_ = true;
  }

  // (verb, resource, namespace) per identity.
  auto identity_it = identities_.find(user);
  if (identity_it == identities_.end()) {
    if (identities_.size() >= options_.max_identities) {
      ++stats_.full;
    } else {
      identity_it = identities_.emplace(std::string(user), Identity{now, {}}).first;
    }
  }
  if (identity_it != identities_.end()) {
    Identity& identity = identity_it->second;
    std::string key = OperationKey(verb, resource, namespace_name);
    if (!identity.operations.count(key)) {
      if (identity.operations.size() >= options_.max_operations_per_identity) {
        ++stats_.full;
      } else if (Learning(identity.first_ns, now)) {
        identity.operations.insert(std::move(key));
        ++stats_.learned;
        dirty_ = true;
      } else if (Allowed(user, verb, resource, namespace_name)) {
        ++stats_.allowed;
      } else {
        bool managed = false;
        for (const std::string& pattern : options_.managed_identities) {
          managed = managed || GlobMatch(pattern, user);
        }
        std::string rule = managed           ? "Moat Abnormal Managed Identity Activity"
                           : service_account ? "Moat Rare Operation By Service Account"
                                             : "Moat Rare Operation By User";
        std::vector<std::string> tags = {"k8s", "anomaly"};
        if (managed) {
          tags.push_back("K8S_AbnormalMiAcitivty");
        } else if (service_account) {
          tags.push_back("K8S_ServiceAccountRareOperation");
        }
        tags.insert(tags.end(), {"mitre_lateral_movement", "T1550.001"});
        const std::string seen = SeenInstead(
            identity.operations,
            [&](const std::string& op) {
              const auto parts = Split(op, ' ');
              return (parts.size() == 3 && parts[1] == resource ? 2 : 0) +
                     (parts.size() == 3 && parts[2] == namespace_name ? 1 : 0);
            },
            [](const std::string& op) { return DescribeOperation(op); });
        alerts.push_back(MakeAnomaly(
            event, source, std::move(rule), std::move(tags),
            std::string(user) + " did " + DescribeOperation(key) + ", which it never did before",
            seen));
        identity.operations.insert(std::move(key));
        ++stats_.anomalies;
        dirty_ = true;
      }
    }
  }

  const uint32_t request = doc.Get(root, "requestObject");
  // Image repositories deployed per namespace.
  if (verb == "create" && subresource.empty()) {
    const uint32_t spec = PodSpecOf(doc, request, resource);
    std::vector<std::string> images;
    for (const char* list : {"initContainers", "containers", "ephemeralContainers"}) {
      doc.ForEachChild(doc.Get(spec, list), [&](uint32_t container) {
        const std::string_view image = doc.String(doc.Get(container, "image"));
        if (!image.empty()) images.push_back(ImageRepository(image));
      });
    }
    const std::string ns(namespace_name.empty() ? "-" : namespace_name);
    for (const std::string& image : images) {
      auto ns_it = namespaces_.find(ns);
      if (ns_it == namespaces_.end()) {
        if (namespaces_.size() >= options_.max_namespaces) {
          ++stats_.full;
          continue;
        }
        ns_it = namespaces_.emplace(ns, Namespace{}).first;
      }
      std::set<std::string>& known = ns_it->second.images;
      if (known.count(image)) continue;
      if (known.size() >= options_.max_images_per_namespace) {
        ++stats_.full;
      } else if (Learning(started_ns_, now)) {
        known.insert(image);
        ++stats_.learned;
        dirty_ = true;
      } else if (Allowed(user, verb, image, namespace_name)) {
        ++stats_.allowed;
      } else {
        const std::string seen = SeenInstead(
            known, [](const std::string&) { return 0; },
            [](const std::string& item) { return item; });
        alerts.push_back(MakeAnomaly(
            event, source, "Moat Anomalous Pod Deployment",
            {"k8s", "anomaly", "K8S_AnomalousPodDeployment", "mitre_execution", "T1610"},
            std::string(user) + " deployed image " + image + " in namespace " + ns +
                ", where it was never deployed before",
            seen));
        known.insert(image);
        ++stats_.anomalies;
        dirty_ = true;
      }
    }
  }

  // Roles bound to each service account.
  if ((resource == "rolebindings" || resource == "clusterrolebindings") &&
      (verb == "create" || verb == "update" || verb == "patch")) {
    const std::string role(doc.String(doc.Path(request, {"roleRef", "name"})));
    const std::string role_key =
        (resource == "rolebindings" ? std::string(namespace_name) + "/" : "") + role;
    doc.ForEachChild(doc.Get(request, "subjects"), [&](uint32_t subject) {
      if (role.empty() || doc.String(doc.Get(subject, "kind")) != "ServiceAccount") return;
      std::string_view sa_ns = doc.String(doc.Get(subject, "namespace"));
      if (sa_ns.empty()) sa_ns = namespace_name;
      const std::string account = std::string(kServiceAccountPrefix) + std::string(sa_ns) + ":" +
                                  std::string(doc.String(doc.Get(subject, "name")));
      std::set<std::string>& roles = bindings_[account];
      if (roles.count(role_key)) return;
      if (Learning(started_ns_, now)) {
        roles.insert(role_key);
        ++stats_.learned;
        dirty_ = true;
      } else if (Allowed(account, "bind", role_key, namespace_name)) {
        ++stats_.allowed;
      } else {
        const std::string seen = SeenInstead(
            roles, [](const std::string&) { return 0; },
            [](const std::string& item) { return item; });
        alerts.push_back(MakeAnomaly(event, source, "Moat Unusual Role Binding For Service Account",
                                     {"k8s", "anomaly", "K8S_ServiceAcountPermissionAnomaly",
                                      "mitre_privilege_escalation", "T1098.006"},
                                     std::string(user) + " bound " + account + " to role " +
                                         role_key + ", which it was never bound to before",
                                     seen));
        roles.insert(role_key);
        ++stats_.anomalies;
        dirty_ = true;
      }
    });
  }
}

}  // namespace moat::auditlog
