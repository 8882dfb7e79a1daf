#pragma once
// Small text helpers shared by the language analyzers.

#include <string>
#include <string_view>
#include <vector>

namespace moat::lang {

/// Strips spaces, tabs, CR and LF from both ends.
std::string_view TrimSpace(std::string_view text);

bool EndsWith(std::string_view text, std::string_view suffix);
bool EndsWithIgnoreCase(std::string_view text, std::string_view suffix);

/// The last component of a "/"-separated path.
std::string_view BaseName(std::string_view path);

/// Splits text into lines on "\n", dropping a trailing "\r" from each line.
std::vector<std::string_view> SplitLines(std::string_view text);

}  // namespace moat::lang
