#pragma once
// The image policies of the webhook (docs/admission.md, "Image gate" and "Signatures"):
// `image-vulnerabilities` refuses pods whose images have vulnerabilities at or above a severity,
// any in CISA KEV, or no scan, judged by Moat's own scanner and database through the registry;
// `image-signature` (signature.h) refuses images without a valid cosign signature. Both are
// named in `policies:` rules like checks, so they take the rules' actions, selectors and
// exemptions.
//
// A scan takes seconds, an admission must answer in milliseconds: verdicts are cached by image
// digest (bounded, with a TTL, dropped when the database file changes), scans run on a bounded
// pool of workers (one scan per digest at a time), and a request waits for a scan at most
// `scanTimeout`; past it the fallback applies and the scan finishes in the background, so a
// later admission of the same image gets the verdict from the cache.

#include <chrono>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "admission/policy.h"
#include "core/result.h"

namespace moat {
struct ImageReference;
}

namespace moat::admission {

class NamespaceCache;

struct AdmissionConfig;
struct PolicyRule;

inline constexpr std::string_view kImageVulnerabilitiesPolicy = "image-vulnerabilities";
inline constexpr std::string_view kImageSignaturePolicy = "image-signature";
/// True for the names a `policies:` rule may list beside check ids that are image policies.
bool IsImagePolicy(std::string_view name);
/// `checks` without the image policies' names: what goes to the k8s check library.
std::vector<std::string> WithoutImagePolicies(const std::vector<std::string>& checks);

/// How the image policies reach registries (top-level `registries:`), as `moat image` does:
/// credentials from a Docker config.json, plain HTTP for the listed hosts.
struct RegistryAccess {
  std::string docker_config;                     // "" = $DOCKER_CONFIG or ~/.docker/config.json
  std::vector<std::string> insecure_registries;  // host[:port] globs reached over plain HTTP
  std::string platform = "linux/amd64";          // picked from multi-platform indexes
};

/// `imageGate:` of the configuration.
struct ImageGateSettings {
  std::string severity = "high";  // the lowest severity that counts: critical, high, medium, low
  bool kev = true;                // any vulnerability in CISA KEV counts, whatever its severity
  bool require_scan = true;       // an image that could not be scanned is a violation
  bool ignore_unfixed = false;    // only vulnerabilities with a fixed version count
  bool fallback_deny = false;     // scan not done in time: false = allow with a warning
  std::chrono::milliseconds scan_timeout{1000};  // a request waits this long for a scan
  std::chrono::seconds cache_ttl{3600};          // a verdict is reused this long
  std::chrono::seconds tag_ttl{60};              // a tag's digest is reused this long
  size_t cache_size = 1000;                      // verdicts kept (least recently used go)
  size_t workers = 2;                            // scans at once
  size_t queue_size = 64;                        // scans waiting; more fall back at once
  std::string db_path;                           // "" = $MOAT_DB or ~/.cache/moat/db/moat.db
  std::string cache_dir;                         // layer cache ("" = none)
};

/// `imageGate:` and `registries:` of the configuration file (`v` is the key's value). Errors name
/// name:line and the key.
Result<void> ParseImageGateSettings(const std::string& name, const k8s::Value& v,
                                    ImageGateSettings& settings);
Result<void> ParseRegistryAccess(const std::string& name, const k8s::Value& v,
                                 RegistryAccess& access);
/// "90s", "5m", "1h30m", "500ms" (Go's syntax, as Kubernetes writes durations) within [min, max].
Result<std::chrono::milliseconds> ParseConfigDuration(const std::string& name, const k8s::Value& v,
                                                      std::chrono::milliseconds min,
                                                      std::chrono::milliseconds max);

/// A container image the image policies judge: where it is in the object and the strongest
/// action of the rules that apply to it (rules whose selectors match and that do not exempt it).
struct ImageUse {
  std::string image;  // as written in the spec
  std::string path;   // spec.template.spec.containers[1].image
  Action action = Action::kDisabled;
  uint32_t line = 0;  // where the image is written (the request body, or the manifest)
  uint32_t column = 0;
};

/// The images of the request's pod (containers, init and ephemeral containers) that `policy`'s
/// rules judge. On UPDATE, images the old object already ran are left out: a label change must
/// not be refused because an image got a new vulnerability since it was admitted.
/// `namespaces` (with cluster access) gives namespaceSelector the namespace's labels.
std::vector<ImageUse> CollectImageUses(const AdmissionRequest& request,
                                       const std::vector<PolicyRule>& rules,
                                       std::string_view policy,
                                       const NamespaceCache* namespaces = nullptr);
/// What `moat admission audit` reports the image policies under (id, title, severity,
/// remediation), as the checks' CheckInfo; null for a name that is not an image policy.
const k8s::CheckInfo* ImagePolicyInfo(std::string_view policy);

/// The violation of `policy` at `use` (its path and line), in `action`.
Violation ImageViolation(std::string_view policy, Action action, const ImageUse& use,
                         std::string message);
/// The rules of `config` that name `policy` (and are not disabled).
std::vector<PolicyRule> RulesNaming(const AdmissionConfig& config, std::string_view policy);
/// Covers: CREATE/UPDATE (and pods/ephemeralcontainers) of kinds that carry a pod, outside the
/// excluded namespaces.
bool CoversPodRequest(const AdmissionRequest& request,
                      const std::vector<std::string>& excluded_namespaces);

/// One vulnerability of a scanned image, as much as the gate needs to judge and explain.
struct ImageFinding {
  std::string id;
  std::string severity;  // critical|high|medium|low|negligible|unknown
  int rank = 0;          // SeverityRank(severity)
  std::string package;
  std::string version;
  std::string fixed;  // first fixed version, "" when none
  bool kev = false;
};

/// What a scan found out about one image digest.
struct ImageVerdict {
  std::string digest;
  bool scanned = false;    // false: `error` says why there is no scan
  std::string error;       // the scan's failure
  std::string unassessed;  // OS packages the database has no data for ("" = all assessed)
  std::vector<ImageFinding> findings;  // highest severity first
  uint64_t db_generation = 0;          // the database the findings come from
  std::chrono::steady_clock::time_point at;
};

/// Verdicts by digest: at most `capacity` (least recently used dropped), each valid for `ttl`
/// (failures for at most a minute: a registry hiccup should not refuse an image for an hour) and
/// only for the database generation it was matched against. Thread-safe.
class VerdictCache {
 public:
  VerdictCache(size_t capacity, std::chrono::seconds ttl) : capacity_(capacity), ttl_(ttl) {}
  std::shared_ptr<const ImageVerdict> Get(const std::string& digest, uint64_t generation,
                                          std::chrono::steady_clock::time_point now);
  void Put(std::shared_ptr<const ImageVerdict> verdict);
  size_t size() const;

