#pragma once
// The sensor's detector (docs/sensor.md "Alerts"): the rules engine with the "syscall" source,
// loaded with Moat's built-in node rules (src/sensor/rules/node_rules.yaml, compiled in) and then
// the --rules files, which may append to and override them. Each enriched event becomes a
// rules::SyscallEvent (rules_event.h), the engine's alerts go to the outputs (rules/output.h).

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/alert.h"
#include "core/result.h"
#include "rules/engine.h"
#include "rules/rule_loader.h"
#include "rules/syscall_event.h"
#include "sensor/event_json.h"

namespace moat::rules {
class AlertOutputs;
}

namespace moat::sensor {

/// The built-in node rules' YAML and the name errors and reports give it.
inline constexpr std::string_view kBuiltinRulesName = "builtin:node_rules.yaml";
std::string_view BuiltinNodeRules();

/// The --rules files loaded after the built-in rules (rules/rule_loader.h).
using DetectorOptions = rules::RuleFileOptions;

struct DetectorStats {
  uint64_t events = 0;  // events evaluated
  uint64_t alerts = 0;  // alerts raised (before the outputs' rate limit)
};

class Detector {
 public:
  /// Loads and compiles the rules; `report` receives what Compile() made of them (rules of
  /// fields the syscall source lacks are disabled and listed there). `outputs` (may be null:
  /// Evaluate only) must outlive the detector.
  static Result<std::unique_ptr<Detector>> Create(const DetectorOptions& options,
                                                  rules::AlertOutputs* outputs,
                                                  rules::LoadReport* report = nullptr);

  /// Converts, evaluates and emits. Called from one thread (the event thread, or the sensor's
  /// rules thread): the converted event is reused.
  void Process(const EnrichedEvent& enriched);
  /// The alerts of one event, without emitting them. Thread-safe.
  std::vector<Alert> Evaluate(const rules::SyscallEvent& event) const;

  const rules::Engine& engine() const { return engine_; }
  DetectorStats stats() const { return {events_.load(), alerts_.load()}; }
  /// moat_sensor_rule_* counters and the number of enabled rules.
  void RenderMetrics(std::string& out) const;

 private:
  Detector() = default;

  rules::Engine engine_;
  std::shared_ptr<const rules::EventSource> source_;
  rules::AlertOutputs* outputs_ = nullptr;
  rules::SyscallEvent event_;  // Process()'s, reused: its storage outlives one event
  std::atomic<uint64_t> events_{0};
  std::atomic<uint64_t> alerts_{0};
};

}  // namespace moat::sensor
