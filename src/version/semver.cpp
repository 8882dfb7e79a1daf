// SemVer 2.0 as npm's node-semver (7.8, as bundled with npm 11) parses and orders it, with its
// `loose` option, and npm's range grammar (Range/Comparator in node-semver). node-semver works by
// regex rewriting; this is the same grammar as a hand-written scanner so that it needs no regex
// engine and cannot blow the stack on hostile input.

#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "version/internal.h"
#include "version/version.h"

namespace moat::version {
namespace internal {
namespace {

constexpr size_t kMaxLength = 256;                         // node-semver MAX_LENGTH
constexpr uint64_t kMaxSafeInteger = 9007199254740991ULL;  // Number.MAX_SAFE_INTEGER

// JavaScript's String.prototype.trim() for ASCII input (also strips U+00A0/U+FEFF in UTF-8).
std::string_view JsTrim(std::string_view s) {
  auto strip_front = [](std::string_view& v) {
    if (!v.empty() && IsSpace(v.front())) {
      v.remove_prefix(1);
      return true;
    }
    if (v.size() >= 2 && v.substr(0, 2) == "\xc2\xa0") {
      v.remove_prefix(2);
      return true;
    }
    if (v.size() >= 3 && v.substr(0, 3) == "\xef\xbb\xbf") {
      v.remove_prefix(3);
      return true;
    }
    return false;
  };
  auto strip_back = [](std::string_view& v) {
    if (!v.empty() && IsSpace(v.back())) {
      v.remove_suffix(1);
      return true;
    }
    if (v.size() >= 2 && v.substr(v.size() - 2) == "\xc2\xa0") {
      v.remove_suffix(2);
      return true;
    }
    if (v.size() >= 3 && v.substr(v.size() - 3) == "\xef\xbb\xbf") {
      v.remove_suffix(3);
      return true;
    }
    return false;
  };
  while (strip_front(s)) {
  }
  while (strip_back(s)) {
  }
  return s;
}

bool IsIdentChar(char c) { return IsAlnum(c) || c == '-'; }

// A parsed version; the views point into the caller's string.
struct SemVer {
  std::string_view major, minor, patch;
  std::string_view prerelease;  // dot-separated identifiers, without the leading '-'
};

// Numeric identifier: strict "0|[1-9]\d*", loose "\d+". Returns its length or 0.
size_t ScanNumber(std::string_view s, size_t i, bool loose) {
  size_t n = 0;
  while (i + n < s.size() && IsDigit(s[i + n])) ++n;
  if (n > 1 && s[i] == '0' && !loose) return 0;
  return n;
}

// Prerelease identifiers "id(.id)*" at i; each id is numeric (strict: no leading zero) or
// contains a letter or '-'. Returns the end or npos.
size_t ScanPrerelease(std::string_view s, size_t i, bool loose) {
  while (true) {
    size_t start = i;
    bool all_digits = true;
    while (i < s.size() && IsIdentChar(s[i])) {
      if (!IsDigit(s[i])) all_digits = false;
      ++i;
    }
    if (i == start) return std::string_view::npos;
    if (all_digits && !loose && i - start > 1 && s[start] == '0') return std::string_view::npos;
    if (i < s.size() && s[i] == '.') {
      ++i;
      continue;
    }
    return i;
  }
}

size_t ScanBuild(std::string_view s, size_t i) {
  while (true) {
    size_t start = i;
    while (i < s.size() && IsIdentChar(s[i])) ++i;
    if (i == start) return std::string_view::npos;
    if (i < s.size() && s[i] == '.') {
      ++i;
      continue;
    }
    return i;
  }
}

bool TooBig(std::string_view digits) {
  while (digits.size() > 1 && digits.front() == '0') digits.remove_prefix(1);
  if (digits.size() > 16) return true;
  uint64_t v = 0;
  for (char c : digits) v = v * 10 + static_cast<uint64_t>(c - '0');
  return v > kMaxSafeInteger;
}

// What may follow the patch number: "-pre" (loose: "-?pre"), "+build", then the end.
bool ParseTail(std::string_view s, size_t i, bool loose, std::string_view& prerelease,
               bool& has_build) {
  prerelease = {};
  has_build = false;
  if (i < s.size() && (s[i] == '-' || (loose && IsIdentChar(s[i])))) {
    size_t start = s[i] == '-' ? i + 1 : i;
    size_t end = ScanPrerelease(s, start, loose);
    if (end == std::string_view::npos && loose && s[i] == '-') {
      // "-?" may also leave the '-' to a non-numeric identifier ("1.2.3--x" is "-x").
      start = i;
      end = ScanPrerelease(s, start, loose);
    }
    if (end == std::string_view::npos) return false;
    prerelease = s.substr(start, end - start);
    i = end;
  }
  if (i < s.size() && s[i] == '+') {
    size_t end = ScanBuild(s, i + 1);
    if (end == std::string_view::npos) return false;
    has_build = true;
    i = end;
  }
  return i == s.size();
}

// The patch number at [start, start + n) and the tail after it. Loose mode's "\d+" then an
// optional dash-less prerelease backtracks like the regex: "1.2.31.2" is 1.2.3-1.2, taking the
// longest patch that lets the rest parse.
bool ParsePatchAndTail(std::string_view s, size_t start, size_t n, bool loose,
                       std::string_view& patch, std::string_view& prerelease, bool& has_build) {
  for (size_t len = n; len > 0; --len) {
    if (ParseTail(s, start + len, loose, prerelease, has_build)) {
      patch = s.substr(start, len);
      return true;
    }
    if (!loose || !IsDigit(s[start])) break;
  }
  return false;
}

// FULL (strict: "v?" prefix) or LOOSE ("[v=\s]*" prefix) on an already trimmed string.
bool ParsePlain(std::string_view s, bool loose, SemVer& out) {
  size_t i = 0;
  if (loose) {
    while (i < s.size() && (s[i] == 'v' || s[i] == '=' || IsSpace(s[i]))) ++i;
  } else if (i < s.size() && s[i] == 'v') {
    ++i;
  }
  std::string_view* parts[] = {&out.major, &out.minor};
  for (int k = 0; k < 2; ++k) {
    size_t n = ScanNumber(s, i, loose);
    if (n == 0) return false;
    *parts[k] = s.substr(i, n);
    i += n;
    if (i >= s.size() || s[i] != '.') return false;
    ++i;
  }
  size_t n = ScanNumber(s, i, loose);
  if (n == 0) return false;
  bool has_build;
  return ParsePatchAndTail(s, i, n, loose, out.patch, out.prerelease, has_build);
}

Result<SemVer> ParseSemver(std::string_view in, bool loose) {
  if (in.size() > kMaxLength) return VersionError("npm", in, "longer than 256 characters");
  SemVer v;
  if (!ParsePlain(JsTrim(in), loose, v)) return VersionError("npm", in, "not a valid semver");
  if (TooBig(v.major)) return VersionError("npm", in, "major version is too big");
  if (TooBig(v.minor)) return VersionError("npm", in, "minor version is too big");
  if (TooBig(v.patch)) return VersionError("npm", in, "patch version is too big");
  return v;
}

// node-semver compareIdentifiers: numeric identifiers sort before alphanumeric ones.
int CompareIdentifier(std::string_view a, std::string_view b) {
  bool an = AllDigits(a), bn = AllDigits(b);
  if (an && bn) return CompareDigits(a, b);
  if (an != bn) return an ? -1 : 1;
  return Sign(a.compare(b));
}

int ComparePrerelease(std::string_view a, std::string_view b) {
  if (a.empty() || b.empty()) return a.empty() == b.empty() ? 0 : (a.empty() ? 1 : -1);
  while (true) {
    size_t da = a.find('.'), db = b.find('.');
    int r = CompareIdentifier(a.substr(0, da), b.substr(0, db));
    if (r) return r;
    bool a_more = da != std::string_view::npos, b_more = db != std::string_view::npos;
    if (!a_more || !b_more) return a_more == b_more ? 0 : (a_more ? 1 : -1);
    a.remove_prefix(da + 1);
    b.remove_prefix(db + 1);
  }
}

int CompareParsed(const SemVer& a, const SemVer& b) {
  int r = CompareDigits(a.major, b.major);
  if (!r) r = CompareDigits(a.minor, b.minor);
  if (!r) r = CompareDigits(a.patch, b.patch);
  if (!r) r = ComparePrerelease(a.prerelease, b.prerelease);
  return r;
}

// ---- Ranges ----

// A version owned by a comparator (ranges synthesize versions such as "<2.0.0-0").
struct OwnedVersion {
  uint64_t major = 0, minor = 0, patch = 0;
  std::string prerelease;
};

enum class Op { kAny, kEq, kLt, kLe, kGt, kGe };

struct Comparator {
  Op op = Op::kAny;
  OwnedVersion v;
};

using ComparatorSet = std::vector<Comparator>;

uint64_t ToNumber(std::string_view digits) {
  uint64_t v = 0;
  for (char c : digits) {
    v = v * 10 + static_cast<uint64_t>(c - '0');
    if (v > kMaxSafeInteger) return kMaxSafeInteger + 1;  // rejected by the caller
  }
  return v;
}

int CompareOwned(const SemVer& a, const OwnedVersion& b) {
  auto cmp = [](uint64_t x, uint64_t y) { return x < y ? -1 : (x > y ? 1 : 0); };
  int r = cmp(ToNumber(a.major), b.major);
  if (!r) r = cmp(ToNumber(a.minor), b.minor);
  if (!r) r = cmp(ToNumber(a.patch), b.patch);
  if (!r) r = ComparePrerelease(a.prerelease, b.prerelease);
  return r;
}

bool TestComparator(const Comparator& c, const SemVer& v) {
  if (c.op == Op::kAny) return true;
  int r = CompareOwned(v, c.v);
  switch (c.op) {
    case Op::kEq:
      return r == 0;
    case Op::kLt:
      return r < 0;
    case Op::kLe:
      return r <= 0;
    case Op::kGt:
      return r > 0;
    case Op::kGe:
      return r >= 0;
    case Op::kAny:
      return true;
  }
  return false;
}

// XRANGEPLAIN: "[v=\s]*" then M(.m(.p(pre)?(+build)?)?)? where each of M, m, p may be x, X or *.
struct XRange {
  std::string_view major, minor, patch;  // empty = absent
  std::string_view prerelease;
  bool has_build = false;
  std::string_view text;  // the whole match, prefix included
};

// Whether JavaScript's `+digits + 1` reaches 1e21, where Number#toString switches to exponent
// notation.
bool PlusOneIsExponent(std::string_view digits) {
  while (!digits.empty() && digits.front() == '0') digits.remove_prefix(1);
  if (digits.size() < 21) return false;
  if (digits.size() > 22) return true;
  std::string text(digits);
  return std::strtod(text.c_str(), nullptr) + 1 >= 1e21;
}

bool IsX(std::string_view id) { return id.empty() || id == "x" || id == "X" || id == "*"; }

size_t ScanXId(std::string_view s, size_t i, bool loose) {
  if (i < s.size() && (s[i] == 'x' || s[i] == 'X' || s[i] == '*')) return 1;
  return ScanNumber(s, i, loose);
}

bool ParseXRangePlain(std::string_view s, bool loose, XRange& out) {
  out = XRange{};
  out.text = s;
  size_t i = 0;
  while (i < s.size() && (s[i] == 'v' || s[i] == '=' || IsSpace(s[i]))) ++i;
  std::string_view* parts[] = {&out.major, &out.minor};
  for (int k = 0; k < 2; ++k) {
    size_t n = ScanXId(s, i, loose);
    if (n == 0) return false;
    *parts[k] = s.substr(i, n);
    i += n;
    if (i >= s.size() || s[i] != '.') return i == s.size();
    ++i;
  }
  size_t n = ScanXId(s, i, loose);
  if (n == 0) return false;
  return ParsePatchAndTail(s, i, n, loose, out.patch, out.prerelease, out.has_build);
}

// GTLT: "((?:<|>)?=?)". Returns the operator length.
size_t ScanGtlt(std::string_view s, Op& op) {
  size_t i = 0;
  char dir = 0;
  if (i < s.size() && (s[i] == '<' || s[i] == '>')) dir = s[i++];
  bool eq = i < s.size() && s[i] == '=';
  if (eq) ++i;
  if (dir == '<') {
    op = eq ? Op::kLe : Op::kLt;
  } else if (dir == '>') {
    op = eq ? Op::kGe : Op::kGt;
  } else {
    op = Op::kEq;
  }
  return i;
}

class RangeBuilder {
 public:
  RangeBuilder(bool loose, bool include_prerelease)
      : loose_(loose), include_prerelease_(include_prerelease) {}

