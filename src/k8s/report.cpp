#include "k8s/report.h"

#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <ostream>
#include <sstream>

#include "core/json_writer.h"
#include "core/text_format.h"

namespace moat::k8s {
namespace {

// The writers stream: every report is written to the output while it is produced, so a report
// of millions of findings needs no more memory than the findings themselves. JSON and SARIF keep
// the text nlohmann::json::dump(2) printed when they were built as trees: keys in sorted order,
// two-space indentation.

using nlohmann::json;

std::string_view SarifLevel(Severity s) {
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

std::string_view SecurityScore(Severity s) {
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
          {"parameters", params},
          // Optional policies run only when named (--checks ID or "optional").
          {"optional", info.optional},
          // Bundle policies (group "azure") run only when selected by id, alias or group.
          {"bundle", info.bundle},
          {"kinds", info.kinds},
          {"aliases", info.aliases}};
}

/// The findings of each object: findings are sorted by object, so object i's are one range.
class FindingRanges {
 public:
  explicit FindingRanges(const Assessment& a) : a_(a) {}
  /// The findings of object i; objects must be asked for in increasing order.
  std::pair<size_t, size_t> Of(size_t i) {
    while (next_ < a_.findings.size() && a_.findings[next_].object < i) ++next_;
    size_t end = next_;
    while (end < a_.findings.size() && a_.findings[end].object == i) ++end;
    return {next_, end};
  }

