// PEP 440 as pypa/packaging's Version (packaging 22+): the VERSION_PATTERN grammar (case
// insensitive, optional leading "v", surrounding whitespace), and its _cmpkey ordering. Strings
// that Version rejects compare as packaging's LegacyVersion did (pip before 24.1): before every
// PEP 440 version, among themselves by setuptools' old rules. Validate() still rejects them.

#include <string>
#include <utility>
#include <vector>

#include "version/internal.h"
#include "version/version.h"

namespace moat::version {
namespace internal {
namespace {

enum class PreKind { kNone = 0, kA = 1, kB = 2, kRc = 3 };

struct Pep440 {
  std::string_view epoch;    // digits, empty = 0
  std::string_view release;  // "1.2.3"
  PreKind pre = PreKind::kNone;
  std::string_view pre_n;  // digits, empty = 0
  bool has_post = false;
  std::string_view post_n;
  bool has_dev = false;
  std::string_view dev_n;
  std::string_view local;  // without '+', may mix separators and case
};

bool IsSep(char c) { return c == '-' || c == '_' || c == '.'; }

// Python's str.isspace() for ASCII (includes the \x1c-\x1f separators).
bool IsPySpace(char c) { return IsSpace(c) || (c >= '\x1c' && c <= '\x1f'); }

bool StartsWithIgnoreCase(std::string_view s, size_t pos, std::string_view word) {
  return s.size() - pos >= word.size() && EqualsIgnoreCase(s.substr(pos, word.size()), word);
}

size_t SpanDigits(std::string_view s, size_t pos) {
  size_t i = pos;
  while (i < s.size() && IsDigit(s[i])) ++i;
  return i - pos;
}

// Matches "[-_.]?label[-_.]?(digits)?" at pos for one of the labels (longest first, which is
// what the regex's backtracking yields here). Returns the label index or -1.
int MatchLabeled(std::string_view s, size_t& pos, const std::string_view* labels, int count,
                 std::string_view& number) {
  size_t i = pos;
  if (i < s.size() && IsSep(s[i])) ++i;
  int found = -1;
  size_t best = 0;
  for (int k = 0; k < count; ++k) {
    if (labels[k].size() > best && StartsWithIgnoreCase(s, i, labels[k])) {
      found = k;
      best = labels[k].size();
    }
  }
  if (found < 0) return -1;
  i += best;
  size_t j = i;
  if (j < s.size() && IsSep(s[j])) ++j;
  size_t n = SpanDigits(s, j);
  if (n > 0) {
    number = s.substr(j, n);
    i = j + n;
  } else {
    number = {};
    i = j;  // the regex keeps a trailing separator even without a number
  }
  pos = i;
  return found;
}

Result<Pep440> ParsePep440(std::string_view in) {
  auto fail = [&](std::string_view problem) -> Error { return VersionError("pypi", in, problem); };
  std::string_view s = in;
  while (!s.empty() && IsPySpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsPySpace(s.back())) s.remove_suffix(1);
  Pep440 v;
  size_t i = 0;
  if (i < s.size() && (s[i] == 'v' || s[i] == 'V')) ++i;
  size_t n = SpanDigits(s, i);
  if (n == 0) return fail("not a valid PEP 440 version (no release number)");
  if (i + n < s.size() && s[i + n] == '!') {
    v.epoch = s.substr(i, n);
    i += n + 1;
    n = SpanDigits(s, i);
    if (n == 0) return fail("not a valid PEP 440 version (no release after epoch)");
  }
  size_t release_start = i;
  i += n;
  while (i + 1 < s.size() && s[i] == '.' && IsDigit(s[i + 1])) {
    ++i;
    i += SpanDigits(s, i);
  }
  v.release = s.substr(release_start, i - release_start);

  static constexpr std::string_view kPre[] = {"a",     "b",    "c",   "rc",
                                              "alpha", "beta", "pre", "preview"};
  static constexpr PreKind kPreKinds[] = {PreKind::kA, PreKind::kB, PreKind::kRc, PreKind::kRc,
                                          PreKind::kA, PreKind::kB, PreKind::kRc, PreKind::kRc};
  std::string_view number;
  int k = MatchLabeled(s, i, kPre, 8, number);
  if (k >= 0) {
    v.pre = kPreKinds[k];
    v.pre_n = number;
  }
  // Post release: "-N" or "[-_.]?(post|rev|r)[-_.]?N?".
  if (i + 1 < s.size() && s[i] == '-' && IsDigit(s[i + 1])) {
    size_t m = SpanDigits(s, i + 1);
    v.has_post = true;
    v.post_n = s.substr(i + 1, m);
    i += 1 + m;
  } else {
    static constexpr std::string_view kPost[] = {"post", "rev", "r"};
    if (MatchLabeled(s, i, kPost, 3, number) >= 0) {
      v.has_post = true;
      v.post_n = number;
    }
  }
  static constexpr std::string_view kDev[] = {"dev"};
  if (MatchLabeled(s, i, kDev, 1, number) >= 0) {
    v.has_dev = true;
    v.dev_n = number;
  }
  if (i < s.size() && s[i] == '+') {
    ++i;
    size_t start = i;
    bool need_alnum = true;
    for (; i < s.size(); ++i) {
      char c = s[i];
      if (IsAlnum(c)) {
        need_alnum = false;
      } else if (IsSep(c) && !need_alnum) {
        need_alnum = true;
      } else {
        break;
      }
    }
    if (need_alnum || i != s.size()) return fail("not a valid PEP 440 local version label");
    v.local = s.substr(start);
  }
  if (i != s.size()) return fail("not a valid PEP 440 version");
  return v;
}

// Release segments compared as numbers with implicit trailing zeros (1.0 == 1.0.0).
int CompareRelease(std::string_view a, std::string_view b) {
  while (!a.empty() || !b.empty()) {
    size_t da = a.find('.');
    size_t db = b.find('.');
    std::string_view sa = a.substr(0, da);
    std::string_view sb = b.substr(0, db);
    int r = CompareDigits(sa, sb);  // empty compares as 0
    if (r) return r;
    a = da == std::string_view::npos ? std::string_view() : a.substr(da + 1);
    b = db == std::string_view::npos ? std::string_view() : b.substr(db + 1);
  }
  return 0;
}

// _cmpkey's pre component: a dev-only release sorts before every pre-release, no pre-release
// sorts after all of them.
int PreRank(const Pep440& v) {
  if (v.pre == PreKind::kNone) return (!v.has_post && v.has_dev) ? -1 : 4;
  return static_cast<int>(v.pre);
}

size_t NextLocalSep(std::string_view s) {
  for (size_t i = 0; i < s.size(); ++i) {
    if (IsSep(s[i])) return i;
  }
  return std::string_view::npos;
}

// Local segments: numbers sort after strings, strings compare lower-cased.
int CompareLocal(std::string_view a, std::string_view b) {
  if (a.empty() || b.empty()) return a.empty() == b.empty() ? 0 : (a.empty() ? -1 : 1);
  while (true) {
    if (a.empty() || b.empty()) return a.empty() == b.empty() ? 0 : (a.empty() ? -1 : 1);
    size_t da = NextLocalSep(a), db = NextLocalSep(b);
    std::string_view sa = a.substr(0, da), sb = b.substr(0, db);
    bool na = AllDigits(sa), nb = AllDigits(sb);
    int r;
    if (na && nb) {
      r = CompareDigits(sa, sb);
    } else if (na != nb) {
      r = na ? 1 : -1;
    } else {
      r = CompareIgnoreCase(sa, sb);
    }
    if (r) return r;
    a = da == std::string_view::npos ? std::string_view() : a.substr(da + 1);
    b = db == std::string_view::npos ? std::string_view() : b.substr(db + 1);
    if (a.empty() && b.empty()) return 0;
    if (a.empty() || b.empty()) return a.empty() ? -1 : 1;
  }
}

int ComparePep440Parsed(const Pep440& a, const Pep440& b) {
  int r = CompareDigits(a.epoch, b.epoch);
  if (r) return r;
  r = CompareRelease(a.release, b.release);
  if (r) return r;
  int pa = PreRank(a), pb = PreRank(b);
  if (pa != pb) return pa < pb ? -1 : 1;
  if (a.pre != PreKind::kNone) {
    r = CompareDigits(a.pre_n, b.pre_n);
    if (r) return r;
  }
  if (a.has_post != b.has_post) return a.has_post ? 1 : -1;
  if (a.has_post) {
    r = CompareDigits(a.post_n, b.post_n);
    if (r) return r;
  }
  if (a.has_dev != b.has_dev) return a.has_dev ? -1 : 1;
  if (a.has_dev) {
    r = CompareDigits(a.dev_n, b.dev_n);
    if (r) return r;
  }
  return CompareLocal(a.local, b.local);
}

void AppendNumber(std::string& out, std::string_view digits) {
  while (digits.size() > 1 && digits.front() == '0') digits.remove_prefix(1);
  if (digits.empty()) digits = "0";
  out.append(digits);
}

}  // namespace

namespace {

// packaging's LegacyVersion (packaging < 22, what pip used before 24.1 for versions PEP 440 does
// not allow, such as "0.9-doduo"): _legacy_cmpkey. The lower-cased string splits into digit
// runs, letter runs, "." and "-" (the text between them kept as parts too); numbers are
// zero-padded to 8 characters and compared as strings, everything else as "*" + text, with
// "pre"/"preview"/"rc" read as "c", "dev" as "@" and "-" as "final-"; trailing zero numbers of
// each numeric series and "-" before a prerelease tag are dropped, and "*final" ends the key.
std::vector<std::string> LegacyKey(std::string_view version) {
  std::vector<std::string> parts;
  auto push = [&parts](std::string part) {
    if (part.front() == '*') {
      if (part < "*final") {
        while (!parts.empty() && parts.back() == "*final-") parts.pop_back();
      }
      while (!parts.empty() && parts.back() == "00000000") parts.pop_back();
    }
    parts.push_back(std::move(part));
  };
  auto add = [&push](std::string part) {
    if (part.empty() || part == ".") return;
    if (IsDigit(part.front())) {
      if (part.size() < 8) part.insert(0, 8 - part.size(), '0');
    } else {
      if (part == "pre" || part == "preview" || part == "rc") part = "c";
      if (part == "dev") part = "@";
      if (part == "-") part = "final-";
      part.insert(0, 1, '*');
    }
    push(std::move(part));
  };
  std::string lower;
  for (char c : version) lower += ToLower(c);
  std::string between;  // text no alternative of the split pattern matches
  size_t i = 0;
  while (i < lower.size()) {
    size_t start = i;
    if (IsDigit(lower[i])) {
      while (i < lower.size() && IsDigit(lower[i])) ++i;
    } else if (IsLower(lower[i])) {
      while (i < lower.size() && IsLower(lower[i])) ++i;
    } else if (lower[i] == '.' || lower[i] == '-') {
      ++i;
    } else {
      between += lower[i++];
      continue;
    }
    add(std::exchange(between, {}));
    add(lower.substr(start, i - start));
  }
  add(std::move(between));
  push("*final");
  return parts;
}

}  // namespace

Result<int> ComparePep440(std::string_view a, std::string_view b) {
  Result<Pep440> va = ParsePep440(a);
  Result<Pep440> vb = ParsePep440(b);
  if (va.ok() && vb.ok()) return ComparePep440Parsed(*va, *vb);
  // packaging.version.parse: a string Version refuses is a LegacyVersion, whose epoch of -1
  // puts it before every PEP 440 version.
  for (std::string_view v : {a, b}) {
    if (TrimSpace(v).empty()) return VersionError("pypi", v, "empty version");
  }
  if (va.ok() != vb.ok()) return va.ok() ? 1 : -1;
  std::vector<std::string> ka = LegacyKey(a), kb = LegacyKey(b);
  if (ka == kb) return 0;
  return ka < kb ? -1 : 1;
}

Result<void> ValidatePep440(std::string_view v) {
  MOAT_TRY(ParsePep440(v));
  return Ok();
}

}  // namespace internal

Result<std::string> NormalizePep440(std::string_view version) {
  using namespace internal;
  MOAT_ASSIGN_OR_RETURN(Pep440 v, ParsePep440(version));
  std::string out;
  std::string_view epoch = v.epoch;
  while (!epoch.empty() && epoch.front() == '0') epoch.remove_prefix(1);
  if (!epoch.empty()) {
    out.append(epoch);
    out += '!';
  }
  std::string_view rel = v.release;
  while (true) {
    size_t dot = rel.find('.');
    AppendNumber(out, rel.substr(0, dot));
    if (dot == std::string_view::npos) break;
    out += '.';
    rel.remove_prefix(dot + 1);
  }
  if (v.pre != PreKind::kNone) {
    out += v.pre == PreKind::kA ? "a" : v.pre == PreKind::kB ? "b" : "rc";
    AppendNumber(out, v.pre_n);
  }
  if (v.has_post) {
    out += ".post";
    AppendNumber(out, v.post_n);
  }
  if (v.has_dev) {
    out += ".dev";
    AppendNumber(out, v.dev_n);
  }
  if (!v.local.empty()) {
    out += '+';
    std::string_view local = v.local;
    while (true) {
      size_t sep = NextLocalSep(local);
      std::string_view part = local.substr(0, sep);
      if (AllDigits(part)) {
        AppendNumber(out, part);
      } else {
        for (char c : part) out += ToLower(c);
      }
      if (sep == std::string_view::npos) break;
      out += '.';
      local.remove_prefix(sep + 1);
    }
  }
  return out;
}

}  // namespace moat::version
