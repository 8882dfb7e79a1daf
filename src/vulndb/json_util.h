#pragma once
// Private helpers for reading untrusted JSON with nlohmann without exceptions escaping: every
// accessor checks the type and falls back to empty. Included only by ingest_*.cpp.

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "core/result.h"

namespace moat::vulndb::json_util {

using nlohmann::json;

inline const json* Find(const json& object, std::string_view key) {
  if (!object.is_object()) return nullptr;
  auto it = object.find(key);
  return it == object.end() ? nullptr : &*it;
}

inline std::string String(const json& object, std::string_view key) {
  const json* value = Find(object, key);
  return value && value->is_string() ? value->get<std::string>() : std::string();
}

inline const json& Member(const json& object, std::string_view key) {
  static const json kNull;
  const json* value = Find(object, key);
  return value ? *value : kNull;
}

/// Parses text; a syntax error names the input and nlohmann's byte position.
inline Result<json> Parse(std::string_view text, const std::string& name) {
  try {
    return json::parse(text);
  } catch (const json::exception& e) {
    return Fail(name, ": not valid JSON: ", e.what());
  }
}

/// JSON pointer escaping of one reference token (RFC 6901).
inline std::string Escape(std::string_view token) {
  std::string out;
  for (char c : token) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out += c;
    }
  }
  return out;
}

inline std::string Trim(std::string_view text) {
  size_t start = text.find_first_not_of(" \t\r\n");
  if (start == std::string_view::npos) return "";
  size_t end = text.find_last_not_of(" \t\r\n");
  return std::string(text.substr(start, end - start + 1));
}

}  // namespace moat::vulndb::json_util
