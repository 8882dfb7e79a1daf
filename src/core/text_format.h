#pragma once
// Small text formats every report writer needs: RFC 3339 timestamps and XML escaping.

#include <ctime>
#include <string>
#include <string_view>

namespace moat {

/// `2024-05-01T12:00:00Z`: UTC, whole seconds.
std::string FormatRfc3339Utc(std::time_t time);
/// The current time as FormatRfc3339Utc writes it.
std::string NowRfc3339Utc();
/// `2024-05-01`: the UTC calendar day of `time`.
std::string FormatUtcDay(std::time_t time);

/// Escapes text for XML 1.0 element content and attribute values. Control characters that XML
/// 1.0 cannot carry at all (below U+0020 except tab, newline, carriage return) become spaces.
std::string XmlEscape(std::string_view text);

}  // namespace moat