  // Appends ">=M.m.p-pre" style comparators; false when a number is out of range.
  bool Add(ComparatorSet& set, Op op, uint64_t major, uint64_t minor, uint64_t patch,
           std::string_view pre) {
    if (major > kMaxSafeInteger || minor > kMaxSafeInteger || patch > kMaxSafeInteger) {
      return false;
    }
    // The comparator's version text goes through `new SemVer()`, which refuses > 256 chars.
    auto digits = [](uint64_t v) {
      size_t n = 1;
      while (v >= 10) {
        v /= 10;
        ++n;
      }
      return n;
    };
    size_t length =
        digits(major) + digits(minor) + digits(patch) + 2 + (pre.empty() ? 0 : pre.size() + 1);
    if (length > kMaxLength) return false;
    Comparator c;
    c.op = op;
    c.v.major = major;
    c.v.minor = minor;
    c.v.patch = patch;
    c.v.prerelease = std::string(pre);
    set.push_back(std::move(c));
    return true;
  }

  static uint64_t Num(std::string_view digits) { return ToNumber(digits); }

  // The comparator grammar proper: GTLT \s* FULLPLAIN (or LOOSEPLAIN). "" is "any".
  // Returns 1 = added, 0 = not a comparator, -1 = a comparator whose numbers are too big.
  int AddPlainComparator(ComparatorSet& set, std::string_view token) {
    if (token.empty()) {
      set.push_back(Comparator{});
      return 1;
    }
    Op op;
    size_t n = ScanGtlt(token, op);
    std::string_view rest = token.substr(n);
    while (!rest.empty() && IsSpace(rest.front())) rest.remove_prefix(1);
    SemVer v;
    if (!ParsePlain(rest, loose_, v)) return 0;
    if (rest.size() > kMaxLength) return -1;
    if (TooBig(v.major) || TooBig(v.minor) || TooBig(v.patch)) return -1;
    Add(set, op, Num(v.major), Num(v.minor), Num(v.patch), v.prerelease);
    return 1;
  }

