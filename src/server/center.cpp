#include "server/center.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

#include "core/log.h"
#include "server/in_use.h"
#include "server/monitor/image_scan.h"
#include "server/notify/dispatcher.h"
#include "vulndb/diff.h"
#include "vulndb/vulndb.h"

namespace moat::server {

namespace {

// "https://registry.example:5000" -> "registry.example:5000"; plain HTTP only when "http://".
std::string RegistryHostPort(const std::string& url, bool* insecure) {
  std::string rest = url;
  *insecure = false;
  if (rest.rfind("http://", 0) == 0) {
    *insecure = true;
    rest = rest.substr(7);
  } else if (rest.rfind("https://", 0) == 0) {
    rest = rest.substr(8);
  }
  while (!rest.empty() && rest.back() == '/') rest.pop_back();
  return rest;
}

// What tells a replaced database file from the one loaded: `moat db update`, `db import` and
// `db build` rename a new file over it.
std::string FileIdentity(const struct stat& st) {
  return std::to_string(st.st_ino) + ":" + std::to_string(st.st_size) + ":" +
         std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec);
}

constexpr const char* kCopyPrefix = "vulndb-";

// Renews running jobs' leases every third of their length while the worker works on them, from a
// thread of its own: a slow scan keeps its job, and only a worker that died or was stopped for
// longer than the lease loses it to another worker, or one whose job has run `max_run_seconds`.
class LeaseKeeper {
 public:
  LeaseKeeper(Store& store, std::vector<JobLease> leases, int64_t lease_seconds,
              int64_t max_run_seconds)
      : thread_(
            [this, &store, leases = std::move(leases), lease_seconds, max_run_seconds]() mutable {
              const auto period = std::chrono::milliseconds(lease_seconds * 1000 / 3);
              const int64_t give_up_at = std::time(nullptr) + max_run_seconds;
              std::unique_lock lock(mutex_);
              while (!leases.empty() && !wake_.wait_for(lock, period, [this] { return done_; })) {
                if (std::time(nullptr) >= give_up_at) {
                  log::Warn("job " + std::to_string(leases.front().job_id) + " has run for " +
                            std::to_string(max_run_seconds) +
                            " s: its lease is no longer renewed, another worker may take it over");
                  return;
                }
                lock.unlock();
                for (auto lease = leases.begin(); lease != leases.end();) {
                  auto renewed = store.RenewJobLease(*lease, std::time(nullptr) + lease_seconds);
                  if (!renewed.ok()) {  // the next period tries again; the lease is not lost yet
                    log::Warn("job " + std::to_string(lease->job_id) +
                              ": cannot renew the lease: " + renewed.error().message);
                  } else if (!*renewed) {
                    lease = leases.erase(lease);  // taken over: the store drops this result
                    continue;
                  }
                  ++lease;
                }
                lock.lock();
              }
            }) {}
  LeaseKeeper(const LeaseKeeper&) = delete;
  LeaseKeeper& operator=(const LeaseKeeper&) = delete;
  ~LeaseKeeper() {
    {
      std::lock_guard lock(mutex_);
      done_ = true;
    }
    wake_.notify_all();
    thread_.join();
  }

 private:
  std::mutex mutex_;
  std::condition_variable wake_;
  bool done_ = false;
  std::thread thread_;  // last: starts once the members it uses exist
};

std::string MatchPayload(const std::string& digest, const std::string& reason,
                         const std::string& db_built_at) {
  return nlohmann::json{{"digest", digest}, {"reason", reason}, {"db_built_at", db_built_at}}
      .dump();
}

}  // namespace

std::string ProcessWorkerName() {
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  return std::string(host) + "-" + std::to_string(::getpid());
}

struct Center::LoadedDatabase {
  std::shared_ptr<const vulndb::Database> database;
  std::string copy;
  std::string file_id;
};

