#include "server/posture.h"

#include <ctime>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <utility>

#include "core/log.h"
#include "server/api/export.h"
#include "server/store/store.h"

namespace moat::server {

namespace {

constexpr const char* kSeverityNames[] = {"CRITICAL", "HIGH", "MEDIUM", "LOW", "UNKNOWN"};

// The assessed resources, and how findings map to them.
struct Estate {
  std::vector<assess::Resource> resources;
  std::map<std::string, std::vector<size_t>> image_resources;  // digest -> resource indexes
  std::map<std::string, size_t> workload_resources;            // workload id -> resource index
};

Result<Estate> ReadEstate(Store& store) {
  Estate estate;
  auto& resources = estate.resources;
  auto& image_resources = estate.image_resources;
  PageRequest page;
  page.limit = 1000;
  while (true) {
    MOAT_ASSIGN_OR_RETURN(auto images, store.ListImages(page));
    for (const auto& image : images.items) {
      if (image.scan_status != "scanned") continue;  // not assessed yet
      for (const auto& location : image.locations) {
        image_resources[image.digest].push_back(resources.size());
        resources.push_back(assess::Resource{
            assess::kRegistryImage, image.digest,
            location.registry_name + "/" + location.repository + "@" + image.digest,
            location.registry_name, "", ""});
        break;  // one registry-image resource per digest
      }
    }
    if (images.next_cursor.empty()) break;
    page.cursor = images.next_cursor;
  }
  MOAT_ASSIGN_OR_RETURN(auto running, store.RunningImageDigests());
  for (const auto& digest : running) {
    MOAT_ASSIGN_OR_RETURN(auto image, store.GetImage(digest));
    if (!image || image->scan_status != "scanned") continue;
    image_resources[digest].push_back(resources.size());
    resources.push_back(assess::Resource{assess::kRunningImage, digest, digest, "", "", ""});
  }
  MOAT_ASSIGN_OR_RETURN(auto hosts, store.ListHosts());
  for (const auto& host : hosts) {
    resources.push_back(assess::Resource{assess::kHost, host.id, host.name, "", "", ""});
  }
  // Clusters: every workload (any object a k8s check reports on), scoped by cluster and
  // namespace for disable rules.
  auto& workload_resources = estate.workload_resources;
  page = PageRequest{};
  page.limit = 1000;
  while (true) {
    MOAT_ASSIGN_OR_RETURN(auto workloads, store.ListWorkloads(WorkloadFilter{}, page));
    for (const auto& w : workloads.items) {
      workload_resources[w.id] = resources.size();
      resources.push_back(assess::Resource{assess::kWorkload, w.id,
                                           w.id.substr(w.cluster_id.size() + 1), "", w.cluster_id,
                                           w.namespace_name});
    }
    if (workloads.next_cursor.empty()) break;
    page.cursor = workloads.next_cursor;
  }
  return estate;
}

// The facts of finding `f` as it is on resource `r` (an image's finding is on each of its
// resources).
assess::FindingFacts FactOf(const FindingRecord& f, const assess::Resource& r) {
  assess::FindingFacts fact;
  fact.resource_kind = r.kind;
  fact.resource_id = r.id;
  fact.source = f.source;
  fact.finding_id = f.finding_id;
  fact.category = f.category;
  fact.title = f.title;
  fact.severity = f.severity;
  fact.cvss = f.cvss;
  fact.patchable = f.patchable;
  fact.kev = f.kev;
  fact.in_use = f.in_use;
  fact.registry = r.registry;
  fact.cluster = r.cluster;
  fact.namespace_name = r.namespace_name;
  return fact;
}

// Visits each open finding as the facts of each assessed resource it is on (an image's once per
// resource of that image); host findings count whether or not the host is listed.
Result<void> ForEachFindingFact(Store& store, const Estate& estate,
                                const std::function<void(const assess::FindingFacts&)>& visit) {
  return store.ForEachOpenFinding([&](FindingRecord&& f) {
    if (f.resource_kind == "image") {
      auto it = estate.image_resources.find(f.resource_id);
      if (it == estate.image_resources.end()) return;
      for (size_t index : it->second) visit(FactOf(f, estate.resources[index]));
    } else if (f.resource_kind == "host") {
      visit(FactOf(f, assess::Resource{assess::kHost, f.resource_id, "", "", "", ""}));
    } else if (f.resource_kind == assess::kWorkload) {
      auto it = estate.workload_resources.find(f.resource_id);
      if (it != estate.workload_resources.end()) {
        visit(FactOf(f, estate.resources[it->second]));
      }
    }
  });
}

Result<std::vector<assess::DisableRule>> DisableRules(Store& store) {
  MOAT_ASSIGN_OR_RETURN(auto records, store.ListDisableRules());
  std::vector<assess::DisableRule> rules;
  for (const auto& record : records) {
    auto rule = DisableRuleFromJson(record.rule_json);
    if (!rule.ok()) continue;  // validated when added
    rule->id = std::to_string(record.id);
    rule->expires_at = record.expires_at;
    rules.push_back(std::move(*rule));
  }
  return rules;
}

}  // namespace

Result<Posture> AssessPosture(Store& store, int64_t now, const std::string& keep_findings_of) {
  Posture posture;
  MOAT_ASSIGN_OR_RETURN(auto estate, ReadEstate(store));
  MOAT_ASSIGN_OR_RETURN(posture.disable_rules, DisableRules(store));
  const auto at = static_cast<std::time_t>(now);
  assess::Recommender recommender(estate.resources, posture.disable_rules, at, keep_findings_of);
  for (const char* severity : kSeverityNames) posture.open_findings[severity] = 0;
  MOAT_TRY(ForEachFindingFact(store, estate, [&](const assess::FindingFacts& fact) {
    recommender.Add(fact);
    if (assess::IsDisabled(fact, posture.disable_rules, at)) return;
    auto counted = posture.open_findings.find(fact.severity);
    ++(counted != posture.open_findings.end() ? counted->second : posture.open_findings["UNKNOWN"]);
  }));
  posture.recommendations = recommender.Finish();
  posture.resources = std::move(estate.resources);
  posture.score = assess::ComputeScore(posture.resources, posture.recommendations);
  return posture;
}

Result<std::vector<std::vector<assess::FindingFacts>>> FindingsOfUnhealthy(
    Store& store, const Posture& posture, const std::vector<assess::Resource>& resources,
    const std::string& recommendation_id, int64_t now) {
  // The stored findings of the resources, read per stored kind in one go.
  auto stored_kind = [](const assess::Resource& r) {
    return r.kind == assess::kRegistryImage || r.kind == assess::kRunningImage ? "image" : r.kind;
  };
  std::map<std::string, std::vector<std::string>> ids_by_kind;
  for (const auto& r : resources) ids_by_kind[stored_kind(r)].push_back(r.id);
  std::map<std::pair<std::string, std::string>, std::vector<FindingRecord>> stored;
  for (const auto& [kind, ids] : ids_by_kind) {
    MOAT_ASSIGN_OR_RETURN(auto findings, store.OpenFindingsOf(kind, ids));
    for (auto& f : findings) stored[{kind, f.resource_id}].push_back(std::move(f));
  }
  std::vector<std::vector<assess::FindingFacts>> out;
  for (const auto& resource : resources) {
    const std::vector<assess::Resource> only = {resource};
    assess::Recommender recommender(only, posture.disable_rules, static_cast<std::time_t>(now),
                                    recommendation_id);
    for (const auto& f : stored[{stored_kind(resource), resource.id}]) {
      recommender.Add(FactOf(f, resource));
    }
    out.emplace_back();
    for (auto& recommendation : recommender.Finish()) {
      if (recommendation.definition->id == recommendation_id && !recommendation.unhealthy.empty()) {
        out.back() = std::move(recommendation.unhealthy[0].findings);
      }
    }
  }
  return out;
}

std::map<std::string, double> PostureFigures(const Posture& posture) {
  std::map<std::string, double> figures = {
      {"recommendations.active", static_cast<double>(posture.recommendations.size())},
      {"resources.assessed", static_cast<double>(posture.resources.size())}};
  // With nothing assessed the formula's 100 % means nothing: no score that day (as /score).
  if (posture.score.assessed > 0) {
    figures["score.percent"] = posture.score.percent;
    figures["score.points"] = posture.score.points;
    figures["score.max_points"] = posture.score.max_points;
  }
  for (const char* severity : kSeverityNames) {
    auto counted = posture.open_findings.find(severity);
    figures[std::string("findings.open.") + severity] =
        counted == posture.open_findings.end() ? 0 : static_cast<double>(counted->second);
  }
  std::set<std::pair<std::string, std::string>> unhealthy;
  for (const auto& recommendation : posture.recommendations) {
    for (const auto& resource : recommendation.unhealthy) {
      unhealthy.emplace(resource.resource.kind, resource.resource.id);
    }
  }
  figures["resources.unhealthy"] = static_cast<double>(unhealthy.size());
  return figures;
}

// ---- PostureKeeper ----------------------------------------------------------------------------

PostureKeeper::PostureKeeper(Store& store, Options options) : store_(store), options_(options) {}

PostureKeeper::~PostureKeeper() { Stop(); }

void PostureKeeper::Start() {
  std::lock_guard lock(mutex_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { Loop(); });
}

void PostureKeeper::Stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    wake_.notify_all();
  }
  if (thread_.joinable()) thread_.join();
}

