// Param objects: indexed by group and kind, from files or a cluster's listing.

#include "admission/vap_params.h"

#include "cel/k8s_value.h"

namespace moat::admission {

std::string ParamKindKey(std::string_view api_version, std::string_view kind) {
  const size_t slash = api_version.find('/');
  const std::string_view group =
      slash == std::string_view::npos ? std::string_view() : api_version.substr(0, slash);
  return std::string(group) + "/" + std::string(kind);
}

std::map<std::string, std::shared_ptr<const ParamKindObjects>> IndexParams(
    const std::vector<k8s::Object>& objects) {
  std::map<std::string, std::shared_ptr<ParamKindObjects>> building;
  for (const k8s::Object& object : objects) {
    if (object.kind.empty() || object.name.empty()) continue;
    auto& entry = building[ParamKindKey(object.api_version, object.kind)];
    if (!entry) {
      entry = std::make_shared<ParamKindObjects>();
      // A namespaced core kind (ConfigMap) is namespaced even when no file names the
      // namespace; a custom kind is namespaced when its objects say so.
      entry->namespaced = object.api_version == "v1" && !k8s::IsClusterScopedKind(object.kind);
    }
    ParamObject param;
    param.namespace_name = object.namespace_name;
    param.name = object.name;
    if (const k8s::Value* labels = object.root.Path({"metadata", "labels"})) param.labels = *labels;
    param.value = cel::FromK8sValue(object.root);
    if (!param.namespace_name.empty()) entry->namespaced = true;
    entry->objects.push_back(std::move(param));
  }
  std::map<std::string, std::shared_ptr<const ParamKindObjects>> index;
  for (auto& [key, entry] : building) {
    if (entry->namespaced) {
      for (ParamObject& param : entry->objects) {
        if (param.namespace_name.empty()) param.namespace_name = "default";
      }
    }
    index.emplace(key, std::move(entry));
  }
  return index;
}

Result<std::shared_ptr<ParamCache>> ParamCache::Start(const k8s::ClusterConnection& connection,
                                                      const std::vector<VapParamKind>& kinds,
                                                      std::chrono::milliseconds interval) {
  std::vector<k8s::ResourceKind> resources;
  for (const VapParamKind& kind : kinds) {
    resources.push_back({kind.api_version, GuessResource(kind.kind), kind.kind});
  }
  auto cache = std::make_shared<ParamCache>();
  cache->source_ = std::make_unique<ClusterObjectCache>(connection, std::move(resources));
  MOAT_TRY(cache->source_->Refresh());
  cache->Rebuild();
  ParamCache* self = cache.get();
  cache->source_->StartRefreshing(interval, [self] { self->Rebuild(); });
  return cache;
}

void ParamCache::Rebuild() {
  auto snapshot = source_->snapshot();
  std::map<std::string, std::shared_ptr<const ParamKindObjects>> index;
  const auto& kinds = source_->kinds();
  for (size_t i = 0; i < kinds.size(); ++i) {
    if (!snapshot->listed[i]) continue;
    auto listed = IndexParams(snapshot->objects[i]);
    const std::string key = ParamKindKey(kinds[i].api_version, kinds[i].kind);
    auto it = listed.find(key);
    // A kind listed with no object is known to be empty: an empty entry, not a missing one.
    index[key] = it != listed.end() ? it->second : std::make_shared<ParamKindObjects>();
  }
  std::lock_guard lock(mutex_);
  index_ = std::move(index);
}

std::shared_ptr<const ParamKindObjects> ParamCache::Find(const std::string& key) const {
  std::lock_guard lock(mutex_);
  auto it = index_.find(key);
  return it == index_.end() ? nullptr : it->second;
}

}  // namespace moat::admission