 private:
  using Entry = std::pair<std::string, std::shared_ptr<const ImageVerdict>>;
  size_t capacity_;
  std::chrono::seconds ttl_;
  mutable std::mutex mutex_;
  std::list<Entry> lru_;  // most recently used first
  std::unordered_map<std::string, std::list<Entry>::iterator> index_;
};

/// The violation message for `image` from its verdict, or nullopt when the verdict passes.
std::optional<std::string> JudgeVerdict(const ImageVerdict& verdict, const std::string& image,
                                        const ImageGateSettings& settings);

class ImageScanService;

/// The `image-vulnerabilities` policy.
class ImageGatePolicy : public Policy {
 public:
  /// Null (and no error) when no rule names image-vulnerabilities. Opens the vulnerability
  /// database (an error names it): a gate without a database would refuse or admit everything.
  static Result<std::unique_ptr<ImageGatePolicy>> Create(const AdmissionConfig& config);
  ~ImageGatePolicy() override;

  bool Covers(const AdmissionRequest& request) const override;
  void Evaluate(AdmissionRequest& request, std::vector<Violation>& out) const override;

  /// Puts the verdict of `image` (its tag's digest too, when it has a tag) in the cache as a
  /// finished scan would, against the database in use: a verdict obtained elsewhere (the
  /// benchmark of the cached decision).
  Result<void> Remember(const std::string& image, ImageVerdict verdict) const;

 private:
  ImageGatePolicy() = default;
  ImageGateSettings settings_;
  std::vector<PolicyRule> rules_;
  std::vector<std::string> excluded_namespaces_;
  std::shared_ptr<const NamespaceCache> namespaces_;
  std::shared_ptr<ImageScanService> service_;
};

/// Counters of the image policies since the process started (the /metrics lines).
struct ImageGateCounters {
  uint64_t cache_hits = 0;     // a verdict from the cache
  uint64_t cache_misses = 0;   // no verdict: a scan was asked for (or joined)
  uint64_t scans_ok = 0;       // scans finished with an inventory
  uint64_t scans_failed = 0;   // scans that could not finish (pull, parse, database)
  uint64_t fallbacks = 0;      // requests answered before their scan finished
  uint64_t queue_full = 0;     // scans refused because the queue was full
  uint64_t tags_resolved = 0;  // tag -> digest asked of a registry
  uint64_t signatures_verified = 0;
  uint64_t signatures_refused = 0;  // unsigned, bad signature, wrong digest, not checkable
};
ImageGateCounters ImageGateStats();
/// Counts one signature verification (signature.cpp).
void CountSignatureResult(bool verified);
/// Prometheus text lines for the counters (moat_admission_image_*).
std::string RenderImageGateMetrics();

}  // namespace moat::admission
