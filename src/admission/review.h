#pragma once
// AdmissionReview (admission.k8s.io/v1 and v1beta1): the request the API server sends to a
// webhook, decoded into the Kubernetes object model of src/k8s (so the checks see request.object
// exactly as `moat k8s manifests` sees a manifest), and the response, written in the version the
// request came in.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"
#include "k8s/value.h"

namespace moat::admission {

enum class Operation : uint8_t { kCreate, kUpdate, kDelete, kConnect };
std::string_view OperationName(Operation operation);  // "CREATE", ...

struct GroupVersionKind {
  std::string group;  // "" for the core group
  std::string version;
  std::string kind;
};

struct AdmissionRequest {
  std::string review_api_version;  // "admission.k8s.io/v1" or "admission.k8s.io/v1beta1"
  std::string uid;
  GroupVersionKind kind;  // request.kind: the kind of `object`
  std::string resource;   // request.resource.resource: "pods", "deployments"
  std::string resource_group;
  std::string sub_resource;  // "status", "scale", "ephemeralcontainers", "" for the resource
  std::string name;
  std::string namespace_name;
  Operation operation = Operation::kCreate;
  std::string username;
  std::vector<std::string> groups;
  bool dry_run = false;
  /// request.object and request.oldObject as the k8s loader makes objects of manifests. The
  /// object's namespace and name fall back to the request's (the API server fills them in after
  /// admission for objects created without them).
  bool has_object = false;
  k8s::Object object;
  bool has_old_object = false;
  k8s::Object old_object;
  /// When the answer is due (PolicySet::Decide sets it): policies that wait for a registry or
  /// a scan (the image gate) answer before it.
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
  /// The rest of `request` (requestKind, requestResource, userInfo, options, ...): CEL's
  /// `request` variable in ValidatingAdmissionPolicies.
  k8s::Value fields;
};

/// Limits of the decoder (the API server sends at most 3 MiB).
struct DecodeLimits {
  size_t max_bytes = 3 << 20;
  uint32_t max_depth = 100;
};

/// Decodes an AdmissionReview body (JSON). Errors name the field: `request.uid: missing`.
Result<AdmissionRequest> DecodeAdmissionReview(std::string_view body,
                                               const DecodeLimits& limits = {});

/// The API server's limits on what it keeps of a response.
constexpr size_t kMaxWarningChars = 256;
constexpr size_t kMaxWarningsBytes = 4096;

struct AdmissionResponse {
  bool allowed = true;
  int code = 200;       // status.code when denied (403)
  std::string reason;   // status.reason: "Forbidden"
  std::string message;  // status.message
  std::vector<std::string> warnings;
  std::vector<std::pair<std::string, std::string>> audit_annotations;
  /// A JSON Patch (RFC 6902) array from /mutate, sent base64 with patchType JSONPatch; "" = none.
  std::string patch;
};

/// Adds a warning within the API server's limits: at most kMaxWarningChars characters each
/// (longer ones end in "..."), kMaxWarningsBytes in all; false when it no longer fits.
bool AddWarning(AdmissionResponse& response, std::string_view warning);

/// The AdmissionReview answering `uid`, in `api_version` (the request's).
std::string EncodeAdmissionReview(std::string_view api_version, std::string_view uid,
                                  const AdmissionResponse& response);

}  // namespace moat::admission
