#pragma once
// Small text helpers shared by the language analyzers (lines and trimming: core/text.h).

#include <string>
#include <string_view>
#include <vector>

#include "core/text.h"

namespace moat::lang {

bool EndsWith(std::string_view text, std::string_view suffix);
bool EndsWithIgnoreCase(std::string_view text, std::string_view suffix);

/// The last component of a "/"-separated path.
std::string_view BaseName(std::string_view path);

}  // namespace moat::lang
