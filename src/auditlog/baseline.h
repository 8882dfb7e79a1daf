#pragma once
// The learned baseline of `moat audit-log` (docs/audit-log.md "Anomaly alerts"): what each
// identity does, as (verb, resource, namespace), which image repositories are deployed in each
// namespace, and which roles each service account is bound to. While learning, everything the
// API server accepted is recorded; after learning, a combination never seen raises one
// low-severity alert that says what was seen instead, and is then part of the baseline.
//
// Learning windows: an identity's operations are learned for `window` from the identity's first
// request (a new service account learns its own habits); images per namespace and role bindings
// for `window` from the baseline's start. Times are the events' times, so that replaying a log
// learns the same as watching it live. The state is kept in one JSON file, replaced atomically.

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "core/alert.h"
#include "core/result.h"

namespace moat::rules {
class AuditEvent;
class EventSource;
}  // namespace moat::rules

namespace moat::auditlog {

/// An exception to the anomaly alerts: every part is a glob (core/text.h GlobMatch); an empty
/// part matches everything.
struct BaselineAllow {
  std::string identity;
  std::string verb;
  std::string resource;  // "pods", "pods/exec"; for images: the image repository
  std::string namespace_name;
};

/// "identity=GLOB[,verb=GLOB][,resource=GLOB][,namespace=GLOB]", e.g.
/// "identity=system:serviceaccount:argocd:*" or "identity=alice,verb=get,resource=secrets".
Result<BaselineAllow> ParseBaselineAllow(const std::string& text);

struct BaselineOptions {
  /// The state file; "" keeps the baseline in memory only.
  std::string path;
  std::chrono::seconds window = std::chrono::hours(24 * 7);
  std::vector<BaselineAllow> allow;
  /// Identities whose anomalies carry the managed-identity alert type (K8S_AbnormalMiAcitivty):
  /// globs over user names, e.g. a cloud add-on's identity.
  std::vector<std::string> managed_identities;
  /// Bounds (memory is about 100 bytes per entry): beyond them nothing new is learned (counted)
  /// and nothing new alerts for the identity or namespace that is full.
  size_t max_identities = 20000;
  size_t max_operations_per_identity = 2000;
  size_t max_images_per_namespace = 2000;
  size_t max_namespaces = 10000;
};

struct BaselineStats {
  uint64_t observed = 0;
  uint64_t learned = 0;  // new combinations recorded while learning
  uint64_t anomalies = 0;
  uint64_t allowed = 0;  // anomalies an allow entry silenced
  uint64_t full = 0;     // combinations not recorded because of a bound
  size_t identities = 0;
  size_t namespaces = 0;
};

class Baseline {
 public:
  /// Loads the state file when it exists (a damaged file is an error: move it away to start
  /// over).
  static Result<std::unique_ptr<Baseline>> Open(BaselineOptions options);

  /// Learns from or judges one event, appending anomaly alerts to `alerts`. Thread-safe.
  void Observe(const rules::AuditEvent& event, const rules::EventSource& source,
               std::vector<Alert>& alerts);

  /// Writes the state file (atomically, durably) when something changed since the last save.
  Result<void> Save();

  BaselineStats stats() const;

 private:
  struct Identity {
    int64_t first_ns = 0;
    std::set<std::string> operations;  // "verb resource namespace"
  };
  struct Namespace {
    std::set<std::string> images;
  };
  explicit Baseline(BaselineOptions options) : options_(std::move(options)) {}
  Result<void> Load();
  bool Allowed(std::string_view identity, std::string_view verb, std::string_view resource,
               std::string_view namespace_name) const;
  bool Learning(int64_t since_ns, int64_t now_ns) const;
  Alert MakeAnomaly(const rules::AuditEvent& event, const rules::EventSource& source,
                    std::string rule, std::vector<std::string> tags, std::string output,
                    std::string what_was_seen) const;

  const BaselineOptions options_;
  mutable std::mutex mutex_;
  int64_t started_ns_ = 0;  // the first event's time
  std::map<std::string, Identity, std::less<>> identities_;
  std::map<std::string, Namespace, std::less<>> namespaces_;
  std::map<std::string, std::set<std::string>, std::less<>> bindings_;  // "ns:sa" -> roles
  bool dirty_ = false;
  BaselineStats stats_;
};

}  // namespace moat::auditlog