// Opens db_path, or a private copy of it when a copy directory is set: the copy stays as it is
// while workers read it, and it is the "before" of the next update's diff (also after a
// restart: Open takes the newest copy). A replaced copy is deleted once no worker uses it.
Result<Center::LoadedDatabase> Center::LoadDatabase() {
  namespace fs = std::filesystem;
  const std::string& path = options_.db_path;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return Fail(path, ": no vulnerability database here");
  LoadedDatabase loaded;
  loaded.file_id = FileIdentity(st);
  if (options_.database_copy_dir.empty()) {
    MOAT_ASSIGN_OR_RETURN(auto database, vulndb::OpenDatabase(path));
    loaded.database = std::move(database);
    return loaded;
  }
  std::error_code error;
  fs::create_directories(options_.database_copy_dir, error);
  // A name of its own: the copy in use (perhaps left by the previous run) must stay as it is.
  std::string copy;
  do {
    copy = options_.database_copy_dir + "/" + kCopyPrefix + std::to_string(std::time(nullptr)) +
           "-" + std::to_string(++database_copies_) + ".db";
  } while (::access(copy.c_str(), F_OK) == 0);
  if (!fs::copy_file(path, copy + ".tmp", fs::copy_options::overwrite_existing, error) ||
      ::rename((copy + ".tmp").c_str(), copy.c_str()) != 0) {
    ::unlink((copy + ".tmp").c_str());
    return Fail(path, ": cannot copy to ", copy, ": ",
                error ? error.message() : std::string(std::strerror(errno)));
  }
  auto opened = vulndb::OpenDatabase(copy);
  if (!opened.ok()) {
    ::unlink(copy.c_str());
    return opened.error();
  }
  loaded.copy = copy;
  loaded.database = std::move(*opened);
  return loaded;
}

Result<std::unique_ptr<Center>> Center::Open(const CenterOptions& options) {
  std::unique_ptr<Center> center(new Center());
  center->options_ = options;
  MOAT_ASSIGN_OR_RETURN(center->store_,
                        Store::Open(options.store_url, options.connections, options.secret_key));
  center->posture_ = std::make_unique<PostureKeeper>(*center->store_);
  MOAT_ASSIGN_OR_RETURN(center->notifications_, notify::Dispatcher::Start(options.notifications));
  if (auto reloaded = center->ReloadNotificationTargets(); !reloaded.ok()) {
    log::Warn("notification targets: " + reloaded.error().message);
  }
  // The copy left by the previous run is the database the stored findings were matched with:
  // it is used until the first CheckDatabase compares it with db_path (changed while down?).
  std::string previous_copy;
  if (!options.database_copy_dir.empty()) {
    std::error_code error;
    for (const auto& entry :
         std::filesystem::directory_iterator(options.database_copy_dir, error)) {
      const std::string name = entry.path().filename().string();
      if (name.rfind(kCopyPrefix, 0) != 0) continue;
      if (name.size() > 3 && name.compare(name.size() - 3, 3, ".db") == 0 &&
          (previous_copy.empty() || std::filesystem::last_write_time(entry.path(), error) >
                                        std::filesystem::last_write_time(previous_copy, error))) {
        if (!previous_copy.empty()) ::unlink(previous_copy.c_str());
        previous_copy = entry.path().string();
      } else {
        ::unlink(entry.path().c_str());
      }
    }
  }
  Result<std::unique_ptr<vulndb::Database>> previous = std::unique_ptr<vulndb::Database>();
  if (!previous_copy.empty()) previous = vulndb::OpenDatabase(previous_copy);
  if (previous.ok() && *previous) {
    center->database_copy_ = previous_copy;
    center->database_ = std::move(*previous);
  } else if (!options.db_path.empty() && ::access(options.db_path.c_str(), R_OK) == 0) {
    MOAT_ASSIGN_OR_RETURN(auto loaded, center->LoadDatabase());
    center->database_ = std::move(loaded.database);
    center->database_copy_ = std::move(loaded.copy);
    center->database_file_id_ = std::move(loaded.file_id);
  } else if (!options.db_path.empty()) {
    log::Warn("no vulnerability database at " + options.db_path +
              ": images are inventoried but not matched (run `moat db update` or give --db)");
  }
  return center;
}

