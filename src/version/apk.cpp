// Alpine ordering as apk-tools src/version.c (apk-tools 2.14/3.x): digit{.digit}...{letter}
// {_suf{#}}...{~hash}{-r#}. Pre-release suffixes _alpha _beta _pre _rc sort before no suffix,
// _cvs _svn _git _hg _p after it.

#include <cstdint>

#include "version/internal.h"
#include "version/version.h"

namespace moat::version {
namespace {

using internal::IsDigit;

// The order of the token kinds is part of the algorithm (see CompareFuzzy's tail).
enum Token {
  kInitialDigit,
  kDigit,
  kLetter,
  kSuffix,
  kSuffixNo,
  kCommitHash,
  kRevisionNo,
  kEnd,
  kInvalid,
};

enum Suffix {
  kSuffixInvalid,
  kAlpha,
  kBeta,
  kPre,
  kRc,
  kNone,
  kCvs,
  kSvn,
  kGit,
  kHg,
  kP,
};

struct TokenState {
  Token token = kInitialDigit;
  int suffix = kSuffixInvalid;
  uint64_t number = 0;
  std::string_view value;
};

int SuffixValue(std::string_view s) {
  static constexpr std::string_view kNames[] = {"",    "alpha", "beta", "pre", "rc", "",
                                                "cvs", "svn",   "git",  "hg",  "p"};
  for (int i = kAlpha; i <= kP; ++i) {
    if (i != kNone && kNames[i] == s) return i;
  }
  return kSuffixInvalid;
}

// apk_blob_pull_uint: decimal digits, wrapping on overflow like the C code.
void ParseDigits(TokenState& t, std::string_view& b) {
  size_t i = 0;
  uint64_t n = 0;
  while (i < b.size() && IsDigit(b[i])) {
    n = n * 10 + static_cast<uint64_t>(b[i] - '0');
    ++i;
  }
  t.number = n;
  t.value = b.substr(0, i);
  b.remove_prefix(i);
  if (i == 0) t.token = kInvalid;
}

void TokenFirst(TokenState& t, std::string_view& b) {
  t.token = kInitialDigit;
  ParseDigits(t, b);
}

bool IsHex(char c) { return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

void TokenNext(TokenState& t, std::string_view& b) {
  if (b.empty()) {
    t.token = kEnd;
    return;
  }
  char c = b.front();
  if (c >= 'a' && c <= 'z') {
    if (t.token > kDigit) {
      t.token = kInvalid;
      return;
    }
    t.value = b.substr(0, 1);
    t.token = kLetter;
    b.remove_prefix(1);
  } else if (c == '.' || IsDigit(c)) {
    if (c == '.') {
      if (t.token > kDigit) {
        t.token = kInvalid;
        return;
      }
      b.remove_prefix(1);
    }
    switch (t.token) {
      case kInitialDigit:
      case kDigit:
        t.token = kDigit;
        break;
      case kSuffix:
        t.token = kSuffixNo;
        break;
      default:
        t.token = kInvalid;
        return;
    }
    ParseDigits(t, b);
  } else if (c == '_') {
    if (t.token > kSuffixNo) {
      t.token = kInvalid;
      return;
    }
    b.remove_prefix(1);
    size_t n = 0;
    while (n < b.size() && b[n] >= 'a' && b[n] <= 'z') ++n;
    t.value = b.substr(0, n);
    b.remove_prefix(n);
    t.suffix = SuffixValue(t.value);
    t.token = t.suffix == kSuffixInvalid ? kInvalid : kSuffix;
  } else if (c == '~') {
    if (t.token >= kCommitHash) {
      t.token = kInvalid;
      return;
    }
    b.remove_prefix(1);
    size_t n = 0;
    while (n < b.size() && IsHex(b[n])) ++n;
    t.value = b.substr(0, n);
    b.remove_prefix(n);
    t.token = n == 0 ? kInvalid : kCommitHash;
  } else if (c == '-') {
    if (t.token >= kRevisionNo || b.size() < 2 || b[1] != 'r') {
      t.token = kInvalid;
      return;
    }
    b.remove_prefix(2);
    t.token = kRevisionNo;
    ParseDigits(t, b);
  } else {
    t.token = kInvalid;
  }
}

// apk_blob_sort: memcmp of the common prefix, then the shorter first.
int BlobSort(std::string_view a, std::string_view b) {
  int r = a.compare(b);
  return internal::Sign(r);
}

int TokenCmp(const TokenState& ta, const TokenState& tb) {
  uint64_t a, b;
  switch (ta.token) {
    case kDigit:
      // A leading zero means a string comparison, as in the Gentoo spec.
      if (ta.value.front() == '0' || tb.value.front() == '0') return BlobSort(ta.value, tb.value);
      [[fallthrough]];
    case kInitialDigit:
    case kSuffixNo:
    case kRevisionNo:
      a = ta.number;
      b = tb.number;
      break;
    case kLetter:
      a = static_cast<unsigned char>(ta.value.front());
      b = static_cast<unsigned char>(tb.value.front());
      break;
    case kSuffix:
      a = static_cast<uint64_t>(ta.suffix);
      b = static_cast<uint64_t>(tb.suffix);
      break;
    default:
      return BlobSort(ta.value, tb.value);
  }
  if (a < b) return -1;
  if (a > b) return 1;
  return 0;
}

bool ApkValid(std::string_view v) {
  TokenState t;
  for (TokenFirst(t, v); t.token < kEnd; TokenNext(t, v)) {
  }
  return t.token == kEnd;
}

}  // namespace

int ApkCompareRaw(std::string_view a, std::string_view b, bool fuzzy) {
  TokenState ta, tb;
  TokenFirst(ta, a);
  TokenFirst(tb, b);
  for (; ta.token == tb.token && ta.token < kEnd; TokenNext(ta, a), TokenNext(tb, b)) {
    int r = TokenCmp(ta, tb);
    if (r != 0) return r;
  }
  if (ta.token == tb.token) return 0;
  if (tb.token == kEnd && fuzzy) return 0;
  // Equal so far: the longer version is newer unless what follows is a pre-release suffix.
  if (ta.token == kSuffix && ta.suffix < kNone) return -1;
  if (tb.token == kSuffix && tb.suffix < kNone) return 1;
  if (ta.token > tb.token) return -1;
  if (tb.token > ta.token) return 1;
  return 0;
}

namespace internal {

Result<void> ValidateApk(std::string_view v) {
  if (!ApkValid(v)) return VersionError("apk", v, "not a valid apk version");
  return Ok();
}

// apk-tools orders versions its grammar rejects too (secdb has "1.8.1p1-r1"): the tokens up to
// the first invalid one decide, as in `apk version -t`. Only an empty string has no order.
Result<int> CompareApk(std::string_view a, std::string_view b) {
  if (a.empty() || b.empty()) return VersionError("apk", a.empty() ? a : b, "empty version");
  return ApkCompareRaw(a, b);
}

}  // namespace internal
}  // namespace moat::version