  // node-semver replaceCaret.
  bool Caret(ComparatorSet& set, const XRange& x) {
    std::string_view z = include_prerelease_ ? "0" : "";
    if (IsX(x.major)) {
      set.push_back(Comparator{});
      return true;
    }
    uint64_t M = Num(x.major);
    if (IsX(x.minor)) {
      return Add(set, Op::kGe, M, 0, 0, z) && Add(set, Op::kLt, M + 1, 0, 0, "0");
    }
    uint64_t m = Num(x.minor);
    // node-semver tests the written text (M === '0'), so "00" is not zero here.
    const bool zero_major = x.major == "0", zero_minor = x.minor == "0";
    if (IsX(x.patch)) {
      if (zero_major) return Add(set, Op::kGe, M, m, 0, z) && Add(set, Op::kLt, M, m + 1, 0, "0");
      return Add(set, Op::kGe, M, m, 0, z) && Add(set, Op::kLt, M + 1, 0, 0, "0");
    }
    uint64_t p = Num(x.patch);
    // A full version is its own lower bound, prerelease or not (no "-0" even with
    // includePrerelease).
    std::string_view low = x.prerelease;
    if (zero_major) {
      if (zero_minor) return Add(set, Op::kGe, M, m, p, low) && Add(set, Op::kLt, M, m, p + 1, "0");
      return Add(set, Op::kGe, M, m, p, low) && Add(set, Op::kLt, M, m + 1, 0, "0");
    }
    return Add(set, Op::kGe, M, m, p, low) && Add(set, Op::kLt, M + 1, 0, 0, "0");
  }

