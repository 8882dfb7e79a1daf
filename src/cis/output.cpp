#include "cis/output.h"

#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>

#include "core/text_format.h"

namespace moat::cis {
namespace {

using Json = nlohmann::ordered_json;

std::string SectionOf(const std::string& id) { return id.substr(0, id.find('.')); }

const Group* FindGroup(const BenchReport& report, const std::string& id) {
  for (const auto& group : report.groups) {
    if (group.id == id) return &group;
  }
  return nullptr;
}

std::string GroupTitle(const BenchReport& report, const std::string& id) {
  const Group* group = FindGroup(report, id);
  return group == nullptr ? id : group->title;
}

Json TotalsJson(const Totals& t) {
  char score[16];
  std::snprintf(score, sizeof score, "%.1f", t.Score());
  return Json{{"pass", t.pass},           {"fail", t.fail},
              {"warn", t.warn},           {"info", t.info},
              {"manual", t.manual},       {"not_applicable", t.not_applicable},
              {"automated", t.automated}, {"automated_passed", t.automated_passed},
              {"score", std::stod(score)}};
}

Json CheckJson(const ControlResult& r) {
  Json check{{"id", r.control.id},
             {"title", r.control.title},
             {"result", StatusName(r.outcome.status)},
             {"level", r.control.level},
             {"automated", r.control.automated},
             {"evidence", r.outcome.evidence},
             {"remediation", r.control.remediation},
             {"reads", r.control.reads},
             {"condition", r.control.condition}};
  if (!r.outcome.reason.empty()) check["reason"] = r.outcome.reason;
  return check;
}

// Results grouped by section then group, in result order.
std::vector<
    std::pair<std::string, std::vector<std::pair<std::string, std::vector<const ControlResult*>>>>>
Grouped(const BenchReport& report) {
  std::vector<std::pair<std::string,
                        std::vector<std::pair<std::string, std::vector<const ControlResult*>>>>>
      sections;
  for (const auto& r : report.results) {
    std::string section = SectionOf(r.control.id);
    if (sections.empty() || sections.back().first != section) sections.push_back({section, {}});
    auto& groups = sections.back().second;
    if (groups.empty() || groups.back().first != r.control.group) {
      groups.push_back({r.control.group, {}});
    }
    groups.back().second.push_back(&r);
  }
  return sections;
}

std::string RenderJson(const BenchReport& report) {
  Json host = Json::object();
  for (const auto& [key, value] : report.summary) host[key] = value;
  Json controls = Json::array();
  for (const auto& [section, groups] : Grouped(report)) {
    Json groups_json = Json::array();
    std::vector<ControlResult> section_results;
    for (const auto& [group, results] : groups) {
      Json checks = Json::array();
      std::vector<ControlResult> group_results;
      for (const ControlResult* r : results) {
        checks.push_back(CheckJson(*r));
        group_results.push_back(*r);
        section_results.push_back(*r);
      }
      groups_json.push_back(Json{{"id", group},
                                 {"text", GroupTitle(report, group)},
                                 {"checks", std::move(checks)},
                                 {"totals", TotalsJson(ComputeTotals(group_results))}});
    }
    controls.push_back(Json{{"id", section},
                            {"text", GroupTitle(report, section)},
                            {"groups", std::move(groups_json)},
                            {"totals", TotalsJson(ComputeTotals(section_results))}});
  }
  Json out{{"benchmark", report.benchmark},
           {"version", report.benchmark_version},
           {"tool", Json{{"name", "moat"}, {"version", report.tool_version}}},
           {"timestamp", report.timestamp},
           {"target", report.target},
           {"host", std::move(host)},
           {"notes", report.notes},
           {"controls", std::move(controls)},
           {"totals", TotalsJson(report.totals)}};
  return out.dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
}

std::string RenderTable(const BenchReport& report) {
  std::string out;
  out += report.benchmark + " v" + report.benchmark_version + " - " + report.target + "\n";
  size_t width = 0;
  for (const auto& [key, value] : report.summary) width = std::max(width, key.size());
  for (const auto& [key, value] : report.summary) {
    out += "  " + key + ":" + std::string(width + 1 - key.size(), ' ') + value + "\n";
  }
  for (const auto& note : report.notes) out += "  note: " + note + "\n";
  for (const auto& [section, groups] : Grouped(report)) {
    out += "\n[" + section + "] " + GroupTitle(report, section) + "\n";
    for (const auto& [group, results] : groups) {
      if (group != section) out += "  " + group + " " + GroupTitle(report, group) + "\n";
      for (const ControlResult* r : results) {
        std::string status = "[" + std::string(StatusName(r->outcome.status)) + "]";
        if (status.size() < 16) status += std::string(16 - status.size(), ' ');
        out += status + " " + r->control.id + "  " + r->control.title +
               (r->control.automated ? "" : " (manual)") + "\n";
        if (!r->outcome.reason.empty()) out += "                   " + r->outcome.reason + "\n";
        for (const auto& line : r->outcome.evidence) out += "                   * " + line + "\n";
      }
    }
  }
  const Totals& t = report.totals;
  char score[64];
  std::snprintf(score, sizeof score, "%.1f%% (%zu/%zu automated controls passed)", t.Score(),
                t.automated_passed, t.automated);
  out += "\n" + std::to_string(report.results.size()) + " controls: " + std::to_string(t.pass) +
         " PASS, " + std::to_string(t.fail) + " FAIL, " + std::to_string(t.warn) + " WARN, " +
         std::to_string(t.info) + " INFO, " + std::to_string(t.manual) + " MANUAL, " +
         std::to_string(t.not_applicable) + " NOT_APPLICABLE\nScore: " + score + "\n";
  return out;
}

std::string RenderSarif(const BenchReport& report) {
  Json rules = Json::array();
  Json results = Json::array();
  for (size_t i = 0; i < report.results.size(); ++i) {
    const ControlResult& r = report.results[i];
    rules.push_back(
        Json{{"id", r.control.id},
             {"name", "CIS-Docker-" + r.control.id},
             {"shortDescription", Json{{"text", r.control.title}}},
             {"fullDescription",
              Json{{"text", r.control.condition.empty() ? r.control.title : r.control.condition}}},
             {"help", Json{{"text", r.control.remediation}}},
             {"properties", Json{{"level", r.control.level},
                                 {"automated", r.control.automated},
                                 {"tags", Json::array({"security", "cis", "docker"})}}}});
    if (r.outcome.status != Status::kFail && r.outcome.status != Status::kWarn) continue;
    std::string message = r.control.title;
    if (!r.outcome.reason.empty()) message += ": " + r.outcome.reason;
    for (const auto& line : r.outcome.evidence) message += "\n- " + line;
    results.push_back(Json{
        {"ruleId", r.control.id},
        {"ruleIndex", i},
        {"level", r.outcome.status == Status::kFail ? "error" : "warning"},
        {"message", Json{{"text", message}}},
        {"locations",
         Json::array({Json{{"logicalLocations",
                            Json::array({Json{{"name", report.target}, {"kind", "resource"}}})}}})},
        {"properties",
         Json{{"result", StatusName(r.outcome.status)}, {"evidence", r.outcome.evidence}}}});
  }
  Json sarif{
      {"$schema", "https://json.schemastore.org/sarif-2.1.0.json"},
      {"version", "2.1.0"},
      {"runs",
       Json::array({Json{
           {"tool", Json{{"driver", Json{{"name", "moat"},
                                         {"version", report.tool_version},
                                         {"informationUri", "https://github.com/moat/moat"},
                                         {"rules", std::move(rules)}}}}},
           {"results", std::move(results)},
           {"properties", Json{{"benchmark", report.benchmark + " " + report.benchmark_version},
                               {"target", report.target},
                               {"totals", TotalsJson(report.totals)}}}}})}};
  return sarif.dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
}

std::string RenderJunit(const BenchReport& report) {
  std::string suites;
  size_t total_tests = 0, total_failures = 0, total_skipped = 0;
  for (const auto& [section, groups] : Grouped(report)) {
    std::string cases;
    size_t tests = 0, failures = 0, skipped = 0;
    for (const auto& [group, results] : groups) {
      for (const ControlResult* r : results) {
        ++tests;
        std::string body;
        for (const auto& line : r->outcome.evidence) body += line + "\n";
        std::string name = r->control.id + " " + r->control.title;
        cases += "    <testcase classname=\"cis-docker." + XmlEscape(group) + "\" name=\"" +
                 XmlEscape(name) + "\">\n";
        std::string reason = r->outcome.reason.empty() ? std::string(StatusName(r->outcome.status))
                                                       : r->outcome.reason;
        if (r->outcome.status == Status::kFail) {
          ++failures;
          cases += "      <failure message=\"" + XmlEscape(r->control.title) + "\" type=\"FAIL\">" +
                   XmlEscape(body + "Remediation: " + r->control.remediation) + "</failure>\n";
        } else if (r->outcome.status == Status::kNotApplicable ||
                   r->outcome.status == Status::kManual) {
          ++skipped;
          cases += "      <skipped message=\"" +
                   XmlEscape(std::string(StatusName(r->outcome.status)) + ": " + reason) + "\"/>\n";
        }
        cases += "      <system-out>" +
                 XmlEscape(std::string(StatusName(r->outcome.status)) + "\n" +
                           (r->outcome.reason.empty() ? "" : reason + "\n") + body) +
                 "</system-out>\n    </testcase>\n";
      }
    }
    suites += "  <testsuite name=\"" + XmlEscape(section + " " + GroupTitle(report, section)) +
              "\" tests=\"" + std::to_string(tests) + "\" failures=\"" + std::to_string(failures) +
              "\" errors=\"0\" skipped=\"" + std::to_string(skipped) + "\">\n" + cases +
              "  </testsuite>\n";
    total_tests += tests;
    total_failures += failures;
    total_skipped += skipped;
  }
  return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"" +
         XmlEscape(report.benchmark + " " + report.benchmark_version) + "\" tests=\"" +
         std::to_string(total_tests) + "\" failures=\"" + std::to_string(total_failures) +
         "\" errors=\"0\" skipped=\"" + std::to_string(total_skipped) + "\">\n" + suites +
         "</testsuites>\n";
}

}  // namespace

Result<std::string> RenderBenchReport(const BenchReport& report, std::string_view format) {
  if (format == "json") return RenderJson(report);
  if (format == "table") return RenderTable(report);
  if (format == "sarif") return RenderSarif(report);
  if (format == "junit") return RenderJunit(report);
  return Fail("unknown format \"", format, "\" (table, json, sarif, junit)");
}

}  // namespace moat::cis
