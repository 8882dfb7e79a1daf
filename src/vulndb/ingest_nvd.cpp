// NVD CVE JSON 2.0 (feed files and API pages), for enrichment: descriptions, CVSS, CWEs.

#include "vulndb/cvss.h"
#include "vulndb/ingest.h"
#include "vulndb/json_stream.h"
#include "vulndb/json_util.h"

namespace moat::vulndb {

using json_util::json;
using json_util::Member;
using json_util::String;

namespace {

void AddMetrics(const json& metrics, const char* key, const std::string& version_default,
                std::vector<CvssScore>& primary, std::vector<CvssScore>& secondary) {
  for (const json& metric : Member(metrics, key)) {
    const json& data = Member(metric, "cvssData");
    CvssScore score;
    score.version = String(data, "version");
    if (score.version.empty()) score.version = version_default;
    score.vector = String(data, "vectorString");
    const json& base = Member(data, "baseScore");
    if (base.is_number()) score.score = base.get<double>();
    std::string source = String(metric, "source");
    score.source = source == "nvd@nist.gov" ? "nvd" : "nvd:" + source;
    // Primary (NVD's own) scores first so that they win when picking the severity.
    if (String(metric, "type") == "Primary") {
      primary.push_back(std::move(score));
    } else {
      secondary.push_back(std::move(score));
    }
  }
}

}  // namespace

namespace {

// One element of "vulnerabilities".
void AddEntry(const json& entry, const std::string& name, const std::string& index,
              IngestResult& out) {
  const json& cve = Member(entry, "cve");
  Vulnerability vuln;
  vuln.id = String(cve, "id");
  if (vuln.id.empty()) {
    if (out.warnings.size() < 1000) {
      out.warnings.push_back(name + ": /vulnerabilities/" + index + "/cve/id: missing");
    }
    return;
  }
  for (const json& description : Member(cve, "descriptions")) {
    if (String(description, "lang") == "en") {
      vuln.description = String(description, "value");
      break;
    }
  }
  vuln.published = String(cve, "published");
  vuln.modified = String(cve, "lastModified");
  vuln.withdrawn = String(cve, "vulnStatus") == "Rejected";
  const json& metrics = Member(cve, "metrics");
  std::vector<CvssScore> secondary;
  AddMetrics(metrics, "cvssMetricV31", "3.1", vuln.cvss, secondary);
  AddMetrics(metrics, "cvssMetricV30", "3.0", vuln.cvss, secondary);
  AddMetrics(metrics, "cvssMetricV40", "4.0", vuln.cvss, secondary);
  AddMetrics(metrics, "cvssMetricV2", "2.0", vuln.cvss, secondary);
  for (auto& score : secondary) vuln.cvss.push_back(std::move(score));
  for (const json& weakness : Member(cve, "weaknesses")) {
    for (const json& description : Member(weakness, "description")) {
      std::string cwe = String(description, "value");
      if (cwe.starts_with("CWE-") &&
          std::find(vuln.cwes.begin(), vuln.cwes.end(), cwe) == vuln.cwes.end()) {
        vuln.cwes.push_back(cwe);
      }
    }
  }
  for (const json& reference : Member(cve, "references")) {
    std::string url = String(reference, "url");
    if (!url.empty()) vuln.references.push_back(std::move(url));
  }
  out.vulnerabilities.push_back(std::move(vuln));
  ++out.records;
}

// A feed file is {"timestamp", ..., "vulnerabilities": [{"cve": {...}}, ...]}: the array is
// walked as a stream, each element read whole.
class NvdVisitor : public json_stream::Visitor {
 public:
  NvdVisitor(const std::string& name, IngestResult& out) : name_(name), out_(out) {}

  Result<bool> Descend(const json_stream::Path& path, bool is_array) override {
    if (path.empty()) {
      if (is_array) return NotNvd();
      return true;
    }
    if (path.size() == 1 && path[0] == "vulnerabilities" && is_array) {
      entries_seen_ = true;
      return true;
    }
    return false;
  }