Center::~Center() { Stop(); }

void Center::Notify(std::vector<Alert> alerts) {
  if (notifications_) notifications_->Enqueue(std::move(alerts));
}

Result<size_t> Center::ReloadNotificationTargets() {
  MOAT_ASSIGN_OR_RETURN(auto stored, store_->ListNotificationTargets());
  std::vector<notify::NotifierConfig> targets = options_.notifications;
  for (const auto& target : stored) {
    // Checked when added; one that no longer builds (a stored row edited by hand) must not keep
    // the others from being notified.
    if (auto made = notify::MakeNotifier(target.config); !made.ok()) {
      log::Warn("notification target " + target.name + ": " + made.error().message);
      continue;
    }
    targets.push_back(target.config);
  }
  MOAT_TRY(notifications_->SetTargets(targets));
  return targets.size();
}

std::shared_ptr<const vulndb::Database> Center::database() const {
  std::lock_guard lock(database_mutex_);
  return database_;
}

std::string Center::database_built_at() const {
  auto database = this->database();
  return database ? database->metadata().built_at : "";
}

Result<bool> Center::EnqueueMatch(const std::string& digest, const std::string& reason) {
  MOAT_ASSIGN_OR_RETURN(size_t queued, EnqueueMatches({digest}, reason));
  return queued > 0;
}

Result<size_t> Center::EnqueueMatches(const std::set<std::string>& digests,
                                      const std::string& reason) {
  const std::string built_at = database_built_at();
  std::vector<std::pair<std::string, std::string>> jobs;
  for (const auto& digest : digests) {
    jobs.emplace_back("match:" + digest, MatchPayload(digest, reason, built_at));
  }
  MOAT_ASSIGN_OR_RETURN(size_t queued, store_->EnqueueJobs("match", jobs, std::time(nullptr)));
  if (queued > 0) NudgeWorkers();
  return queued;
}

Result<DatabaseCheck> Center::CheckDatabase() {
  std::lock_guard check_lock(database_check_mutex_);
  DatabaseCheck check;
  struct stat st {};
  if (options_.db_path.empty() || ::stat(options_.db_path.c_str(), &st) != 0) return check;
  std::string file_id = FileIdentity(st);
  std::shared_ptr<const vulndb::Database> previous;
  std::string previous_copy;
  {
    std::lock_guard lock(database_mutex_);
    if (file_id == database_file_id_) return check;
    previous = database_;  // keeps the previous copy on disk until the diff is done
    previous_copy = database_copy_;
  }
  MOAT_ASSIGN_OR_RETURN(LoadedDatabase loaded, LoadDatabase());
  const std::string built_at = loaded.database->metadata().built_at;
  // Which images the update concerns: computed before the swap, queued after it, so that no
  // worker re-matches with the previous database.
  std::set<std::string> digests;
  bool rematch_all = false;
  if (!options_.database_copy_dir.empty()) {
    if (!previous || previous_copy.empty()) {
      rematch_all = true;  // nothing was matched with a known database: match everything once
    } else {
      MOAT_ASSIGN_OR_RETURN(auto keys, vulndb::ChangedPackages(previous_copy, loaded.copy));
      check.changed_packages = keys.size();
      for (const auto& [ns, name] : keys) {
        MOAT_ASSIGN_OR_RETURN(auto holders, store_->ImagesWithPackage(ns, name));
        digests.insert(holders.begin(), holders.end());
      }
    }
  }
  {
    std::lock_guard lock(database_mutex_);
    database_ = std::move(loaded.database);
    database_copy_ = std::move(loaded.copy);
    database_file_id_ = std::move(file_id);
  }
  // The previous copy goes once no worker reads it any more (a worker's database connections
  // are opened by path, on demand, so the file must stay while it is in use).
  if (!previous_copy.empty()) retired_copies_.emplace_back(previous, previous_copy);
  previous.reset();
  for (auto it = retired_copies_.begin(); it != retired_copies_.end();) {
    if (it->first.expired()) {
      ::unlink(it->second.c_str());
      it = retired_copies_.erase(it);
    } else {
      ++it;
    }
  }
  check.changed = true;
  if (rematch_all) {
    PageRequest page;
    page.limit = 500;
    do {
      MOAT_ASSIGN_OR_RETURN(auto images, store_->ListImages(page));
      for (const auto& image : images.items) {
        if (image.scan_status == "scanned") digests.insert(image.digest);
      }
      page.cursor = images.next_cursor;
    } while (!page.cursor.empty());
  }
  MOAT_ASSIGN_OR_RETURN(check.match_jobs, EnqueueMatches(digests, "database update " + built_at));
  log::Info("vulnerability database " + built_at +
            " in use: " + std::to_string(check.changed_packages) + " packages changed, " +
            std::to_string(check.match_jobs) + " images queued for re-matching");
  return check;
}

