#pragma once
// Splitting, trimming and case folding of small text files and lists (/proc files, /etc/group,
// audit rules, comma lists). The results are views into the text, which must outlive them.

#include <string>
#include <string_view>
#include <vector>

namespace moat {

/// Every part of `text` between `separator`s, empty ones too (Python's str.split(separator)):
/// "a,,b" -> {"a", "", "b"}, "a," -> {"a", ""}, "" -> {""}. For fields and lists.
std::vector<std::string_view> Split(std::string_view text, char separator);

/// The parts of `text` that each end with `terminator`, the last one possibly without it: a
/// terminator at the very end opens no empty part, as a final newline opens no line.
/// "a\0b\0" -> {"a", "b"}, "a\0\0b" -> {"a", "", "b"}, "" -> {}. For /proc/PID/cmdline.
std::vector<std::string_view> SplitTerminated(std::string_view text, char terminator);

/// The lines of `text` (SplitTerminated on '\n'), each without a trailing '\r'.
std::vector<std::string_view> SplitLines(std::string_view text);

/// The words of `text`: its runs of characters other than space and tab.
std::vector<std::string_view> SplitWords(std::string_view text);

/// `text` with A-Z turned into a-z and every other byte (UTF-8 included) kept: for names and
/// keywords that a format defines as ASCII case-insensitive.
std::string AsciiLower(std::string_view text);

/// The value of an ASCII hexadecimal digit (0-9, a-f, A-F), or -1 for any other byte.
int HexDigitValue(char c);

/// `text` without spaces, tabs, CRs and LFs at either end.
std::string_view TrimSpace(std::string_view text);

/// Whether `text` matches the shell-style `pattern` as a whole: '*' matches any run of
/// characters (slashes and dots too), '?' one character, everything else itself.
bool GlobMatch(std::string_view pattern, std::string_view text);

}  // namespace moat
