#pragma once
// Shared by the per-scheme comparators; not part of the public interface.

#include <cstddef>
#include <string>
#include <string_view>

#include "core/result.h"

namespace moat::version::internal {

// Locale-independent ASCII classes: every ecosystem defines its grammar over ASCII, and the C
// <ctype.h> functions are locale-dependent and undefined for negative chars.
constexpr bool IsDigit(char c) { return c >= '0' && c <= '9'; }
constexpr bool IsLower(char c) { return c >= 'a' && c <= 'z'; }
constexpr bool IsUpper(char c) { return c >= 'A' && c <= 'Z'; }
constexpr bool IsAlpha(char c) { return IsLower(c) || IsUpper(c); }
constexpr bool IsAlnum(char c) { return IsDigit(c) || IsAlpha(c); }
constexpr char ToLower(char c) { return IsUpper(c) ? static_cast<char>(c - 'A' + 'a') : c; }
constexpr char ToUpper(char c) { return IsLower(c) ? static_cast<char>(c - 'a' + 'A') : c; }
constexpr bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}
constexpr int Sign(int v) { return (v > 0) - (v < 0); }

inline std::string_view TrimSpace(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

inline bool AllDigits(std::string_view s) {
  for (char c : s) {
    if (!IsDigit(c)) return false;
  }
  return true;
}

/// Compares two runs of decimal digits as arbitrary-precision numbers (leading zeros ignored),
/// so no ecosystem's "big number" case can overflow.
inline int CompareDigits(std::string_view a, std::string_view b) {
  while (!a.empty() && a.front() == '0') a.remove_prefix(1);
  while (!b.empty() && b.front() == '0') b.remove_prefix(1);
  if (a.size() != b.size()) return a.size() < b.size() ? -1 : 1;
  int r = a.compare(b);
  return Sign(r);
}

/// Case-insensitive (ASCII) three-way comparison.
inline int CompareIgnoreCase(std::string_view a, std::string_view b) {
  size_t n = a.size() < b.size() ? a.size() : b.size();
  for (size_t i = 0; i < n; ++i) {
    unsigned char x = static_cast<unsigned char>(ToUpper(a[i]));
    unsigned char y = static_cast<unsigned char>(ToUpper(b[i]));
    if (x != y) return x < y ? -1 : 1;
  }
  if (a.size() == b.size()) return 0;
  return a.size() < b.size() ? -1 : 1;
}

inline bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CompareIgnoreCase(a, b) == 0;
}

/// Error naming the scheme, the version and the problem. Long or binary input is shortened and
/// escaped so that messages stay printable.
Error VersionError(std::string_view scheme, std::string_view version, std::string_view problem);

// Per-scheme entry points (one .cpp each). Compare* return -1/0/1 or an error.
Result<int> CompareDeb(std::string_view a, std::string_view b);
Result<void> ValidateDeb(std::string_view v);
Result<int> CompareRpm(std::string_view a, std::string_view b);
Result<void> ValidateRpm(std::string_view v);
Result<int> CompareApk(std::string_view a, std::string_view b);
Result<void> ValidateApk(std::string_view v);
Result<int> ComparePep440(std::string_view a, std::string_view b);
Result<void> ValidatePep440(std::string_view v);
Result<int> CompareSemver(std::string_view a, std::string_view b, bool loose);
Result<void> ValidateSemver(std::string_view v, bool loose);
Result<int> CompareGo(std::string_view a, std::string_view b);
Result<void> ValidateGo(std::string_view v);
Result<int> CompareMaven(std::string_view a, std::string_view b);
Result<void> ValidateMaven(std::string_view v);
Result<int> CompareGem(std::string_view a, std::string_view b);
Result<void> ValidateGem(std::string_view v);
Result<int> CompareNuget(std::string_view a, std::string_view b);
Result<void> ValidateNuget(std::string_view v);
Result<int> CompareComposer(std::string_view a, std::string_view b);
Result<void> ValidateComposer(std::string_view v);

}  // namespace moat::version::internal
