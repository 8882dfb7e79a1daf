// OSV JSON (https://ossf.github.io/osv-schema/) for every ecosystem, language and distro alike.

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <vector>

#include "core/bytes.h"
#include "core/package.h"
#include "core/text.h"
#include "vulndb/cvss.h"
#include "vulndb/ingest.h"
#include "vulndb/json_util.h"

namespace moat::vulndb {

using json_util::Find;
using json_util::json;
using json_util::Member;
using json_util::String;

namespace {

bool LooksLikeVersion(std::string_view text) {
  return !text.empty() && std::isdigit(static_cast<unsigned char>(text[0]));
}

// The "distro=" qualifier of a purl ("pkg:rpm/redhat/x?distro=rhel-9.4" -> "rhel-9.4").
std::string PurlDistro(std::string_view purl) {
  size_t q = purl.find('?');
  if (q == std::string_view::npos) return "";
  for (const auto& pair : Split(purl.substr(q + 1), '&')) {
    if (pair.starts_with("distro=")) return std::string(pair.substr(7));
  }
  return "";
}

// First run of digits in text ("enterprise_linux:9::appstream" -> "9").
std::string FirstMajor(std::string_view text) {
  size_t start = text.find_first_of("0123456789");
  if (start == std::string_view::npos) return "";
  size_t end = text.find_first_not_of("0123456789", start);
  return std::string(text.substr(start, end == std::string_view::npos ? end : end - start));
}

void AddWarning(IngestResult& out, std::string text) {
  // Keep memory bounded on hostile inputs; the count still tells the story.
  if (out.warnings.size() < 1000) out.warnings.push_back(std::move(text));
}

}  // namespace

std::optional<std::string> OsvNamespace(std::string_view ecosystem, std::string_view purl) {
  const std::vector<std::string_view> parts = Split(ecosystem, ':');
  const std::string base = AsciiLower(parts[0]);
  auto version_part = [&]() -> std::string {
    for (size_t i = 1; i < parts.size(); ++i) {
      if (LooksLikeVersion(parts[i])) return std::string(parts[i]);
    }
    return "";
  };
  if (base == "pypi") return "pypi";
  if (base == "go") return "go";
  if (base == "npm") return "npm";
  if (base == "maven") return "maven";
  if (base == "rubygems") return "rubygems";
  if (base == "nuget") return "nuget";
  if (base == "crates.io") return "crates.io";
  if (base == "debian" || base == "ubuntu" || base == "rocky linux" || base == "almalinux" ||
      base == "mageia" || base == "opensuse" || base == "suse") {
    std::string version = version_part();
    if (version.empty()) return std::nullopt;
    if (base == "rocky linux" || base == "almalinux") version = FirstMajor(version);
    std::string name = base == "rocky linux" ? "rocky" : base == "almalinux" ? "alma" : base;
    return name + ":" + version;
  }
  if (base == "alpine") {
    std::string version(parts.size() > 1 ? parts[1] : "");
    if (version.starts_with("v")) version.erase(0, 1);
    if (version.empty()) return std::nullopt;
    return "alpine:" + version;
  }
  if (base == "red hat") {
    std::string major;
    std::string distro = PurlDistro(purl);
    if (!distro.empty()) major = FirstMajor(distro);
    if (major.empty() && parts.size() > 1) major = FirstMajor(ecosystem.substr(parts[0].size()));
    if (major.empty()) return std::nullopt;
    return "rhel:" + major;
  }
  if (parts.size() == 1 && !base.empty()) return base;  // wolfi, chainguard, packagist, hex, ...
  return std::nullopt;
}

std::string NormalizePackageName(std::string_view ns, std::string_view name) {
  if (ns == "pypi") return NormalizePythonName(name);
  if (ns == "nuget" || ns.starts_with("debian:") || ns.starts_with("ubuntu:"))
    return AsciiLower(name);
  return std::string(name);
}

namespace {

// Events in order -> intervals. "introduced" opens one, "fixed"/"last_affected"/"limit" closes
// it; an interval still open at the end has no fix.
Result<std::vector<VersionRange>> EventsToRanges(const json& events) {
  std::vector<VersionRange> ranges;
  if (!events.is_array()) return Fail("events is not an array");
  std::optional<VersionRange> open;
  for (const json& event : events) {
    if (!event.is_object() || event.size() != 1 || !event.begin().value().is_string()) {
      return Fail("malformed event");
    }
    const std::string& kind = event.begin().key();
    std::string value = event.begin().value().get<std::string>();
    if (kind == "introduced") {
      if (open) ranges.push_back(*open);
      open = VersionRange{value == "0" ? "" : value, "", ""};
    } else if (kind == "fixed" || kind == "last_affected" || kind == "limit") {
      VersionRange range = open.value_or(VersionRange{});
      if (kind == "last_affected") {
        range.last_affected = value;
      } else if (kind == "fixed" || value != "*") {
        range.fixed = value;
      }
      ranges.push_back(range);
      open.reset();
    }
    // Unknown event kinds are ignored (forward compatibility).
  }
  if (open) ranges.push_back(*open);
  return ranges;
}

void AddCvss(const std::string& type, const std::string& vector, const std::string& source,
             Vulnerability& vuln) {
  CvssScore score;
  score.vector = vector;
  score.source = source;
  if (type == "CVSS_V3") {
    score.version = vector.starts_with("CVSS:3.0") ? "3.0" : "3.1";
    auto value = Cvss3BaseScore(vector);
    if (!value) return;
    score.score = *value;
  } else if (type == "CVSS_V2") {
    score.version = "2.0";
    auto value = Cvss2BaseScore(vector);
    if (!value) return;
    score.score = *value;
  } else if (type == "CVSS_V4") {
    score.version = "4.0";  // v4 scores need the MacroVector table; the vector is kept
  } else {
    return;
  }
  for (const auto& existing : vuln.cvss) {
    if (existing.vector == score.vector) return;
  }
  vuln.cvss.push_back(std::move(score));
}

std::string NormalizeSeverityWord(std::string word) {
  word = AsciiLower(json_util::Trim(word));
  if (word == "moderate") return "medium";
  if (word == "important") return "high";
  if (word == "negligible") return "low";
  return word;
}

Result<void> ParseOsvRecord(const json& doc, const std::string& place, IngestResult& out) {
  if (!doc.is_object()) return Fail(place, ": not an OSV object");
  Vulnerability vuln;
  vuln.id = String(doc, "id");
  if (vuln.id.empty()) return Fail(place, ": no \"id\"");
  const std::string where = place + " (" + vuln.id + ")";
  for (const char* key : {"aliases", "upstream"}) {
    for (const json& alias : Member(doc, key)) {
      if (alias.is_string() && alias.get<std::string>() != vuln.id) {
        vuln.aliases.push_back(alias.get<std::string>());
      }
    }
  }
  std::sort(vuln.aliases.begin(), vuln.aliases.end());
  vuln.aliases.erase(std::unique(vuln.aliases.begin(), vuln.aliases.end()), vuln.aliases.end());
  vuln.title = String(doc, "summary");
  vuln.description = String(doc, "details");
  vuln.published = String(doc, "published");
  vuln.modified = String(doc, "modified");
  vuln.withdrawn = !String(doc, "withdrawn").empty();
  for (const json& reference : Member(doc, "references")) {
    std::string url = String(reference, "url");
    if (!url.empty()) vuln.references.push_back(std::move(url));
  }
  std::string source = vuln.id.starts_with("GHSA-") ? "ghsa" : "osv";
  std::string text_severity;
  for (const json& severity : Member(doc, "severity")) {
    std::string type = String(severity, "type");
    std::string score = String(severity, "score");
    if (type.starts_with("CVSS_")) {
      AddCvss(type, score, source, vuln);
    } else if (!score.empty()) {
      text_severity = NormalizeSeverityWord(score);  // "Ubuntu": "medium"
    }
  }
  std::string db_severity = String(Member(doc, "database_specific"), "severity");
  if (!db_severity.empty()) text_severity = NormalizeSeverityWord(db_severity);
  if (!text_severity.empty()) {
    vuln.severity = text_severity;
    vuln.severity_source = source;
  }
  for (const json& weakness : Member(Member(doc, "database_specific"), "cwe_ids")) {
    if (weakness.is_string()) vuln.cwes.push_back(weakness.get<std::string>());
  }

  const json& affected = Member(doc, "affected");
  if (!affected.is_null() && !affected.is_array()) {
    return Fail(where, ": /affected is not an array");
  }
  if (!vuln.withdrawn) {
    for (size_t i = 0; i < affected.size(); ++i) {
      const json& entry = affected[i];
      std::string pointer = where + ": /affected/" + std::to_string(i);
      const json& package = Member(entry, "package");
      std::string ecosystem = String(package, "ecosystem");
      std::string name = String(package, "name");
      if (ecosystem.empty() || name.empty()) {
        AddWarning(out, pointer + "/package: no ecosystem or name");
        continue;
      }
      auto ns = OsvNamespace(ecosystem, String(package, "purl"));
      if (!ns) {
        AddWarning(out, pointer + "/package/ecosystem: unknown ecosystem \"" + ecosystem + "\"");
        continue;
      }
      AffectedPackage record;
      record.vuln_id = vuln.id;
      record.ns = *ns;
      record.package = NormalizePackageName(*ns, name);
      record.source = "osv";
      bool git_only = false;
      bool bad = false;
      const json& ranges = Member(entry, "ranges");
      for (size_t r = 0; r < ranges.size() && ranges.is_array(); ++r) {
        std::string type = String(ranges[r], "type");
        if (type == "GIT") {
          ++out.git_ranges_skipped;
          git_only = true;
          continue;
        }
        auto intervals = EventsToRanges(Member(ranges[r], "events"));
        if (!intervals.ok()) {
          AddWarning(out,
                     pointer + "/ranges/" + std::to_string(r) + ": " + intervals.error().message);
          bad = true;
          break;
        }
        for (auto& interval : *intervals) record.ranges.push_back(std::move(interval));
      }
      if (bad) continue;
      for (const json& version : Member(entry, "versions")) {
        if (version.is_string()) record.versions.push_back(version.get<std::string>());
      }
      if (record.ranges.empty() && record.versions.empty()) {
        // Only commit ranges and no version list: nothing a package version can match.
        if (!git_only) AddWarning(out, pointer + ": no ranges and no versions");
        continue;
      }
      std::string entry_severity = String(Member(entry, "ecosystem_specific"), "severity");
      if (entry_severity.empty()) {
        entry_severity = String(Member(entry, "database_specific"), "severity");
      }
      record.severity = NormalizeSeverityWord(entry_severity);
      out.affected.push_back(std::move(record));
    }
  }
  out.vulnerabilities.push_back(std::move(vuln));
  ++out.records;
  return Ok();
}

}  // namespace

Result<void> ParseOsvJson(std::string_view text, const std::string& name, IngestResult& out) {
  MOAT_ASSIGN_OR_RETURN(json doc, json_util::Parse(text, name));
  try {
    if (doc.is_array()) {
      for (size_t i = 0; i < doc.size(); ++i) {
        auto status = ParseOsvRecord(doc[i], name + ": /" + std::to_string(i), out);
        if (!status.ok()) AddWarning(out, status.error().message);
      }
      return Ok();
    }
    return ParseOsvRecord(doc, name, out);
  } catch (const std::exception& e) {  // a type surprise nlohmann reports by exception
    return Fail(name, ": ", e.what());
  }
}

Result<IngestResult> IngestOsv(const std::string& path, const RecordSink& sink) {
  namespace fs = std::filesystem;
  IngestResult out;
  out.sink = sink;
  std::error_code ec;
  auto one = [&out](const std::string& name, std::string_view text) {
    auto status = ParseOsvJson(text, name, out);
    if (!status.ok()) AddWarning(out, status.error().message);
    return out.Flush();
  };
  if (fs::is_directory(path, ec)) {
    std::vector<std::string> files;
    for (fs::recursive_directory_iterator it(path, ec), end; !ec && it != end; it.increment(ec)) {
      if (it->is_regular_file(ec) && it->path().extension() == ".json") {
        files.push_back(it->path().string());
      }
    }
    if (ec) return Fail(path, ": ", ec.message());
    std::sort(files.begin(), files.end());
    for (const auto& file : files) {
      auto text = ReadFileToString(file, 256u << 20);
      if (!text.ok()) {
        AddWarning(out, text.error().message);
        continue;
      }
      MOAT_TRY(one(file, *text));
    }
    if (out.records == 0)
      return Fail(path, ": no OSV records (", std::to_string(files.size()), " .json files)");
    MOAT_TRY(out.Flush(true));
    return out;
  }
  char magic[2] = {0, 0};
  {
    std::ifstream in(path, std::ios::binary);
    if (!in) return Fail(path, ": cannot open");
    in.read(magic, 2);
  }
  if (magic[0] == 'P' && magic[1] == 'K') {
    MOAT_TRY(ForEachArchiveJson(path, [&](const std::string& member, std::string&& text) {
      return one(path + "!" + member, text);
    }));
    if (out.records == 0) return Fail(path, ": no OSV records in the zip");
    MOAT_TRY(out.Flush(true));
    return out;
  }
  MOAT_ASSIGN_OR_RETURN(std::string text, ReadFeedFile(path, 1u << 30));
  MOAT_TRY(ParseOsvJson(text, path, out));
  MOAT_TRY(out.Flush(true));
  return out;
}

}  // namespace moat::vulndb
