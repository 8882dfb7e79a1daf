// The image gate: verdicts by digest from Moat's scanner and database, a bounded pool of scan
// workers shared by every policy set of the process (a configuration reload keeps the cache and
// the scans in flight), and the fallback when a scan does not finish in time.

#include "admission/image_gate.h"

#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <thread>

#include "admission/config.h"
#include "admission/image_gate_registry.h"
#include "analyzer/analyzer.h"
#include "artifact/manifest.h"
#include "artifact/reference.h"
#include "cel/time.h"
#include "core/log.h"
#include "core/text.h"
#include "core/vulnerability.h"
#include "k8s/checks.h"
#include "match/match.h"
#include "scan/scanner.h"
#include "vulndb/vulndb.h"

namespace moat::admission {
namespace {

using k8s::Value;

std::string Where(const std::string& name, const Value& v) {
  return name + ":" + std::to_string(v.line);
}

Result<bool> ParseBool(const std::string& name, const Value& v) {
  if (!v.IsBool()) return Fail(Where(name, v), ": ", v.key, " must be true or false");
  return v.IsTrue();
}

Result<size_t> ParseCount(const std::string& name, const Value& v, size_t max) {
  const std::optional<int64_t> n = v.Int();
  if (!n || *n < 1 || static_cast<uint64_t>(*n) > max)
    return Fail(Where(name, v), ": ", v.key, " must be a whole number from 1 to ",
                std::to_string(max));
  return static_cast<size_t>(*n);
}

// The process-wide counters behind /metrics.
struct Counters {
  std::atomic<uint64_t> cache_hits{0}, cache_misses{0}, scans_ok{0}, scans_failed{0}, fallbacks{0},
      queue_full{0}, tags_resolved{0}, signatures_verified{0}, signatures_refused{0};
};
Counters& GlobalCounters() {
  static Counters counters;
  return counters;
}

/// Changes when the database file is replaced (moat db update renames a new file in) or
/// rewritten.
std::string FileStamp(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return "missing";
  return std::to_string(st.st_ino) + ":" + std::to_string(st.st_size) + ":" +
         std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec);
}

std::string ShortDigest(const std::string& digest) {
  return digest.size() > 19 ? digest.substr(0, 19) : digest;  // sha256: + 12 hex
}

}  // namespace

void CountSignatureResult(bool verified) {
  (verified ? GlobalCounters().signatures_verified : GlobalCounters().signatures_refused)++;
}

bool IsImagePolicy(std::string_view name) {
  return name == kImageVulnerabilitiesPolicy || name == kImageSignaturePolicy;
}

std::vector<std::string> WithoutImagePolicies(const std::vector<std::string>& checks) {
  std::vector<std::string> k8s_checks;
  for (const std::string& check : checks) {
    if (!IsImagePolicy(check)) k8s_checks.push_back(check);
  }
  return k8s_checks;
}

// --- configuration ---------------------------------------------------------------------------

Result<std::chrono::milliseconds> ParseConfigDuration(const std::string& name, const Value& v,
                                                      std::chrono::milliseconds min,
                                                      std::chrono::milliseconds max) {
  auto nanos = cel::ParseDuration(v.Str());
  const auto ms =
      nanos.ok() ? std::chrono::milliseconds(*nanos / 1'000'000) : std::chrono::milliseconds(-1);
  if (!v.IsScalar() || !nanos.ok() || ms < min || ms > max)
    return Fail(Where(name, v), ": ", v.key, " \"", v.text, "\" must be a duration from ",
                std::to_string(min.count()), "ms to ", std::to_string(max.count() / 1000),
                "s (\"500ms\", \"90s\", \"1h\")");
  return ms;
}

