#pragma once
// The SPDX license and exception identifiers (report-internal).

#include <optional>
#include <span>
#include <string_view>

namespace moat {

/// The identifier as the SPDX list spells it ("mit" -> "MIT"), or nullopt when it is not one.
std::optional<std::string_view> CanonicalSpdxLicenseId(std::string_view candidate);
std::optional<std::string_view> CanonicalSpdxExceptionId(std::string_view candidate);

}  // namespace moat

#include <string>

#include "core/result.h"

namespace moat {

/// Checks a license expression against the SPDX grammar (ids from the list, optional '+',
/// AND / OR / WITH <exception>, parentheses) and returns it with canonical id spelling and
/// operators; an Error when it is not an SPDX expression (e.g. "GPLv2+", "BSD-like").
/// LicenseRef-/DocumentRef- references are rejected: the report cannot supply their text.
Result<std::string> CanonicalSpdxExpression(std::string_view expression);

}  // namespace moat
