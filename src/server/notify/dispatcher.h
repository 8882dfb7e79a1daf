#pragma once
// Sends newly stored alerts to the configured notification targets from a thread of its own, so
// that ingest never waits on a webhook or a syslog receiver. Each target gets the alerts at or
// above its priority; a failed send is retried with a growing delay (1 s, 2 s, 4 s) and then
// given up with an error in the log. The queue is bounded: when targets are away for long, the
// oldest waiting alerts are dropped and counted (they stay in the store and the API).

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/alert.h"
#include "core/result.h"
#include "server/notify/notify.h"

namespace moat::server::notify {

/// "KIND=URL[,min=PRIORITY][,batch]": "webhook=https://hooks.example/moat,min=warning",
/// "slack=https://hooks.slack.com/services/...", "syslog=udp://127.0.0.1:514".
Result<NotifierConfig> ParseNotifyFlag(const std::string& flag);

class Dispatcher {
 public:
  static Result<std::unique_ptr<Dispatcher>> Start(const std::vector<NotifierConfig>& targets,
                                                   size_t max_queued = 10000);
  ~Dispatcher();
  /// Replaces the targets (the stored ones changed): alerts queued from now on go to the new
  /// targets; a batch being sent finishes with the old ones. A bad target is an error and
  /// changes nothing.
  Result<void> SetTargets(const std::vector<NotifierConfig>& targets);
  size_t target_count() const;
  /// Queues alerts for every target; returns at once.
  void Enqueue(std::vector<Alert> alerts);
  /// Waits until the queue is empty and no send is in flight (tests, shutdown).
  void Drain();
  void Stop();
  int64_t sent() const;
  int64_t dropped() const;

 private:
  struct Target {
    NotifierConfig config;
    std::unique_ptr<Notifier> notifier;
  };
  using Targets = std::vector<Target>;
  Dispatcher() = default;
  static Result<std::shared_ptr<const Targets>> MakeTargets(
      const std::vector<NotifierConfig>& configs);
  void Loop();

  std::shared_ptr<const Targets> targets_;  // guarded by mutex_; the loop sends with a copy
  size_t max_queued_ = 0;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable idle_;
  std::deque<Alert> queue_;
  bool busy_ = false;
  bool stopping_ = false;
  int64_t sent_ = 0;
  int64_t dropped_ = 0;
  std::thread thread_;
};

}  // namespace moat::server::notify
