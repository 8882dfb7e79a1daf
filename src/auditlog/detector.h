#pragma once
// The audit-log detector of `moat audit-log watch` and `serve`: decodes audit events (JSON lines
// or EventList batches), runs the rules (the built-in ones, then --rules files, which may append
// to and override them) and the learned baseline, and hands the alerts to the outputs.
// Malformed events and wrong API versions are counted and logged, never fatal.

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/alert.h"
#include "core/result.h"
#include "rules/engine.h"
#include "rules/k8s_audit.h"
#include "rules/rule_loader.h"

namespace moat::rules {
class AlertOutputs;
}

namespace moat::auditlog {

class Baseline;

/// The --rules files loaded after the built-in rules (rules/rule_loader.h).
using DetectorOptions = rules::RuleFileOptions;

struct DetectorStats {
  uint64_t events = 0;
  uint64_t malformed = 0;  // lines or batches that are not audit events (wrong apiVersion too)
  uint64_t alerts = 0;     // rule and baseline alerts (before the outputs' rate limit)
  uint64_t baseline_alerts = 0;
};

class Detector {
 public:
  /// Loads and compiles the rules; `report` receives what Compile() made of them. `outputs` and
  /// `baseline` (may be null) must outlive the detector.
  static Result<std::unique_ptr<Detector>> Create(const DetectorOptions& options,
                                                  rules::AlertOutputs* outputs, Baseline* baseline,
                                                  rules::LoadReport* report = nullptr);

  /// One JSON line of the API server's log backend. `where` names it in errors ("audit.log:17").
  void ProcessLine(std::string_view line, std::string_view where);
  /// One webhook POST body: an EventList (or a single Event).
  void ProcessBatch(std::string body, const std::string& input_name);
  /// The alerts of one decoded event (rules, then baseline), without emitting them.
  std::vector<Alert> Evaluate(const rules::AuditEvent& event);

  DetectorStats stats() const;
  void RenderMetrics(std::string& out) const;

 private:
  Detector() = default;
  void Emit(const rules::AuditEvent& event);
  void CountMalformed(const Error& error);

  rules::Engine engine_;
  std::shared_ptr<const rules::EventSource> source_;
  rules::AlertOutputs* outputs_ = nullptr;
  Baseline* baseline_ = nullptr;
  std::atomic<uint64_t> events_{0};
  std::atomic<uint64_t> malformed_{0};
  std::atomic<uint64_t> alerts_{0};
  std::atomic<uint64_t> baseline_alerts_{0};
};

}  // namespace moat::auditlog
