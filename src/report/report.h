#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/package.h"
#include "core/result.h"

namespace moat {

struct ReportContext {
  std::string tool_version;
  std::string timestamp;  // RFC 3339, UTC; fixed by tests for reproducible output
  /// Columns the table may take (the terminal's width); 0 = no limit, every cell in full.
  size_t table_width = 0;
};

/// Formats an inventory: "table", "json" (Moat's own, docs/json-format.md), "cyclonedx"
/// (CycloneDX 1.6 JSON, with vulnerabilities when the scan had them), "spdx-json" (SPDX 2.3
/// JSON; inventory only), "sarif" (SARIF 2.1.0 of the vulnerability findings). Unknown format ->
/// Error.
Result<std::string> RenderInventory(const Inventory& inventory, std::string_view format,
                                    const ReportContext& context);

namespace report {
/// Warnings for people (the table's Warnings section, the log): those that differ only in paths,
/// digests and numbers are shown once, followed by "(N more like this)", in the order of their
/// first appearance. Machine formats keep every warning.
std::vector<std::string> GroupWarnings(const std::vector<std::string>& warnings);
}  // namespace report

}  // namespace moat
