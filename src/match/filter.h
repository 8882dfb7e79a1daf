#pragma once
// What happens to findings after matching: severity/status filters, the ignore file, VEX.
// Rules and formats in docs/vulnerabilities.md.

#include <string>
#include <string_view>
#include <vector>

#include "core/package.h"
#include "core/result.h"
#include "core/vulnerability.h"

namespace moat::match {

/// One ignore-file line: `ID [pkg=NAME] [path=PATH] [exp=YYYY-MM-DD] [# comment]`.
struct IgnoreRule {
  std::string id;
  std::string package;    // empty = any package
  std::string path;       // empty = any file; a trailing '*' matches a prefix
  std::string expires;    // YYYY-MM-DD; empty = never. The rule holds through that day.
  std::string statement;  // the line's trailing comment
  std::string source;     // "file:line"
};

/// Parses an ignore file; errors name the file, line and what is wrong.
Result<std::vector<IgnoreRule>> ParseIgnoreFile(std::string_view text, const std::string& name);

/// One VEX statement, from OpenVEX 0.2.0 or CycloneDX VEX.
struct VexStatement {
  std::string vulnerability;          // the id the statement names
  std::vector<std::string> aliases;   // other ids it gives
  std::vector<std::string> products;  // purls (OpenVEX products/subcomponents, CDX affects)
  std::string state;  // not_affected, affected, fixed, under_investigation, false_positive, ...
  std::string justification;
  std::string statement;
  std::string source;  // the file
};

/// Parses an OpenVEX or CycloneDX (JSON) VEX document; errors name the file and the place.
Result<std::vector<VexStatement>> ParseVex(std::string_view text, const std::string& name);

/// True when a VEX product purl names the package purl: same type, namespace and name; the
/// version and qualifiers, when the VEX purl gives them, must agree.
bool VexProductMatches(std::string_view vex_purl, std::string_view package_purl);

struct FilterOptions {
  std::vector<std::string> severities;       // keep only these (empty = all)
  bool ignore_unfixed = false;               // drop findings without a fixed version
  std::vector<std::string> ignore_statuses;  // drop findings with these statuses
  std::vector<IgnoreRule> ignore_rules;
  std::vector<VexStatement> vex;
  std::string today;  // YYYY-MM-DD for expiry; empty = the current UTC date
};

/// Validates --severity and --ignore-status values.
Result<void> ValidateFilterOptions(const FilterOptions& options);

/// Drops findings the severity/status filters exclude and moves those suppressed by the ignore
/// file or a VEX statement (not_affected, false_positive, resolved) to
/// `inventory.suppressed_vulnerabilities`, recording why.
void ApplyFilters(Inventory& inventory, const FilterOptions& options);

}  // namespace moat::match
