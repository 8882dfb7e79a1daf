#pragma once
// The center's clock: every minute (SchedulerOptions::interval) it runs the due registry polls,
// the daily rescan pass and the vulnerability-database check, reloads the stored notification
// targets (changed through another replica), and every hour it records the
// posture's figures for the day's trend. A pass that fails is logged and
// the others go on. With several replicas on one PostgreSQL store, each pass runs under an
// advisory lock, so that no pass runs twice at once; SQLite serves a single server.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/result.h"

namespace moat::server {

class Center;
class Store;

struct SchedulerOptions {
  std::chrono::milliseconds interval{60'000};
  /// How often the posture's figures are recorded for the day's trend (the day keeps the last).
  std::chrono::seconds trend_interval{3600};
  /// Unix seconds now (tests inject a clock).
  std::function<int64_t()> clock;
};

/// What one round did; a pass skipped because another replica ran it is not an error.
struct SchedulerRound {
  size_t registries_polled = 0;
  size_t rescans_queued = 0;
  size_t matches_queued = 0;         // after a database update
  bool trend_recorded = false;       // the posture's figures were recorded for today
  std::vector<std::string> errors;   // "pass: message"
  std::vector<std::string> skipped;  // passes another replica held
};

/// Runs `pass` while holding the PostgreSQL session advisory lock `key` (pg_try_advisory_lock
/// on a connection of its own); false when another session holds it. On SQLite it just runs.
Result<bool> RunExclusive(Store& store, int64_t key, const std::function<Result<void>()>& pass);

class Scheduler {
 public:
  Scheduler(Center& center, SchedulerOptions options);
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  /// Starts the thread: a round at once, then one per interval.
  void Start();
  void Stop();
  /// One round at `now` (the thread's body; tests call it directly).
  SchedulerRound RunOnce(int64_t now);

 private:
  void Loop();

  Center& center_;
  SchedulerOptions options_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
  int64_t last_trend_at_ = 0;  // when this scheduler last recorded the trend (only its thread)
};

}  // namespace moat::server
