// Alpine secdb JSON ({distroversion, reponame, urlprefix, packages: [{pkg: {name, secfixes:
// {fixed version: [ids]}}}]}) and the same format from Wolfi and Chainguard.

#include <sstream>

#include "vulndb/ingest.h"
#include "vulndb/json_util.h"

namespace moat::vulndb {

using json_util::json;
using json_util::Member;
using json_util::String;

Result<IngestResult> ParseSecdb(std::string_view text, const std::string& name,
                                const std::string& ns_hint) {
  MOAT_ASSIGN_OR_RETURN(json doc, json_util::Parse(text, name));
  const json& packages = Member(doc, "packages");
  if (!doc.is_object() || !packages.is_array()) {
    return Fail(name, ": not secdb JSON (no \"packages\" array)");
  }
  std::string ns = ns_hint;
  if (ns.empty()) {
    std::string distroversion = String(doc, "distroversion");
    std::string urlprefix = String(doc, "urlprefix");
    std::string reponame = String(doc, "reponame");
    if (!distroversion.empty()) {
      if (distroversion.starts_with("v")) distroversion.erase(0, 1);
      ns = "alpine:" + distroversion;
    } else if (urlprefix.find("wolfi.dev") != std::string::npos) {
      ns = "wolfi";
    } else if (urlprefix.find("cgr.dev") != std::string::npos || reponame == "chainguard") {
      ns = "chainguard";
    } else {
      return Fail(name,
                  ": secdb without \"distroversion\" and not Wolfi or Chainguard; "
                  "name the namespace");
    }
  }
  IngestResult out;
  std::string reponame = String(doc, "reponame");
  out.source_hint = reponame.empty() ? ns : ns + "/" + reponame;
  auto warn = [&out](std::string message) {
    if (out.warnings.size() < 1000) out.warnings.push_back(std::move(message));
  };
  std::string source = ns.starts_with("alpine:") ? "alpine-secdb" : ns + "-secdb";
  try {
    for (size_t i = 0; i < packages.size(); ++i) {
      const std::string pointer = name + ": /packages/" + std::to_string(i);
      const json& pkg = Member(packages[i], "pkg");
      std::string package = String(pkg, "name");
      if (package.empty()) {
        warn(pointer + "/pkg/name: missing");
        continue;
      }
      const json& secfixes = Member(pkg, "secfixes");
      if (secfixes.is_null()) continue;
      if (!secfixes.is_object()) {
        warn(pointer + "/pkg/secfixes: not an object");
        continue;
      }
      ++out.records;
      for (const auto& [version, ids] : secfixes.items()) {
        if (!ids.is_array()) {
          if (!ids.is_null()) warn(pointer + "/pkg/secfixes/" + version + ": not a list");
          continue;
        }
        for (const json& id_text : ids) {
          if (!id_text.is_string()) continue;
          // Entries are "CVE-2019-1 CVE-2019-2", " CVE-..." or "CVE-... (comment)".
          std::istringstream words(id_text.get<std::string>());
          std::string id;
          while (words >> id) {
            if (id.find('-') == std::string::npos || id.starts_with("(")) break;
            if (version == "0") continue;  // the CVE never affected this package
            AffectedPackage record;
            record.vuln_id = id;
            record.ns = ns;
            record.package = package;
            record.source = source;
            record.status = Status::kFixed;
            record.ranges.push_back(VersionRange{"", version, ""});
            out.affected.push_back(std::move(record));
            Vulnerability vuln;
            vuln.id = id;
            out.vulnerabilities.push_back(std::move(vuln));
          }
        }
      }
    }
  } catch (const std::exception& e) {
    return Fail(name, ": ", e.what());
  }
  return out;
}

}  // namespace moat::vulndb
