#pragma once
// Sends the spool to `moat server` in order (docs/server/agent-protocol.md): registers to learn
// what the server has applied, then posts batches of the oldest unacknowledged messages and drops
// them from the spool once acknowledged. Network failures and 5xx answers are retried with
// exponential backoff and jitter; a refused token stops the sender with a clear error.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "agent/spool.h"
#include "core/result.h"

namespace moat::agent {

struct ServerConfig {
  std::string url;     // "https://moat.example:8443" or, on loopback only, "http://127.0.0.1:8080"
  std::string token;   // bearer token of role agent
  std::string ca_pem;  // trust only these CAs (--ca-file); empty = the system store
  long request_timeout_seconds = 60;
};

/// What the agent says about itself when it registers.
struct Registration {
  std::string name;
  std::string kind = "host";
  std::string version;
  std::string hostname;
};

struct SenderOptions {
  size_t max_batch_messages = 100;
  size_t max_batch_bytes = 4u << 20;
  std::chrono::milliseconds initial_backoff{1000};
  std::chrono::milliseconds max_backoff{30000};
};

/// https:// anywhere; http:// only to a loopback address (127.0.0.0/8, ::1, localhost), since
/// the token and the host's inventory would otherwise cross the network in clear text.
Result<void> ValidateServerUrl(std::string_view url);

/// The delay before retry number `attempt` (1, 2, ...): initial * 2^(attempt-1), capped, times a
/// random factor in [0.5, 1] so that agents cut off together do not come back together.
std::chrono::milliseconds BackoffDelay(int attempt, std::chrono::milliseconds initial,
                                       std::chrono::milliseconds cap);

/// Used by one thread at a time.
class Sender {
 public:
  Sender(Spool& spool, ServerConfig server, Registration registration, SenderOptions options = {});

  /// Sends until the spool holds nothing unacknowledged. Returns an Error when `stop()` turns
  /// true or `deadline` passes first (the messages stay spooled), or when the server refuses the
  /// agent for good (401/403, a 400 for a batch): then fatal() is true.
  Result<void> Flush(const std::function<bool()>& stop,
                     std::chrono::steady_clock::time_point deadline =
                         std::chrono::steady_clock::time_point::max());

  bool fatal() const { return fatal_; }
  bool registered() const { return registered_; }
  const std::string& agent_id() const { return agent_id_; }
  /// The highest seq the server has said it applied.
  uint64_t server_acked() const { return server_acked_; }

 private:
  enum class Step { kProgress, kRetry, kFatal };
  Step Register();
  Step SendBatch(const std::vector<SpooledMessage>& batch);
  /// Adopts the server's acked_through: acknowledges the spool up to it, or renumbers the spool
  /// when the server is ahead of anything it holds.
  Step AdoptServerAcked(uint64_t acked);
  Step Retry(std::string message);
  Step Fatal(std::string message);

  Spool& spool_;
  ServerConfig server_;
  const Registration registration_;
  const SenderOptions options_;
  bool registered_ = false;
  bool fatal_ = false;
  bool outage_reported_ = false;
  std::string agent_id_;
  uint64_t server_acked_ = 0;
  std::string last_error_;
  std::chrono::steady_clock::time_point deadline_;
};

}  // namespace moat::agent