  // node-semver replaceTilde.
  bool Tilde(ComparatorSet& set, const XRange& x) {
    if (IsX(x.major)) {
      set.push_back(Comparator{});
      return true;
    }
    // With includePrerelease the x forms start at "-0", like x-ranges.
    std::string_view z = include_prerelease_ ? "0" : "";
    uint64_t M = Num(x.major);
    if (IsX(x.minor)) return Add(set, Op::kGe, M, 0, 0, z) && Add(set, Op::kLt, M + 1, 0, 0, "0");
    uint64_t m = Num(x.minor);
    if (IsX(x.patch)) return Add(set, Op::kGe, M, m, 0, z) && Add(set, Op::kLt, M, m + 1, 0, "0");
    return Add(set, Op::kGe, M, m, Num(x.patch), x.prerelease) &&
           Add(set, Op::kLt, M, m + 1, 0, "0");
  }

  // node-semver replaceXRange for a range with at least one x (or a missing part). Returns 1,
  // 0 (not a comparator) or -1 (spoils the range).
  int XRangeWithX(ComparatorSet& set, Op op, const XRange& x) {
    bool xM = IsX(x.major);
    bool xm = xM || IsX(x.minor);
    std::string_view pr = include_prerelease_ ? "0" : "";
    if (xM) {
      if (op == Op::kGt || op == Op::kLt) return Add(set, Op::kLt, 0, 0, 0, "0") ? 1 : -1;
      set.push_back(Comparator{});  // everything
      return true;
    }
    uint64_t M = Num(x.major);
    uint64_t m = xm ? 0 : Num(x.minor);
    if (op != Op::kEq) {
      // `+M + 1` past 1e21 prints as "1e+21": no longer a comparator at all.
      bool bumps = op == Op::kGt || op == Op::kLe;
      if (bumps && PlusOneIsExponent(xm ? x.major : x.minor)) return 0;
      uint64_t p = 0;
      if (op == Op::kGt) {
        op = Op::kGe;
        if (xm) {
          ++M;
          m = 0;
        } else {
          ++m;
        }
      } else if (op == Op::kLe) {
        op = Op::kLt;
        if (xm) {
          ++M;
        } else {
          ++m;
        }
      }
      if (op == Op::kLt) pr = "0";
      return Add(set, op, M, m, p, pr) ? 1 : -1;
    }
    if (xm) return Add(set, Op::kGe, M, 0, 0, pr) && Add(set, Op::kLt, M + 1, 0, 0, "0") ? 1 : -1;
    return Add(set, Op::kGe, M, m, 0, pr) && Add(set, Op::kLt, M, m + 1, 0, "0") ? 1 : -1;
  }

