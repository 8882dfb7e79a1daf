#include "cel/time.h"

#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

namespace moat::cel {
namespace {

// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
int64_t DaysFromCivil(int64_t y, int m, int d) {
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t yoe = y - era * 400;
  int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

bool IsLeap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int DaysInMonth(int64_t y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}

bool ReadDigits(std::string_view text, size_t& pos, size_t count, int64_t& out) {
  out = 0;
  for (size_t i = 0; i < count; ++i) {
    if (pos >= text.size() || text[pos] < '0' || text[pos] > '9') return false;
    out = out * 10 + (text[pos++] - '0');
  }
  return true;
}

// A zone: UTC offsets in effect from each transition (seconds since the epoch).
struct Zone {
  std::vector<int64_t> transitions;
  std::vector<int32_t> offsets;  // offsets[i] applies from transitions[i]
  int32_t initial_offset = 0;    // before the first transition

  int32_t OffsetAt(int64_t seconds) const {
    // Binary search for the last transition <= seconds.
    size_t lo = 0;
    size_t hi = transitions.size();
    while (lo < hi) {
      size_t mid = (lo + hi) / 2;
      if (transitions[mid] <= seconds)
        lo = mid + 1;
      else
        hi = mid;
    }
    return lo == 0 ? initial_offset : offsets[lo - 1];
  }
};

uint32_t Be32(const unsigned char* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

// Reads the 64-bit (version 2+) part of a TZif file. Past the last transition the last offset
// stays in effect (Debian's tzdata is built "fat", with transitions up to 2037).
std::shared_ptr<Zone> ReadTzif(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return nullptr;
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  size_t size = data.size();
  auto counts = [&](size_t at, uint32_t c[6]) {
    if (at + 44 > size || data.compare(at, 4, "TZif") != 0) return false;
    for (int i = 0; i < 6; ++i) c[i] = Be32(p + at + 20 + 4 * i);
    return true;
  };
  uint32_t c[6];  // isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt
  if (!counts(0, c)) return nullptr;
  size_t v1 = size_t{c[3]} * 5 + size_t{c[4]} * 6 + c[5] + size_t{c[2]} * 8 + c[1] + c[0];
  size_t at = 44 + v1;
  int time_size = 8;
  if (data[4] < '2' || !counts(at, c)) {
    at = 0;  // version 1 only: use the 32-bit data
    time_size = 4;
    counts(0, c);
  }
  size_t base = at + 44;
  size_t timecnt = c[3];
  size_t typecnt = c[4];
  size_t need = base + timecnt * time_size + timecnt + typecnt * 6;
  if (need > size || typecnt == 0) return nullptr;
  auto zone = std::make_shared<Zone>();
  const unsigned char* types = p + base + timecnt * time_size + timecnt;
  auto offset_of = [&](size_t type) {
    return static_cast<int32_t>(Be32(types + 6 * (type < typecnt ? type : 0)));
  };
  zone->initial_offset = offset_of(0);
  for (size_t i = 0; i < timecnt; ++i) {
    const unsigned char* t = p + base + i * time_size;
    int64_t when = time_size == 8 ? static_cast<int64_t>((uint64_t{Be32(t)} << 32) | Be32(t + 4))
                                  : static_cast<int32_t>(Be32(t));
    zone->transitions.push_back(when);
    zone->offsets.push_back(offset_of(p[base + timecnt * time_size + i]));
  }
  return zone;
}

bool ValidZoneName(std::string_view name) {
  if (name.empty() || name.size() > 64 || name[0] == '/' || name.find("..") != name.npos) {
    return false;
  }
  for (char ch : name) {
    if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
          ch == '/' || ch == '_' || ch == '-' || ch == '+')) {
      return false;
    }
  }
  return true;
}

// Zones are read once per process and kept: policies name a handful of them.
std::shared_ptr<Zone> LoadZone(std::string_view name) {
  static std::mutex mutex;
  static std::map<std::string, std::shared_ptr<Zone>, std::less<>> cache;
  std::lock_guard<std::mutex> lock(mutex);
  auto it = cache.find(name);
  if (it != cache.end()) return it->second;
  std::shared_ptr<Zone> zone;
  if (ValidZoneName(name)) zone = ReadTzif("/usr/share/zoneinfo/" + std::string(name));
  if (cache.size() < 1000) cache.emplace(std::string(name), zone);
  return zone;
}

// "+05:30", "-02:30", "02:00" (hours:minutes, sign optional) in seconds.
std::optional<int32_t> FixedOffset(std::string_view zone) {
  size_t pos = 0;
  int sign = 1;
  if (!zone.empty() && (zone[0] == '+' || zone[0] == '-')) {
    sign = zone[0] == '-' ? -1 : 1;
    pos = 1;
  }
  int64_t hours = 0;
  int64_t minutes = 0;
  if (!ReadDigits(zone, pos, 2, hours) || pos >= zone.size() || zone[pos++] != ':' ||
      !ReadDigits(zone, pos, 2, minutes) || pos != zone.size() || hours > 23 || minutes > 59) {
    return std::nullopt;
  }
  return static_cast<int32_t>(sign * (hours * 3600 + minutes * 60));
}

}  // namespace

CivilDate CivilFromDays(int64_t days) {
  // Howard Hinnant's days-to-civil algorithm.
  int64_t z = days + 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  CivilDate date;
  date.day = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  date.month = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  date.year = yoe + era * 400 + (date.month <= 2 ? 1 : 0);
  return date;
}

Result<Nanos> ParseTimestamp(std::string_view text) {
  size_t pos = 0;
  int64_t year, month, day, hour, minute, second;
  auto bad = [&]() { return Fail("timestamp '", std::string(text), "' is not RFC 3339"); };
  if (!ReadDigits(text, pos, 4, year) || pos >= text.size() || text[pos++] != '-' ||
      !ReadDigits(text, pos, 2, month) || pos >= text.size() || text[pos++] != '-' ||
      !ReadDigits(text, pos, 2, day) || pos >= text.size() ||
      (text[pos] != 'T' && text[pos] != 't')) {
    return bad();
  }
  ++pos;
  if (!ReadDigits(text, pos, 2, hour) || pos >= text.size() || text[pos++] != ':' ||
      !ReadDigits(text, pos, 2, minute) || pos >= text.size() || text[pos++] != ':' ||
      !ReadDigits(text, pos, 2, second)) {
    return bad();
  }
  int64_t nanos = 0;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    int digits = 0;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      if (digits < 9) nanos = nanos * 10 + (text[pos] - '0');
      ++digits;
      ++pos;
    }
    if (digits == 0) return bad();
    for (int i = digits; i < 9; ++i) nanos *= 10;
  }
  int64_t offset = 0;
  if (pos < text.size() && (text[pos] == 'Z' || text[pos] == 'z')) {
    ++pos;
  } else if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
    int sign = text[pos] == '-' ? -1 : 1;
    ++pos;
    int64_t oh, om;
    if (!ReadDigits(text, pos, 2, oh) || pos >= text.size() || text[pos++] != ':' ||
        !ReadDigits(text, pos, 2, om) || oh > 23 || om > 59) {
      return bad();
    }
    offset = sign * (oh * 3600 + om * 60);
  } else {
    return bad();
  }
  if (pos != text.size()) return bad();
  if (year < 1 || month < 1 || month > 12 || day < 1 ||
      day > DaysInMonth(year, static_cast<int>(month)) || hour > 23 || minute > 59 || second > 59) {
    return Fail("timestamp '", std::string(text), "' is out of range");
  }
  int64_t seconds = DaysFromCivil(year, static_cast<int>(month), static_cast<int>(day)) * 86400 +
                    hour * 3600 + minute * 60 + second - offset;
  Nanos t = static_cast<Nanos>(seconds) * kNanosPerSecond + nanos;
  if (!TimestampInRange(t)) return Fail("timestamp '", std::string(text), "' is out of range");
  return t;
}

