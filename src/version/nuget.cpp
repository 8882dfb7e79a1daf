// NuGet ordering as NuGet.Versioning (NuGetVersion.TryParse + VersionComparer.Default): 2 to 4
// numeric parts (missing = 0), prerelease labels compared part by part (numbers before strings,
// strings case-insensitively), build metadata ignored; version numbers of any size.

#include <climits>
#include <cstdint>

#include "version/internal.h"
#include "version/version.h"

namespace moat::version::internal {
namespace {

struct NugetVersion {
  std::string_view parts[4];  // digits; empty = 0
  std::string_view release;   // dot-separated labels, without '-'
  bool has_release = false;
};

bool IsLabelChar(char c) { return IsAlnum(c) || c == '-'; }

// Int32.TryParse on a label: optional '-', digits, within int range.
bool ParseInt32(std::string_view s, int64_t& out) {
  bool negative = false;
  if (!s.empty() && s.front() == '-') {
    negative = true;
    s.remove_prefix(1);
  }
  if (s.empty() || !AllDigits(s)) return false;
  while (s.size() > 1 && s.front() == '0') s.remove_prefix(1);
  if (s.size() > 10) return false;
  int64_t v = 0;
  for (char c : s) v = v * 10 + (c - '0');
  if (negative) v = -v;
  if (v > INT32_MAX || v < INT32_MIN) return false;
  out = v;
  return true;
}

Result<NugetVersion> ParseNuget(std::string_view in) {
  auto fail = [&](std::string_view problem) -> Error { return VersionError("nuget", in, problem); };
  std::string_view s = TrimSpace(in);
  if (s.empty()) return fail("empty version");
  // ParseSections: the version ends at the first '-' or '+', the labels at the next '+'.
  size_t dash_or_plus = s.find_first_of("-+");
  std::string_view version_part = s.substr(0, dash_or_plus);
  std::string_view release, metadata;
  bool has_release = false, has_metadata = false;
  if (dash_or_plus != std::string_view::npos) {
    std::string_view rest = s.substr(dash_or_plus + 1);
    if (s[dash_or_plus] == '-') {
      size_t plus = rest.find('+');
      has_release = true;
      release = rest.substr(0, plus);
      if (plus != std::string_view::npos) {
        has_metadata = true;
        metadata = rest.substr(plus + 1);
      }
    } else {
      has_metadata = true;
      metadata = rest;
    }
    if (rest.empty()) return fail("nothing after '-' or '+'");
  }
  NugetVersion v;
  int count = 0;
  while (true) {
    size_t dot = version_part.find('.');
    std::string_view part = version_part.substr(0, dot);
    if (count == 4) return fail("more than four version numbers");
    if (part.empty() || !AllDigits(part)) return fail("version numbers must be digits");
    // NuGet.Versioning stops at Int32; feeds and lock files carry bigger numbers (dates, build
    // counters), so they compare as the arbitrary-size numbers they are.
    v.parts[count++] = part;
    if (dot == std::string_view::npos) break;
    version_part.remove_prefix(dot + 1);
  }
  if (has_release) {
    std::string_view labels = release;
    while (true) {
      size_t dot = labels.find('.');
      std::string_view label = labels.substr(0, dot);
      if (label.empty()) return fail("empty prerelease label");
      for (char c : label) {
        if (!IsLabelChar(c)) return fail("invalid character in prerelease label");
      }
      if (label.size() > 1 && label.front() == '0' && AllDigits(label)) {
        return fail("numeric prerelease label with a leading zero");
      }
      if (dot == std::string_view::npos) break;
      labels.remove_prefix(dot + 1);
    }
    v.release = release;
    v.has_release = true;
  }
  if (has_metadata) {
    std::string_view parts = metadata;
    while (true) {
      size_t dot = parts.find('.');
      std::string_view part = parts.substr(0, dot);
      if (part.empty()) return fail("empty build metadata part");
      for (char c : part) {
        if (!IsLabelChar(c)) return fail("invalid character in build metadata");
      }
      if (dot == std::string_view::npos) break;
      parts.remove_prefix(dot + 1);
    }
  }
  return v;
}

int CompareLabel(std::string_view a, std::string_view b) {
  int64_t na = 0, nb = 0;
  bool ia = ParseInt32(a, na), ib = ParseInt32(b, nb);
  if (ia && ib) return na < nb ? -1 : (na > nb ? 1 : 0);
  if (ia != ib) return ia ? -1 : 1;
  return CompareIgnoreCase(a, b);
}

}  // namespace

Result<int> CompareNuget(std::string_view a, std::string_view b) {
  MOAT_ASSIGN_OR_RETURN(NugetVersion va, ParseNuget(a));
  MOAT_ASSIGN_OR_RETURN(NugetVersion vb, ParseNuget(b));
  for (int i = 0; i < 4; ++i) {
    int r = CompareDigits(va.parts[i], vb.parts[i]);
    if (r) return r;
  }
  if (!va.has_release || !vb.has_release) {
    return va.has_release == vb.has_release ? 0 : (va.has_release ? -1 : 1);
  }
  std::string_view x = va.release, y = vb.release;
  while (true) {
    size_t dx = x.find('.'), dy = y.find('.');
    int r = CompareLabel(x.substr(0, dx), y.substr(0, dy));
    if (r) return r;
    bool x_more = dx != std::string_view::npos, y_more = dy != std::string_view::npos;
    if (!x_more || !y_more) return x_more == y_more ? 0 : (x_more ? 1 : -1);
    x.remove_prefix(dx + 1);
    y.remove_prefix(dy + 1);
  }
}

Result<void> ValidateNuget(std::string_view v) {
  MOAT_TRY(ParseNuget(v));
  return Ok();
}

}  // namespace moat::version::internal
