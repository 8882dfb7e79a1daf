// Agent message batches (POST /api/v1/agents/{agent}/messages) are untrusted: any bytes must give
// messages or an error naming the message and field, never a crash. Each accepted message body is
// parsed again as the server does when it applies it, and must parse (what was validated is what
// is applied). The bytes are also tried as a cluster_report body on their own, so that the fuzzer
// reaches its deeper fields (workloads, nodes, findings, the admission audit's results) without
// having to build a batch around them; an accepted admission audit result has one of the three
// actions the store and the API filter by.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "server/api/agent_messages.h"

namespace {

void CheckClusterReport(const moat::server::ClusterReport& report) {
  for (size_t i = 0; i < report.admission_audit.size(); ++i) {
    const auto& result = report.admission_audit[i];
    if (result.action != "deny" && result.action != "warn" && result.action != "audit") {
      std::abort();
    }
    if (result.seq != static_cast<int64_t>(i) || result.kind.empty() || result.name.empty() ||
        result.policy.empty()) {
      std::abort();
    }
  }
  if (!report.has_admission_audit && !report.admission_audit.empty()) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto report = moat::server::ParseClusterReport(text, "agent-1"); report.ok()) {
    CheckClusterReport(*report);
  }
  auto messages = moat::server::ParseAgentBatch(text, "agent-1");
  if (!messages.ok()) return 0;
  for (const auto& message : *messages) {
    bool applied = true;
    if (message.type == "host_report") {
      applied = moat::server::ParseHostReport(message.body, "agent-1").ok();
    } else if (message.type == "cluster_report") {
      auto report = moat::server::ParseClusterReport(message.body, "agent-1");
      applied = report.ok();
      if (applied) CheckClusterReport(*report);
    } else if (message.type == "in_use") {
      applied = moat::server::ParseInUseReport(message.body).ok();
    }
    if (!applied) std::abort();
  }
  return 0;
}
