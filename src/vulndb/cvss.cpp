#include "vulndb/cvss.h"

#include <cmath>
#include <map>
#include <vector>

namespace moat::vulndb {
namespace {

// Splits "K:V/K:V" into a map; false on a malformed or repeated metric.
bool ParseMetrics(std::string_view text, std::map<std::string, std::string>& metrics) {
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find('/', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view part = text.substr(start, end - start);
    size_t colon = part.find(':');
    if (colon == std::string_view::npos || colon == 0 || colon + 1 == part.size()) return false;
    if (!metrics.emplace(std::string(part.substr(0, colon)), std::string(part.substr(colon + 1)))
             .second) {
      return false;
    }
    start = end + 1;
    if (end == text.size()) break;
  }
  return true;
}

// CVSS v3.1 Roundup: the smallest number, to 1 decimal place, equal to or above the input,
// computed in integers to avoid floating point surprises (specification Appendix A).
double Roundup(double value) {
  long long int_input = std::llround(value * 100000);
  if (int_input % 10000 == 0) return static_cast<double>(int_input) / 100000.0;
  return (std::floor(static_cast<double>(int_input) / 10000) + 1) / 10.0;
}

std::optional<double> Lookup(const std::map<std::string, std::string>& metrics,
                             const std::string& key,
                             const std::vector<std::pair<std::string, double>>& table) {
  auto it = metrics.find(key);
  if (it == metrics.end()) return std::nullopt;
  for (const auto& [name, value] : table) {
    if (name == it->second) return value;
  }
  return std::nullopt;
}

}  // namespace

std::optional<double> Cvss3BaseScore(std::string_view vector) {
  bool v30 = vector.starts_with("CVSS:3.0/");
  if (!v30 && !vector.starts_with("CVSS:3.1/")) return std::nullopt;
  std::map<std::string, std::string> m;
  if (!ParseMetrics(vector.substr(9), m)) return std::nullopt;
  auto scope_it = m.find("S");
  if (scope_it == m.end() || (scope_it->second != "U" && scope_it->second != "C")) {
    return std::nullopt;
  }
  bool changed = scope_it->second == "C";
  auto av = Lookup(m, "AV", {{"N", 0.85}, {"A", 0.62}, {"L", 0.55}, {"P", 0.2}});
  auto ac = Lookup(m, "AC", {{"L", 0.77}, {"H", 0.44}});
  auto pr = changed ? Lookup(m, "PR", {{"N", 0.85}, {"L", 0.68}, {"H", 0.5}})
                    : Lookup(m, "PR", {{"N", 0.85}, {"L", 0.62}, {"H", 0.27}});
  auto ui = Lookup(m, "UI", {{"N", 0.85}, {"R", 0.62}});
  std::vector<std::pair<std::string, double>> cia = {{"H", 0.56}, {"L", 0.22}, {"N", 0}};
  auto c = Lookup(m, "C", cia);
  auto i = Lookup(m, "I", cia);
  auto a = Lookup(m, "A", cia);
  if (!av || !ac || !pr || !ui || !c || !i || !a) return std::nullopt;
  double iss = 1 - ((1 - *c) * (1 - *i) * (1 - *a));
  double impact = changed ? 7.52 * (iss - 0.029) - 3.25 * std::pow(iss - 0.02, 15) : 6.42 * iss;
  double exploitability = 8.22 * *av * *ac * *pr * *ui;
  if (impact <= 0) return 0.0;
  // v3.0 rounds up with a plain ceiling; v3.1's Roundup avoids floating point artefacts.
  auto round_up = [v30](double x) { return v30 ? std::ceil(x * 10) / 10 : Roundup(x); };
  if (changed) return round_up(std::min(1.08 * (impact + exploitability), 10.0));
  return round_up(std::min(impact + exploitability, 10.0));
}

std::optional<double> Cvss2BaseScore(std::string_view vector) {
  if (vector.starts_with("(") && vector.ends_with(")")) {
    vector = vector.substr(1, vector.size() - 2);
  }
  std::map<std::string, std::string> m;
  if (!ParseMetrics(vector, m)) return std::nullopt;
  auto av = Lookup(m, "AV", {{"L", 0.395}, {"A", 0.646}, {"N", 1.0}});
  auto ac = Lookup(m, "AC", {{"H", 0.35}, {"M", 0.61}, {"L", 0.71}});
  auto au = Lookup(m, "Au", {{"M", 0.45}, {"S", 0.56}, {"N", 0.704}});
  std::vector<std::pair<std::string, double>> cia = {{"N", 0}, {"P", 0.275}, {"C", 0.660}};
  auto c = Lookup(m, "C", cia);
  auto i = Lookup(m, "I", cia);
  auto a = Lookup(m, "A", cia);
  if (!av || !ac || !au || !c || !i || !a) return std::nullopt;
  double impact = 10.41 * (1 - (1 - *c) * (1 - *i) * (1 - *a));
  double exploitability = 20 * *av * *ac * *au;
  double f = impact == 0 ? 0 : 1.176;
  double score = ((0.6 * impact) + (0.4 * exploitability) - 1.5) * f;
  return std::round(score * 10) / 10;
}

std::string CvssSeverity(double score) {
  if (score == 0) return "none";
  if (score < 4) return "low";
  if (score < 7) return "medium";
  if (score < 9) return "high";
  return "critical";
}

std::string Cvss2Severity(double score) {
  if (score < 4) return "low";
  if (score < 7) return "medium";
  return "high";
}

}  // namespace moat::vulndb
