#pragma once
// Timestamps and durations for CEL: RFC 3339 and Go-style duration parsing, the civil calendar,
// and time zones (IANA names read from the system's TZif files, or fixed "+05:30" offsets).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "cel/value.h"
#include "core/result.h"

namespace moat::cel {

constexpr Nanos kNanosPerSecond = 1000000000;
/// CEL's timestamp range: 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999999Z.
constexpr Nanos kMinTimestamp = static_cast<Nanos>(-62135596800) * kNanosPerSecond;
constexpr Nanos kMaxTimestamp = static_cast<Nanos>(253402300800) * kNanosPerSecond - 1;
/// Durations are bounded as Kubernetes' cel-go bounds them: a signed 64-bit nanosecond count.
constexpr Nanos kMaxDuration = static_cast<Nanos>(INT64_MAX);
constexpr Nanos kMinDuration = static_cast<Nanos>(INT64_MIN) + 1;

inline bool TimestampInRange(Nanos t) { return t >= kMinTimestamp && t <= kMaxTimestamp; }
inline bool DurationInRange(Nanos d) { return d >= kMinDuration && d <= kMaxDuration; }

/// "2009-02-13T23:31:30Z", "2009-02-13T23:31:30.123+01:00" (RFC 3339).
Result<Nanos> ParseTimestamp(std::string_view text);
/// Go's time.ParseDuration syntax: "1h2m3.5s", "-1.5h", "300ms", "2us", "10ns".
Result<Nanos> ParseDuration(std::string_view text);

struct CivilDate {
  int64_t year;
  int month;  // 1..12
  int day;    // 1..31
};

/// The proleptic Gregorian date `days` days after 1970-01-01.
CivilDate CivilFromDays(int64_t days);

struct CivilTime {
  int64_t year;
  int month;  // 1..12
  int day;    // 1..31
  int hour, minute, second;
  int64_t nanos;    // 0..999999999
  int day_of_week;  // 0 = Sunday
  int day_of_year;  // 0-based
};

/// The civil time of `t` in the zone `zone` ("" or "UTC", an IANA name, or "+hh:mm"/"-hh:mm").
Result<CivilTime> ToCivil(Nanos t, std::string_view zone);

}  // namespace moat::cel
