#include "core/json_model.h"

#include <nlohmann/json.hpp>

namespace moat {
namespace {

// Omits empty strings and lists so documents stay small and stable.
void PutIf(nlohmann::json& j, const char* key, const std::string& value) {
  if (!value.empty()) j[key] = value;
}
void Get(const nlohmann::json& j, const char* key, std::string& out) {
  auto it = j.find(key);
  if (it != j.end() && it->is_string()) out = it->get<std::string>();
}

}  // namespace

void to_json(nlohmann::json& j, const Package& p) {
  j = nlohmann::json::object();
  j["type"] = std::string(PackageTypeName(p.type));
  j["name"] = p.name;
  j["version"] = p.version;
  PutIf(j, "epoch", p.epoch);
  PutIf(j, "release", p.release);
  PutIf(j, "arch", p.arch);
  PutIf(j, "source_name", p.source_name);
  PutIf(j, "source_version", p.source_version);
  PutIf(j, "source_release", p.source_release);
  PutIf(j, "maintainer", p.maintainer);
  if (!p.licenses.empty()) j["licenses"] = p.licenses;
  PutIf(j, "modularity_label", p.modularity_label);
  PutIf(j, "go_version", p.go_version);
  if (p.main_module) j["main_module"] = true;
  if (p.dev) j["dev"] = true;
  PutIf(j, "purl", p.purl);
  PutIf(j, "file_path", p.file_path);
  PutIf(j, "layer_diff_id", p.layer_diff_id);
  PutIf(j, "layer_created_by", p.layer_created_by);
  PutIf(j, "owned_by", p.owned_by);
}

void from_json(const nlohmann::json& j, Package& p) {
  std::string type;
  Get(j, "type", type);
  p.type = ParsePackageType(type).value_or(PackageType::kDeb);
  Get(j, "name", p.name);
  Get(j, "version", p.version);
  Get(j, "epoch", p.epoch);
  Get(j, "release", p.release);
  Get(j, "arch", p.arch);
  Get(j, "source_name", p.source_name);
  Get(j, "source_version", p.source_version);
  Get(j, "source_release", p.source_release);
  Get(j, "maintainer", p.maintainer);
  if (auto it = j.find("licenses"); it != j.end() && it->is_array()) {
    for (const auto& l : *it) {
      if (l.is_string()) p.licenses.push_back(l.get<std::string>());
    }
  }
  Get(j, "modularity_label", p.modularity_label);
  Get(j, "go_version", p.go_version);
  if (auto it = j.find("main_module"); it != j.end() && it->is_boolean()) p.main_module = *it;
  if (auto it = j.find("dev"); it != j.end() && it->is_boolean()) p.dev = *it;
  Get(j, "purl", p.purl);
  Get(j, "file_path", p.file_path);
  Get(j, "layer_diff_id", p.layer_diff_id);
  Get(j, "layer_created_by", p.layer_created_by);
  Get(j, "owned_by", p.owned_by);
}

void to_json(nlohmann::json& j, const OsInfo& o) {
  j = nlohmann::json::object();
  j["family"] = o.family;
  j["name"] = o.name;
  j["version"] = o.version;
  PutIf(j, "codename", o.codename);
}

void from_json(const nlohmann::json& j, OsInfo& o) {
  Get(j, "family", o.family);
  Get(j, "name", o.name);
  Get(j, "version", o.version);
  Get(j, "codename", o.codename);
}

void to_json(nlohmann::json& j, const LayerInfo& l) {
  j = nlohmann::json::object();
  j["diff_id"] = l.diff_id;
  PutIf(j, "digest", l.digest);
  PutIf(j, "created_by", l.created_by);
  j["size"] = l.size;
}

void from_json(const nlohmann::json& j, LayerInfo& l) {
  Get(j, "diff_id", l.diff_id);
  Get(j, "digest", l.digest);
  Get(j, "created_by", l.created_by);
  if (auto it = j.find("size"); it != j.end() && it->is_number_unsigned()) l.size = *it;
}

void to_json(nlohmann::json& j, const ArtifactInfo& a) {
  j = nlohmann::json::object();
  j["name"] = a.name;
  j["type"] = a.type;
  PutIf(j, "image_id", a.image_id);
  PutIf(j, "manifest_digest", a.manifest_digest);
  if (!a.repo_tags.empty()) j["repo_tags"] = a.repo_tags;
  if (!a.repo_digests.empty()) j["repo_digests"] = a.repo_digests;
  PutIf(j, "os", a.os);
  PutIf(j, "architecture", a.architecture);
  PutIf(j, "created", a.created);
  if (!a.layers.empty()) j["layers"] = a.layers;
}

void from_json(const nlohmann::json& j, ArtifactInfo& a) {
  Get(j, "name", a.name);
  Get(j, "type", a.type);
  Get(j, "image_id", a.image_id);
  Get(j, "manifest_digest", a.manifest_digest);
  if (auto it = j.find("repo_tags"); it != j.end() && it->is_array()) a.repo_tags = *it;
  if (auto it = j.find("repo_digests"); it != j.end() && it->is_array()) a.repo_digests = *it;
  Get(j, "os", a.os);
  Get(j, "architecture", a.architecture);
  Get(j, "created", a.created);
  if (auto it = j.find("layers"); it != j.end() && it->is_array()) a.layers = *it;
}

}  // namespace moat
