// libFuzzer target for the admission webhook's request path: any body decodes (or is an error
// naming the field), a decoded review goes through every built-in check in deny, warn and audit
// mode, and the response encodes, without crashing.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "admission/decision.h"
#include "admission/review.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace moat::admission;
  static const std::shared_ptr<const PolicySet> policies = [] {
    AdmissionConfig config;
    (void)AddFlagRule(config, Action::kDeny, {"pss-baseline"}, "fuzz");
    (void)AddFlagRule(config, Action::kWarn, {"pss-restricted", "workload"}, "fuzz");
    (void)AddFlagRule(config, Action::kAudit, {"all", "optional"}, "fuzz");
    return *PolicySet::Build(config);
  }();
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  DecodeLimits limits;
  limits.max_depth = 64;
  auto request = DecodeAdmissionReview(body, limits);
  if (!request.ok()) return 0;
  Decision decision = policies->Decide(*request);
  (void)EncodeAdmissionReview(request->review_api_version, request->uid, decision.response);
  return 0;
}
