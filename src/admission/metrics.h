#pragma once
// The webhook's Prometheus metrics (text exposition format 0.0.4): admission requests by
// operation, kind and decision; policy results by policy and action; mutations by name; a latency
// histogram of the decision; errors by reason; configuration reloads.

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <tuple>

#include "http/metrics.h"

namespace moat::admission {

class Metrics {
 public:
  /// decision: "allowed", "denied", "skipped" (no policy covers the request).
  void CountRequest(std::string_view operation, std::string_view kind, std::string_view decision,
                    double seconds);
  /// One violated policy in one request; action: "deny", "warn", "audit".
  void CountPolicy(std::string_view policy, std::string_view action);
  /// One mutation that changed an object on /mutate (dry-run requests not counted).
  void CountMutation(std::string_view mutation);
  /// A request answered with a 4xx/5xx, or a reload that failed: "malformed", "content_type", ...
  void CountError(std::string_view reason);
  void CountReload(bool ok);

  std::string Render() const;

 private:
  mutable std::mutex mutex_;
  std::map<std::tuple<std::string, std::string, std::string>, uint64_t> requests_;
  std::map<std::pair<std::string, std::string>, uint64_t> policies_;
  std::map<std::string, uint64_t> mutations_;
  std::map<std::string, uint64_t> errors_;
  uint64_t reloads_ok_ = 0, reloads_failed_ = 0;
  /// Decision latency in seconds: the decision takes microseconds, so the bounds start low.
  http::Histogram latency_{
      {0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25}};
};

}  // namespace moat::admission
