#include "agent/cluster_admission.h"

#include <algorithm>

#include "admission/config.h"
#include "admission/decision.h"
#include "admission/image_gate.h"
#include "admission/namespace_cache.h"
#include "k8s/loader.h"

namespace moat::agent {

namespace {

// The image policies judge images by pulling and scanning them, which the server already does for
// every image a cluster runs (its findings and recommendations): the agent leaves the server's
// modes for them to the webhook. A configuration file that names them gets them.
void DropImagePolicies(std::vector<admission::PolicyRule>& rules) {
  for (admission::PolicyRule& rule : rules) {
    std::erase_if(rule.checks, [](const std::string& check) {
      return check == admission::kImageVulnerabilitiesPolicy ||
             check == admission::kImageSignaturePolicy;
    });
  }
  std::erase_if(rules, [](const admission::PolicyRule& rule) { return rule.checks.empty(); });
}

}  // namespace

ClusterAdmission::ClusterAdmission(ClusterAdmissionOptions options) : options_(std::move(options)) {
  // No background poll: Policies() asks before each report.
  options_.server.interval = std::chrono::hours(24 * 365);
}

ClusterAdmission::~ClusterAdmission() = default;

Result<std::shared_ptr<const admission::PolicySet>> ClusterAdmission::Policies(
    const std::vector<k8s::Object>& objects, std::vector<std::string>& notes) {
  admission::AdmissionConfig config;
  if (!options_.config_file.empty()) {
    MOAT_ASSIGN_OR_RETURN(config, admission::LoadAdmissionConfig(options_.config_file));
  }
  if (!options_.server.url.empty()) {
    if (!modes_) {
      auto started = admission::ServerModes::Start(options_.server);
      if (!started.ok()) return Fail("admission policy modes: ", started.error().message);
      modes_ = std::move(*started);
    } else if (auto refreshed = modes_->Refresh(); !refreshed.ok()) {
      notes.push_back("admission policy modes not refreshed, the last ones apply: " +
                      refreshed.error().message);
    }
    std::vector<admission::PolicyRule> rules = modes_->rules();
    DropImagePolicies(rules);
    // After the file's rules, as `moat admission serve --server` orders them: where several
    // name one check, the strongest action wins.
    for (admission::PolicyRule& rule : rules) config.rules.push_back(std::move(rule));
  }
  config.namespaces = admission::NamespaceCache::FromObjects(objects);
  config.excluded_namespaces.push_back(admission::OwnNamespace());
  return admission::PolicySet::Build(config);
}

}  // namespace moat::agent
