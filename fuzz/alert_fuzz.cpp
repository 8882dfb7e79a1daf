// libFuzzer target for alerts posted to the server (agents, sensors, audit-log detectors, Falco):
// one alert, a batch in every accepted form, and what the server then does with a parsed alert
// (canonical JSON, which must parse back to the same alert; dedupe and incident keys;
// correlation).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "core/alert.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::vector<moat::Alert> alerts;
  auto one = moat::ParseAlert(text, "fuzz.json");
  if (one.ok()) alerts.push_back(*one);
  auto batch = moat::ParseAlertBatch(text, "fuzz.jsonl");
  if (batch.ok()) {
    for (auto& item : *batch) {
      if (item.ok()) alerts.push_back(std::move(*item));
    }
  }
  for (const moat::Alert& alert : alerts) {
    auto again = moat::ParseAlert(moat::AlertToJson(alert), "canonical");
    // The canonical form of a parsed alert is a valid alert with the same content.
    if (!again.ok() || !(*again == alert)) std::abort();
    (void)moat::AlertDedupeKey(alert);
    (void)moat::SeedAlertType(alert);
  }
  (void)moat::CorrelateIncidents(alerts);
  (void)moat::AlertsToJson(alerts);
  return 0;
}
