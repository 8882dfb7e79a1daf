// Debian Security Tracker JSON: {source package: {CVE id: {description, scope, debianbug,
// releases: {codename: {status, repositories, fixed_version, urgency, nodsa, nodsa_reason}}}}}.

#include <map>

#include "vulndb/ingest.h"
#include "vulndb/json_util.h"

namespace moat::vulndb {

using json_util::Escape;
using json_util::json;
using json_util::Member;
using json_util::String;

std::optional<std::string> DebianNamespace(std::string_view codename) {
  static const std::map<std::string, std::string, std::less<>> kReleases = {
      {"wheezy", "7"},    {"jessie", "8"},  {"stretch", "9"}, {"buster", "10"}, {"bullseye", "11"},
      {"bookworm", "12"}, {"trixie", "13"}, {"forky", "14"},  {"duke", "15"}};
  if (codename == "sid") return "debian:unstable";
  auto it = kReleases.find(codename);
  if (it == kReleases.end()) return std::nullopt;
  return "debian:" + it->second;
}

Result<IngestResult> ParseDebianTracker(std::string_view text, const std::string& name) {
  MOAT_ASSIGN_OR_RETURN(json doc, json_util::Parse(text, name));
  if (!doc.is_object()) return Fail(name, ": not Debian tracker JSON (top level is not an object)");
  IngestResult out;
  auto warn = [&out](std::string message) {
    if (out.warnings.size() < 1000) out.warnings.push_back(std::move(message));
  };
  try {
    for (const auto& [package, cves] : doc.items()) {
      const std::string package_pointer = name + ": /" + Escape(package);
      if (!cves.is_object()) {
        warn(package_pointer + ": not an object");
        continue;
      }
      for (const auto& [cve, entry] : cves.items()) {
        const std::string pointer = package_pointer + "/" + Escape(cve);
        if (!entry.is_object()) {
          warn(pointer + ": not an object");
          continue;
        }
        ++out.records;
        Vulnerability vuln;
        vuln.id = cve;
        vuln.description = String(entry, "description");
        const json& releases = Member(entry, "releases");
        if (releases.is_object()) {
          for (const auto& [codename, release] : releases.items()) {
            const std::string release_pointer = pointer + "/releases/" + Escape(codename);
            auto ns = DebianNamespace(codename);
            if (!ns) continue;  // old or unknown release
            if (!release.is_object()) {
              warn(release_pointer + ": not an object");
              continue;
            }
            std::string status = String(release, "status");
            std::string fixed = String(release, "fixed_version");
            std::string urgency = String(release, "urgency");
            while (urgency.ends_with("*")) urgency.pop_back();  // "high**": not confirmed
            std::string nodsa = String(release, "nodsa");
            std::string nodsa_reason = String(release, "nodsa_reason");
            AffectedPackage record;
            record.vuln_id = cve;
            record.ns = *ns;
            record.package = NormalizePackageName(*ns, package);
            record.source = "debian-tracker";
            if (urgency != "not yet assigned" && urgency != "end-of-life" &&
                urgency != "unimportant") {
              record.severity = urgency;
            }
            if (status == "resolved") {
              if (fixed.empty()) {
                warn(release_pointer + ": resolved without fixed_version");
                continue;
              }
              if (fixed == "0") continue;  // the vulnerable code never was in this release
              record.status = Status::kFixed;
              record.ranges.push_back(VersionRange{"", fixed, ""});
            } else if (status == "open") {
              record.status = Status::kAffected;
            } else if (status == "undetermined") {
              record.status = Status::kUndetermined;
            } else {
              warn(release_pointer + "/status: unknown status \"" + status + "\"");
              continue;
            }
            if (record.status != Status::kFixed) {
              if (urgency == "unimportant") {
                record.status = Status::kUnimportant;
              } else if (urgency == "end-of-life") {
                record.status = Status::kEndOfLife;
              } else if (nodsa_reason == "ignored" || (!nodsa.empty() && nodsa_reason.empty())) {
                record.status = Status::kWillNotFix;
              }
            }
            out.affected.push_back(std::move(record));
          }
        } else if (!releases.is_null() && !releases.is_array()) {
          warn(pointer + "/releases: not an object");
        }
        out.vulnerabilities.push_back(std::move(vuln));
      }
    }
  } catch (const std::exception& e) {
    return Fail(name, ": ", e.what());
  }
  if (out.records == 0 && !doc.empty()) {
    return Fail(name, ": not Debian tracker JSON (no package -> CVE entries)");
  }
  return out;
}

}  // namespace moat::vulndb