  // One whitespace-free token of a range. Returns 1 = added, 0 = invalid comparator, -1 = a
  // comparator that makes the whole range invalid.
  int AddToken(ComparatorSet& set, std::string_view token_in) {
    // parseComparator first drops the first build metadata ("+b.1") wherever it is.
    std::string token_storage(token_in);
    StripFirstBuild(token_storage);
    std::string_view token = token_storage;
    XRange x;
    if (!token.empty() && token.front() == '^') {
      if (ParseXRangePlain(token.substr(1), loose_, x)) return Caret(set, x) ? 1 : -1;
    } else if (!token.empty() && token.front() == '~') {
      std::string_view rest = token.substr(1);
      if (!rest.empty() && rest.front() == '>') rest.remove_prefix(1);
      if (ParseXRangePlain(rest, loose_, x)) return Tilde(set, x) ? 1 : -1;
    } else {
      Op op;
      size_t n = ScanGtlt(token, op);
      std::string_view rest = token.substr(n);
      // "x.1" and "1.x.2" are not x-ranges (invalidXRangeOrder): they stay as written.
      if (ParseXRangePlain(rest, loose_, x) && !InvalidXRangeOrder(x)) {
        if (IsX(x.major) || IsX(x.minor) || IsX(x.patch)) {
          return XRangeWithX(set, op, x);
        }
        // No x: the token stays as written and must be a comparator.
        return AddPlainComparator(set, token);
      }
    }
    // replaceStars: the first "(<|>)?=?\s*\*" is removed, whatever the token is.
    std::string stripped(token);
    for (size_t i = 0; i < stripped.size(); ++i) {
      size_t j = i;
      if (j < stripped.size() && (stripped[j] == '<' || stripped[j] == '>')) ++j;
      if (j < stripped.size() && stripped[j] == '=') ++j;
      if (j < stripped.size() && stripped[j] == '*') {
        stripped.erase(i, j + 1 - i);
        return AddPlainComparator(set, stripped);
      }
    }
    return AddPlainComparator(set, token);
  }

  // One "||" alternative, as node-semver's parseRange: strip build metadata, rewrite a hyphen
  // range, remove the whitespace after operators, then one comparator (or caret/tilde/x-range)
  // per space-separated token. Returns false when the whole range is invalid; an empty set
  // (loose mode dropped every comparator) is then ignored by the caller.
  bool ParsePart(std::string_view part_in, ComparatorSet& set) {
    std::string part = StripBuilds(part_in);
    std::string hyphen;
    if (HyphenText(part, hyphen)) part = std::move(hyphen);
    part = CaretTrim(TildeTrim(ComparatorTrim(part)));
    std::vector<std::string_view> tokens;
    for (size_t i = 0; i <= part.size();) {
      size_t space = part.find(' ', i);
      if (space == std::string::npos) space = part.size();
      tokens.push_back(std::string_view(part).substr(i, space - i));
      i = space + 1;
    }
    // Tokens that become "" (any: "*", "x", "^x", "") survive node-semver's
    // `.join(' ').split(/\s+/)` only at either end; in between they vanish. That matters when
    // loose mode drops every other comparator.
    for (size_t k = 0; k < tokens.size(); ++k) {
      ComparatorSet produced;
      int r =
          tokens[k].empty() ? (produced.push_back(Comparator{}), 1) : AddToken(produced, tokens[k]);
      if (r < 0) return false;
      if (r == 0) {
        if (!loose_) return false;  // strict: an invalid comparator spoils the range
        continue;
      }
      bool only_any = produced.size() == 1 && produced[0].op == Op::kAny;
      if (only_any && k != 0 && k + 1 != tokens.size()) continue;
      for (Comparator& c : produced) set.push_back(std::move(c));
    }
    return true;
  }