 private:
  const Assessment& a_;
  size_t next_ = 0;
};

size_t AssessedObjects(const Assessment& a) {
  size_t assessed = 0;
  for (ObjectStatus s : a.status) assessed += s == ObjectStatus::kAssessed;
  return assessed;
}

/// Counts by severity name, in the order of the names (as a JSON object of them is printed).
void WriteBySeverity(JsonStreamWriter& w, const std::map<Severity, size_t>& counts) {
  std::map<std::string_view, size_t> by_name;
  for (const auto& [severity, count] : counts) by_name[SeverityName(severity)] += count;
  w.BeginObject();
  for (const auto& [name, count] : by_name) w.FieldUint(name, count);
  w.EndObject();
}

void WriteJsonResource(JsonStreamWriter& w, const Assessment& a, size_t i, size_t first,
                       size_t end) {
  const Object& o = a.objects[i];
  w.BeginObject();
  w.Field("apiVersion", o.api_version);
  w.Key("checks");
  w.BeginArray();
  for (uint16_t c : a.evaluated[i]) w.String(a.checks[c].check->id);
  w.EndArray();
  if (!o.live) {
    w.FieldUint("document", uint64_t{o.document} + 1);
    w.Field("file", o.file);
  }
  w.Key("findings");
  w.BeginArray();
  for (size_t k = first; k < end; ++k) {
    const Finding& f = a.findings[k];
    w.BeginObject();
    w.Field("checkId", f.check->id);
    if (!o.live && f.column > 0) w.FieldUint("column", f.column);
    if (!o.live && f.line > 0) w.FieldUint("line", f.line);
    w.Field("message", f.message);
    w.Field("path", f.path);
    w.Field("remediation", f.check->remediation);
    w.Field("severity", SeverityName(f.check->severity));
    w.Field("title", f.check->title);
    w.EndObject();
  }
  w.EndArray();
  if (!o.live && !o.item_path.empty()) w.Field("itemPath", o.item_path);
  w.Field("kind", o.kind);
  if (!o.live && o.root.line > 0) w.FieldUint("line", o.root.line);
  w.Field("name", o.name);
  w.Field("namespace", o.EffectiveNamespace());
  const char* status = first != end                                      ? "fail"
                       : a.status[i] == ObjectStatus::kSkippedKind       ? "skipped"
                       : a.status[i] == ObjectStatus::kExcludedNamespace ? "excluded"
                                                                         : "pass";
  w.Field("status", status);
  if (o.live) w.Field("url", o.file);
  w.EndObject();
}

void WriteJson(const Assessment& a, const std::string& version, std::ostream& out) {
  JsonStreamWriter w(out);
  w.BeginObject();
  w.Key("checks");
  w.BeginArray();
  for (const CheckSummary& c : a.checks) {
    w.BeginObject();
    w.FieldUint("exempt", c.exempt);
    w.FieldUint("failed", c.failed);
    w.Field("id", c.check->id);
    w.FieldUint("passed", c.passed);
    w.Field("severity", SeverityName(c.check->severity));
    w.Field("title", c.check->title);
    w.EndObject();
  }
  w.EndArray();
  w.Key("errors");
  w.BeginArray();
  for (const LoadError& e : a.errors) {
    w.BeginObject();
    if (e.column > 0) w.FieldUint("column", e.column);
    w.Field("file", e.file);
    if (e.line > 0) w.FieldUint("line", e.line);
    w.Field("message", e.message);
    w.EndObject();
  }
  w.EndArray();
  w.Key("namespaces");
  w.BeginArray();
  for (const NamespaceSummary& n : a.namespaces) {
    w.BeginObject();
    w.Key("bySeverity");
    WriteBySeverity(w, n.by_severity);
    w.FieldUint("failedObjects", n.failed_objects);
    w.FieldUint("findings", n.findings);
    w.Field("namespace", n.name);
    w.FieldUint("objects", n.objects);
    w.EndObject();
  }
  w.EndArray();
  w.Field("pssVersion", "v1." + std::to_string(a.pss_minor));
  w.Key("resources");
  w.BeginArray();
  FindingRanges ranges(a);
  for (size_t i = 0; i < a.objects.size(); ++i) {
    const auto [first, end] = ranges.Of(i);
    WriteJsonResource(w, a, i, first, end);
  }
  w.EndArray();
  std::map<Severity, size_t> by_severity;
  for (const Finding& f : a.findings) ++by_severity[f.check->severity];
  w.Key("summary");
  w.BeginObject();
  w.FieldUint("assessed", AssessedObjects(a));
  w.Key("bySeverity");
  WriteBySeverity(w, by_severity);
  w.FieldUint("errors", a.errors.size());
  w.FieldUint("excluded", a.excluded);
  w.FieldUint("files", a.files);
  w.FieldUint("findings", a.findings.size());
  w.FieldUint("objects", a.objects.size());
  w.FieldUint("skipped", a.skipped);
  w.FieldUint("warnings", a.warnings.size());
  w.EndObject();
  w.Key("tool");
  w.BeginObject();
  w.Field("name", "moat");
  w.Field("version", version);
  w.EndObject();
  w.Key("warnings");
  w.BeginArray();
  for (const std::string& warning : a.warnings) w.String(warning);
  w.EndArray();
  w.EndObject();
  w.Flush();
  out << "\n";
}

void WriteSarifText(JsonStreamWriter& w, std::string_view key, std::string_view text) {
  w.Key(key);
  w.BeginObject();
  w.Field("text", text);
  w.EndObject();
}

/// artifactLocation, then region when there is a line.
void WriteSarifPhysicalLocation(JsonStreamWriter& w, const std::string& file, uint32_t line,
                                uint32_t column) {
  w.Key("physicalLocation");
  w.BeginObject();
  w.Key("artifactLocation");
  w.BeginObject();
  w.Field("uri", FileUri(file));
  w.EndObject();
  if (line > 0) {
    w.Key("region");
    w.BeginObject();
    if (column > 0) w.FieldUint("startColumn", column);
    w.FieldUint("startLine", line);
    w.EndObject();
  }
  w.EndObject();
}

void WriteSarifRule(JsonStreamWriter& w, const CheckInfo& info) {
  std::string help = info.remediation;
  for (const std::string& r : info.references) help += "\n- " + r;
  w.BeginObject();
  w.Key("defaultConfiguration");
  w.BeginObject();
  w.Field("level", SarifLevel(info.severity));
  w.EndObject();
  WriteSarifText(w, "fullDescription", info.description);
  WriteSarifText(w, "help", help);
  w.Field("id", info.id);
  w.Field("name", info.title);
  w.Key("properties");
  w.BeginObject();
  w.Field("security-severity", SecurityScore(info.severity));
  w.Key("tags");
  w.BeginArray();
  w.String("security");
  w.String("kubernetes");
  w.String(info.group);
  w.EndArray();
  w.EndObject();
  WriteSarifText(w, "shortDescription", info.title);
  w.EndObject();
}

void WriteSarif(const Assessment& a, const std::string& version, std::ostream& out) {
  std::map<const CheckInfo*, size_t> rule_index;
  for (const CheckSummary& c : a.checks) rule_index.emplace(c.check, rule_index.size());
  JsonStreamWriter w(out);
  w.BeginObject();
  w.Field("$schema", "https://json.schemastore.org/sarif-2.1.0.json");
  w.Key("runs");
  w.BeginArray();
  w.BeginObject();
  w.Key("invocations");
  w.BeginArray();
  w.BeginObject();
  w.FieldBool("executionSuccessful", a.errors.empty());
  w.Key("toolExecutionNotifications");
  w.BeginArray();
  for (const LoadError& e : a.errors) {
    w.BeginObject();
    w.Field("level", "error");
    w.Key("locations");
    w.BeginArray();
    w.BeginObject();
    WriteSarifPhysicalLocation(w, e.file, e.line, 0);
    w.EndObject();
    w.EndArray();
    WriteSarifText(w, "message", e.message);
    w.EndObject();
  }
  for (const std::string& warning : a.warnings) {
    w.BeginObject();
    w.Field("level", "warning");
    WriteSarifText(w, "message", warning);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  w.EndArray();
  w.Key("results");
  w.BeginArray();
  std::string reference;
  size_t reference_of = SIZE_MAX;
  for (const Finding& f : a.findings) {
    const Object& o = a.objects[f.object];
    if (f.object != reference_of) {
      reference = o.Reference();
      reference_of = f.object;
    }
    w.BeginObject();
    w.Field("level", SarifLevel(f.check->severity));
    w.Key("locations");
    w.BeginArray();
    w.BeginObject();
    w.Key("logicalLocations");
    w.BeginArray();
    w.BeginObject();
    w.Field("fullyQualifiedName", reference + "#" + f.path);
    w.Field("kind", "object");
    w.EndObject();
    w.EndArray();
    // A live object has no file to point at: its logical location (namespace/kind/name) is it.
    if (!o.live) WriteSarifPhysicalLocation(w, o.file, f.line, f.column);
    w.EndObject();
    w.EndArray();
    WriteSarifText(w, "message", reference + ": " + f.message);
    w.Field("ruleId", f.check->id);
    w.FieldUint("ruleIndex", rule_index[f.check]);
    w.EndObject();
  }
  w.EndArray();
  w.Key("tool");
  w.BeginObject();
  w.Key("driver");
  w.BeginObject();
  w.Field("informationUri", "https://github.com/moat-security/moat");
  w.Field("name", "moat");
  w.Key("rules");
  w.BeginArray();
  for (const CheckSummary& c : a.checks) WriteSarifRule(w, *c.check);
  w.EndArray();
  w.Field("version", version);
  w.EndObject();
  w.EndObject();
  w.EndObject();
  w.EndArray();
  w.Field("version", "2.1.0");
  w.EndObject();
  w.Flush();
  out << "\n";
}

/// The checks of object i that failed, each with its findings (in finding order).
std::map<const CheckInfo*, std::vector<const Finding*>> FindingsByCheck(const Assessment& a,
                                                                        size_t first, size_t end) {
  std::map<const CheckInfo*, std::vector<const Finding*>> by_check;
  for (size_t k = first; k < end; ++k) by_check[a.findings[k].check].push_back(&a.findings[k]);
  return by_check;
}

void WriteJunit(const Assessment& a, std::ostream& out) {
  // The totals come first, in the root element: one pass to count, one to write.
  size_t total_tests = a.errors.size(), total_failures = 0;
  {
    FindingRanges ranges(a);
    for (size_t i = 0; i < a.objects.size(); ++i) {
      if (a.status[i] != ObjectStatus::kAssessed) continue;
      const auto [first, end] = ranges.Of(i);
      total_tests += a.evaluated[i].size();
      total_failures += FindingsByCheck(a, first, end).size();
    }
  }
  out << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"moat k8s\" tests=\""
      << total_tests << "\" failures=\"" << total_failures << "\" errors=\"" << a.errors.size()
      << "\">\n";
  FindingRanges ranges(a);
  for (size_t i = 0; i < a.objects.size(); ++i) {
    if (a.status[i] != ObjectStatus::kAssessed) continue;
    const Object& o = a.objects[i];
    const auto [first, end] = ranges.Of(i);
    const auto by_check = FindingsByCheck(a, first, end);
    const std::string reference = XmlEscape(o.Reference());
    const std::string file = XmlEscape(o.live ? o.Location(0) : o.file);
    out << "  <testsuite name=\"" << reference << "\" tests=\"" << a.evaluated[i].size()
        << "\" failures=\"" << by_check.size() << "\" errors=\"0\">\n";
    for (uint16_t c : a.evaluated[i]) {
      const CheckInfo* info = a.checks[c].check;
      out << "    <testcase classname=\"" << reference << "\" name=\"" << XmlEscape(info->id)
          << "\" file=\"" << file << "\"";
      auto it = by_check.find(info);
      if (it == by_check.end()) {
        out << "/>\n";
        continue;
      }
      out << ">\n      <failure type=\"" << SeverityName(info->severity) << "\" message=\""
          << XmlEscape(it->second.front()->message) << "\">";
      for (const Finding* f : it->second)
        out << XmlEscape(o.Location(f->line) + " " + f->path + ": " + f->message) << "\n";
      out << "</failure>\n    </testcase>\n";
    }
    out << "  </testsuite>\n";
  }
  for (const LoadError& e : a.errors) {
    out << "  <testsuite name=\"" << XmlEscape(e.file) << "\" tests=\"1\" failures=\"0\" "
        << "errors=\"1\">\n    <testcase classname=\"input\" name=\"parse\">\n      <error "
        << "message=\"" << XmlEscape(e.ToString()) << "\"/>\n    </testcase>\n  </testsuite>\n";
  }
  out << "</testsuites>\n";
}

void WriteTable(const Assessment& a, std::ostream& out) {
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
  out << "\n"
      << a.objects.size() << " objects"
      << (a.files > 0 ? " in " + std::to_string(a.files) + " files" : std::string()) << ": "
      << AssessedObjects(a) << " assessed, " << a.skipped << " skipped (kinds no check covers), "
      << a.excluded << " in excluded namespaces; " << a.findings.size() << " findings, "
      << a.errors.size() << " errors"
      << (a.warnings.empty() ? "" : ", " + std::to_string(a.warnings.size()) + " warnings") << "\n";
}

}  // namespace

Result<void> WriteAssessment(const Assessment& assessment, std::string_view format,
                             const std::string& tool_version, std::ostream& out) {
  if (format == "table") {
    WriteTable(assessment, out);
  } else if (format == "json") {
    WriteJson(assessment, tool_version, out);
  } else if (format == "sarif") {
    WriteSarif(assessment, tool_version, out);
  } else if (format == "junit") {
    WriteJunit(assessment, out);
  } else {
    return Fail("unknown format \"", std::string(format), "\" (table, json, sarif, junit)");
  }
  return Ok();
}

Result<std::string> RenderAssessment(const Assessment& assessment, std::string_view format,
                                     const std::string& tool_version) {
  std::ostringstream out;
  MOAT_TRY(WriteAssessment(assessment, format, tool_version, out));
  return std::move(out).str();
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