Result<void> ParseImageGateSettings(const std::string& name, const Value& v,
                                    ImageGateSettings& settings) {
  if (v.IsNull()) return Ok();
  if (!v.IsMap()) return Fail(Where(name, v), ": imageGate must be a map");
  using std::chrono::milliseconds;
  for (const Value& e : v.Entries()) {
    if (e.key == "severity") {
      const std::string severity = AsciiLower(e.Str());
      if (severity != "critical" && severity != "high" && severity != "medium" && severity != "low")
        return Fail(Where(name, e), ": severity \"", e.text,
                    "\" is not CRITICAL, HIGH, MEDIUM or LOW");
      settings.severity = severity;
    } else if (e.key == "kev") {
      MOAT_ASSIGN_OR_RETURN(settings.kev, ParseBool(name, e));
    } else if (e.key == "requireScan") {
      MOAT_ASSIGN_OR_RETURN(settings.require_scan, ParseBool(name, e));
    } else if (e.key == "ignoreUnfixed") {
      MOAT_ASSIGN_OR_RETURN(settings.ignore_unfixed, ParseBool(name, e));
    } else if (e.key == "fallback") {
      const std::string fallback = AsciiLower(e.Str());
      if (fallback != "allow" && fallback != "deny")
        return Fail(Where(name, e), ": fallback \"", e.text, "\" is not allow or deny");
      settings.fallback_deny = fallback == "deny";
    } else if (e.key == "scanTimeout") {
      MOAT_ASSIGN_OR_RETURN(settings.scan_timeout,
                            ParseConfigDuration(name, e, milliseconds(0), milliseconds(30'000)));
    } else if (e.key == "cacheTTL") {
      MOAT_ASSIGN_OR_RETURN(auto ttl, ParseConfigDuration(name, e, milliseconds(1000),
                                                          milliseconds(7 * 86'400'000LL)));
      settings.cache_ttl = std::chrono::duration_cast<std::chrono::seconds>(ttl);
    } else if (e.key == "tagTTL") {
      MOAT_ASSIGN_OR_RETURN(
          auto ttl, ParseConfigDuration(name, e, milliseconds(0), milliseconds(86'400'000LL)));
      settings.tag_ttl = std::chrono::duration_cast<std::chrono::seconds>(ttl);
    } else if (e.key == "cacheSize") {
      MOAT_ASSIGN_OR_RETURN(settings.cache_size, ParseCount(name, e, 1'000'000));
    } else if (e.key == "workers") {
      MOAT_ASSIGN_OR_RETURN(settings.workers, ParseCount(name, e, 64));
    } else if (e.key == "queueSize") {
      MOAT_ASSIGN_OR_RETURN(settings.queue_size, ParseCount(name, e, 100'000));
    } else if (e.key == "db") {
      settings.db_path = e.Str();
    } else if (e.key == "cacheDir") {
      settings.cache_dir = e.Str();
    } else {
      return Fail(Where(name, e), ": unknown key \"", e.key,
                  "\" in imageGate (expected severity, kev, requireScan, ignoreUnfixed, "
                  "fallback, scanTimeout, cacheTTL, tagTTL, cacheSize, workers, queueSize, db, "
                  "cacheDir)");
    }
  }
  return Ok();
}

Result<void> ParseRegistryAccess(const std::string& name, const Value& v, RegistryAccess& access) {
  if (v.IsNull()) return Ok();
  if (!v.IsMap()) return Fail(Where(name, v), ": registries must be a map");
  for (const Value& e : v.Entries()) {
    if (e.key == "dockerConfig") {
      access.docker_config = e.Str();
    } else if (e.key == "insecure") {
      MOAT_ASSIGN_OR_RETURN(access.insecure_registries, k8s::ConfigStringList(name, e));
    } else if (e.key == "platform") {
      access.platform = e.Str();
    } else {
      return Fail(Where(name, e), ": unknown key \"", e.key,
                  "\" in registries (expected dockerConfig, insecure, platform)");
    }
  }
  return Ok();
}

// --- which images --------------------------------------------------------------------------

std::vector<PolicyRule> RulesNaming(const AdmissionConfig& config, std::string_view policy) {
  std::vector<PolicyRule> rules;
  for (const PolicyRule& rule : config.rules) {
    if (rule.action == Action::kDisabled) continue;
    if (std::find(rule.checks.begin(), rule.checks.end(), policy) != rule.checks.end())
      rules.push_back(rule);
  }
  return rules;
}

bool CoversPodRequest(const AdmissionRequest& request,
                      const std::vector<std::string>& excluded_namespaces) {
  if (!request.has_object) return false;
  if (request.operation != Operation::kCreate && request.operation != Operation::kUpdate)
    return false;
  if (!request.sub_resource.empty() && request.sub_resource != "ephemeralcontainers") return false;
  if (!k8s::IsWorkloadKind(request.object.kind)) return false;
  const std::string& ns = request.namespace_name;
  return ns.empty() || std::find(excluded_namespaces.begin(), excluded_namespaces.end(), ns) ==
                           excluded_namespaces.end();
}

namespace {

template <typename Fn>
void ForEachContainer(const k8s::Object& object, Fn fn) {
  const std::optional<k8s::PodTemplate> pod = k8s::FindPodTemplate(object);
  if (!pod) return;
  for (std::string_view field : {"containers", "initContainers", "ephemeralContainers"}) {
    const Value* list = pod->spec->Get(field);
    if (list == nullptr) continue;
    for (size_t i = 0; i < list->Items().size(); ++i) {
      const Value& container = list->Items()[i];
      const Value* image = container.Get("image");
      if (image == nullptr || !image->IsScalar() || image->text.empty()) continue;
      const Value* name = container.Get("name");
      fn(*image, name != nullptr ? name->Str() : std::string_view(),
         pod->spec_path + "." + std::string(field) + "[" + std::to_string(i) + "].image");
    }
  }
}

}  // namespace

std::vector<ImageUse> CollectImageUses(const AdmissionRequest& request,
                                       const std::vector<PolicyRule>& rules,
                                       std::string_view policy, const NamespaceCache* namespaces) {
  std::vector<ImageUse> uses;
  std::vector<std::string> old_images;
  if (request.operation == Operation::kUpdate && request.has_old_object) {
    ForEachContainer(request.old_object,
                     [&](const Value& image, std::string_view, const std::string&) {
                       old_images.push_back(image.text);
                     });
  }
  std::vector<const PolicyRule*> applying;
  for (const PolicyRule& rule : rules) {
    if (std::find(rule.checks.begin(), rule.checks.end(), policy) != rule.checks.end() &&
        rule.Matches(request.object, namespaces))
      applying.push_back(&rule);
  }
  if (applying.empty()) return uses;
  ForEachContainer(
      request.object, [&](const Value& image, std::string_view name, const std::string& path) {
        if (std::find(old_images.begin(), old_images.end(), image.text) != old_images.end()) return;
        Action action = Action::kDisabled;
        for (const PolicyRule* rule : applying) {
          if (AnyGlob(rule->exempt_images, image.text) || AnyGlob(rule->exempt_containers, name))
            continue;
          action = std::max(action, rule->action);
        }
        if (action != Action::kDisabled)
          uses.push_back(ImageUse{image.text, path, action, image.line, image.column});
      });
  return uses;
}

Violation ImageViolation(std::string_view policy, Action action, const ImageUse& use,
                         std::string message) {
  Violation violation;
  violation.policy = std::string(policy);
  violation.action = action;
  violation.path = use.path;
  violation.line = use.line;
  violation.column = use.column;
  violation.message = std::move(message);
  violation.check = ImagePolicyInfo(policy);
  return violation;
}

const k8s::CheckInfo* ImagePolicyInfo(std::string_view policy) {
  auto make = [](std::string_view id, std::string title, std::string description,
                 std::string remediation) {
    k8s::CheckInfo info;
    info.id = std::string(id);
    info.group = "image";
    info.title = std::move(title);
    info.severity = k8s::Severity::kHigh;
    info.description = std::move(description);
    info.remediation = std::move(remediation);
    info.kinds = {"workload"};
    return info;
  };
  static const k8s::CheckInfo kVulnerabilities = make(
      kImageVulnerabilitiesPolicy, "Images have no vulnerabilities at or above the gate's severity",
      "The image, resolved to its digest through the registry and scanned with Moat's "
      "scanner and database, has vulnerabilities at or above the configured severity, one "
      "in CISA KEV, or could not be scanned.",
      "Rebuild the image on fixed packages (the message names the first fixed versions), "
      "or exempt it with a reason.");
  static const k8s::CheckInfo kSignature =
      make(kImageSignaturePolicy, "Images carry a valid cosign signature",
           "The image's digest has no cosign signature (the sha256-<digest>.sig tag) that "
           "verifies with a configured public key and names this digest.",
           "Sign the image's digest with `cosign sign --key` using a configured key.");
  if (policy == kImageVulnerabilitiesPolicy) return &kVulnerabilities;
  if (policy == kImageSignaturePolicy) return &kSignature;
  return nullptr;
}

// --- verdicts --------------------------------------------------------------------------------

std::shared_ptr<const ImageVerdict> VerdictCache::Get(const std::string& digest,
                                                      uint64_t generation,
                                                      std::chrono::steady_clock::time_point now) {
  std::lock_guard lock(mutex_);
  auto it = index_.find(digest);
  if (it == index_.end()) return nullptr;
  const ImageVerdict& verdict = *it->second->second;
  const auto ttl = verdict.scanned ? ttl_ : std::min(ttl_, std::chrono::seconds(60));
  if (verdict.db_generation != generation || now - verdict.at > ttl) {
    lru_.erase(it->second);
    index_.erase(it);
    return nullptr;
  }
  lru_.splice(lru_.begin(), lru_, it->second);
  return it->second->second;
}

void VerdictCache::Put(std::shared_ptr<const ImageVerdict> verdict) {
  std::lock_guard lock(mutex_);
  const std::string digest = verdict->digest;
  if (auto it = index_.find(digest); it != index_.end()) {
    lru_.erase(it->second);
    index_.erase(it);
  }
  lru_.emplace_front(digest, std::move(verdict));
  index_[digest] = lru_.begin();
  while (lru_.size() > capacity_) {
    index_.erase(lru_.back().first);
    lru_.pop_back();
  }
}

size_t VerdictCache::size() const {
  std::lock_guard lock(mutex_);
  return lru_.size();
}

std::optional<std::string> JudgeVerdict(const ImageVerdict& verdict, const std::string& image,
                                        const ImageGateSettings& settings) {
  const std::string subject =
      "image \"" + image + "\"" +
      (verdict.digest.empty() ? "" : " (" + ShortDigest(verdict.digest) + ")");
  if (!verdict.scanned) {
    if (!settings.require_scan) return std::nullopt;
    return subject + " was not scanned: " + verdict.error;
  }
  const int threshold = SeverityRank(settings.severity);
  std::vector<const ImageFinding*> severe, exploited;
  for (const ImageFinding& f : verdict.findings) {
    if (f.rank >= threshold && (!settings.ignore_unfixed || !f.fixed.empty())) severe.push_back(&f);
    if (settings.kev && f.kev) exploited.push_back(&f);
  }
  const bool unassessed = settings.require_scan && !verdict.unassessed.empty();
  if (severe.empty() && exploited.empty() && !unassessed) return std::nullopt;
  auto list = [](const std::vector<const ImageFinding*>& findings) {
    std::string out;
    constexpr size_t kShown = 3;
    for (size_t i = 0; i < findings.size() && i < kShown; ++i) {
      const ImageFinding& f = *findings[i];
      out += (i > 0 ? ", " : "") + f.id + " (" + f.severity + ", " + f.package + " " + f.version +
             (f.fixed.empty() ? ", no fix" : ", fixed in " + f.fixed) + ")";
    }
    if (findings.size() > kShown)
      out += " and " + std::to_string(findings.size() - kShown) + " more";
    return out;
  };
  std::string message = subject;
  std::string sep = " has ";
  if (!severe.empty()) {
    message += sep + std::to_string(severe.size()) +
               (severe.size() == 1 ? " vulnerability" : " vulnerabilities") + " at or above " +
               settings.severity + (settings.ignore_unfixed ? " with a fix" : "") + ": " +
               list(severe);
    sep = "; ";
  }
  if (!exploited.empty()) {
    message += sep + std::to_string(exploited.size()) + " in CISA KEV: " + list(exploited);
    sep = "; ";
  }
  if (unassessed) message += sep + "not assessed: " + verdict.unassessed;
  return message;
}

// --- the scan service ------------------------------------------------------------------------

/// Scans images on a pool of workers and keeps the verdicts. One per set of scan settings in the
/// process, shared by the policy sets that use them (a reload keeps it).
class ImageScanService {
 public:
  struct Ticket {
    ImageReference image;
    bool done = false;
    std::shared_ptr<const ImageVerdict> verdict;
  };

  static Result<std::shared_ptr<ImageScanService>> Get(const ImageGateSettings& settings,
                                                       const RegistryAccess& access);
  ~ImageScanService();

  /// The verdict for `image` from the caches alone; null when a scan is needed.
  std::shared_ptr<const ImageVerdict> Cached(const ImageReference& image);
  /// Queues the scan of `image`, or joins the one queued or running; null when the queue is full.
  std::shared_ptr<Ticket> Submit(const ImageReference& image);
  /// The ticket's verdict once done, or null when `deadline` passes first.
  std::shared_ptr<const ImageVerdict> Wait(Ticket& ticket, Clock::time_point deadline);
  /// See ImageGatePolicy::Remember.
  void Remember(const ImageReference& image, ImageVerdict verdict);

 private:
  ImageScanService(const ImageGateSettings& settings, const RegistryAccess& access)
      : settings_(settings), registry_(access), cache_(settings.cache_size, settings.cache_ttl) {}
  Result<void> OpenDatabase();
  /// Reopens the database when its file changed (checked at most once a second).
  void RefreshDatabase();
  void Work();
  std::shared_ptr<const ImageVerdict> Run(const ImageReference& image);
  std::shared_ptr<const ImageVerdict> Scan(const ImageReference& pinned, const std::string& digest);

  const ImageGateSettings settings_;
  ImageRegistryClient registry_;
  VerdictCache cache_;

  std::mutex db_mutex_;
  std::shared_ptr<const vulndb::Database> db_;
  std::string db_stamp_;
  std::atomic<uint64_t> generation_{1};
  std::atomic<int64_t> db_checked_ms_{0};

  std::mutex mutex_;  // the queue, tickets, tags and digests being scanned
  std::condition_variable work_;
  std::condition_variable done_;
  bool stopping_ = false;
  std::deque<std::shared_ptr<Ticket>> queue_;
  std::map<std::string, std::shared_ptr<Ticket>> tickets_;  // by reference, queued or running
  std::map<std::string, std::pair<std::string, Clock::time_point>> tags_;  // ref -> digest
  std::map<std::string, bool> scanning_;                                   // digests
  std::vector<std::thread> workers_;
};

Result<std::shared_ptr<ImageScanService>> ImageScanService::Get(const ImageGateSettings& settings,
                                                                const RegistryAccess& access) {
  static std::mutex mutex;
  static std::map<std::string, std::weak_ptr<ImageScanService>> services;
  std::string key =
      settings.db_path + '\n' + settings.cache_dir + '\n' + access.docker_config + '\n' +
      access.platform + '\n' + std::to_string(settings.workers) + '\n' +
      std::to_string(settings.queue_size) + '\n' + std::to_string(settings.cache_size) + '\n' +
      std::to_string(settings.cache_ttl.count()) + '\n' + std::to_string(settings.tag_ttl.count());
  for (const std::string& insecure : access.insecure_registries) key += '\n' + insecure;
  std::lock_guard lock(mutex);
  if (auto existing = services[key].lock()) return existing;
  std::shared_ptr<ImageScanService> service(new ImageScanService(settings, access));
  MOAT_TRY(service->OpenDatabase());
  for (size_t i = 0; i < settings.workers; ++i)
    service->workers_.emplace_back([s = service.get()] { s->Work(); });
  services[key] = service;
  return service;
}

ImageScanService::~ImageScanService() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  work_.notify_all();
  for (std::thread& worker : workers_) worker.join();
}

Result<void> ImageScanService::OpenDatabase() {
  const std::string path =
      settings_.db_path.empty() ? vulndb::DefaultDatabasePath() : settings_.db_path;
  const std::string stamp = FileStamp(path);
  auto db = vulndb::OpenDatabase(path);
  if (!db.ok()) return db.error().Wrap("imageGate: vulnerability database");
  std::lock_guard lock(db_mutex_);
  if (db_ != nullptr) ++generation_;
  db_ = std::shared_ptr<const vulndb::Database>(std::move(*db));
  db_stamp_ = stamp;
  return Ok();
}

void ImageScanService::RefreshDatabase() {
  const int64_t now_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now().time_since_epoch())
          .count();
  int64_t checked = db_checked_ms_.load();
  if (now_ms - checked < 1000 || !db_checked_ms_.compare_exchange_strong(checked, now_ms)) return;
  const std::string path =
      settings_.db_path.empty() ? vulndb::DefaultDatabasePath() : settings_.db_path;
  {
    std::lock_guard lock(db_mutex_);
    if (FileStamp(path) == db_stamp_) return;
  }
  if (auto reopened = OpenDatabase(); !reopened.ok()) {
    log::Warn("admission: " + reopened.error().message + " (keeping the database in use)");
  } else {
    log::Info("admission: vulnerability database " + path + " changed: image verdicts renewed");
  }
}

std::shared_ptr<const ImageVerdict> ImageScanService::Cached(const ImageReference& image) {
  RefreshDatabase();
  const auto now = Clock::now();
  std::string digest = image.digest;
  if (digest.empty()) {
    std::lock_guard lock(mutex_);
    auto it = tags_.find(image.ToString());
    if (it == tags_.end() || now - it->second.second > settings_.tag_ttl) return nullptr;
    digest = it->second.first;
  }
  return cache_.Get(digest, generation_, now);
}

std::shared_ptr<ImageScanService::Ticket> ImageScanService::Submit(const ImageReference& image) {
  const std::string key = image.ToString();
  std::lock_guard lock(mutex_);
  if (auto it = tickets_.find(key); it != tickets_.end()) return it->second;
  if (queue_.size() >= settings_.queue_size) return nullptr;
  auto ticket = std::make_shared<Ticket>();
  ticket->image = image;
  tickets_[key] = ticket;
  queue_.push_back(ticket);
  work_.notify_one();
  return ticket;
}

std::shared_ptr<const ImageVerdict> ImageScanService::Wait(Ticket& ticket,
                                                           Clock::time_point deadline) {
  std::unique_lock lock(mutex_);
  done_.wait_until(lock, deadline, [&ticket] { return ticket.done; });
  return ticket.done ? ticket.verdict : nullptr;
}

void ImageScanService::Remember(const ImageReference& image, ImageVerdict verdict) {
  verdict.db_generation = generation_;
  verdict.at = Clock::now();
  if (!image.digest.empty()) verdict.digest = image.digest;
  if (image.digest.empty()) {
    std::lock_guard lock(mutex_);
    tags_[image.ToString()] = {verdict.digest, verdict.at};
  }
  cache_.Put(std::make_shared<const ImageVerdict>(std::move(verdict)));
}

void ImageScanService::Work() {
  for (;;) {
    std::shared_ptr<Ticket> ticket;
    {
      std::unique_lock lock(mutex_);
      work_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      ticket = queue_.front();
      queue_.pop_front();
    }
    std::shared_ptr<const ImageVerdict> verdict = Run(ticket->image);
    {
      std::lock_guard lock(mutex_);
      ticket->verdict = std::move(verdict);
      ticket->done = true;
      tickets_.erase(ticket->image.ToString());
    }
    done_.notify_all();
  }
}

std::shared_ptr<const ImageVerdict> ImageScanService::Run(const ImageReference& image) {
  // A background scan is not bound by any request: the registry's own timeouts apply.
  const auto deadline = Clock::now() + std::chrono::minutes(10);
  auto resolved = registry_.ResolveDigest(image, deadline);
  if (!resolved.ok()) {
    GlobalCounters().scans_failed++;
    auto failed = std::make_shared<ImageVerdict>();
    failed->error = resolved.error().message;
    failed->at = Clock::now();
    return failed;  // not cached: without a digest there is no key
  }
  const std::string digest = *resolved;
  std::unique_lock lock(mutex_);
  if (image.digest.empty()) {
    GlobalCounters().tags_resolved++;
    tags_[image.ToString()] = {digest, Clock::now()};
    if (tags_.size() > settings_.cache_size) tags_.clear();  // bounded; entries are cheap to redo
  }
  // One scan per digest: two tags of one image wait for the same scan.
  done_.wait(lock, [&] { return scanning_.count(digest) == 0; });
  lock.unlock();
  if (auto cached = cache_.Get(digest, generation_, Clock::now())) return cached;
  lock.lock();
  scanning_[digest] = true;
  lock.unlock();
  ImageReference pinned = image;
  pinned.digest = digest;
  std::shared_ptr<const ImageVerdict> verdict = Scan(pinned, digest);
  cache_.Put(verdict);
  lock.lock();
  scanning_.erase(digest);
  lock.unlock();
  done_.notify_all();
  return verdict;
}

std::shared_ptr<const ImageVerdict> ImageScanService::Scan(const ImageReference& pinned,
                                                           const std::string& digest) {
  std::shared_ptr<const vulndb::Database> db;
  uint64_t generation = 0;
  {
    std::lock_guard lock(db_mutex_);
    db = db_;
    generation = generation_;
  }
  auto verdict = std::make_shared<ImageVerdict>();
  verdict->digest = digest;
  verdict->db_generation = generation;
  const std::string name = pinned.ToString();
  const auto started = Clock::now();
  Result<Inventory> inventory = [&]() -> Result<Inventory> {
    MOAT_ASSIGN_OR_RETURN(
        auto source,
        OpenRegistryImage(name,
                          registry_.Options(pinned.registry, started + std::chrono::minutes(10))));
    ScanOptions scan;
    scan.cache_dir = settings_.cache_dir;
    scan.threads = 1;
    return ScanImage(*source, name, BuiltinAnalyzers(), scan);
  }();
  verdict->at = Clock::now();
  if (!inventory.ok()) {
    GlobalCounters().scans_failed++;
    verdict->error = inventory.error().message;
    log::Warn("admission: scan of " + name + " failed: " + verdict->error);
    return verdict;
  }
  const match::MatchResult matched =
      match::MatchInventory(*inventory, *db, match::MatchOptions{1, false});
  for (const AssessmentGap& gap : matched.gaps) {
    if (!verdict->unassessed.empty()) verdict->unassessed += "; ";
    verdict->unassessed += gap.subject;
    if (!gap.details.empty()) verdict->unassessed += " (" + gap.details.front() + ")";
  }
  for (const DetectedVulnerability& v : matched.findings) {
    if (v.suppression) continue;
    verdict->findings.push_back(
        ImageFinding{v.id, v.severity, SeverityRank(v.severity), v.package_name, v.package_version,
                     v.fixed_versions.empty() ? "" : v.fixed_versions.front(), v.known_exploited});
  }
  std::stable_sort(verdict->findings.begin(), verdict->findings.end(),
                   [](const ImageFinding& a, const ImageFinding& b) { return a.rank > b.rank; });
  verdict->scanned = true;
  GlobalCounters().scans_ok++;
  log::Info(
      "admission: scanned " + name + " in " +
      std::to_string(
          std::chrono::duration_cast<std::chrono::milliseconds>(verdict->at - started).count()) +
      " ms: " + std::to_string(verdict->findings.size()) + " vulnerabilities");
  return verdict;
}

// --- the policy ------------------------------------------------------------------------------

Result<std::unique_ptr<ImageGatePolicy>> ImageGatePolicy::Create(const AdmissionConfig& config) {
  std::vector<PolicyRule> rules = RulesNaming(config, kImageVulnerabilitiesPolicy);
  if (rules.empty()) return std::unique_ptr<ImageGatePolicy>();
  std::unique_ptr<ImageGatePolicy> policy(new ImageGatePolicy());
  policy->settings_ = config.image_gate;
  policy->rules_ = std::move(rules);
  policy->excluded_namespaces_ = config.excluded_namespaces;
  policy->namespaces_ = config.namespaces;
  MOAT_ASSIGN_OR_RETURN(policy->service_,
                        ImageScanService::Get(config.image_gate, config.registries));
  return policy;
}

ImageGatePolicy::~ImageGatePolicy() = default;

Result<void> ImageGatePolicy::Remember(const std::string& image, ImageVerdict verdict) const {
  MOAT_ASSIGN_OR_RETURN(ImageReference reference, ImageReference::Parse(image));
  if (reference.digest.empty() && !IsSha256Digest(verdict.digest))
    return Fail(image, ": a verdict for a tag needs the digest it names");
  service_->Remember(reference, std::move(verdict));
  return Ok();
}

bool ImageGatePolicy::Covers(const AdmissionRequest& request) const {
  return CoversPodRequest(request, excluded_namespaces_);
}

void ImageGatePolicy::Evaluate(AdmissionRequest& request, std::vector<Violation>& out) const {
  const std::vector<ImageUse> uses =
      CollectImageUses(request, rules_, kImageVulnerabilitiesPolicy, namespaces_.get());
  if (uses.empty()) return;
  const Clock::time_point wait_until =
      std::min(request.deadline, Clock::now() + settings_.scan_timeout);
  Counters& counters = GlobalCounters();

  struct Pending {
    std::shared_ptr<const ImageVerdict> verdict;
    std::shared_ptr<ImageScanService::Ticket> ticket;
    std::string problem;  // why there is no verdict: a reference that does not parse
    bool queue_full = false;
  };
  std::map<std::string, Pending> by_image;
  for (const ImageUse& use : uses) {
    if (by_image.count(use.image)) continue;
    Pending& pending = by_image[use.image];
    auto reference = ImageReference::Parse(use.image);
    if (!reference.ok()) {
      pending.problem = reference.error().message;
      continue;
    }
    pending.verdict = service_->Cached(*reference);
    if (pending.verdict) {
      counters.cache_hits++;
      continue;
    }
    counters.cache_misses++;
    pending.ticket = service_->Submit(*reference);
    if (!pending.ticket) {
      counters.queue_full++;
      pending.queue_full = true;
    }
  }
  for (auto& [image, pending] : by_image) {
    if (pending.ticket) pending.verdict = service_->Wait(*pending.ticket, wait_until);
  }
  for (const ImageUse& use : uses) {
    const Pending& pending = by_image[use.image];
    std::optional<std::string> message;
    Action action = use.action;
    if (!pending.problem.empty()) {
      if (settings_.require_scan)
        message = "image \"" + use.image + "\" cannot be scanned: " + pending.problem;
    } else if (pending.verdict) {
      message = JudgeVerdict(*pending.verdict, use.image, settings_);
    } else {
      counters.fallbacks++;
      if (!settings_.fallback_deny) action = std::min(action, Action::kWarn);
      message = "image \"" + use.image + "\" has no scan yet: " +
                (pending.queue_full ? std::string("the scan queue is full")
                                    : "the scan did not finish within " +
                                          std::to_string(settings_.scan_timeout.count()) +
                                          " ms and goes on in the background") +
                " (fallback " + (settings_.fallback_deny ? "deny" : "allow") + ")";
    }
    if (message) out.push_back(ImageViolation(kImageVulnerabilitiesPolicy, action, use, *message));
  }
}

// --- metrics ---------------------------------------------------------------------------------

ImageGateCounters ImageGateStats() {
  const Counters& c = GlobalCounters();
  return ImageGateCounters{c.cache_hits,    c.cache_misses,        c.scans_ok,
                           c.scans_failed,  c.fallbacks,           c.queue_full,
                           c.tags_resolved, c.signatures_verified, c.signatures_refused};
}

std::string RenderImageGateMetrics() {
  const ImageGateCounters c = ImageGateStats();
  std::string out;
  auto counter = [&out](const char* name, const char* help, const char* label,
                        std::initializer_list<std::pair<const char*, uint64_t>> values) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " counter\n";
    for (const auto& [value_label, value] : values)
      out += std::string(name) + "{" + label + "=\"" + value_label + "\"} " +
             std::to_string(value) + "\n";
  };
  counter("moat_admission_image_cache_total",
          "Image verdict lookups of the image gate: from the cache or needing a scan", "result",
          {{"hit", c.cache_hits}, {"miss", c.cache_misses}});
  counter("moat_admission_image_scans_total", "Image scans of the image gate", "result",
          {{"ok", c.scans_ok}, {"failed", c.scans_failed}});
  counter("moat_admission_image_fallbacks_total",
          "Images judged by the fallback: scan not finished in time, or queue full", "reason",
          {{"timeout", c.fallbacks - c.queue_full}, {"queue_full", c.queue_full}});
  counter("moat_admission_image_tags_resolved_total", "Tags resolved to a digest by a registry",
          "result", {{"ok", c.tags_resolved}});
  counter("moat_admission_image_signatures_total", "Image signature verifications", "result",
          {{"verified", c.signatures_verified}, {"refused", c.signatures_refused}});
  return out;
}

}  // namespace moat::admission