 private:
  static bool InvalidXRangeOrder(const XRange& x) {
    return (IsX(x.major) && !IsX(x.minor)) || (IsX(x.minor) && !x.patch.empty() && !IsX(x.patch));
  }

  // Length of re[t.BUILD] "\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*" at i, or 0.
  static size_t BuildAt(std::string_view s, size_t i) {
    if (i >= s.size() || s[i] != '+') return 0;
    size_t j = i + 1;
    while (j < s.size() && IsIdentChar(s[j])) ++j;
    if (j == i + 1) return 0;
    while (j + 1 < s.size() && s[j] == '.' && IsIdentChar(s[j + 1])) {
      ++j;
      while (j < s.size() && IsIdentChar(s[j])) ++j;
    }
    return j - i;
  }

  // BUILDSTRIPRE (global).
  static std::string StripBuilds(std::string_view s) {
    std::string out;
    for (size_t i = 0; i < s.size();) {
      size_t n = BuildAt(s, i);
      if (n) {
        i += n;
      } else {
        out += s[i++];
      }
    }
    return out;
  }

  // parseComparator's non-global re[t.BUILD]: the first build metadata.
  static void StripFirstBuild(std::string& token) {
    for (size_t i = 0; i < token.size(); ++i) {
      if (size_t n = BuildAt(token, i)) {
        token.erase(i, n);
        return;
      }
    }
  }

  // End of a LOOSEPLAIN or (strict) XRANGEPLAIN match starting at i, or npos: the operand that
  // COMPARATORTRIM looks for after an operator. Only its start and extent matter.
  static size_t PlainEnd(std::string_view s, size_t i) {
    while (i < s.size() && (s[i] == 'v' || s[i] == '=' || s[i] == ' ')) ++i;
    if (i >= s.size()) return std::string_view::npos;
    auto ident_run = [&](size_t j) {
      while (j < s.size() && IsIdentChar(s[j])) ++j;
      return j;
    };
    // LOOSEPLAIN: \d+\.\d+\.\d+ then an optional -?prerelease and build.
    size_t j = i;
    bool loose_ok = true;
    for (int k = 0; k < 3 && loose_ok; ++k) {
      if (k > 0) {
        if (j >= s.size() || s[j] != '.') {
          loose_ok = false;
          break;
        }
        ++j;
      }
      size_t start = j;
      while (j < s.size() && IsDigit(s[j])) ++j;
      if (j == start) loose_ok = false;
    }
    if (loose_ok) {
      size_t k = j;
      if (k < s.size() && s[k] == '-') ++k;
      if (k < s.size() && IsIdentChar(s[k])) {
        j = ident_run(k);
        while (j + 1 < s.size() && s[j] == '.' && IsIdentChar(s[j + 1])) j = ident_run(j + 1);
      }
      return j + BuildAt(s, j);
    }
    // XRANGEPLAIN: XID(.XID(.XID(-pre)?(+build)?)?)?, unanchored: a strict "0|[1-9]\d*" takes
    // just the "0" of "01".
    auto xid = [&](size_t k) -> size_t {
      if (k >= s.size()) return 0;
      if (s[k] == 'x' || s[k] == 'X' || s[k] == '*' || s[k] == '0') return 1;
      size_t n = 0;
      while (k + n < s.size() && IsDigit(s[k + n])) ++n;
      return n;
    };
    j = i;
    for (int k = 0; k < 3; ++k) {
      if (k > 0) {
        if (j + 1 >= s.size() || s[j] != '.') break;
        size_t n = xid(j + 1);
        if (n == 0) break;
        j += 1 + n;
      } else {
        size_t n = xid(j);
        if (n == 0) return std::string_view::npos;
        j += n;
      }
      if (k == 2) {
        if (j < s.size() && s[j] == '-') {
          size_t end = ScanPrerelease(s, j + 1, /*loose=*/false);
          if (end != std::string_view::npos) j = end;
        }
        j += BuildAt(s, j);
      }
    }
    return j;
  }