PostureKeeper::Kept PostureKeeper::kept() const {
  std::lock_guard lock(mutex_);
  return kept_;
}

PostureKeeper::Stats PostureKeeper::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

bool PostureKeeper::IsCurrent(const Kept& kept, std::chrono::steady_clock::time_point now) const {
  return kept.posture && kept.changes == store_.posture_changes() &&
         now - kept.at < options_.refresh_every;
}

Result<std::shared_ptr<const Posture>> PostureKeeper::Get() {
  const Kept current = kept();
  if (IsCurrent(current, std::chrono::steady_clock::now())) return current.posture;
  bool background = false;
  {
    std::lock_guard lock(mutex_);
    background = thread_.joinable() && !stopping_;
    if (background) wake_.notify_all();
  }
  // Out of date and slow to assess: the background thread brings it up to date.
  if (background && current.posture && current.cost >= options_.wait_limit) return current.posture;
  return Assess(store_.posture_changes());
}

Result<std::shared_ptr<const Posture>> PostureKeeper::Assess(uint64_t changes) {
  std::lock_guard assessing(assess_mutex_);
  {
    // Someone else's assessment began after `changes` was read: it is as new as needed.
    const Kept current = kept();
    const auto now = std::chrono::steady_clock::now();
    if (current.posture && current.changes >= changes &&
        now - current.at < options_.refresh_every) {
      return current.posture;
    }
  }
  const uint64_t begun_at_changes = store_.posture_changes();
  const auto begin = std::chrono::steady_clock::now();
  MOAT_ASSIGN_OR_RETURN(Posture assessed, AssessPosture(store_, std::time(nullptr)));
  const auto end = std::chrono::steady_clock::now();
  auto posture = std::make_shared<const Posture>(std::move(assessed));
  std::lock_guard lock(mutex_);
  kept_ = Kept{posture, begun_at_changes, end, end - begin};
  ++stats_.assessments;
  stats_.last_seconds = std::chrono::duration<double>(end - begin).count();
  stats_.assessed_at = std::time(nullptr);
  return posture;
}

void PostureKeeper::Loop() {
  // Looks for changes every second; after an assessment that took D, waits at least D before the
  // next one, so that a stream of changes costs at most half of one core.
  constexpr auto kPoll = std::chrono::seconds(1);
  std::unique_lock lock(mutex_);
  bool first = true;
  while (!stopping_) {
    if (!first) wake_.wait_for(lock, kPoll);
    first = false;
    if (stopping_) break;
    const Kept current = kept_;
    const auto now = std::chrono::steady_clock::now();
    const bool due =
        !current.posture || now - current.at >= options_.refresh_every ||
        (current.changes != store_.posture_changes() && now - current.at >= current.cost);
    if (!due) continue;
    lock.unlock();
    auto assessed = Assess(store_.posture_changes());
    lock.lock();
    if (!assessed.ok()) {
      log::Warn("posture assessment: " + assessed.error().message);
      wake_.wait_for(lock, options_.refresh_every / 6);  // the store is failing: not every second
    }
  }
}

}  // namespace moat::server