Result<size_t> Center::EnqueueDueRescans(int64_t now) {
  MOAT_ASSIGN_OR_RETURN(auto digests, store_->DueRescanDigests(now));
  return EnqueueMatches(std::set<std::string>(digests.begin(), digests.end()), "daily rescan");
}

Result<bool> Center::EnqueueScan(int64_t registry_id, const std::string& repository,
                                 const std::string& digest, const std::string& reason) {
  // A digest names immutable content: once inventoried it is never pulled again (the registry's
  // retried notifications, the same image pushed to another repository); rescans re-match the
  // stored inventory instead.
  MOAT_ASSIGN_OR_RETURN(auto image, store_->GetImage(digest));
  if (image && image->scan_status == "scanned") return false;
  nlohmann::json payload = {{"registry_id", registry_id},
                            {"repository", repository},
                            {"digest", digest},
                            {"reason", reason}};
  MOAT_ASSIGN_OR_RETURN(bool queued, store_->EnqueueJob("scan", "scan:" + digest, payload.dump(),
                                                        std::time(nullptr)));
  if (queued) NudgeWorkers();
  return queued;
}

void Center::StartWorkers(size_t count, const std::string& name) {
  for (size_t i = 0; i < count; ++i) {
    std::string worker = name + "-" + std::to_string(i + 1);
    workers_.emplace_back([this, worker] { WorkerLoop(worker); });
  }
}

void Center::NudgeWorkers() {
  std::lock_guard lock(mutex_);
  wake_.notify_all();
}

void Center::Stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    wake_.notify_all();
  }
  for (auto& t : workers_) {
    if (t.joinable()) t.join();
  }
  workers_.clear();
  if (posture_) posture_->Stop();
  if (notifications_) notifications_->Stop();
}

void Center::WorkerLoop(const std::string& name) {
  while (true) {
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return;
    }
    auto ran = RunOneJob(name);
    if (!ran.ok()) log::Warn("worker " + name + ": " + ran.error().message);
    if (ran.ok() && *ran) continue;
    // Idle: wait for a nudge from this process or poll the shared job table (other replicas).
    std::unique_lock lock(mutex_);
    if (stopping_) return;
    wake_.wait_for(lock, std::chrono::seconds(1));
  }
}

Result<bool> Center::RunOneJob(const std::string& worker) {
  const int64_t now = std::time(nullptr);
  MOAT_ASSIGN_OR_RETURN(auto job, store_->ClaimJob(worker, options_.job_lease_seconds, now,
                                                   options_.job_max_attempts));
  if (!job) return false;
  if (job->kind == "match") {
    // Re-matches come by the thousand after a database update: a batch is claimed, matched and
    // stored with two transactions instead of two per image.
    std::vector<Job> batch{std::move(*job)};
    if (options_.match_batch > 1) {
      auto more = store_->ClaimJobs(worker, options_.job_lease_seconds, now,
                                    options_.job_max_attempts, "match", options_.match_batch - 1);
      if (more.ok()) {
        for (auto& other : *more) batch.push_back(std::move(other));
      } else {
        log::Warn("worker " + worker + ": " + more.error().message);
      }
    }
    MOAT_TRY(RunMatchJobs(batch, worker));
    return true;
  }
  const JobLease lease{job->id, worker};
  Result<bool> result = true;
  {
    LeaseKeeper keeper(*store_, {lease}, options_.job_lease_seconds, options_.job_max_run_seconds);
    result = job->kind == "scan" ? RunScanJob(job->payload, lease)
                                 : Result<bool>(Fail("unknown job kind ", job->kind));
  }
  MOAT_TRY(FinishJob(*job, worker, result, false));
  return true;
}

