#pragma once
// Request-target parsing of the HTTP server, apart from Beast so that the router, the fuzz
// target and the tests use it without the heavy headers.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"

namespace moat::http {

/// Decodes %XX escapes (and '+' as a space when `plus_is_space`, as HTML forms encode query
/// values). A '%' not followed by two hex digits is an error naming its offset in `text`.
Result<std::string> PercentDecode(std::string_view text, bool plus_is_space);

/// "a=1&b=x%20y&c" -> (a,1) (b,"x y") (c,""); empty pieces ("a=1&&b") are skipped.
Result<std::vector<std::pair<std::string, std::string>>> ParseQuery(std::string_view query);

struct ParsedTarget {
  std::string path;  // percent-decoded
  std::vector<std::pair<std::string, std::string>> query;
};

/// Splits an origin-form ("/a/b?x=1") or absolute-form ("http://host/a/b?x=1") request target
/// and decodes both parts. A path that does not start with '/', has a bad escape, a NUL, or a
/// "." or ".." segment (before or after decoding: handlers may map path parameters to names
/// of files or resources) is an error; the server answers 400 with the message.
Result<ParsedTarget> ParseTarget(std::string_view target);

}  // namespace moat::http