  // COMPARATORTRIM "(\s*)GTLT\s*(LOOSEPLAIN|XRANGEPLAIN)" -> "$1$2$3": the space between an
  // operator and its operand goes ("> 1.2.3" -> ">1.2.3", also "~>= 1" -> "~>=1").
  static std::string ComparatorTrim(std::string_view s) {
    std::string out;
    size_t p = 0;
    while (p < s.size()) {
      size_t q = p;
      while (q < s.size() && s[q] == ' ') ++q;
      size_t g = q;
      if (g < s.size() && (s[g] == '<' || s[g] == '>')) ++g;
      if (g < s.size() && s[g] == '=') ++g;
      // node-semver's "safe" regexes bound this \s* to one space; further spaces belong to the
      // operand's "[v=\s]*" prefix and stay.
      size_t q2 = g < s.size() && s[g] == ' ' && g > q ? g + 1 : g;
      size_t end = PlainEnd(s, g);
      if (end == std::string_view::npos) {
        out += s[p++];
        continue;
      }
      out.append(s.substr(p, g - p));
      out.append(s.substr(q2, end - q2));
      p = end;
    }
    return out;
  }

  // TILDETRIM "(\s*)~>?\s+" -> "$1~" and CARETTRIM "(\s*)\^\s+" -> "$1^", with the safe
  // regexes' bound of one space.
  static std::string TildeTrim(std::string_view s) {
    std::string out;
    for (size_t i = 0; i < s.size();) {
      if (s[i] == '~') {
        size_t j = i + 1;
        if (j < s.size() && s[j] == '>') ++j;
        if (j < s.size() && s[j] == ' ') {
          out += '~';
          i = j + 1;
          continue;
        }
      }
      out += s[i++];
    }
    return out;
  }

  static std::string CaretTrim(std::string_view s) {
    std::string out;
    for (size_t i = 0; i < s.size();) {
      if (s[i] == '^' && i + 1 < s.size() && s[i + 1] == ' ') {
        out += '^';
        i += 2;
        continue;
      }
      out += s[i++];
    }
    return out;
  }

  // Decimal digits plus one, printed as JavaScript prints `+M + 1` (exponent form from 1e21).
  static std::string PlusOne(std::string_view digits) {
    if (PlusOneIsExponent(digits)) return "1e+21";  // any exponent form is equally invalid
    std::string s(digits);
    while (s.size() > 1 && s.front() == '0') s.erase(0, 1);
    int i = static_cast<int>(s.size()) - 1;
    while (i >= 0 && s[static_cast<size_t>(i)] == '9') s[static_cast<size_t>(i--)] = '0';
    if (i < 0) {
      s.insert(s.begin(), '1');
    } else {
      ++s[static_cast<size_t>(i)];
    }
    return s;
  }

  // HYPHENRANGE "^\s*(XRANGEPLAIN)\s+-\s+(XRANGEPLAIN)\s*$" and hyphenReplace. The operands
  // keep their written text (prefix included), exactly like node-semver, so "v 1.2.3 - 2"
  // turns into tokens that are later rejected.
  bool HyphenText(std::string_view part, std::string& out) {
    for (size_t at = part.find(" - "); at != std::string_view::npos;
         at = part.find(" - ", at + 1)) {
      // "^\s{0,1}(X)\s-\s(X)\s{0,1}$": one space may lead or trail; more belong to X's prefix.
      std::string_view from_text = part.substr(0, at);
      std::string_view to_text = part.substr(at + 3);
      if (!from_text.empty() && from_text.front() == ' ') from_text.remove_prefix(1);
      if (!to_text.empty() && to_text.back() == ' ') to_text.remove_suffix(1);
      XRange f, t;
      if (!ParseXRangePlain(from_text, loose_, f) || !ParseXRangePlain(to_text, loose_, t)) {
        continue;
      }
      std::string z = include_prerelease_ ? "-0" : "";
      std::string from, to;
      if (IsX(f.major)) {
      } else if (IsX(f.minor)) {
        from = ">=" + std::string(f.major) + ".0.0" + z;
      } else if (IsX(f.patch)) {
        from = ">=" + std::string(f.major) + "." + std::string(f.minor) + ".0" + z;
      } else if (!f.prerelease.empty()) {
        from = ">=" + std::string(from_text);
      } else {
        from = ">=" + std::string(from_text) + z;
      }
      if (IsX(t.major)) {
      } else if (IsX(t.minor)) {
        to = "<" + PlusOne(t.major) + ".0.0-0";
      } else if (IsX(t.patch)) {
        to = "<" + std::string(t.major) + "." + PlusOne(t.minor) + ".0-0";
      } else if (!t.prerelease.empty()) {
        to = "<=" + std::string(t.major) + "." + std::string(t.minor) + "." + std::string(t.patch) +
             "-" + std::string(t.prerelease);
      } else if (include_prerelease_) {
        to =
            "<" + std::string(t.major) + "." + std::string(t.minor) + "." + PlusOne(t.patch) + "-0";
      } else {
        to = "<=" + std::string(to_text);
      }
      out = from + " " + to;
      while (!out.empty() && out.front() == ' ') out.erase(0, 1);
      while (!out.empty() && out.back() == ' ') out.pop_back();
      return true;
    }
    return false;
  }

