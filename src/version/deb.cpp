// Debian version ordering, as dpkg's lib/dpkg/version.c (verrevcmp) and parsing/validation as
// lib/dpkg/parsehelp.c (parseversion). Validate() rejects what parseversion rejects or warns
// about (the !V vectors); Compare() behaves like `dpkg --compare-versions`, which compares
// versions with a syntax warning (say "0:a-0", no leading digit) and fails only on errors.

#include <climits>

#include "version/internal.h"
#include "version/version.h"

namespace moat::version::internal {
namespace {

struct DebVersion {
  long epoch = 0;
  std::string_view upstream;
  std::string_view revision;
};

constexpr bool IsBlank(char c) { return c == ' ' || c == '\t'; }

// strict: warnings (bad characters, no leading digit) are errors too.
Result<DebVersion> ParseDeb(std::string_view in, bool strict) {
  auto fail = [&](std::string_view problem) -> Error { return VersionError("deb", in, problem); };
  std::string_view s = in;
  while (!s.empty() && IsBlank(s.front())) s.remove_prefix(1);
  if (s.empty()) return fail("version string is empty");
  size_t end = 0;
  while (end < s.size() && !IsSpace(s[end])) ++end;
  for (size_t i = end; i < s.size(); ++i) {
    if (!IsSpace(s[i])) return fail("version string has embedded spaces");
  }
  s = s.substr(0, end);
  if (s.find('\0') != std::string_view::npos) return fail("invalid character in version number");

  DebVersion v;
  size_t colon = s.find(':');
  if (colon != std::string_view::npos) {
    // strtol semantics: optional sign, then digits; the number must end exactly at the colon.
    size_t i = 0;
    bool negative = false;
    if (i < colon && (s[i] == '+' || s[i] == '-')) {
      negative = s[i] == '-';
      ++i;
    }
    size_t digits_start = i;
    while (i < s.size() && IsDigit(s[i])) ++i;
    if (i == digits_start) return fail("epoch in version is empty");
    if (i != colon) return fail("epoch in version is not number");
    std::string_view digits = s.substr(digits_start, i - digits_start);
    while (digits.size() > 1 && digits.front() == '0') digits.remove_prefix(1);
    bool too_big = digits.size() > 10;
    unsigned long long value = 0;
    if (!too_big) {
      for (char c : digits) value = value * 10 + static_cast<unsigned>(c - '0');
    }
    if (negative && (too_big || value != 0)) return fail("epoch in version is negative");
    if (too_big || value > static_cast<unsigned long long>(INT_MAX)) {
      return fail("epoch in version is too big");
    }
    if (colon + 1 == s.size()) return fail("nothing after colon in version number");
    v.epoch = static_cast<long>(value);
    s = s.substr(colon + 1);
  }
  size_t hyphen = s.rfind('-');
  if (hyphen != std::string_view::npos) {
    v.upstream = s.substr(0, hyphen);
    v.revision = s.substr(hyphen + 1);
    if (v.revision.empty()) return fail("revision number is empty");
  } else {
    v.upstream = s;
  }
  if (v.upstream.empty()) return fail("version number is empty");
  if (!strict) return v;
  if (!IsDigit(v.upstream.front())) return fail("version number does not start with digit");
  for (char c : v.upstream) {
    if (!IsAlnum(c) && c != '.' && c != '-' && c != '+' && c != '~' && c != ':') {
      return fail("invalid character in version number");
    }
  }
  for (char c : v.revision) {
    if (!IsAlnum(c) && c != '.' && c != '+' && c != '~') {
      return fail("invalid character in revision number");
    }
  }
  return v;
}

// dpkg's order(): '~' before the end, the end before letters, letters before everything else.
int Order(int c) {
  if (IsDigit(static_cast<char>(c))) return 0;
  if (IsAlpha(static_cast<char>(c))) return c;
  if (c == '~') return -1;
  if (c) return c + 256;
  return 0;
}

int VerRevCmp(std::string_view a, std::string_view b) {
  size_t i = 0, j = 0;
  auto at = [](std::string_view s, size_t k) -> int {
    return k < s.size() ? static_cast<unsigned char>(s[k]) : 0;
  };
  while (i < a.size() || j < b.size()) {
    int first_diff = 0;
    while ((i < a.size() && !IsDigit(a[i])) || (j < b.size() && !IsDigit(b[j]))) {
      int ac = Order(at(a, i));
      int bc = Order(at(b, j));
      if (ac != bc) return ac - bc;
      ++i;
      ++j;
    }
    while (i < a.size() && a[i] == '0') ++i;
    while (j < b.size() && b[j] == '0') ++j;
    while (i < a.size() && j < b.size() && IsDigit(a[i]) && IsDigit(b[j])) {
      if (!first_diff) first_diff = a[i] - b[j];
      ++i;
      ++j;
    }
    if (i < a.size() && IsDigit(a[i])) return 1;
    if (j < b.size() && IsDigit(b[j])) return -1;
    if (first_diff) return first_diff;
  }
  return 0;
}

}  // namespace

Result<int> CompareDeb(std::string_view a, std::string_view b) {
  MOAT_ASSIGN_OR_RETURN(DebVersion va, ParseDeb(a, /*strict=*/false));
  MOAT_ASSIGN_OR_RETURN(DebVersion vb, ParseDeb(b, /*strict=*/false));
  if (va.epoch != vb.epoch) return va.epoch < vb.epoch ? -1 : 1;
  int r = VerRevCmp(va.upstream, vb.upstream);
  if (r) return Sign(r);
  return Sign(VerRevCmp(va.revision, vb.revision));
}

Result<void> ValidateDeb(std::string_view v) {
  MOAT_TRY(ParseDeb(v, /*strict=*/true));
  return Ok();
}

}  // namespace moat::version::internal
