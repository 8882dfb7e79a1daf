// Photon OS CVE metadata (https://packages.broadcom.com/photon/photon_cve_metadata/
// cve_data_photon<release>.json): one entry per CVE and package, the fixed build in "res_ver"
// ("NA" when there is none) and a "status" of "Fixed", "Not Affected", ...
// No Photon sample is in ../shared/data: the format follows the published files as vunnel and
// Trivy read them (src/vulndb/testdata/photon).

#include <cctype>
#include <filesystem>

#include "core/text.h"
#include "vulndb/cvss.h"
#include "vulndb/ingest.h"
#include "vulndb/json_util.h"

namespace moat::vulndb {

using json_util::json;
using json_util::Member;
using json_util::String;

namespace {

// "cve_data_photon5.0.json" -> "photon:5.0".
std::string PhotonNamespaceFromName(const std::string& name) {
  std::string base = std::filesystem::path(name).filename().string();
  size_t at = base.find("photon");
  if (at == std::string::npos) return "";
  std::string_view rest = std::string_view(base).substr(at + 6);
  size_t end = rest.find_first_not_of("0123456789.");
  std::string release(rest.substr(0, end));
  while (!release.empty() && release.back() == '.') release.pop_back();
  if (release.empty() || !std::isdigit(static_cast<unsigned char>(release[0]))) return "";
  return "photon:" + release;
}

}  // namespace

Result<IngestResult> ParsePhotonCves(std::string_view text, const std::string& name,
                                     const std::string& ns_hint) {
  std::string ns = ns_hint.empty() ? PhotonNamespaceFromName(name) : ns_hint;
  if (ns.empty()) {
    return Fail(name, ": the Photon release is not known (name the file cve_data_photonX.Y.json)");
  }
  MOAT_ASSIGN_OR_RETURN(json doc, json_util::Parse(text, name));
  if (!doc.is_array()) return Fail(name, ": not Photon CVE metadata (expected a JSON array)");
  IngestResult out;
  auto warn = [&out](std::string message) {
    if (out.warnings.size() < 1000) out.warnings.push_back(std::move(message));
  };
  for (size_t i = 0; i < doc.size(); ++i) {
    const json& entry = doc[i];
    const std::string place = name + ": /" + std::to_string(i);
    std::string id = String(entry, "cve_id");
    std::string package = String(entry, "pkg");
    if (id.empty() || package.empty()) {
      warn(place + ": cve_id or pkg missing");
      continue;
    }
    ++out.records;
    AffectedPackage record;
    record.vuln_id = id;
    record.ns = ns;
    record.package = package;
    record.source = "photon";
    const json& score = Member(entry, "cve_score");
    Vulnerability vuln;
    vuln.id = id;
    if (score.is_number() && score.get<double>() > 0) {
      record.severity = CvssSeverity(score.get<double>());
      vuln.severity = record.severity;
      vuln.severity_source = "photon";
    }
    std::string status = AsciiLower(String(entry, "status"));
    std::string fixed = String(entry, "res_ver");
    if (status == "not affected") {
      record.status = Status::kNotAffected;
    } else if (!fixed.empty() && fixed != "NA") {
      record.status = Status::kFixed;
      record.ranges.push_back(VersionRange{"", fixed, ""});
    } else {
      // "Fixed" with no build named, or still open: affected with no fix to offer.
      record.status = Status::kAffected;
    }
    out.affected.push_back(std::move(record));
    out.vulnerabilities.push_back(std::move(vuln));
  }
  return out;
}

}  // namespace moat::vulndb
