#include "k8s/report.h"

#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/text_format.h"

namespace moat::k8s {
namespace {

using nlohmann::json;

std::string SarifLevel(Severity s) {
  switch (s) {
    case Severity::kCritical:
    case Severity::kHigh:
      return "error";
    case Severity::kMedium:
      return "warning";
    case Severity::kLow:
      return "note";
  }
  return "warning";
}

std::string SecurityScore(Severity s) {
  switch (s) {
    case Severity::kCritical:
      return "9.5";
    case Severity::kHigh:
      return "8.0";
    case Severity::kMedium:
      return "5.5";
    case Severity::kLow:
      return "3.0";
  }
  return "5.0";
}

/// A relative URI reference for a file path: unreserved characters and '/' kept, the rest
/// percent-encoded.
std::string FileUri(const std::string& path) {
  if (path == "-") return "stdin";
  std::string out;
  for (unsigned char c : path) {
    if (std::isalnum(c) || c == '/' || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      char buffer[4];
      std::snprintf(buffer, sizeof buffer, "%%%02X", c);
      out += buffer;
    }
  }
  return out;
}

json CheckJson(const CheckInfo& info) {
  json params = json::array();
  for (const Parameter& p : info.parameters)
    params.push_back(
        {{"name", p.name}, {"default", p.default_value}, {"description", p.description}});
  return {{"id", info.id},
          {"group", info.group},
          {"title", info.title},
          {"severity", SeverityName(info.severity)},
          {"description", info.description},
          {"remediation", info.remediation},
          {"references", info.references},
          {"parameters", params}};
}

json ErrorsJson(const Assessment& a) {
  json errors = json::array();
  for (const LoadError& e : a.errors) {
    json j = {{"file", e.file}, {"message", e.message}};
    if (e.line > 0) j["line"] = e.line;
    if (e.column > 0) j["column"] = e.column;
    errors.push_back(j);
  }
  return errors;
}

std::string RenderJson(const Assessment& a, const std::string& version) {
  std::map<std::string, size_t> by_severity;
  for (const Finding& f : a.findings) ++by_severity[std::string(SeverityName(f.check->severity))];
  size_t assessed = 0;
  for (ObjectStatus s : a.status) assessed += s == ObjectStatus::kAssessed;
  json out;
  out["tool"] = {{"name", "moat"}, {"version", version}};
  out["pssVersion"] = "v1." + std::to_string(a.pss_minor);
  out["summary"] = {{"files", a.files},
                    {"objects", a.objects.size()},
                    {"assessed", assessed},
                    {"skipped", a.skipped},
                    {"excluded", a.excluded},
                    {"errors", a.errors.size()},
                    {"warnings", a.warnings.size()},
                    {"findings", a.findings.size()},
                    {"bySeverity", by_severity}};
  out["errors"] = ErrorsJson(a);
  out["warnings"] = a.warnings;
  json checks = json::array();
  for (const CheckSummary& c : a.checks) {
    checks.push_back({{"id", c.check->id},
                      {"title", c.check->title},
                      {"severity", SeverityName(c.check->severity)},
                      {"passed", c.passed},
                      {"failed", c.failed},
                      {"exempt", c.exempt}});
  }
  out["checks"] = checks;
  json namespaces = json::array();
  for (const NamespaceSummary& n : a.namespaces) {
    json sev = json::object();
    for (const auto& [s, count] : n.by_severity) sev[std::string(SeverityName(s))] = count;
    namespaces.push_back({{"namespace", n.name},
                          {"objects", n.objects},
                          {"failedObjects", n.failed_objects},
                          {"findings", n.findings},
                          {"bySeverity", sev}});
  }
  out["namespaces"] = namespaces;
  json resources = json::array();
  size_t next = 0;
  for (size_t i = 0; i < a.objects.size(); ++i) {
    const Object& o = a.objects[i];
    json r = {{"kind", o.kind},
              {"apiVersion", o.api_version},
              {"name", o.name},
              {"namespace", o.EffectiveNamespace()}};
    if (o.live) {
      r["url"] = o.file;
    } else {
      r["file"] = o.file;
      r["document"] = o.document + 1;
      if (!o.item_path.empty()) r["itemPath"] = o.item_path;
      if (o.root.line > 0) r["line"] = o.root.line;
    }
    const char* status = a.status[i] == ObjectStatus::kSkippedKind         ? "skipped"
                         : a.status[i] == ObjectStatus::kExcludedNamespace ? "excluded"
                                                                           : "pass";
    json findings = json::array();
    while (next < a.findings.size() && a.findings[next].object == i) {
      const Finding& f = a.findings[next++];
      json fj = {{"checkId", f.check->id},
                 {"title", f.check->title},
                 {"severity", SeverityName(f.check->severity)},
                 {"message", f.message},
                 {"path", f.path},
                 {"remediation", f.check->remediation}};
      if (!o.live && f.line > 0) fj["line"] = f.line;
      if (!o.live && f.column > 0) fj["column"] = f.column;
      findings.push_back(fj);
    }
    if (!findings.empty()) status = "fail";
    r["status"] = status;
    json ran = json::array();
    for (uint16_t c : a.evaluated[i]) ran.push_back(a.checks[c].check->id);
    r["checks"] = ran;
    r["findings"] = findings;
    resources.push_back(std::move(r));
  }
  out["resources"] = resources;
  return out.dump(2) + "\n";
}

std::string RenderSarif(const Assessment& a, const std::string& version) {
  json rules = json::array();
  std::map<const CheckInfo*, size_t> rule_index;
  for (const CheckSummary& c : a.checks) {
    const CheckInfo& info = *c.check;
    rule_index[&info] = rules.size();
    std::string help = info.remediation;
    for (const std::string& r : info.references) help += "\n- " + r;
    rules.push_back({{"id", info.id},
                     {"name", info.title},
                     {"shortDescription", {{"text", info.title}}},
                     {"fullDescription", {{"text", info.description}}},
                     {"help", {{"text", help}}},
                     {"defaultConfiguration", {{"level", SarifLevel(info.severity)}}},
                     {"properties",
                      {{"tags", json::array({"security", "kubernetes", info.group})},
                       {"security-severity", SecurityScore(info.severity)}}}});
  }
  json results = json::array();
  for (const Finding& f : a.findings) {
    const Object& o = a.objects[f.object];
    json location = {
        {"logicalLocations", json::array({{{"fullyQualifiedName", o.Reference() + "#" + f.path},
                                           {"kind", "object"}}})}};
    // A live object has no file to point at: its logical location (namespace/kind/name) is it.
    if (!o.live) {
      json physical = {{"artifactLocation", {{"uri", FileUri(o.file)}}}};
      if (f.line > 0) {
        json region = {{"startLine", f.line}};
        if (f.column > 0) region["startColumn"] = f.column;
        physical["region"] = region;
      }
      location["physicalLocation"] = physical;
    }
    results.push_back({{"ruleId", f.check->id},
                       {"ruleIndex", rule_index[f.check]},
                       {"level", SarifLevel(f.check->severity)},
                       {"message", {{"text", o.Reference() + ": " + f.message}}},
                       {"locations", json::array({location})}});
  }
  json notifications = json::array();
  for (const LoadError& e : a.errors) {
    json physical = {{"artifactLocation", {{"uri", FileUri(e.file)}}}};
    if (e.line > 0) physical["region"] = {{"startLine", e.line}};
    notifications.push_back({{"level", "error"},
                             {"message", {{"text", e.message}}},
                             {"locations", json::array({{{"physicalLocation", physical}}})}});
  }
  for (const std::string& w : a.warnings)
    notifications.push_back({{"level", "warning"}, {"message", {{"text", w}}}});
  json run = {{"tool",
               {{"driver",
                 {{"name", "moat"},
                  {"version", version},
                  {"informationUri", "https://github.com/moat-security/moat"},
                  {"rules", rules}}}}},
              {"results", results}};
  run["invocations"] = json::array(
      {{{"executionSuccessful", a.errors.empty()}, {"toolExecutionNotifications", notifications}}});
  json out = {{"$schema", "https://json.schemastore.org/sarif-2.1.0.json"},
              {"version", "2.1.0"},
              {"runs", json::array({run})}};
  return out.dump(2) + "\n";
}

std::string RenderJunit(const Assessment& a) {
  std::ostringstream body;
  size_t total_tests = 0, total_failures = 0;
  size_t next = 0;
  for (size_t i = 0; i < a.objects.size(); ++i) {
    if (a.status[i] != ObjectStatus::kAssessed) continue;
    const Object& o = a.objects[i];
    while (next < a.findings.size() && a.findings[next].object < i) ++next;
    std::map<const CheckInfo*, std::vector<const Finding*>> by_check;
    for (size_t k = next; k < a.findings.size() && a.findings[k].object == i; ++k)
      by_check[a.findings[k].check].push_back(&a.findings[k]);
    std::ostringstream cases;
    for (uint16_t c : a.evaluated[i]) {
      const CheckInfo* info = a.checks[c].check;
      cases << "    <testcase classname=\"" << XmlEscape(o.Reference()) << "\" name=\""
            << XmlEscape(info->id) << "\" file=\"" << XmlEscape(o.live ? o.Location(0) : o.file)
            << "\"";
      auto it = by_check.find(info);
      if (it == by_check.end()) {
        cases << "/>\n";
        continue;
      }
      cases << ">\n      <failure type=\"" << SeverityName(info->severity) << "\" message=\""
            << XmlEscape(it->second.front()->message) << "\">";
      for (const Finding* f : it->second)
        cases << XmlEscape(o.Location(f->line) + " " + f->path + ": " + f->message) << "\n";
      cases << "</failure>\n    </testcase>\n";
    }
    total_tests += a.evaluated[i].size();
    total_failures += by_check.size();
    body << "  <testsuite name=\"" << XmlEscape(o.Reference()) << "\" tests=\""
         << a.evaluated[i].size() << "\" failures=\"" << by_check.size() << "\" errors=\"0\">\n"
         << cases.str() << "  </testsuite>\n";
  }
  for (const LoadError& e : a.errors) {
    ++total_tests;
    body << "  <testsuite name=\"" << XmlEscape(e.file) << "\" tests=\"1\" failures=\"0\" "
         << "errors=\"1\">\n    <testcase classname=\"input\" name=\"parse\">\n      <error "
         << "message=\"" << XmlEscape(e.ToString()) << "\"/>\n    </testcase>\n  </testsuite>\n";
  }
  std::ostringstream out;
  out << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"moat k8s\" tests=\""
      << total_tests << "\" failures=\"" << total_failures << "\" errors=\"" << a.errors.size()
      << "\">\n"
      << body.str() << "</testsuites>\n";
  return out.str();
}

std::string RenderTable(const Assessment& a) {
  std::ostringstream out;
  for (const LoadError& e : a.errors) out << "ERROR  " << e.ToString() << "\n";
  for (const std::string& w : a.warnings) out << "WARN   " << w << "\n";
  if (!a.errors.empty() || !a.warnings.empty()) out << "\n";
  size_t last = SIZE_MAX;
  for (const Finding& f : a.findings) {
    const Object& o = a.objects[f.object];
    if (f.object != last) {
      // A live object's location is its namespace/kind/name, already on every finding line.
      out << o.Reference();
      if (!o.live) out << "  (" << o.Location(o.root.line) << ")";
      out << "\n";
      last = f.object;
    }
    char sev[16];
    std::snprintf(sev, sizeof sev, "%-8s", std::string(SeverityName(f.check->severity)).c_str());
    out << "  " << sev << " " << f.check->id << "  " << o.Location(f.line) << "\n      "
        << f.message << "\n      at " << f.path << "\n";
  }
  if (!a.findings.empty()) out << "\n";
  out << "Checks (PSS v1." << a.pss_minor << ")\n";
  char line[256];
  std::snprintf(line, sizeof line, "  %-40s %-9s %7s %7s %7s\n", "CHECK", "SEVERITY", "FAILED",
                "PASSED", "EXEMPT");
  out << line;
  for (const CheckSummary& c : a.checks) {
    std::snprintf(line, sizeof line, "  %-40s %-9s %7zu %7zu %7zu\n", c.check->id.c_str(),
                  std::string(SeverityName(c.check->severity)).c_str(), c.failed, c.passed,
                  c.exempt);
    out << line;
  }
  out << "\nNamespaces\n";
  std::snprintf(line, sizeof line, "  %-30s %8s %8s %9s %9s %6s %6s %6s\n", "NAMESPACE", "OBJECTS",
                "FAILED", "FINDINGS", "CRITICAL", "HIGH", "MEDIUM", "LOW");
  out << line;
  for (const NamespaceSummary& n : a.namespaces) {
    auto count = [&](Severity s) {
      auto it = n.by_severity.find(s);
      return it == n.by_severity.end() ? size_t{0} : it->second;
    };
    std::snprintf(line, sizeof line, "  %-30s %8zu %8zu %9zu %9zu %6zu %6zu %6zu\n",
                  n.name.empty() ? "(cluster)" : n.name.c_str(), n.objects, n.failed_objects,
                  n.findings, count(Severity::kCritical), count(Severity::kHigh),
                  count(Severity::kMedium), count(Severity::kLow));
    out << line;
  }
  size_t assessed = 0;
  for (ObjectStatus s : a.status) assessed += s == ObjectStatus::kAssessed;
  out << "\n"
      << a.objects.size() << " objects"
      << (a.files > 0 ? " in " + std::to_string(a.files) + " files" : std::string()) << ": "
      << assessed << " assessed, " << a.skipped << " skipped (kinds no check covers), "
      << a.excluded << " in excluded namespaces; " << a.findings.size() << " findings, "
      << a.errors.size() << " errors"
      << (a.warnings.empty() ? "" : ", " + std::to_string(a.warnings.size()) + " warnings") << "\n";
  return out.str();
}

}  // namespace

Result<std::string> RenderAssessment(const Assessment& assessment, std::string_view format,
                                     const std::string& tool_version) {
  if (format == "table") return RenderTable(assessment);
  if (format == "json") return RenderJson(assessment, tool_version);
  if (format == "sarif") return RenderSarif(assessment, tool_version);
  if (format == "junit") return RenderJunit(assessment);
  return Fail("unknown format \"", std::string(format), "\" (table, json, sarif, junit)");
}

std::string RenderCheckList(std::string_view format) {
  if (format == "json") {
    json out = json::array();
    for (const CheckInfo& info : AllChecks()) out.push_back(CheckJson(info));
    return out.dump(2) + "\n";
  }
  std::ostringstream out;
  char line[256];
  for (const CheckInfo& info : AllChecks()) {
    std::snprintf(line, sizeof line, "%-38s %-9s %-15s %s\n", info.id.c_str(),
                  std::string(SeverityName(info.severity)).c_str(), info.group.c_str(),
                  info.title.c_str());
    out << line;
    for (const Parameter& p : info.parameters)
      out << "    param " << p.name << " (default \"" << p.default_value << "\"): " << p.description
          << "\n";
  }
  return out.str();
}

}  // namespace moat::k8s
