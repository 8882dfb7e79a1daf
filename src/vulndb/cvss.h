#pragma once
// CVSS base scores computed from vectors (the formulas are public: FIRST CVSS v2 guide section
// 3.2.1 and the CVSS v3.1 specification section 7), so that advisories that only carry a vector
// (OSV) get a score, and so that the feeds' own scores can be checked.

#include <optional>
#include <string>
#include <string_view>

namespace moat::vulndb {

/// "CVSS:3.0/..." or "CVSS:3.1/..." -> base score; nullopt when the vector is malformed.
std::optional<double> Cvss3BaseScore(std::string_view vector);
/// "AV:N/AC:L/Au:N/C:P/I:P/A:P" (optionally in parentheses) -> base score.
std::optional<double> Cvss2BaseScore(std::string_view vector);
/// The qualitative rating of a v3/v4 score: "none", "low", "medium", "high", "critical".
std::string CvssSeverity(double score);
/// The v2 rating (NVD): "low" < 4, "medium" < 7, else "high".
std::string Cvss2Severity(double score);

}  // namespace moat::vulndb
