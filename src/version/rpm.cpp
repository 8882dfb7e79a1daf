// RPM ordering: rpmvercmp() (rpmio/rpmvercmp.c, with `~` and `^`) applied to epoch, version and
// release as rpm's rpmverCmp() (rpmio/rpmver.c) does for "[epoch:]version[-release]" strings.
// This is what rpm's Lua rpm.vercmp() computes.

#include "version/internal.h"
#include "version/version.h"

namespace moat::version {
namespace {

// rpm works on C strings: a NUL ends the string.
std::string_view UpToNul(std::string_view s) {
  size_t nul = s.find('\0');
  return nul == std::string_view::npos ? s : s.substr(0, nul);
}

}  // namespace

int RpmVercmp(std::string_view a, std::string_view b) {
  using internal::IsAlnum;
  using internal::IsAlpha;
  using internal::IsDigit;
  a = UpToNul(a);
  b = UpToNul(b);
  if (a == b) return 0;
  size_t one = 0, two = 0;
  auto ch = [](std::string_view s, size_t i) -> char { return i < s.size() ? s[i] : '\0'; };
  while (one < a.size() || two < b.size()) {
    while (one < a.size() && !IsAlnum(a[one]) && a[one] != '~' && a[one] != '^') ++one;
    while (two < b.size() && !IsAlnum(b[two]) && b[two] != '~' && b[two] != '^') ++two;

    // Tilde sorts before everything, even the end of the string.
    if (ch(a, one) == '~' || ch(b, two) == '~') {
      if (ch(a, one) != '~') return 1;
      if (ch(b, two) != '~') return -1;
      ++one;
      ++two;
      continue;
    }
    // Caret sorts like tilde except that it sorts after the end of the string.
    if (ch(a, one) == '^' || ch(b, two) == '^') {
      if (one >= a.size()) return -1;
      if (two >= b.size()) return 1;
      if (ch(a, one) != '^') return 1;
      if (ch(b, two) != '^') return -1;
      ++one;
      ++two;
      continue;
    }
    if (!(one < a.size() && two < b.size())) break;

    size_t end1 = one, end2 = two;
    bool isnum;
    if (IsDigit(a[one])) {
      while (end1 < a.size() && IsDigit(a[end1])) ++end1;
      while (end2 < b.size() && IsDigit(b[end2])) ++end2;
      isnum = true;
    } else {
      while (end1 < a.size() && IsAlpha(a[end1])) ++end1;
      while (end2 < b.size() && IsAlpha(b[end2])) ++end2;
      isnum = false;
    }
    if (one == end1) return -1;  // cannot happen: the segment above is non-empty
    // Segments of different types: numeric is newer than alpha.
    if (two == end2) return isnum ? 1 : -1;

    std::string_view seg1 = a.substr(one, end1 - one);
    std::string_view seg2 = b.substr(two, end2 - two);
    int rc = isnum ? internal::CompareDigits(seg1, seg2) : internal::Sign(seg1.compare(seg2));
    if (rc) return rc;
    one = end1;
    two = end2;
  }
  if (one >= a.size() && two >= b.size()) return 0;
  return one >= a.size() ? -1 : 1;
}

namespace internal {
namespace {

struct Evr {
  std::string_view epoch;  // empty = absent (compared as "0")
  std::string_view version;
  std::string_view release;
  bool has_release = false;
};

// rpmver.c parseEVR(): digits then ':' make the epoch; the last '-' after the epoch digits splits
// off the release.
Evr ParseEvr(std::string_view s) {
  Evr evr;
  size_t i = 0;
  while (i < s.size() && IsDigit(s[i])) ++i;
  size_t hyphen = s.rfind('-');
  if (hyphen != std::string_view::npos && hyphen < i) hyphen = std::string_view::npos;
  size_t version_start = 0;
  if (i < s.size() && s[i] == ':') {
    evr.epoch = i == 0 ? std::string_view("0") : s.substr(0, i);
    version_start = i + 1;
  }
  if (hyphen != std::string_view::npos) {
    evr.version = s.substr(version_start, hyphen - version_start);
    evr.release = s.substr(hyphen + 1);
    evr.has_release = true;
  } else {
    evr.version = s.substr(version_start);
  }
  return evr;
}

Result<Evr> CheckedEvr(std::string_view v) {
  v = UpToNul(v);
  if (v.empty()) return VersionError("rpm", v, "empty version");
  return ParseEvr(v);
}

}  // namespace

Result<int> CompareRpm(std::string_view a, std::string_view b) {
  MOAT_ASSIGN_OR_RETURN(Evr ea, CheckedEvr(a));
  MOAT_ASSIGN_OR_RETURN(Evr eb, CheckedEvr(b));
  int rc = RpmVercmp(ea.epoch.empty() ? "0" : ea.epoch, eb.epoch.empty() ? "0" : eb.epoch);
  if (rc) return rc;
  rc = RpmVercmp(ea.version, eb.version);
  if (rc) return rc;
  // rpmverCmp: a missing release sorts before any release.
  if (!ea.has_release || !eb.has_release) {
    return ea.has_release == eb.has_release ? 0 : (ea.has_release ? 1 : -1);
  }
  return RpmVercmp(ea.release, eb.release);
}

Result<void> ValidateRpm(std::string_view v) {
  MOAT_TRY(CheckedEvr(v));
  return Ok();
}

}  // namespace internal
}  // namespace moat::version
