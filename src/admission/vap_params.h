#pragma once
// The param objects of ValidatingAdmissionPolicies (paramKind + a binding's paramRef): from
// files, and in a cluster listed through the API and re-listed periodically.

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "admission/namespace_cache.h"
#include "admission/vap.h"
#include "cel/value.h"
#include "k8s/value.h"

namespace moat::admission {

struct ParamObject {
  std::string namespace_name;  // "" for a cluster-scoped param
  std::string name;
  k8s::Value labels;  // metadata.labels (null when it has none)
  cel::Value value;   // the whole object as CEL's `params`
};

/// The params of one kind, whatever their version (the API server would convert them).
struct ParamKindObjects {
  /// Namespaced when the kind is a namespaced built-in (ConfigMap) or any object of it names a
  /// namespace; a namespaced object without one is in "default", as kubectl would create it.
  bool namespaced = false;
  std::vector<ParamObject> objects;
};

/// "group/Kind" ("/ConfigMap" for the core group): how params are indexed.
std::string ParamKindKey(std::string_view api_version, std::string_view kind);

/// Indexes objects by ParamKindKey.
std::map<std::string, std::shared_ptr<const ParamKindObjects>> IndexParams(
    const std::vector<k8s::Object>& objects);

/// Params listed from a cluster: one listing per param kind, across namespaces. The resource of
/// a kind is guessed from its name as the API server's RESTMapper does without discovery
/// (ReplicaLimit -> replicalimits; GuessResource).
class ParamCache {
 public:
  /// Lists `kinds` now (an error when the server cannot be reached) and every `interval` after.
  static Result<std::shared_ptr<ParamCache>> Start(const k8s::ClusterConnection& connection,
                                                   const std::vector<VapParamKind>& kinds,
                                                   std::chrono::milliseconds interval);
  /// Null when the kind was never listed (then the files' params are used).
  std::shared_ptr<const ParamKindObjects> Find(const std::string& key) const;

 private:
  void Rebuild();

  mutable std::mutex mutex_;
  std::map<std::string, std::shared_ptr<const ParamKindObjects>> index_;
  std::unique_ptr<ClusterObjectCache> source_;
};

}  // namespace moat::admission
