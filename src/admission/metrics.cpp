// Prometheus text exposition of the webhook's counters.

#include "admission/metrics.h"

namespace moat::admission {
using http::PrometheusLabelValue;

void Metrics::CountRequest(std::string_view operation, std::string_view kind,
                           std::string_view decision, double seconds) {
  std::lock_guard lock(mutex_);
  ++requests_[{std::string(operation), std::string(kind), std::string(decision)}];
  latency_.Observe(seconds);
}

void Metrics::CountPolicy(std::string_view policy, std::string_view action) {
  std::lock_guard lock(mutex_);
  ++policies_[{std::string(policy), std::string(action)}];
}

void Metrics::CountMutation(std::string_view mutation) {
  std::lock_guard lock(mutex_);
  ++mutations_[std::string(mutation)];
}

void Metrics::CountError(std::string_view reason) {
  std::lock_guard lock(mutex_);
  ++errors_[std::string(reason)];
}

void Metrics::CountReload(bool ok) {
  std::lock_guard lock(mutex_);
  ++(ok ? reloads_ok_ : reloads_failed_);
}

std::string Metrics::Render() const {
  std::lock_guard lock(mutex_);
  std::string out;
  out +=
      "# HELP moat_admission_requests_total Admission reviews by operation, kind and decision "
      "(skipped: no policy covers the request).\n"
      "# TYPE moat_admission_requests_total counter\n";
  for (const auto& [key, n] : requests_) {
    out += "moat_admission_requests_total{operation=" + PrometheusLabelValue(std::get<0>(key)) +
           ",kind=" + PrometheusLabelValue(std::get<1>(key)) +
           ",decision=" + PrometheusLabelValue(std::get<2>(key)) + "} " + std::to_string(n) + "\n";
  }
  out +=
      "# HELP moat_admission_policy_violations_total Violated policies by policy and action "
      "(dry-run requests not counted).\n"
      "# TYPE moat_admission_policy_violations_total counter\n";
  for (const auto& [key, n] : policies_) {
    out += "moat_admission_policy_violations_total{policy=" + PrometheusLabelValue(key.first) +
           ",action=" + PrometheusLabelValue(key.second) + "} " + std::to_string(n) + "\n";
  }
  out +=
      "# HELP moat_admission_mutations_total Objects changed on /mutate, by mutation (dry-run "
      "requests not counted).\n"
      "# TYPE moat_admission_mutations_total counter\n";
  for (const auto& [mutation, n] : mutations_) {
    out += "moat_admission_mutations_total{mutation=" + PrometheusLabelValue(mutation) + "} " +
           std::to_string(n) + "\n";
  }
  latency_.Render("moat_admission_decision_duration_seconds",
                  "Time from the request body to the response body.", out);
  out +=
      "# HELP moat_admission_errors_total Requests refused before a decision, by reason.\n"
      "# TYPE moat_admission_errors_total counter\n";
  for (const auto& [reason, n] : errors_) {
    out += "moat_admission_errors_total{reason=" + PrometheusLabelValue(reason) + "} " +
           std::to_string(n) + "\n";
  }
  out +=
      "# HELP moat_admission_config_reloads_total Configuration reloads by result.\n"
      "# TYPE moat_admission_config_reloads_total counter\n";
  out += "moat_admission_config_reloads_total{result=\"ok\"} " + std::to_string(reloads_ok_) + "\n";
  out += "moat_admission_config_reloads_total{result=\"failed\"} " +
         std::to_string(reloads_failed_) + "\n";
  return out;
}

}  // namespace moat::admission
