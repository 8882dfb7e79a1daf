// Agent message batches (POST /api/v1/agents/{agent}/messages) are untrusted: any bytes must give
// messages or an error naming the message and field, never a crash. Each accepted message body is
// parsed again as the server does when it applies it, and must parse (what was validated is what
// is applied).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "server/api/agent_messages.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto messages = moat::server::ParseAgentBatch(
      std::string_view(reinterpret_cast<const char*>(data), size), "agent-1");
  if (!messages.ok()) return 0;
  for (const auto& message : *messages) {
    bool applied = true;
    if (message.type == "host_report") {
      applied = moat::server::ParseHostReport(message.body, "agent-1").ok();
    } else if (message.type == "cluster_report") {
      applied = moat::server::ParseClusterReport(message.body, "agent-1").ok();
    } else if (message.type == "in_use") {
      applied = moat::server::ParseInUseReport(message.body).ok();
    }
    if (!applied) std::abort();
  }
  return 0;
}
