#include "analyzer/lang/lockfile.h"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace moat::lang {

void LockfilePackages::Add(std::string_view name, std::string_view version, bool dev) {
  AddFrom(name, version, dev, file_path_);
}

void LockfilePackages::AddFrom(std::string_view name, std::string_view version, bool dev,
                               const std::string& file_path) {
  name = TrimSpace(name);
  version = TrimSpace(version);
  if (name.empty() || version.empty()) return;
  auto [it, inserted] =
      index_.try_emplace({std::string(name), std::string(version)}, packages_.size());
  if (!inserted) {
    if (!dev) packages_[it->second].dev = false;
    return;
  }
  Package package;
  package.type = type_;
  package.name = std::string(name);
  package.version = std::string(version);
  package.dev = dev;
  package.file_path = file_path;
  packages_.push_back(std::move(package));
}

void LockfilePackages::MoveTo(AnalysisResult& result) {
  for (auto& package : packages_) result.packages.push_back(std::move(package));
  packages_.clear();
  index_.clear();
}

std::set<std::string> DependencyGraph::Reachable(const std::vector<std::string>& roots) const {
  std::set<std::string> seen(roots.begin(), roots.end());
  std::vector<std::string> pending(roots.begin(), roots.end());
  while (!pending.empty()) {
    std::string node = std::move(pending.back());
    pending.pop_back();
    auto it = edges_.find(node);
    if (it == edges_.end()) continue;
    for (const std::string& next : it->second) {
      if (seen.insert(next).second) pending.push_back(next);
    }
  }
  return seen;
}

std::string PlaceOfOffset(std::string_view text, size_t offset) {
  offset = std::min(offset, text.size());
  size_t line = 1 + static_cast<size_t>(std::count(text.begin(), text.begin() + offset, '\n'));
  size_t line_start = text.rfind('\n', offset == 0 ? 0 : offset - 1);
  size_t column =
      line_start == std::string_view::npos || offset == 0 ? offset + 1 : offset - line_start;
  return "line " + std::to_string(line) + ", column " + std::to_string(column);
}

Result<nlohmann::json> ParseLockfileJson(std::string_view text, const std::string& file_path) {
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& error) {
    return Fail(file_path, ": invalid JSON at ",
                PlaceOfOffset(text, error.byte == 0 ? 0 : error.byte - 1), ": ", error.what());
  } catch (const std::exception& error) {
    return Fail(file_path, ": invalid JSON: ", error.what());
  }
}

bool InNodeModules(std::string_view path) {
  return path.starts_with("node_modules/") || path.find("/node_modules/") != std::string::npos;
}

std::string_view DirName(std::string_view path) {
  size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? std::string_view() : path.substr(0, slash);
}

std::optional<std::string> JoinRelative(std::string_view dir, std::string_view relative) {
  std::vector<std::string_view> parts;
  auto push = [&parts](std::string_view text) {
    for (std::string_view part : Split(text, '/')) {
      if (part.empty() || part == ".") continue;
      if (part == "..") {
        if (parts.empty()) return false;
        parts.pop_back();
      } else {
        parts.push_back(part);
      }
    }
    return true;
  };
  if (!relative.starts_with("/") && !push(dir)) return std::nullopt;
  if (!push(relative)) return std::nullopt;
  std::string out;
  for (std::string_view part : parts) {
    if (!out.empty()) out += '/';
    out += part;
  }
  return out;
}

}  // namespace moat::lang
