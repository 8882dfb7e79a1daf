#pragma once
// The API's renderings of stored records: JSON, CSV and SARIF exports of findings, RFC 3339
// times, and disable rules to and from their JSON form.

#include <cstdint>
#include <string>
#include <vector>

#include "core/result.h"
#include "server/assess/assess.h"
#include "server/store/store.h"

namespace moat::server {

/// RFC 3339 UTC; "" for 0.
std::string FormatTime(int64_t unix_seconds);
/// RFC 3339 UTC with nanoseconds; "" for 0.
std::string FormatTimeNs(int64_t unix_ns);

/// One finding as a JSON object (the items of GET /api/v1/findings).
std::string FindingJson(const FindingRecord& finding);
/// RFC 4180 CSV with a header row; cells that a spreadsheet would run as formulas are quoted
/// with a leading apostrophe.
std::string FindingsCsv(const std::vector<FindingRecord>& findings);
/// SARIF 2.1.0: one rule per finding id, one result per finding, the resource as location.
std::string FindingsSarif(const std::vector<FindingRecord>& findings);

/// {"finding_ids": [...], "category": "...", "title_contains": "...", "cvss_below": 6.5,
///  "severities": [...], "patchable": true|false, "scope": {"registry", "cluster", "namespace"},
///  "expires_at": "RFC 3339"}; the error names the field.
Result<assess::DisableRule> DisableRuleFromJson(const std::string& json);
std::string DisableRuleToJson(const assess::DisableRule& rule);

}  // namespace moat::server