Result<Nanos> ParseDuration(std::string_view text) {
  auto bad = [&]() { return Fail("invalid duration '", std::string(text), "'"); };
  size_t pos = 0;
  bool negative = false;
  if (pos < text.size() && (text[pos] == '-' || text[pos] == '+')) negative = text[pos++] == '-';
  if (text.substr(pos) == "0") return Nanos{0};
  if (pos >= text.size()) return bad();
  Nanos total = 0;
  while (pos < text.size()) {
    // A decimal number, then a unit.
    Nanos whole = 0;
    size_t start = pos;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      whole = whole * 10 + (text[pos++] - '0');
      if (whole > static_cast<Nanos>(1) << 80) return bad();
    }
    bool had_whole = pos > start;
    Nanos frac = 0;
    Nanos frac_scale = 1;
    if (pos < text.size() && text[pos] == '.') {
      ++pos;
      size_t fstart = pos;
      while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
        if (frac_scale < static_cast<Nanos>(1000000000000000000LL)) {
          frac = frac * 10 + (text[pos] - '0');
          frac_scale *= 10;
        }
        ++pos;
      }
      if (pos == fstart && !had_whole) return bad();
    } else if (!had_whole) {
      return bad();
    }
    size_t ustart = pos;
    while (pos < text.size() && !(text[pos] >= '0' && text[pos] <= '9') && text[pos] != '.') {
      ++pos;
    }
    std::string_view unit = text.substr(ustart, pos - ustart);
    Nanos scale;
    if (unit == "ns")
      scale = 1;
    else if (unit == "us" || unit == "\xc2\xb5s" || unit == "\xce\xbcs")
      scale = 1000;
    else if (unit == "ms")
      scale = 1000000;
    else if (unit == "s")
      scale = kNanosPerSecond;
    else if (unit == "m")
      scale = 60 * kNanosPerSecond;
    else if (unit == "h")
      scale = 3600 * kNanosPerSecond;
    else
      return bad();
    total += whole * scale + frac * scale / frac_scale;
    if (total > static_cast<Nanos>(1) << 100) return bad();
  }
  if (negative) total = -total;
  if (!DurationInRange(total)) return Fail("duration '", std::string(text), "' is out of range");
  return total;
}