Result<void> Center::FinishJob(const Job& job, const std::string& worker,
                               const Result<bool>& result, bool marked_done) {
  const bool scan = job.kind == "scan";
  if (result.ok() && !*result) {
    ++stats_.jobs_taken_over;
    log::Warn("job " + std::to_string(job.id) + " (" + job.key +
              "): its lease expired and another worker took it over; this result is dropped");
    return Ok();
  }
  if (result.ok()) {
    // A no-op when the result marked it done.
    if (!marked_done) MOAT_TRY(store_->CompleteJob(job.id, worker));
    ++(scan ? stats_.scans_done : stats_.matches_done);
    return Ok();
  }
  ++(scan ? stats_.scans_failed : stats_.matches_failed);
  // Backoff: 10 s, 40 s, 90 s, ... between attempts.
  const int64_t retry_at = std::time(nullptr) + 10 * job.attempts * job.attempts;
  log::Warn("job " + std::to_string(job.id) + " (" + job.key + ") attempt " +
            std::to_string(job.attempts) + ": " + result.error().message);
  return store_->FailJob(job.id, worker, result.error().message, retry_at,
                         options_.job_max_attempts);
}

Result<bool> Center::RunScanJob(const std::string& payload_text, const JobLease& lease) {
  nlohmann::json payload = nlohmann::json::parse(payload_text, nullptr, false);
  if (!payload.is_object()) return Fail("scan job: payload is not a JSON object");
  const int64_t registry_id = payload.value("registry_id", int64_t{0});
  const std::string repository = payload.value("repository", "");
  const std::string digest = payload.value("digest", "");
  // Inventoried since the job was queued (a push noticed just as an earlier scan of the digest
  // was being stored): a digest is never pulled again.
  MOAT_ASSIGN_OR_RETURN(auto known, store_->GetImage(digest));
  if (known && known->scan_status == "scanned") return true;
  MOAT_ASSIGN_OR_RETURN(auto registry, store_->GetRegistry(registry_id));
  if (!registry) return true;  // the registry was removed since: nothing to scan
  bool insecure = false;
  const std::string reference =
      RegistryHostPort(registry->url, &insecure) + "/" + repository + "@" + digest;
  ImageScanOptions scan_options;
  scan_options.cache_dir = options_.cache_dir;
  auto inventory = InventoryRegistryImage(reference, insecure, registry->username, registry->secret,
                                          scan_options);
  const int64_t now = std::time(nullptr);
  if (!inventory.ok()) {
    MOAT_ASSIGN_OR_RETURN(
        bool held, store_->SaveImageScanFailure(digest, inventory.error().message, now, &lease));
    if (!held) return false;
    return inventory.error();
  }
  inventory->artifact.manifest_digest = digest;
  ImageScan scan = MatchImage(std::move(*inventory), database().get());
  const std::string platform =
      scan.inventory.artifact.os + "/" + scan.inventory.artifact.architecture;
  const std::string os =
      scan.inventory.os.empty() ? "" : scan.inventory.os.family + " " + scan.inventory.os.version;
  MOAT_ASSIGN_OR_RETURN(bool saved,
                        store_->SaveImageScan(digest, os, platform, scan.inventory_json,
                                              scan.package_keys, scan.findings, now, &lease));
  if (!saved) return false;
  if (auto kept = store_->SaveImageFiles(digest, PackageFilesIndex(scan.inventory)); !kept.ok()) {
    // The scan is stored; without the index only language packages can be found in use.
    log::Warn("image " + digest + ": file index not stored: " + kept.error().message);
  }
  log::Info("scanned " + reference + ": " + std::to_string(scan.inventory.packages.size()) +
            " packages, " + std::to_string(scan.findings.size()) + " vulnerabilities");
  return true;
}