  Result<void> Value(const json_stream::Path& path, json&& value) override {
    if (path.size() == 1) {
      if (path[0] == "timestamp" && value.is_string()) out_.date = value.get<std::string>();
      return Ok();
    }
    if (path.size() != 2) return Ok();  // the top level when it is not an object
    try {
      AddEntry(value, name_, path[1], out_);
    } catch (const std::exception& e) {
      return Fail(name_, ": /vulnerabilities/", path[1], ": ", e.what());
    }
    return out_.Flush();
  }

  Result<void> Finish() {
    if (!entries_seen_) return NotNvd();
    return out_.Flush(true);
  }

 private:
  Error NotNvd() const {
    return Fail(name_, ": not NVD CVE JSON 2.0 (no \"vulnerabilities\" array)");
  }

  const std::string& name_;
  IngestResult& out_;
  bool entries_seen_ = false;
};

}  // namespace

Result<IngestResult> ParseNvdJson(std::string_view text, const std::string& name) {
  return json_stream::ParseFeed<NvdVisitor>(text, name);
}

Result<IngestResult> IngestNvdFile(const std::string& path, const RecordSink& sink) {
  return json_stream::StreamFeedFile<NvdVisitor>(path, sink);
}

Result<KevCatalog> ParseKev(std::string_view text, const std::string& name) {
  MOAT_ASSIGN_OR_RETURN(json doc, json_util::Parse(text, name));
  const json& entries = Member(doc, "vulnerabilities");
  if (!doc.is_object() || !entries.is_array()) {
    return Fail(name, ": not a CISA KEV catalog (no \"vulnerabilities\" array)");
  }
  KevCatalog catalog;
  catalog.date = String(doc, "dateReleased");
  for (const json& entry : entries) {
    std::string id = String(entry, "cveID");
    if (id.empty()) continue;
    catalog.entries[id] = KevEntry{String(entry, "dateAdded")};
  }
  return catalog;
}

Result<EpssScores> ParseEpssCsv(std::string_view text, const std::string& name) {
  EpssScores scores;
  size_t position = 0;
  size_t line_number = 0;
  bool header_seen = false;
  while (position < text.size()) {
    size_t end = text.find('\n', position);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(position, end - position);
    position = end + 1;
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;
    if (line.starts_with("#")) {
      size_t date = line.find("score_date:");
      if (date != std::string_view::npos) {
        std::string_view value = line.substr(date + 11);
        scores.date = std::string(value.substr(0, value.find(',')));
      }
      continue;
    }
    if (!header_seen) {
      if (!line.starts_with("cve,epss,percentile")) {
        return Fail(name, ": line ", std::to_string(line_number),
                    ": not an EPSS CSV (expected header \"cve,epss,percentile\")");
      }
      header_seen = true;
      continue;
    }
    size_t c1 = line.find(',');
    size_t c2 = c1 == std::string_view::npos ? c1 : line.find(',', c1 + 1);
    if (c2 == std::string_view::npos) {
      return Fail(name, ": line ", std::to_string(line_number), ": expected cve,epss,percentile");
    }
    std::string id(line.substr(0, c1));
    std::string score_text(line.substr(c1 + 1, c2 - c1 - 1));
    std::string percentile_text(line.substr(c2 + 1));
    char* score_end = nullptr;
    char* percentile_end = nullptr;
    double score = std::strtod(score_text.c_str(), &score_end);
    double percentile = std::strtod(percentile_text.c_str(), &percentile_end);
    if (score_text.empty() || percentile_text.empty() || *score_end != '\0' ||
        *percentile_end != '\0' || !(score >= 0 && score <= 1) ||
        !(percentile >= 0 && percentile <= 1)) {
      return Fail(name, ": line ", std::to_string(line_number), ": bad number");
    }
    scores.entries[id] = EpssEntry{score, percentile};
  }
  if (!header_seen) return Fail(name, ": not an EPSS CSV (no header)");
  return scores;
}

}  // namespace moat::vulndb
