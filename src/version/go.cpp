// Go module versions: golang.org/x/mod/semver (a leading "v", shorthands v1 and v1.2, build
// metadata such as +incompatible ignored) and module.IsPseudoVersion. Go vulndb OSV data writes
// versions without the "v" ("1.2.3", "0"), so Compare(kGo, ...) adds it when missing.

#include <string>

#include "version/internal.h"
#include "version/version.h"

namespace moat::version {
namespace {

using internal::IsDigit;

struct GoParsed {
  std::string_view major, minor, patch;  // minor/patch empty in shorthand forms (= "0")
  std::string_view prerelease;           // with the leading '-'
  std::string_view build;                // with the leading '+'
};

bool IsIdentChar(char c) { return internal::IsAlnum(c) || c == '-'; }

bool ParseInt(std::string_view& v, std::string_view& out) {
  if (v.empty() || !IsDigit(v[0])) return false;
  size_t i = 1;
  while (i < v.size() && IsDigit(v[i])) ++i;
  if (v[0] == '0' && i != 1) return false;
  out = v.substr(0, i);
  v.remove_prefix(i);
  return true;
}

bool IsBadNum(std::string_view v) {
  size_t i = 0;
  while (i < v.size() && IsDigit(v[i])) ++i;
  return i == v.size() && i > 1 && v[0] == '0';
}

bool ParsePrerelease(std::string_view& v, std::string_view& out) {
  if (v.empty() || v[0] != '-') return false;
  size_t i = 1, start = 1;
  while (i < v.size() && v[i] != '+') {
    if (!IsIdentChar(v[i]) && v[i] != '.') return false;
    if (v[i] == '.') {
      if (start == i || IsBadNum(v.substr(start, i - start))) return false;
      start = i + 1;
    }
    ++i;
  }
  if (start == i || IsBadNum(v.substr(start, i - start))) return false;
  out = v.substr(0, i);
  v.remove_prefix(i);
  return true;
}

bool ParseBuild(std::string_view& v, std::string_view& out) {
  if (v.empty() || v[0] != '+') return false;
  size_t i = 1, start = 1;
  while (i < v.size()) {
    if (!IsIdentChar(v[i]) && v[i] != '.') return false;
    if (v[i] == '.') {
      if (start == i) return false;
      start = i + 1;
    }
    ++i;
  }
  if (start == i) return false;
  out = v.substr(0, i);
  v.remove_prefix(i);
  return true;
}

// v_optional: vulndb's OSV data leaves the "v" out; accept that without copying the string.
bool GoParse(std::string_view v, GoParsed& p, bool v_optional = false) {
  p = GoParsed{};
  if (!v.empty() && v[0] == 'v') {
    v.remove_prefix(1);
  } else if (!v_optional) {
    return false;
  }
  if (!ParseInt(v, p.major)) return false;
  if (v.empty()) return true;
  if (v[0] != '.') return false;
  v.remove_prefix(1);
  if (!ParseInt(v, p.minor)) return false;
  if (v.empty()) return true;
  if (v[0] != '.') return false;
  v.remove_prefix(1);
  if (!ParseInt(v, p.patch)) return false;
  if (!v.empty() && v[0] == '-' && !ParsePrerelease(v, p.prerelease)) return false;
  if (!v.empty() && v[0] == '+' && !ParseBuild(v, p.build)) return false;
  return v.empty();
}

int CompareInt(std::string_view x, std::string_view y) {
  if (x.empty()) x = "0";
  if (y.empty()) y = "0";
  if (x == y) return 0;
  if (x.size() != y.size()) return x.size() < y.size() ? -1 : 1;
  return x < y ? -1 : 1;
}

std::string_view NextIdent(std::string_view& x) {
  size_t i = 0;
  while (i < x.size() && x[i] != '.') ++i;
  std::string_view d = x.substr(0, i);
  x.remove_prefix(i);
  return d;
}

int ComparePre(std::string_view x, std::string_view y) {
  if (x == y) return 0;
  if (x.empty()) return 1;
  if (y.empty()) return -1;
  while (!x.empty() && !y.empty()) {
    x.remove_prefix(1);  // '-' or '.'
    y.remove_prefix(1);
    std::string_view dx = NextIdent(x), dy = NextIdent(y);
    if (dx != dy) {
      bool ix = internal::AllDigits(dx), iy = internal::AllDigits(dy);
      if (ix != iy) return ix ? -1 : 1;
      if (ix && dx.size() != dy.size()) return dx.size() < dy.size() ? -1 : 1;
      return dx < dy ? -1 : 1;
    }
  }
  return x.empty() ? -1 : 1;
}

int CompareGoParsed(const GoParsed& a, const GoParsed& b) {
  int r = CompareInt(a.major, b.major);
  if (!r) r = CompareInt(a.minor, b.minor);
  if (!r) r = CompareInt(a.patch, b.patch);
  if (!r) r = ComparePre(a.prerelease, b.prerelease);
  return r;
}

}  // namespace

int GoSemverCompare(std::string_view a, std::string_view b) {
  GoParsed pa, pb;
  bool ok_a = GoParse(a, pa), ok_b = GoParse(b, pb);
  if (!ok_a && !ok_b) return 0;
  if (!ok_a) return -1;
  if (!ok_b) return 1;
  return CompareGoParsed(pa, pb);
}

std::string GoCanonical(std::string_view version) {
  GoParsed p;
  if (!GoParse(version, p)) return "";
  std::string out = "v";
  out.append(p.major);
  out += '.';
  out.append(p.minor.empty() ? "0" : p.minor);
  out += '.';
  out.append(p.patch.empty() ? "0" : p.patch);
  out.append(p.prerelease);
  return out;
}

// module.pseudoVersionRE:
// ^v[0-9]+\.(0\.0-|\d+\.\d+-([^+]*\.)?0\.)\d{14}-[A-Za-z0-9]+(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$
// plus at least two '-' and semver validity.
bool IsGoPseudoVersion(std::string_view v) {
  size_t dashes = 0;
  for (char c : v) dashes += c == '-';
  GoParsed p;
  if (dashes < 2 || !GoParse(v, p) || p.patch.empty() || p.prerelease.empty()) return false;
  // Valid semver guarantees the "v M.m.p" shape; check the prerelease tail
  // "(0\.0-|…-([^+]*\.)?0\.)" + timestamp + "-" + revision.
  std::string_view pre = p.prerelease.substr(1);  // after '-'
  size_t last_dash = pre.rfind('-');
  if (last_dash == std::string_view::npos || last_dash + 1 >= pre.size()) return false;
  for (char c : pre.substr(last_dash + 1)) {
    if (!internal::IsAlnum(c)) return false;
  }
  std::string_view head = pre.substr(0, last_dash);  // "...0.<14 digits>" or "<14 digits>"
  if (head.size() < 14) return false;
  std::string_view stamp = head.substr(head.size() - 14);
  if (!internal::AllDigits(stamp)) return false;
  std::string_view before = head.substr(0, head.size() - 14);
  if (p.major.size() > 0 && p.minor == "0" && p.patch == "0" && before.empty()) return true;
  // "vX.Y.Z-pre.0.<stamp>" or "vX.Y.Z-0.<stamp>": the prerelease ends in "0." before the stamp.
  if (before.size() < 2 || before.substr(before.size() - 2) != "0.") return false;
  before.remove_suffix(2);
  return before.empty() || before.back() == '.';
}

namespace internal {

Result<int> CompareGo(std::string_view a, std::string_view b) {
  GoParsed pa, pb;
  if (!GoParse(a, pa, true)) return VersionError("go", a, "not a valid Go module version");
  if (!GoParse(b, pb, true)) return VersionError("go", b, "not a valid Go module version");
  return CompareGoParsed(pa, pb);
}

Result<void> ValidateGo(std::string_view v) {
  GoParsed p;
  if (!GoParse(v, p, true)) return VersionError("go", v, "not a valid Go module version");
  return Ok();
}

}  // namespace internal
}  // namespace moat::version
