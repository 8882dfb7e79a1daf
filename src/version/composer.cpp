// Composer (Packagist) ordering as `composer audit` applies it: both versions normalized by
// Composer\Semver\VersionParser::normalize ("v1.2" -> "1.2.0.0", "1.0-b2" -> "1.0.0.0-beta2",
// "2023.01.05" -> "2023.01.05"), then compared by PHP's version_compare(). Branch names
// ("dev-main") never compare with versions in Composer, so they are errors here.

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "version/internal.h"
#include "version/version.h"

namespace moat::version::internal {
namespace {

bool StartsWithIgnoreCase(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && EqualsIgnoreCase(s.substr(0, prefix.size()), prefix);
}

// The tail every normalized form shares, VersionParser::$modifierRegex anchored at the end:
// [._-]?(?:(stable|beta|b|RC|alpha|a|patch|pl|p)((?:[.-]?\d+)*+)?)?([.-]?dev)?$ (case
// insensitive). Appends the modifier to `version` as normalize() does; false when the rest does
// not match.
bool AppendModifier(std::string_view rest, std::string& version) {
  auto dev_tail = [](std::string_view s, bool& dev) {
    if (s.empty()) {
      dev = false;
      return true;
    }
    if (s.front() == '.' || s.front() == '-') s.remove_prefix(1);
    dev = EqualsIgnoreCase(s, "dev");
    return dev;
  };
  auto try_from = [&](std::string_view s) -> std::optional<std::string> {
    // The alternatives in the regex's order: the first that lets the whole tail match wins.
    static constexpr std::string_view kStabilities[] = {"stable", "beta",  "b",  "RC", "alpha",
                                                        "a",      "patch", "pl", "p"};
    for (std::string_view stability : kStabilities) {
      if (!StartsWithIgnoreCase(s, stability)) continue;
      std::string_view matched = s.substr(0, stability.size());
      std::string_view after = s.substr(stability.size());
      // ((?:[.-]?\d+)*+): possessive, so it takes every separator-and-digits group there is.
      size_t i = 0;
      while (true) {
        size_t j = i;
        if (j < after.size() && (after[j] == '.' || after[j] == '-')) ++j;
        size_t digits = j;
        while (digits < after.size() && IsDigit(after[digits])) ++digits;
        if (digits == j) break;
        i = digits;
      }
      std::string_view numbers = after.substr(0, i);
      bool dev = false;
      if (!dev_tail(after.substr(i), dev)) continue;
      if (matched == "stable") return std::string();  // exactly "stable": the version alone
      std::string out = "-";
      for (char c : matched) out += ToLower(c);
      if (out == "-a") out = "-alpha";
      if (out == "-b") out = "-beta";
      if (out == "-p" || out == "-pl") out = "-patch";
      if (out == "-rc") out = "-RC";
      while (!numbers.empty() && (numbers.front() == '.' || numbers.front() == '-')) {
        numbers.remove_prefix(1);
      }
      out += numbers;
      if (dev) out += "-dev";
      return out;
    }
    bool dev = false;
    if (dev_tail(s, dev)) return dev ? std::string("-dev") : std::string();
    return std::nullopt;
  };
  std::optional<std::string> modifier;
  if (!rest.empty() && (rest.front() == '.' || rest.front() == '_' || rest.front() == '-')) {
    modifier = try_from(rest.substr(1));
  }
  if (!modifier) modifier = try_from(rest);
  if (!modifier) return false;
  version += *modifier;
  return true;
}

size_t CountDigits(std::string_view s, size_t from) {
  size_t i = from;
  while (i < s.size() && IsDigit(s[i])) ++i;
  return i - from;
}

// ^v?(\d{1,5})(\.\d++)?(\.\d++)?(\.\d++)? then the modifier.
std::optional<std::string> NormalizeClassical(std::string_view v) {
  size_t major = CountDigits(v, 0);
  if (major == 0 || major > 5) return std::nullopt;
  std::string version(v.substr(0, major));
  size_t i = major;
  int parts = 1;
  while (parts < 4 && i + 1 < v.size() && v[i] == '.' && IsDigit(v[i + 1])) {
    size_t n = CountDigits(v, i + 1);
    version += v.substr(i, n + 1);
    i += n + 1;
    ++parts;
  }
  // A digit right after the numbers cannot start the modifier, and \d++ gives nothing back.
  if (i < v.size() && IsDigit(v[i])) return std::nullopt;
  for (; parts < 4; ++parts) version += ".0";
  if (!AppendModifier(v.substr(i), version)) return std::nullopt;
  return version;
}

// ^v?(\d{4}(?:[.:-]?\d{2}){1,6}(?:[.:-]?\d{1,3})?) then the modifier; the date part with every
// non-digit made ".".
bool IsDateSeparator(char c) { return c == '.' || c == ':' || c == '-'; }

void DateEnds(std::string_view v, size_t at, int groups, std::vector<size_t>& ends) {
  // After at least one two-digit group: the end here, or an optional last group of 1-3 digits.
  if (groups >= 1) {
    ends.push_back(at);
    size_t j = at;
    if (j < v.size() && IsDateSeparator(v[j])) ++j;
    for (size_t n = 1; n <= 3 && j + n <= v.size() && IsDigit(v[j + n - 1]); ++n) {
      ends.push_back(j + n);
    }
  }
  if (groups == 6) return;
  size_t j = at;
  for (int skip = 0; skip < 2; ++skip) {
    if (skip == 1) {
      if (j < v.size() && IsDateSeparator(v[j])) {
        ++j;
      } else {
        break;
      }
    }
    if (j + 2 <= v.size() && IsDigit(v[j]) && IsDigit(v[j + 1])) {
      DateEnds(v, j + 2, groups + 1, ends);
    }
  }
}

std::optional<std::string> NormalizeDate(std::string_view v) {
  if (CountDigits(v, 0) < 4) return std::nullopt;
  std::vector<size_t> ends;
  DateEnds(v, 4, 0, ends);
  // Greedy quantifiers: the longest date part the modifier can follow.
  std::sort(ends.begin(), ends.end());
  ends.erase(std::unique(ends.begin(), ends.end()), ends.end());
  for (auto it = ends.rbegin(); it != ends.rend(); ++it) {
    std::string version;
    for (char c : v.substr(0, *it)) version += IsDigit(c) ? c : '.';
    if (AppendModifier(v.substr(*it), version)) return version;
  }
  return std::nullopt;
}

// normalizeBranch() of a "<numbers>-dev" version: "1.x-dev" -> "1.9999999.9999999.9999999-dev".
std::optional<std::string> NormalizeNumericBranch(std::string_view name) {
  name = TrimSpace(name);
  if (!name.empty() && (name.front() == 'v' || name.front() == 'V')) name.remove_prefix(1);
  size_t major = CountDigits(name, 0);
  if (major == 0) return std::nullopt;
  std::string version(name.substr(0, major));
  size_t i = major;
  int parts = 1;
  while (parts < 4 && i + 1 < name.size() && name[i] == '.') {
    char c = name[i + 1];
    if (c == 'x' || c == 'X' || c == '*') {
      version += ".x";
      i += 2;
    } else if (IsDigit(c)) {
      size_t n = CountDigits(name, i + 1);
      version += name.substr(i, n + 1);
      i += n + 1;
    } else {
      break;
    }
    ++parts;
  }
  if (i != name.size()) return std::nullopt;
  for (; parts < 4; ++parts) version += ".x";
  std::string out;
  for (char c : version) {
    if (c == 'x') {
      out += "9999999";
    } else {
      out += c;
    }
  }
  return out + "-dev";
}

Result<std::string> NormalizeComposer(std::string_view in) {
  auto fail = [&](std::string_view problem) -> Error {
    return VersionError("composer", in, problem);
  };
  std::string_view v = TrimSpace(in);
  if (v.empty()) return fail("empty version");
  // "1.0.x-dev as 1.0.0": the aliased version is what is installed.
  if (size_t as = v.find(" as "); as != std::string_view::npos) v = TrimSpace(v.substr(0, as));
  for (std::string_view flag : {"@stable", "@RC", "@beta", "@alpha", "@dev"}) {
    if (v.size() > flag.size() && EqualsIgnoreCase(v.substr(v.size() - flag.size()), flag)) {
      v.remove_suffix(flag.size());
      break;
    }
  }
  if (v == "master" || v == "trunk" || v == "default" || StartsWithIgnoreCase(v, "dev-")) {
    return fail("a branch, not a release: Composer compares branches with no version");
  }
  if (size_t plus = v.find('+'); plus != std::string_view::npos && plus > 0) {
    v = v.substr(0, plus);  // build metadata
  }
  std::string_view unprefixed = v;
  if (!unprefixed.empty() && (unprefixed.front() == 'v' || unprefixed.front() == 'V')) {
    unprefixed.remove_prefix(1);
  }
  if (auto classical = NormalizeClassical(unprefixed)) return *classical;
  if (auto date = NormalizeDate(unprefixed)) return *date;
  // "1.2.x-dev", "2-dev": a numeric branch.
  for (std::string_view suffix : {".dev", "-dev", "dev"}) {
    if (v.size() > suffix.size() && EqualsIgnoreCase(v.substr(v.size() - suffix.size()), suffix)) {
      if (auto branch = NormalizeNumericBranch(v.substr(0, v.size() - suffix.size()))) {
        return *branch;
      }
    }
  }
  return fail("not a version Composer's VersionParser accepts");
}

// ---- PHP's version_compare() (ext/standard/versioning.c) ----

bool PhpIsDigit(char c) { return IsDigit(c); }

// php_canonicalize_version: "-", "_" and "+" become "."; a "." goes between a digit and a
// non-digit; any other non-alphanumeric character becomes "."; no two "." in a row.
std::string PhpCanonicalize(std::string_view v) {
  std::string out;
  if (v.empty()) return out;
  out += v[0];
  char last = v[0];
  auto is_dig = [](char c) { return PhpIsDigit(c) && c != '.'; };
  auto is_ndig = [](char c) { return !PhpIsDigit(c) && c != '.'; };
  for (size_t i = 1; i < v.size(); ++i) {
    char c = v[i];
    if (c == '-' || c == '_' || c == '+') {
      if (out.back() != '.') out += '.';
    } else if ((is_ndig(last) && is_dig(c)) || (is_dig(last) && is_ndig(c))) {
      if (out.back() != '.') out += '.';
      out += c;
    } else if (!IsAlnum(c)) {
      if (out.back() != '.') out += '.';
    } else {
      out += c;
    }
    last = c;
  }
  return out;
}

// compare_special_version_forms: the first form the part starts with (strncmp prefix), else -1.
int SpecialFormOrder(std::string_view part) {
  struct Form {
    std::string_view name;
    int order;
  };
  static constexpr Form kForms[] = {{"dev", 0}, {"alpha", 1}, {"a", 1}, {"beta", 2}, {"b", 2},
                                    {"RC", 3},  {"rc", 3},    {"#", 4}, {"pl", 5},   {"p", 5}};
  for (const Form& form : kForms) {
    if (part.substr(0, form.name.size()) == form.name) return form.order;
  }
  return -1;
}

// strtol: saturates at LONG_MAX, as PHP's comparison does on the numbers it reads.
long PhpNumber(std::string_view digits) {
  long value = 0;
  for (char c : digits) {
    if (!IsDigit(c)) break;
    int d = c - '0';
    if (value > (LONG_MAX - d) / 10) return LONG_MAX;
    value = value * 10 + d;
  }
  return value;
}

int PhpVersionCompare(std::string_view a, std::string_view b);

int ComparePart(std::string_view p1, std::string_view p2) {
  bool d1 = !p1.empty() && PhpIsDigit(p1.front());
  bool d2 = !p2.empty() && PhpIsDigit(p2.front());
  if (d1 && d2) {
    long l1 = PhpNumber(p1), l2 = PhpNumber(p2);
    return l1 < l2 ? -1 : (l1 > l2 ? 1 : 0);
  }
  if (!d1 && !d2) return Sign(SpecialFormOrder(p1) - SpecialFormOrder(p2));
  return d1 ? Sign(SpecialFormOrder("#N#") - SpecialFormOrder(p2))
            : Sign(SpecialFormOrder(p1) - SpecialFormOrder("#N#"));
}

int PhpVersionCompare(std::string_view a, std::string_view b) {
  if (a.empty() || b.empty()) {
    if (a.empty() && b.empty()) return 0;
    return a.empty() ? -1 : 1;
  }
  std::string v1 = a.front() == '#' ? std::string(a) : PhpCanonicalize(a);
  std::string v2 = b.front() == '#' ? std::string(b) : PhpCanonicalize(b);
  std::string_view p1 = v1, p2 = v2;
  size_t n1 = 0, n2 = 0;  // positions of the next "."; npos once a side has none left
  int compare = 0;
  while (!p1.empty() && !p2.empty() && n1 != std::string_view::npos &&
         n2 != std::string_view::npos) {
    n1 = p1.find('.');
    n2 = p2.find('.');
    compare = ComparePart(p1.substr(0, n1), p2.substr(0, n2));
    if (compare != 0) break;
    if (n1 != std::string_view::npos) p1.remove_prefix(n1 + 1);
    if (n2 != std::string_view::npos) p2.remove_prefix(n2 + 1);
  }
  if (compare == 0) {
    if (n1 != std::string_view::npos) {
      compare = !p1.empty() && PhpIsDigit(p1.front()) ? 1 : PhpVersionCompare(p1, "#N#");
    } else if (n2 != std::string_view::npos) {
      compare = !p2.empty() && PhpIsDigit(p2.front()) ? -1 : PhpVersionCompare("#N#", p2);
    }
  }
  return compare;
}

}  // namespace

Result<int> CompareComposer(std::string_view a, std::string_view b) {
  MOAT_ASSIGN_OR_RETURN(std::string na, NormalizeComposer(a));
  MOAT_ASSIGN_OR_RETURN(std::string nb, NormalizeComposer(b));
  return PhpVersionCompare(na, nb);
}

Result<void> ValidateComposer(std::string_view v) {
  MOAT_TRY(NormalizeComposer(v));
  return Ok();
}

}  // namespace moat::version::internal

namespace moat::version {

int PhpVersionCompareRaw(std::string_view a, std::string_view b) {
  return internal::PhpVersionCompare(a, b);
}

Result<std::string> NormalizeComposerVersion(std::string_view version) {
  return internal::NormalizeComposer(version);
}

}  // namespace moat::version