Result<CivilTime> ToCivil(Nanos t, std::string_view zone) {
  Nanos seconds = t / kNanosPerSecond;
  Nanos nanos = t % kNanosPerSecond;
  if (nanos < 0) {
    nanos += kNanosPerSecond;
    seconds -= 1;
  }
  int64_t s = static_cast<int64_t>(seconds);
  if (!zone.empty() && zone != "UTC" && zone != "Z") {
    if (auto fixed = FixedOffset(zone)) {
      s += *fixed;
    } else {
      std::shared_ptr<Zone> z = LoadZone(zone);
      if (!z) return Fail("unknown time zone '", std::string(zone), "'");
      s += z->OffsetAt(s);
    }
  }
  int64_t days = s / 86400;
  int64_t rem = s % 86400;
  if (rem < 0) {
    rem += 86400;
    days -= 1;
  }
  CivilTime c{};
  c.hour = static_cast<int>(rem / 3600);
  c.minute = static_cast<int>(rem / 60 % 60);
  c.second = static_cast<int>(rem % 60);
  c.nanos = static_cast<int64_t>(nanos);
  c.day_of_week = static_cast<int>(((days % 7) + 11) % 7);  // 1970-01-01 was a Thursday
  CivilDate date = CivilFromDays(days);
  c.year = date.year;
  c.month = date.month;
  c.day = date.day;
  c.day_of_year = static_cast<int>(days - DaysFromCivil(date.year, 1, 1));
  return c;
}

}  // namespace moat::cel
