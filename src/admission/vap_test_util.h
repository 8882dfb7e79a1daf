#pragma once
// Shared by the ValidatingAdmissionPolicy tests: AdmissionReviews built the way the API server
// sends them (JSON, decoded by the webhook's own decoder) and the policy sets of testdata/vap.

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "admission/decision.h"
#include "admission/namespace_cache.h"
#include "admission/review.h"
#include "admission/test_util.h"
#include "admission/vap.h"
#include "k8s/loader.h"

namespace moat::admission::testing {

inline const std::filesystem::path kVapData =
    std::filesystem::path(MOAT_SOURCE_DIR) / "src" / "admission" / "testdata" / "vap";

/// One request as the API server would describe it.
struct ReviewSpec {
  std::string operation = "CREATE";
  std::string group = "apps";
  std::string version = "v1";
  std::string resource = "deployments";
  std::string sub_resource;
  std::string kind = "Deployment";
  std::string namespace_name = "default";
  std::string name;
  std::string object;      // YAML; "" = null
  std::string old_object;  // YAML; "" = null
  std::string username = "alice";
  std::vector<std::string> groups = {"system:authenticated"};
  /// requestResource when the client asked for another version (matchPolicy tests).
  std::string request_group, request_version, request_resource;
};

inline nlohmann::json YamlToJson(const std::string& yaml) {
  auto value = k8s::ParseYamlDocument(yaml, "test");
  EXPECT_TRUE(value.ok()) << (value.ok() ? "" : value.error().message);
  return value.ok() ? ToJson(*value) : nlohmann::json();
}

inline std::string ReviewJson(const ReviewSpec& s) {
  nlohmann::json object = s.object.empty() ? nlohmann::json() : YamlToJson(s.object);
  nlohmann::json old_object = s.old_object.empty() ? nlohmann::json() : YamlToJson(s.old_object);
  std::string name = s.name;
  if (name.empty() && object.is_object()) name = object["metadata"].value("name", "");
  if (name.empty() && old_object.is_object()) name = old_object["metadata"].value("name", "");
  const nlohmann::json resource = {
      {"group", s.group}, {"version", s.version}, {"resource", s.resource}};
  nlohmann::json request = {
      {"uid", "705ab4f5-6393-11e8-b7cc-42010a800002"},
      {"kind", {{"group", s.group}, {"version", s.version}, {"kind", s.kind}}},
      {"resource", resource},
      {"requestKind", {{"group", s.group}, {"version", s.version}, {"kind", s.kind}}},
      {"requestResource", s.request_resource.empty()
                              ? resource
                              : nlohmann::json{{"group", s.request_group},
                                               {"version", s.request_version},
                                               {"resource", s.request_resource}}},
      {"name", name},
      {"namespace", s.namespace_name},
      {"operation", s.operation},
      {"userInfo", {{"username", s.username}, {"groups", s.groups}}},
      {"object", object},
      {"oldObject", old_object},
      {"dryRun", false},
      {"options", {{"apiVersion", "meta.k8s.io/v1"}, {"kind", "CreateOptions"}}}};
  if (!s.sub_resource.empty()) {
    request["subResource"] = s.sub_resource;
    request["requestSubResource"] = s.sub_resource;
  }
  return nlohmann::json{
      {"apiVersion", "admission.k8s.io/v1"}, {"kind", "AdmissionReview"}, {"request", request}}
      .dump();
}

inline AdmissionRequest MakeRequest(const ReviewSpec& spec) {
  auto decoded = DecodeAdmissionReview(ReviewJson(spec));
  EXPECT_TRUE(decoded.ok()) << (decoded.ok() ? "" : decoded.error().message);
  return decoded.ok() ? std::move(*decoded) : AdmissionRequest();
}

inline std::string Deployment(const std::string& name, int replicas,
                              const std::string& image = "nginx:1.27",
                              const std::string& labels = "{}") {
  return "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: " + name +
         "\n  labels: " + labels + "\nspec:\n  replicas: " + std::to_string(replicas) +
         "\n  selector: {matchLabels: {app: " + name +
         "}}\n  template:\n    metadata:\n"
         "      labels: {app: " +
         name +
         "}\n    spec:\n      containers:\n      - name: app\n"
         "        image: " +
         image + "\n";
}

/// Namespaces with labels (a YAML flow map), as a cluster listing would give them: with the
/// kubernetes.io/metadata.name label the API server puts on every namespace.
inline std::shared_ptr<NamespaceCache> Namespaces(
    const std::vector<std::pair<std::string, std::string>>& name_and_labels) {
  std::string yaml;
  for (const auto& [name, labels] : name_and_labels) {
    std::string rest = labels.substr(1);  // after '{'
    yaml += "---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: " + name +
            "\n  labels: {kubernetes.io/metadata.name: " + name +
            (rest == "}" ? rest : ", " + rest) + "\n";
  }
  k8s::LoadResult loaded;
  k8s::ParseManifests(yaml, "namespaces.yaml", loaded);
  EXPECT_TRUE(loaded.errors.empty());
  return NamespaceCache::FromObjects(loaded.objects);
}

/// The webhook's policy set with only the ValidatingAdmissionPolicies of `dir` (testdata/vap).
inline std::shared_ptr<const PolicySet> VapPolicies(
    const std::string& dir, std::shared_ptr<const NamespaceCache> namespaces = nullptr) {
  AdmissionConfig config;
  config.policy_files = {(kVapData / dir).string()};
  config.namespaces = std::move(namespaces);
  auto set = PolicySet::Build(config);
  EXPECT_TRUE(set.ok()) << (set.ok() ? "" : set.error().message);
  return set.ok() ? *set : nullptr;
}

inline Decision Decide(const PolicySet& policies, const ReviewSpec& spec) {
  AdmissionRequest request = MakeRequest(spec);
  return policies.Decide(request);
}

}  // namespace moat::admission::testing
