#pragma once
// The admission policy audit of `moat agent --kind cluster` (docs/agent.md "Admission policy
// audit"): with every cluster report, the objects the report already listed are judged by the
// admission policies as `moat admission audit --cluster` judges them (admission/audit.h), with the
// policy modes set on the server (pulled as `moat admission serve --server` pulls them) and an
// optional admission configuration file.

#include <memory>
#include <string>
#include <vector>

#include "admission/server_modes.h"
#include "core/result.h"

namespace moat::admission {
class PolicySet;
}
namespace moat::k8s {
struct Object;
}

namespace moat::agent {

struct ClusterAdmissionOptions {
  /// The server's modes (GET /api/v1/admission/policies) with the agent's own token; an empty
  /// url fetches none (the configuration file alone).
  admission::ServerModesOptions server;
  /// --admission-config: the admission configuration format (docs/admission.md), read again for
  /// each report; empty = none.
  std::string config_file;
};

class ClusterAdmission {
 public:
  explicit ClusterAdmission(ClusterAdmissionOptions options);
  ~ClusterAdmission();
  ClusterAdmission(const ClusterAdmission&) = delete;
  ClusterAdmission& operator=(const ClusterAdmission&) = delete;

  /// The policies for one report of `objects` (their Namespaces give the namespaceSelectors):
  /// the file's rules, then the server's modes, refreshed now. An error (the server's modes
  /// never fetched, a configuration that does not load) means no audit in this report, so that
  /// the server keeps the results it has rather than results judged by other policies. A failed
  /// refresh after a first fetch keeps the last modes (a note says so).
  Result<std::shared_ptr<const admission::PolicySet>> Policies(
      const std::vector<k8s::Object>& objects, std::vector<std::string>& notes);

 private:
  ClusterAdmissionOptions options_;
  std::shared_ptr<admission::ServerModes> modes_;
};

}  // namespace moat::agent
