#pragma once
// Pieces of the Prometheus text exposition format (0.0.4) shared by every /metrics of Moat
// (moat server, moat worker, the admission webhook), so that each writes histograms and label
// values the same way.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace moat::http {

/// A label value, quoted and escaped as the format wants (backslash, double quote, newline).
std::string PrometheusLabelValue(std::string_view text);

/// A sample or bound as Prometheus reads it: "0.00025", "5", "1e-09".
std::string PrometheusNumber(double value);

/// Appends one unlabelled sample with its "# HELP" and "# TYPE" lines; `type` is "counter" or
/// "gauge".
void RenderSample(std::string_view name, std::string_view type, std::string_view help,
                  uint64_t value, std::string& out);

/// A histogram with fixed upper bounds (plus +Inf). Not synchronised: its owner updates and
/// renders it under the lock that guards its other counters.
class Histogram {
 public:
  explicit Histogram(std::vector<double> upper_bounds);
  void Observe(double value);
  /// Appends "# HELP", "# TYPE", the cumulative `_bucket{le=...}` lines, `_sum` and `_count`.
  void Render(std::string_view name, std::string_view help, std::string& out) const;

 private:
  std::vector<double> upper_bounds_;
  std::vector<uint64_t> counts_;  // per bound, then +Inf; not cumulative
  double sum_ = 0;
  uint64_t count_ = 0;
};

}  // namespace moat::http
