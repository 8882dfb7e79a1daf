#include "analyzer/lang/jar_metadata.h"

#include <cctype>
#include <vector>

#include "analyzer/lang/text_util.h"
#include "core/text.h"

namespace moat::lang {
namespace {

bool HasSpace(std::string_view text) { return text.find_first_of(" \t") != std::string_view::npos; }

std::string Get(const std::map<std::string, std::string>& map, const std::string& key) {
  auto it = map.find(key);
  return it == map.end() ? std::string() : it->second;
}

}  // namespace

std::map<std::string, std::string> ParseJavaProperties(std::string_view text) {
  std::map<std::string, std::string> properties;
  std::string logical;
  std::vector<std::string_view> lines = SplitLines(text);
  for (size_t i = 0; i < lines.size(); ++i) {
    std::string_view line = lines[i];
    size_t first = line.find_first_not_of(" \t\f");
    if (first == std::string_view::npos) continue;
    line = line.substr(first);
    if (line.front() == '#' || line.front() == '!') continue;
    // A line ending in an odd number of backslashes continues on the next line.
    logical.clear();
    while (true) {
      size_t backslashes = 0;
      while (backslashes < line.size() && line[line.size() - 1 - backslashes] == '\\')
        ++backslashes;
      if (backslashes % 2 == 1 && i + 1 < lines.size()) {
        logical.append(line.substr(0, line.size() - 1));
        std::string_view next = lines[++i];
        size_t start = next.find_first_not_of(" \t\f");
        line = start == std::string_view::npos ? std::string_view{} : next.substr(start);
        continue;
      }
      logical.append(line);
      break;
    }
    std::string key, value;
    bool in_value = false;
    bool separator_seen = false;
    for (size_t k = 0; k < logical.size(); ++k) {
      char c = logical[k];
      if (c == '\\' && k + 1 < logical.size()) {
        char escaped = logical[++k];
        char decoded = escaped == 't'   ? '\t'
                       : escaped == 'n' ? '\n'
                       : escaped == 'r' ? '\r'
                                        : escaped;
        (in_value ? value : key).push_back(decoded);
        continue;
      }
      if (!in_value) {
        if (c == '=' || c == ':' || c == ' ' || c == '\t') {
          in_value = true;
          separator_seen = c == '=' || c == ':';
          continue;
        }
        key.push_back(c);
      } else if (value.empty() &&
                 (c == ' ' || c == '\t' || ((c == '=' || c == ':') && !separator_seen))) {
        separator_seen = separator_seen || c == '=' || c == ':';
        continue;
      } else {
        value.push_back(c);
      }
    }
    properties[key] = std::string(TrimSpace(value));
  }
  return properties;
}

std::optional<MavenCoordinates> ParsePomProperties(std::string_view text) {
  std::map<std::string, std::string> properties = ParseJavaProperties(text);
  MavenCoordinates coordinates{Get(properties, "groupId"), Get(properties, "artifactId"),
                               Get(properties, "version")};
  if (coordinates.group_id.empty() || coordinates.artifact_id.empty() ||
      coordinates.version.empty()) {
    return std::nullopt;
  }
  return coordinates;
}

std::map<std::string, std::string> ParseManifest(std::string_view text) {
  std::map<std::string, std::string> attributes;
  std::string* last = nullptr;
  for (std::string_view line : SplitLines(text)) {
    if (line.empty()) break;  // end of the main section; per-entry sections follow
    if (line.front() == ' ') {
      // Continuation: the line's content after exactly one space (72-byte line wrapping).
      if (last != nullptr) last->append(line.substr(1));
      continue;
    }
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) {
      last = nullptr;
      continue;
    }
    std::string key = AsciiLower(TrimSpace(line.substr(0, colon)));
    std::string& value = attributes[key];
    value = std::string(line.substr(colon + 1));
    if (!value.empty() && value.front() == ' ') value.erase(0, 1);
    last = &value;
  }
  for (auto& [key, value] : attributes) value = std::string(TrimSpace(value));
  return attributes;
}

std::string GroupFromManifest(const std::map<std::string, std::string>& manifest,
                              std::string_view artifact_id) {
  std::string group = Get(manifest, "implementation-vendor-id");
  if (!group.empty()) return HasSpace(group) ? std::string() : group;
  // OSGi symbolic names are usually "<groupId>.<artifact-ish>" ("org.apache.commons.lang3" for
  // commons-lang3) but sometimes the groupId itself ("com.google.inject" for guice): drop the
  // last segment only when the artifact id contains it.
  std::string symbolic = Get(manifest, "bundle-symbolicname");
  symbolic = std::string(TrimSpace(symbolic.substr(0, symbolic.find(';'))));  // ";singleton:=true"
  size_t dot = symbolic.rfind('.');
  if (dot != std::string::npos && dot > 0 && !artifact_id.empty() &&
      artifact_id.find(symbolic.substr(dot + 1)) != std::string_view::npos) {
    symbolic.resize(dot);
  }
  return HasSpace(symbolic) ? std::string() : symbolic;
}

std::optional<MavenCoordinates> CoordinatesFromManifest(
    const std::map<std::string, std::string>& manifest) {
  MavenCoordinates coordinates;
  // Titles are often prose ("Apache Commons Lang"); only a word without spaces can be an id.
  for (const char* key : {"implementation-title", "specification-title", "bundle-name"}) {
    std::string value = Get(manifest, key);
    if (!value.empty() && !HasSpace(value)) {
      coordinates.artifact_id = value;
      break;
    }
  }
  for (const char* key : {"implementation-version", "bundle-version", "specification-version"}) {
    std::string value = Get(manifest, key);
    if (!value.empty() && !HasSpace(value)) {
      coordinates.version = value;
      break;
    }
  }
  if (coordinates.artifact_id.empty() || coordinates.version.empty()) return std::nullopt;

  coordinates.group_id = GroupFromManifest(manifest, coordinates.artifact_id);
  return coordinates;
}

std::optional<MavenCoordinates> CoordinatesFromFileName(std::string_view file_name) {
  std::string_view stem = file_name;
  size_t dot = stem.rfind('.');
  if (dot != std::string_view::npos) stem = stem.substr(0, dot);
  for (size_t dash = stem.rfind('-'); dash != std::string_view::npos && dash > 0;
       dash = stem.rfind('-', dash - 1)) {
    if (dash + 1 < stem.size() && std::isdigit(static_cast<unsigned char>(stem[dash + 1]))) {
      return MavenCoordinates{"", std::string(stem.substr(0, dash)),
                              std::string(stem.substr(dash + 1))};
    }
    if (dash == 0) break;
  }
  return std::nullopt;
}

}  // namespace moat::lang
