#pragma once
// Reading an existing SBOM (CycloneDX 1.4-1.6 JSON, SPDX 2.3 JSON) back into an inventory so
// `moat sbom` can match it. Packages come from purls; the OS from the CycloneDX
// operating-system component, the SPDX OPERATING-SYSTEM package, or a purl's distro qualifier.

#include <string>
#include <string_view>

#include "core/package.h"
#include "core/result.h"

namespace moat::match {

/// Parses the SBOM; errors name `name` and the JSON place. Components without a purl, or with
/// a purl type Moat does not match, are skipped (counted in the inventory's warnings).
Result<Inventory> ParseSbom(std::string_view text, const std::string& name);

}  // namespace moat::match
