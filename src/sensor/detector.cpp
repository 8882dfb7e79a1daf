#include "sensor/detector.h"

#include "http/metrics.h"
#include "rules/output.h"
#include "sensor/rules_event.h"

namespace moat::sensor {

Result<std::unique_ptr<Detector>> Detector::Create(const DetectorOptions& options,
                                                   rules::AlertOutputs* outputs,
                                                   rules::LoadReport* report) {
  std::unique_ptr<Detector> detector(new Detector());
  detector->outputs_ = outputs;
  detector->source_ = rules::MakeSyscallSource();
  MOAT_ASSIGN_OR_RETURN(rules::LoadReport loaded,
                        rules::LoadRules(detector->engine_, detector->source_,
                                         {{kBuiltinRulesName, BuiltinNodeRules()}}, options));
  if (report) *report = std::move(loaded);
  return detector;
}

std::vector<Alert> Detector::Evaluate(const rules::SyscallEvent& event) const {
  return engine_.Evaluate(*source_, event);
}

void Detector::Process(const EnrichedEvent& enriched) {
  const uint64_t number = ++events_;
  FillSyscallEvent(enriched, number, event_);
  std::vector<Alert> alerts = Evaluate(event_);
  if (alerts.empty()) return;
  alerts_ += alerts.size();
  if (!outputs_) return;
  for (Alert& alert : alerts) outputs_->Emit(std::move(alert));
}

void Detector::RenderMetrics(std::string& out) const {
  const DetectorStats s = stats();
  http::RenderSample("moat_sensor_rule_events_total", "counter", "Events run through the rules.",
                     s.events, out);
  http::RenderSample("moat_sensor_rule_alerts_total", "counter",
                     "Alerts the rules raised, before the outputs' rate limit.", s.alerts, out);
  http::RenderSample("moat_sensor_rules_enabled", "gauge", "Enabled syscall rules.",
                     engine_.EnabledCount(rules::kSyscallSourceName), out);
}

}  // namespace moat::sensor
