#pragma once
// Where the alerts of the rules engine go, the same for `moat sensor` and `moat audit-log`
// (docs/audit-log.md "Outputs"): JSON lines on stdout or in a size-rotated file, and network
// targets (a JSON webhook, Slack, syslog: the security center's notifiers,
// server/notify/notify.h) each behind a bounded on-disk spool (agent/spool.h), so that a slow or
// absent receiver loses nothing up to the spool's bound and the loss beyond is counted. Repeats
// of one alert (one rule on one resource, core/alert.h AlertDedupeKey) are rate-limited, and the
// next alert that passes says how many were suppressed.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/alert.h"
#include "core/result.h"

namespace moat::rules {

struct OutputOptions {
  /// JSON lines (core/alert.h AlertToJson) on standard output.
  bool stdout_json = false;
  /// JSON lines appended to this file; "" for none. Once it reaches `file_max_bytes` it is
  /// renamed FILE.1 (FILE.1 to FILE.2, ...; `file_backups` are kept) and a new one starts.
  std::string file;
  uint64_t file_max_bytes = 100ull << 20;
  int file_backups = 5;

  /// Network targets in the security center's flag syntax (server/notify/dispatcher.h
  /// ParseNotifyFlag): "webhook=https://host/path[,min=PRIORITY][,batch]", "slack=URL",
  /// "syslog=udp://HOST:PORT" or "syslog=tcp://HOST:PORT".
  std::vector<std::string> targets;
  /// Each target gets a spool under this directory (required with targets).
  std::string spool_dir;
  /// A target's spool beyond this many bytes drops its oldest unsent alerts (counted).
  uint64_t spool_max_bytes = 64ull << 20;
  /// Delivery retries: the first after this, doubling up to retry_max.
  std::chrono::milliseconds retry_initial{500};
  std::chrono::milliseconds retry_max{30000};
  /// At most this many alerts per POST or syslog burst.
  size_t send_batch = 100;

  /// Rate limit per rule and resource: after an alert, its repeats within this window (of event
  /// time) are suppressed and counted; 0 disables the limit.
  std::chrono::seconds rate_window{60};
  /// The limiter forgets keys idle for a window; beyond this many keys it stops limiting new
  /// ones (counted) rather than grow.
  size_t rate_max_keys = 100000;
};

/// Counters of one network target.
struct TargetStats {
  std::string name;  // "webhook https://hooks.example/…" (secrets redacted)
  uint64_t spooled = 0;
  uint64_t delivered = 0;
  uint64_t failed_attempts = 0;
  uint64_t lost = 0;     // dropped by the spool's bound (or a damaged spool record)
  uint64_t pending = 0;  // in the spool, not yet delivered
};

struct OutputStats {
  uint64_t alerts = 0;      // given to Emit
  uint64_t suppressed = 0;  // held back by the rate limit
  uint64_t written = 0;     // lines written to stdout / the file
  uint64_t write_errors = 0;
  uint64_t file_rotations = 0;
  uint64_t rate_keys_overflow = 0;
  std::vector<TargetStats> targets;
};

class AlertOutputs {
 public:
  /// Checks the options, opens the file and the spools (alerts left in a spool by an earlier run
  /// are delivered first) and starts one delivery thread per target.
  static Result<std::unique_ptr<AlertOutputs>> Open(const OutputOptions& options);
  ~AlertOutputs();
  AlertOutputs(const AlertOutputs&) = delete;
  AlertOutputs& operator=(const AlertOutputs&) = delete;

  /// Rate-limits, writes and spools one alert. Thread-safe; never waits on the network.
  void Emit(Alert alert);
  /// Flushes the file and waits until every target has delivered what it holds, or `timeout`
  /// passed; true when all was delivered.
  bool Flush(std::chrono::milliseconds timeout = std::chrono::milliseconds(10000));
  /// Stops the delivery threads (what is not delivered stays in the spools for the next run).
  void Close();

  OutputStats stats() const;
  /// Prometheus text: moat_alerts_* and moat_alert_target_* counters and gauges.
  void RenderMetrics(std::string& out) const;

 private:
  struct State;
  explicit AlertOutputs(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace moat::rules
