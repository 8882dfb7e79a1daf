#include "auditlog/detector.h"

#include "auditlog/baseline.h"
#include "auditlog/builtin_rules.h"
#include "core/log.h"
#include "http/metrics.h"
#include "rules/output.h"

namespace moat::auditlog {
namespace {

// The first errors are logged whole, then one in this many, so that a stream of garbage does not
// flood the log; all are counted.
constexpr uint64_t kLogEveryNthError = 1000;
constexpr uint64_t kLogFirstErrors = 20;

}  // namespace

Result<std::unique_ptr<Detector>> Detector::Create(const DetectorOptions& options,
                                                   rules::AlertOutputs* outputs, Baseline* baseline,
                                                   rules::LoadReport* report) {
  std::unique_ptr<Detector> detector(new Detector());
  detector->outputs_ = outputs;
  detector->baseline_ = baseline;
  detector->source_ = rules::MakeK8sAuditSource();
  std::vector<rules::RuleText> builtin;
  for (const BuiltinRuleFile& file : BuiltinRuleFiles()) builtin.push_back({file.name, file.text});
  MOAT_ASSIGN_OR_RETURN(rules::LoadReport loaded,
                        rules::LoadRules(detector->engine_, detector->source_, builtin, options));
  if (report) *report = std::move(loaded);
  return detector;
}

std::vector<Alert> Detector::Evaluate(const rules::AuditEvent& event) {
  std::vector<Alert> alerts = engine_.Evaluate(*source_, event);
  if (baseline_) {
    const size_t before = alerts.size();
    baseline_->Observe(event, *source_, alerts);
    baseline_alerts_ += alerts.size() - before;
  }
  return alerts;
}

void Detector::Emit(const rules::AuditEvent& event) {
  ++events_;
  std::vector<Alert> alerts = Evaluate(event);
  alerts_ += alerts.size();
  if (!outputs_) return;
  for (Alert& alert : alerts) outputs_->Emit(std::move(alert));
}

void Detector::CountMalformed(const Error& error) {
  const uint64_t count = ++malformed_;
  if (count <= kLogFirstErrors || count % kLogEveryNthError == 0) {
    log::Warn("audit-log: skipped (" + std::to_string(count) + " so far): " + error.message);
  }
}

void Detector::ProcessLine(std::string_view line, std::string_view where) {
  auto event = rules::ParseAuditEvent(std::string(line), where);
  if (!event.ok()) {
    CountMalformed(event.error());
    return;
  }
  Emit(*event);
}

void Detector::ProcessBatch(std::string body, const std::string& input_name) {
  auto events = rules::ParseAuditEvents(std::move(body), input_name);
  if (!events.ok()) {
    CountMalformed(events.error());
    return;
  }
  for (const rules::AuditEvent& event : *events) Emit(event);
}

DetectorStats Detector::stats() const {
  return DetectorStats{events_.load(), malformed_.load(), alerts_.load(), baseline_alerts_.load()};
}

void Detector::RenderMetrics(std::string& out) const {
  const DetectorStats s = stats();
  http::RenderSample("moat_auditlog_events_total", "counter",
                     "Audit events decoded and run through the rules.", s.events, out);
  http::RenderSample("moat_auditlog_malformed_total", "counter",
                     "Lines or batches skipped: not JSON, not an audit Event, or another "
                     "apiVersion.",
                     s.malformed, out);
  http::RenderSample("moat_auditlog_baseline_alerts_total", "counter",
                     "Alerts of the learned baseline.", s.baseline_alerts, out);
}

}  // namespace moat::auditlog
