// RubyGems ordering as Gem::Version: "-" means ".pre.", segments are digit or letter runs,
// trailing zero segments of the numeric part and of the prerelease part are dropped
// (canonical_segments), strings sort before numbers.

#include <array>
#include <vector>

#include "version/internal.h"
#include "version/version.h"

namespace moat::version::internal {
namespace {

// Ruby's \s: space, \t, \n, \v, \f, \r.
bool ValidGem(std::string_view v) {
  v = TrimSpace(v);
  if (v.empty()) return true;  // Gem::Version.new("") is "0"
  // [0-9]+(?>\.[0-9a-zA-Z]+)*(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?
  size_t i = 0;
  while (i < v.size() && IsDigit(v[i])) ++i;
  if (i == 0) return false;
  while (i < v.size() && v[i] == '.') {
    size_t start = ++i;
    while (i < v.size() && IsAlnum(v[i])) ++i;
    if (i == start) return false;
  }
  if (i < v.size() && v[i] == '-') {
    while (true) {
      size_t start = ++i;
      while (i < v.size() && (IsAlnum(v[i]) || v[i] == '-')) ++i;
      if (i == start) return false;
      if (i < v.size() && v[i] == '.') continue;
      break;
    }
  }
  return i == v.size();
}

struct Segment {
  std::string_view text;
  bool numeric;
};

// A small inline buffer: real versions have a handful of segments, so no allocation.
class Segments {
 public:
  void Push(Segment s) {
    if (size_ < inline_.size()) {
      inline_[size_] = s;
    } else {
      if (heap_.empty()) heap_.assign(inline_.begin(), inline_.end());
      heap_.push_back(s);
    }
    ++size_;
  }
  size_t size() const { return size_; }
  Segment& operator[](size_t i) { return size_ > inline_.size() ? heap_[i] : inline_[i]; }
  void Erase(size_t i) {
    for (size_t k = i; k + 1 < size_; ++k) (*this)[k] = (*this)[k + 1];
    --size_;
    if (!heap_.empty()) heap_.resize(size_);
    if (size_ == inline_.size() && !heap_.empty()) {
      for (size_t k = 0; k < size_; ++k) inline_[k] = heap_[k];
      heap_.clear();
    }
  }

 private:
  std::array<Segment, 16> inline_{};
  std::vector<Segment> heap_;
  size_t size_ = 0;
};

bool IsZero(const Segment& s) {
  if (!s.numeric) return false;
  for (char c : s.text) {
    if (c != '0') return false;
  }
  return true;
}

// canonical_segments: scan /[0-9]+|[a-z]+/i over the version with "-" read as ".pre.", then drop
// trailing zeros from the numeric prefix and from the rest.
void CanonicalSegments(std::string_view v, Segments& out) {
  v = TrimSpace(v);
  size_t i = 0;
  while (i < v.size()) {
    char c = v[i];
    if (c == '-') {
      out.Push({"pre", false});
      ++i;
    } else if (IsDigit(c)) {
      size_t start = i;
      while (i < v.size() && IsDigit(v[i])) ++i;
      out.Push({v.substr(start, i - start), true});
    } else if (IsAlpha(c)) {
      size_t start = i;
      while (i < v.size() && IsAlpha(v[i])) ++i;
      out.Push({v.substr(start, i - start), false});
    } else {
      ++i;
    }
  }
  size_t string_start = out.size();
  for (size_t k = 0; k < out.size(); ++k) {
    if (!out[k].numeric) {
      string_start = k;
      break;
    }
  }
  // Rest first so that string_start stays valid.
  while (out.size() > string_start && IsZero(out[out.size() - 1])) out.Erase(out.size() - 1);
  size_t end = string_start;
  while (end > 0 && IsZero(out[end - 1])) --end;
  while (string_start > end) {
    out.Erase(end);
    --string_start;
  }
}

}  // namespace

Result<void> ValidateGem(std::string_view v) {
  if (!ValidGem(v)) return VersionError("gem", v, "malformed version number string");
  return Ok();
}

// Versions Gem::Version.new refuses ("1beta", "2.0.0_rc1", found in advisories and old gem
// metadata) are ordered by the segments Gem::Version compares (digit runs and letter runs), so
// "1beta" sorts as "1.beta": a prerelease of 1. A string with no digit or letter has none.
Result<int> CompareGem(std::string_view a, std::string_view b) {
  for (std::string_view v : {a, b}) {
    if (ValidGem(v)) continue;
    bool has_segment = false;
    for (char c : v) has_segment = has_segment || IsAlnum(c);
    if (!has_segment) return VersionError("gem", v, "no digits or letters to compare");
  }
  Segments sa, sb;
  CanonicalSegments(a, sa);
  CanonicalSegments(b, sb);
  size_t n = sa.size() > sb.size() ? sa.size() : sb.size();
  static const Segment kZero{"0", true};
  for (size_t i = 0; i < n; ++i) {
    const Segment& l = i < sa.size() ? sa[i] : kZero;
    const Segment& r = i < sb.size() ? sb[i] : kZero;
    if (l.numeric && r.numeric) {
      int c = CompareDigits(l.text, r.text);
      if (c) return c;
    } else if (l.numeric != r.numeric) {
      return l.numeric ? 1 : -1;
    } else {
      int c = Sign(l.text.compare(r.text));
      if (c) return c;
    }
  }
  return 0;
}

}  // namespace moat::version::internal
