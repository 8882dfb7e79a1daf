// libFuzzer target for ValidatingAdmissionPolicy loading (--policy files are operator input,
// and in a cluster the params are whatever the API lists): any YAML either loads, every
// expression compiled, or fails with an error naming the file and field; a loaded policy set
// judges a CREATE, an UPDATE and a DELETE of a Deployment without crashing.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "admission/decision.h"
#include "admission/vap.h"
#include "k8s/loader.h"

namespace {

moat::admission::AdmissionRequest Request(const char* json) {
  auto decoded = moat::admission::DecodeAdmissionReview(json);
  return decoded.ok() ? std::move(*decoded) : moat::admission::AdmissionRequest();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace moat::admission;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  moat::k8s::LoadLimits limits;
  limits.max_depth = 64;
  limits.max_nodes_per_document = 20000;
  moat::k8s::LoadResult loaded;
  moat::k8s::ParseManifests(text, "fuzz.yaml", loaded, limits);
  auto policy = VapPolicy::FromObjects(std::move(loaded));
  if (!policy.ok()) return 0;
  static const char* const kReviews[] = {
      R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"1","kind":{"group":"apps","version":"v1","kind":"Deployment"},"resource":{"group":"apps","version":"v1","resource":"deployments"},"name":"web","namespace":"default","operation":"CREATE","userInfo":{"username":"u","groups":["g"]},"object":{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","labels":{"a":"b"}},"spec":{"replicas":3,"template":{"spec":{"containers":[{"name":"c","image":"example.com/x:1"}]}}}}}})",
      R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"2","kind":{"group":"apps","version":"v1","kind":"Scale"},"resource":{"group":"apps","version":"v1","resource":"deployments"},"subResource":"scale","name":"web","namespace":"default","operation":"UPDATE","object":{"spec":{"replicas":9}},"oldObject":{"spec":{"replicas":1}}}})",
      R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"3","kind":{"group":"","version":"v1","kind":"Namespace"},"resource":{"group":"","version":"v1","resource":"namespaces"},"name":"ns","namespace":"ns","operation":"DELETE","oldObject":{"metadata":{"name":"ns","labels":{"env":"prod"}}}}})",
  };
  std::vector<Violation> violations;
  for (const char* json : kReviews) {
    AdmissionRequest request = Request(json);
    violations.clear();
    if ((*policy)->Covers(request)) (*policy)->Evaluate(request, violations);
    AdmissionResponse response;
    ApplyViolations(violations, response);
  }
  return 0;
}