// Re-matches stored inventories with the current database: no pull. The stored inventory (as
// the scan wrote it, with its analyzers' warnings) is kept; findings and the package index are
// replaced, so first-seen times are kept and vanished findings are resolved. The batch's results
// are stored in one transaction (Store::SaveImageMatches); a job that cannot be matched fails on
// its own.
Result<void> Center::RunMatchJobs(const std::vector<Job>& jobs, const std::string& worker) {
  std::vector<JobLease> leases;
  for (const auto& job : jobs) leases.push_back(JobLease{job.id, worker});
  LeaseKeeper keeper(*store_, leases, options_.job_lease_seconds, options_.job_max_run_seconds);
  struct Wanted {
    const Job* job;
    std::string digest;
    std::string reason;
    std::string db_built_at;
  };
  std::vector<Wanted> wanted;
  std::string newest;
  for (const auto& job : jobs) {
    nlohmann::json payload = nlohmann::json::parse(job.payload, nullptr, false);
    if (!payload.is_object()) {
      MOAT_TRY(FinishJob(job, worker, Fail("match job: payload is not a JSON object"), false));
      continue;
    }
    wanted.push_back(Wanted{&job, payload.value("digest", ""), payload.value("reason", ""),
                            payload.value("db_built_at", "")});
    newest = std::max(newest, wanted.back().db_built_at);
  }
  // Queued by another process after a database update: this one may not have loaded it yet.
  if (database_built_at() < newest) {
    auto checked = CheckDatabase();
    if (!checked.ok()) log::Warn("worker " + worker + ": " + checked.error().message);
  }
  auto database = this->database();
  const std::string built_at = database ? database->metadata().built_at : "";
  std::vector<std::string> digests;
  for (const auto& w : wanted) digests.push_back(w.digest);
  auto inventories = store_->ImageInventories(digests);
  std::vector<Store::ImageMatch> matches;
  std::vector<const Wanted*> matched;
  for (const auto& w : wanted) {
    Result<bool> result = true;
    if (!inventories.ok()) {
      result = inventories.error();
    } else if (built_at < w.db_built_at) {
      result = Fail("match ", w.digest, ": needs vulnerability database ", w.db_built_at,
                    ", this worker has ", built_at.empty() ? "none" : built_at);
    } else if (auto stored = inventories->find(w.digest); stored != inventories->end()) {
      auto inventory = ParseStoredInventory(stored->second, w.digest);
      if (inventory.ok()) {
        inventory->artifact.manifest_digest = w.digest;
        ImageScan scan = MatchImage(std::move(*inventory), database.get());
        matches.push_back(Store::ImageMatch{w.job->id, w.digest, std::move(scan.package_keys),
                                            std::move(scan.findings)});
        matched.push_back(&w);
        continue;
      }
      result = inventory.error();
    }  // else: deleted, or never scanned: nothing to do
    MOAT_TRY(FinishJob(*w.job, worker, result, false));
  }
  if (matches.empty()) return Ok();
  auto saved = store_->SaveImageMatches(matches, worker, std::time(nullptr));
  for (size_t i = 0; i < matched.size(); ++i) {
    const Wanted& w = *matched[i];
    if (saved.ok() && (*saved)[i]) {
      log::Info("re-matched " + w.digest + " (" + w.reason +
                "): " + std::to_string(matches[i].findings.size()) + " vulnerabilities");
    }
    MOAT_TRY(FinishJob(*w.job, worker,
                       saved.ok() ? Result<bool>((*saved)[i]) : Result<bool>(saved.error()), true));
  }
  return Ok();
}

}  // namespace moat::server
