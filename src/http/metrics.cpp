#include "http/metrics.h"

#include <algorithm>
#include <cstdio>

namespace moat::http {

std::string PrometheusLabelValue(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  out += '"';
  for (char c : text) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  out += '"';
  return out;
}

std::string PrometheusNumber(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.9g", value);
  return text;
}

Histogram::Histogram(std::vector<double> upper_bounds)
    : upper_bounds_(std::move(upper_bounds)), counts_(upper_bounds_.size() + 1, 0) {
  std::sort(upper_bounds_.begin(), upper_bounds_.end());
}

void Histogram::Observe(double value) {
  // The first bound at or above the value: Prometheus buckets are "le" (less or equal).
  size_t bucket =
      std::lower_bound(upper_bounds_.begin(), upper_bounds_.end(), value) - upper_bounds_.begin();
  ++counts_[bucket];
  sum_ += value;
  ++count_;
}

void Histogram::Render(std::string_view name, std::string_view help, std::string& out) const {
  const std::string metric(name);
  out += "# HELP " + metric + " " + std::string(help) + "\n";
  out += "# TYPE " + metric + " histogram\n";
  uint64_t cumulative = 0;
  for (size_t i = 0; i < upper_bounds_.size(); ++i) {
    cumulative += counts_[i];
    out += metric + "_bucket{le=\"" + PrometheusNumber(upper_bounds_[i]) + "\"} " +
           std::to_string(cumulative) + "\n";
  }
  cumulative += counts_.back();
  out += metric + "_bucket{le=\"+Inf\"} " + std::to_string(cumulative) + "\n";
  out += metric + "_sum " + PrometheusNumber(sum_) + "\n";
  out += metric + "_count " + std::to_string(count_) + "\n";
}

void RenderSample(std::string_view name, std::string_view type, std::string_view help,
                  uint64_t value, std::string& out) {
  out.append("# HELP ").append(name).append(" ").append(help).append("\n");
  out.append("# TYPE ").append(name).append(" ").append(type).append("\n");
  out.append(name).append(" ").append(std::to_string(value)).append("\n");
}

}  // namespace moat::http
