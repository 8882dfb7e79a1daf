#pragma once
// The admission policy modes an administrator sets on `moat server` (docs/server.md, "Admission
// policy modes"), pulled by `moat admission serve --server URL`: GET /api/v1/admission/policies
// answers a `policies:` section, polled with If-None-Match so that an unchanged answer costs a
// 304. The webhook adds the server's rules to its configuration's on the next reload, so a mode
// changed in the dashboard reaches every webhook within one poll interval.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "admission/config.h"
#include "core/result.h"

namespace moat::admission {

struct ServerModesOptions {
  std::string url;     // the server's base URL, https:// (http:// on loopback)
  std::string token;   // a token of role reader (a cluster agent's, of role agent, may too)
  std::string ca_pem;  // trust only these CAs; empty = the system store
  std::chrono::milliseconds interval{10000};
  long timeout_seconds = 10;
};

class ServerModes {
 public:
  /// Fetches the modes once: an error (server unreachable, token refused, a body that is not a
  /// `policies:` section) stops the start, since a webhook running without the modes its
  /// administrator set would enforce something else. Then polls in the background; a failed
  /// poll keeps the last modes (logged, counted in failures()).
  static Result<std::shared_ptr<ServerModes>> Start(ServerModesOptions options);
  ~ServerModes();

  /// The server's rules (each `checks` one policy, no selectors), in the server's order.
  std::vector<PolicyRule> rules() const;
  /// Changes each time the server's answer changes (a new ETag with a new body).
  uint64_t generation() const { return generation_.load(); }
  uint64_t failures() const { return failures_.load(); }
  /// One poll now, besides the background ones: the cluster agent asks before each report, so
  /// that a mode changed on the server reaches the next report (an unchanged answer is a 304).
  /// True when the modes changed; on an error the last modes stay.
  Result<bool> Refresh() { return Poll(); }
  const std::string& url() const { return options_.url; }

  /// Parses GET /api/v1/admission/policies's body; errors name `name` and the place.
  static Result<std::vector<PolicyRule>> ParseRules(const std::string& body,
                                                    const std::string& name);

 private:
  explicit ServerModes(ServerModesOptions options) : options_(std::move(options)) {}
  /// One GET; true when the modes changed.
  Result<bool> Poll();
  void Run();

  ServerModesOptions options_;
  std::string endpoint_;
  mutable std::mutex mutex_;
  std::vector<PolicyRule> rules_;
  std::string etag_;
  std::atomic<uint64_t> generation_{0};
  std::atomic<uint64_t> failures_{0};
  std::condition_variable wake_;
  bool stopping_ = false;  // guarded by mutex_
  std::thread poller_;
};

}  // namespace moat::admission
