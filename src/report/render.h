#pragma once
// Report-internal: the prepared input every writer gets, and the writers.

#include <string>
#include <vector>

#include "core/package.h"
#include "core/result.h"
#include "report/report.h"

namespace moat::report {

/// The inventory with packages in canonical order, every package's purl filled in, warnings
/// sorted, and the context's timestamp set (now, when the caller left it empty).
struct PreparedInventory {
  Inventory inventory;
  ReportContext context;
};

PreparedInventory Prepare(const Inventory& inventory, const ReportContext& context);

std::string RenderTable(const PreparedInventory& input);
std::string RenderMoatJson(const PreparedInventory& input);
std::string RenderCycloneDx(const PreparedInventory& input);
std::string RenderSpdxJson(const PreparedInventory& input);
/// SARIF 2.1.0 of the vulnerability findings (GitHub code scanning).
std::string RenderSarif(const PreparedInventory& input);

/// The notice every table starts with when the inventory has assessment gaps ("" without): a
/// headline, then each gap and its first details, wrapped to `width` columns (0: no limit).
std::string GapNotice(const Inventory& inventory, size_t width);
/// One gap on one line, with its first details: for SARIF notifications, CycloneDX properties
/// and the SPDX document comment.
std::string GapText(const AssessmentGap& gap);
/// The first details of a gap, and "... and N more" when there are more.
std::vector<std::string> GapDetailLines(const AssessmentGap& gap);

/// A name-based (version 5, RFC 4122) UUID for the document: from the SHA-256 of Moat's own JSON
/// rendering (which includes the timestamp and tool version), so the same scan at the same time
/// gives the same id and any change gives a new one.
std::string DocumentUuid(const PreparedInventory& input);

/// A short stable identity for a package (16 hex of the SHA-256 of the fields that tell two
/// packages apart: type, name, version, arch, file and layer).
std::string PackageIdentity(const Package& package);

/// The image's purl ("pkg:oci/<name>@<digest>?arch=..&repository_url=..") when the artifact has
/// a digest; empty otherwise.
std::string ArtifactPurl(const ArtifactInfo& artifact);

}  // namespace moat::report
