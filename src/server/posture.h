#pragma once
// The estate's posture at one moment: the assessed resources (scanned registry images, running
// images, hosts), their open findings, the disable rules in force, the recommendations that list
// unhealthy resources and the secure score. The API's recommendations and score routes and the
// scheduler's daily trend snapshot all read it from here, so they can never disagree.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/result.h"
#include "server/assess/assess.h"

namespace moat::server {

class Store;

struct Posture {
  std::vector<assess::Resource> resources;
  /// Open findings that no disable rule covers, by severity (CRITICAL .. UNKNOWN), once per
  /// assessed resource they are on (a running image's finding counts for the registry image too).
  std::map<std::string, int64_t> open_findings;
  std::vector<assess::DisableRule> disable_rules;
  std::vector<assess::Recommendation> recommendations;
  assess::SecureScore score;
};

/// Reads the store and assesses it at `now` (Unix seconds; decides which disable rules expired).
/// The findings are read a page at a time and only totalled per resource: each unhealthy
/// resource of a recommendation holds its assess::kWorstFindingsKept worst findings (and their
/// count), and every one of its findings only for
/// the recommendation `keep_findings_of` (an id, "*" for all; assess::Recommender).
Result<Posture> AssessPosture(Store& store, int64_t now, const std::string& keep_findings_of = "");

/// For each of `resources` (unhealthy resources of the recommendation `recommendation_id` in
/// `posture`), the findings that make it unhealthy, as AssessPosture keeping that
/// recommendation's findings would list them: its open findings read from the store, those the
/// recommendation routes and `posture`'s disable rules leave, most severe first. One
/// recommendation's page reads these for the resources it shows instead of assessing the whole
/// estate again.
Result<std::vector<std::vector<assess::FindingFacts>>> FindingsOfUnhealthy(
    Store& store, const Posture& posture, const std::vector<assess::Resource>& resources,
    const std::string& recommendation_id, int64_t now);

/// The figures the daily trend keeps (docs/server.md, "Trend"): score.percent, score.points,
/// score.max_points, findings.open.<SEVERITY> (open findings of assessed resources that no
/// disable rule covers at `now`; a finding counts once per resource it is on),
/// recommendations.active, resources.assessed and resources.unhealthy.
std::map<std::string, double> PostureFigures(const Posture& posture);

/// Keeps the latest posture for the routes that show it whole (the overview's summary, the score,
/// the recommendation list), so that opening a page does not assess every open finding again:
/// with 1,000 images and 250,000 findings one assessment takes over a second.
///
/// Freshness: Store::posture_changes() counts the writes that can change the posture. A reader
/// gets the kept posture when no such write happened since it was assessed. Otherwise, while
/// assessments are cheap (under `wait_limit`), the reader waits for a new one (its own change
/// shows at once); once they are expensive and the background thread runs, the reader gets the
/// kept posture and the thread assesses again (changes show within about one assessment).
/// Time also changes the posture (disable rules expire) and other processes write to a shared
/// PostgreSQL store unseen by the counter: the posture is assessed again every `refresh_every`.
class PostureKeeper {
 public:
  struct Options {
    std::chrono::milliseconds wait_limit{200};
    std::chrono::seconds refresh_every{60};
  };
  explicit PostureKeeper(Store& store) : PostureKeeper(store, Options{}) {}
  PostureKeeper(Store& store, Options options);
  ~PostureKeeper();
  PostureKeeper(const PostureKeeper&) = delete;
  PostureKeeper& operator=(const PostureKeeper&) = delete;

  /// Starts the background thread: it assesses at once (a server's first page is not a cold
  /// one), after changes (no more than half of the time on assessing) and every refresh_every.
  void Start();
  void Stop();

  Result<std::shared_ptr<const Posture>> Get();

  struct Stats {
    int64_t assessments = 0;
    double last_seconds = 0;  // the last assessment's duration
    int64_t assessed_at = 0;  // Unix seconds; 0 = never
  };
  Stats stats() const;

 private:
  struct Kept {
    std::shared_ptr<const Posture> posture;
    uint64_t changes = 0;  // Store::posture_changes() when the assessment began
    std::chrono::steady_clock::time_point at;
    std::chrono::steady_clock::duration cost{};
  };
  Kept kept() const;
  bool IsCurrent(const Kept& kept, std::chrono::steady_clock::time_point now) const;
  // Assesses unless another caller's assessment, begun after `changes` was read, makes it
  // needless; one assessment at a time.
  Result<std::shared_ptr<const Posture>> Assess(uint64_t changes);
  void Loop();

  Store& store_;
  Options options_;
  std::mutex assess_mutex_;
  mutable std::mutex mutex_;  // guards kept_, stats_, stopping_
  Kept kept_;
  Stats stats_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace moat::server
