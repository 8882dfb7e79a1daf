#pragma once
// The security center's state shared by the REST API and the scan workers: the store, the
// vulnerability database, and the job loop that scans registry images. `moat server` runs the API
// and (by default) workers in one process; `moat worker` runs workers only, against the same
// PostgreSQL store.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/alert.h"
#include "core/result.h"
#include "server/notify/notify.h"
#include "server/posture.h"
#include "server/store/store.h"

namespace moat::vulndb {
class Database;
}

namespace moat::server {

namespace notify {
class Dispatcher;
}

struct CenterOptions {
  /// SQLite file, or a postgres:// URL.
  std::string store_url;
  /// Where new alerts are sent (webhook, Slack, syslog); empty = nowhere.
  std::vector<notify::NotifierConfig> notifications;
  /// Store connections (the API's threads and the workers share them).
  size_t connections = 4;
  /// Encrypts registry credentials at rest (32 bytes).
  std::string secret_key;
  /// Vulnerability database file; empty or missing: images are inventoried, not matched, and
  /// that is said in each image's scan status.
  std::string db_path;
  /// Layer cache of the scan workers (empty: none).
  std::string cache_dir;
  /// Alerts with the same dedupe key within this window are counted as one.
  int64_t alert_dedupe_window_seconds = 600;
  /// Alerts of one container, pod or host process within this window form one incident.
  int64_t alert_incident_window_seconds = 1800;
  /// Jobs: a worker renews its lease every third of this while it runs the job, so the lease
  /// expires (and another worker takes the job) only when the worker died or stopped. Attempts
  /// (failures and expired leases) before a job is marked failed.
  int64_t job_lease_seconds = 60;
  int job_max_attempts = 4;
  /// A job still running after this long is no longer renewed: a scan stuck in its process
  /// (the process alive, its renewals going on) loses the job like a dead worker.
  int64_t job_max_run_seconds = 3600;
  /// When set, the center matches with a private copy of `db_path` kept in this directory, and
  /// a changed `db_path` is compared with that copy to re-match only the images it concerns
  /// (CheckDatabase). Empty (`moat worker`): `db_path` is reloaded when it changes, no diff.
  std::string database_copy_dir;
  /// Re-match ("match") jobs a worker claims and stores together (one transaction per batch).
  size_t match_batch = 16;
};

/// What one CheckDatabase found.
struct DatabaseCheck {
  bool changed = false;         // a new database is in use now
  size_t changed_packages = 0;  // (namespace, package) keys the update touched
  size_t match_jobs = 0;        // images queued for re-matching
};

/// "HOST-PID": the base of this process's worker names, unique among the processes sharing a
/// store (in a Pod the host name is the Pod's name).
std::string ProcessWorkerName();

class Center {
 public:
  static Result<std::unique_ptr<Center>> Open(const CenterOptions& options);
  ~Center();

  Store& store() { return *store_; }
  /// The posture the API shows; `moat server` starts its background assessment.
  PostureKeeper& posture() { return *posture_; }
  const CenterOptions& options() const { return options_; }
  /// The database the workers match with; null when there is none. The pointer stays valid
  /// while the shared_ptr is held, even when CheckDatabase swaps in a newer database.
  std::shared_ptr<const vulndb::Database> database() const;
  std::string database_built_at() const;

  /// Queues a scan of registry image `digest` (one queued or running scan per digest).
  Result<bool> EnqueueScan(int64_t registry_id, const std::string& repository,
                           const std::string& digest, const std::string& reason);
  /// Queues a re-match of stored image `digest` with the current database (no pull).
  Result<bool> EnqueueMatch(const std::string& digest, const std::string& reason);
  /// The same for several images, in one transaction; returns how many were queued.
  Result<size_t> EnqueueMatches(const std::set<std::string>& digests, const std::string& reason);
  /// Notices a changed database file (inode, size, mtime): opens the new one, queues a re-match
  /// of the images holding a package the update touched (vulndb::ChangedPackages against the
  /// private copy of the previous one; every scanned image when there was none) and swaps it in
  /// for the workers. Run by the scheduler every minute.
  Result<DatabaseCheck> CheckDatabase();
  /// The daily rescan pass: queues a re-match of each image that Store::DueRescanDigests lists
  /// at `now`. Returns the number queued.
  Result<size_t> EnqueueDueRescans(int64_t now);

  /// Starts `count` worker threads named `name`-N that claim and run jobs until Stop().
  void StartWorkers(size_t count, const std::string& name);
  /// Wakes idle workers now (a job was queued in this process).
  void NudgeWorkers();
  void Stop();

  /// Sends newly stored (committed) alerts to the notification targets, asynchronously.
  void Notify(std::vector<Alert> alerts);
  /// The notification dispatcher (it has no target when none is configured or stored).
  notify::Dispatcher* notifications() { return notifications_.get(); }
  /// Gives the dispatcher the configured targets (CenterOptions::notifications) and the stored
  /// ones, as they are now in the store: after an API change, and every scheduler round for
  /// changes made through another replica. Returns how many targets it has.
  Result<size_t> ReloadNotificationTargets();

  /// Claims and runs one job; false when none was ready. For tests and `moat worker`. `worker`
  /// names the lease: it must be unique among the processes on the store.
  Result<bool> RunOneJob(const std::string& worker);

  struct Stats {
    std::atomic<int64_t> scans_done{0};  // "scan" jobs: pull + inventory + match
    std::atomic<int64_t> scans_failed{0};
    std::atomic<int64_t> matches_done{0};  // "match" jobs: stored inventory re-matched
    std::atomic<int64_t> matches_failed{0};
    std::atomic<int64_t> jobs_taken_over{0};  // lease lost to another worker: result dropped
    std::atomic<int64_t> alerts_ingested{0};
    std::atomic<int64_t> registry_events{0};
  };
  Stats& stats() { return stats_; }

 private:
  Center() = default;
  // Run a claimed job; false when its result was dropped because another worker took the
  // job over (this one's lease expired).
  Result<bool> RunScanJob(const std::string& payload, const JobLease& lease);
  // Runs claimed "match" jobs as one batch.
  Result<void> RunMatchJobs(const std::vector<Job>& jobs, const std::string& worker);
  // Counts a job's result and completes it (unless `marked_done`: the store did it with the
  // result), retries it after a backoff or fails it for good.
  Result<void> FinishJob(const Job& job, const std::string& worker, const Result<bool>& result,
                         bool marked_done);
  struct LoadedDatabase;
  Result<LoadedDatabase> LoadDatabase();
  void WorkerLoop(const std::string& name);

  CenterOptions options_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<PostureKeeper> posture_;
  std::unique_ptr<notify::Dispatcher> notifications_;
  mutable std::mutex database_mutex_;
  std::shared_ptr<const vulndb::Database> database_;
  std::string database_copy_;        // the private copy database_ reads ("" without a copy dir)
  std::string database_file_id_;     // inode, size and mtime of db_path when it was loaded
  std::mutex database_check_mutex_;  // one CheckDatabase at a time
  int64_t database_copies_ = 0;
  std::vector<std::pair<std::weak_ptr<const vulndb::Database>, std::string>> retired_copies_;
  Stats stats_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace moat::server