  bool loose_;
  bool include_prerelease_;
};

bool TestSet(const ComparatorSet& set, const SemVer& v, bool include_prerelease) {
  for (const Comparator& c : set) {
    if (!TestComparator(c, v)) return false;
  }
  if (!v.prerelease.empty() && !include_prerelease) {
    // A prerelease only matches when some comparator names a prerelease of the same M.m.p.
    for (const Comparator& c : set) {
      if (c.op == Op::kAny || c.v.prerelease.empty()) continue;
      if (c.v.major == ToNumber(v.major) && c.v.minor == ToNumber(v.minor) &&
          c.v.patch == ToNumber(v.patch)) {
        return true;
      }
    }
    return false;
  }
  return true;
}

}  // namespace

Result<int> CompareSemver(std::string_view a, std::string_view b, bool loose) {
  MOAT_ASSIGN_OR_RETURN(SemVer va, ParseSemver(a, loose));
  MOAT_ASSIGN_OR_RETURN(SemVer vb, ParseSemver(b, loose));
  return CompareParsed(va, vb);
}

Result<void> ValidateSemver(std::string_view v, bool loose) {
  MOAT_TRY(ParseSemver(v, loose));
  return Ok();
}

}  // namespace internal

Result<int> CompareNpm(std::string_view a, std::string_view b, bool loose) {
  return internal::CompareSemver(a, b, loose);
}

Result<bool> SatisfiesNpmRange(std::string_view version, std::string_view range,
                               NpmRangeOptions options) {
  using namespace internal;
  MOAT_ASSIGN_OR_RETURN(SemVer v, ParseSemver(version, options.loose));
  // Range.raw: trimmed, every whitespace run collapsed to one space.
  std::string raw;
  {
    std::string_view r = JsTrim(range);
    bool space = false;
    for (char c : r) {
      if (IsSpace(c)) {
        space = true;
        continue;
      }
      if (space && !raw.empty()) raw += ' ';
      space = false;
      raw += c;
    }
  }
  auto invalid = [&] { return VersionError("npm", range, "not a valid npm version range"); };
  RangeBuilder builder(options.loose, options.include_prerelease);
  std::vector<ComparatorSet> sets;
  std::string_view rest = raw;
  while (true) {
    size_t bar = rest.find("||");
    std::string_view part = rest.substr(0, bar);
    while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
    while (!part.empty() && part.back() == ' ') part.remove_suffix(1);
    ComparatorSet set;
    if (!builder.ParsePart(part, set)) return invalid();
    if (!set.empty()) sets.push_back(std::move(set));
    if (bar == std::string_view::npos) break;
    rest.remove_prefix(bar + 2);
  }
  if (sets.empty()) return invalid();
  // Range's constructor: when one alternative is just "*", the whole range becomes "*" (which
  // then turns prereleases away unless include_prerelease, even if another alternative named one).
  if (sets.size() > 1) {
    for (const ComparatorSet& set : sets) {
      bool all_any = true;
      for (const Comparator& c : set) all_any = all_any && c.op == Op::kAny;
      if (all_any) return TestSet(set, v, options.include_prerelease);
    }
  }
  for (const ComparatorSet& set : sets) {
    if (TestSet(set, v, options.include_prerelease)) return true;
  }
  return false;
}

}  // namespace moat::version
