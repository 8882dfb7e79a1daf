// Node.js lock files: npm's package-lock.json / npm-shrinkwrap.json (lockfileVersion 1, 2, 3),
// yarn.lock (v1's own format, and berry's YAML), pnpm-lock.yaml (lockfileVersion 5, 6, 9).

#include <cstdlib>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "analyzer/analyzer.h"
#include "analyzer/lang/lockfile.h"
#include "analyzer/lang/text_util.h"
#include "k8s/loader.h"

namespace moat {
namespace {

constexpr uint64_t kMaxLockfileSize = 256ull << 20;

bool WantsLockfile(const FileMeta& file, std::initializer_list<std::string_view> names) {
  if (file.size > kMaxLockfileSize || lang::InNodeModules(file.path)) return false;
  std::string_view base = lang::BaseName(file.path);
  for (std::string_view name : names) {
    if (base == name) return true;
  }
  return false;
}

// Versions that name no registry release (a local directory, a git commit, a tarball URL):
// advisories cannot apply to them by version.
bool IsRegistryVersion(std::string_view version) {
  if (version.empty()) return false;
  for (std::string_view prefix : {"file:", "link:", "git", "http:", "https:", "github:",
                                  "workspace:", "portal:", "patch:", "exec:"}) {
    if (version.starts_with(prefix)) return false;
  }
  return true;
}

// ---- package-lock.json ----

bool IsTrue(const nlohmann::json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_boolean() && it->get<bool>();
}

std::string StringField(const nlohmann::json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// lockfileVersion 1 (npm 5 and 6): "dependencies" nested as node_modules is. An aliased
// dependency ("npm:real@1.0.0") names the real package.
void ReadNpmV1Dependencies(const nlohmann::json& dependencies, const std::string& where, int depth,
                           lang::LockfilePackages& out, AnalysisResult& result) {
  if (!dependencies.is_object()) return;
  if (depth > 64) {
    result.AddProblem(where + ": nested deeper than 64 levels; the rest skipped");
    return;
  }
  for (const auto& [name, entry] : dependencies.items()) {
    if (!entry.is_object()) {
      result.AddProblem(where + "/" + name + ": not an object; skipped");
      continue;
    }
    std::string real_name = name;
    std::string version = StringField(entry, "version");
    if (version.starts_with("npm:")) {
      std::string_view alias = std::string_view(version).substr(4);
      size_t at = alias.rfind('@');
      if (at != std::string_view::npos && at > 0) {
        real_name = std::string(alias.substr(0, at));
        version = std::string(alias.substr(at + 1));
      }
    }
    if (IsRegistryVersion(version)) out.Add(real_name, version, IsTrue(entry, "dev"));
    if (auto nested = entry.find("dependencies"); nested != entry.end()) {
      ReadNpmV1Dependencies(*nested, where + "/" + name + "/dependencies", depth + 1, out, result);
    }
  }
}

// The package an install path names: "node_modules/a/node_modules/@s/b" -> "@s/b".
std::string_view NameFromInstallPath(std::string_view path) {
  size_t at = path.rfind("node_modules/");
  if (at == std::string_view::npos) return {};
  return path.substr(at + std::string_view("node_modules/").size());
}

class NpmLockAnalyzer : public Analyzer {
 public:
  const AnalyzerDescriptor& descriptor() const override { return descriptor_; }
  bool Wants(const FileMeta& file) const override {
    return WantsLockfile(file, {"package-lock.json", "npm-shrinkwrap.json"});
  }
  Result<AnalysisResult> Analyze(const FileMeta& file, ByteSpan content) const override {
    const std::string file_path = "/" + std::string(file.path);
    MOAT_ASSIGN_OR_RETURN(nlohmann::json lock, lang::ParseLockfileJson(AsText(content), file_path));
    if (!lock.is_object()) return Fail(file_path, ": not a JSON object");
    AnalysisResult result;
    lang::LockfilePackages packages(PackageType::kNpm, file_path);
    auto lockfile_version = lock.find("lockfileVersion");
    if (lockfile_version == lock.end() || !lockfile_version->is_number_integer()) {
      return Fail(file_path, ": /lockfileVersion: missing or not an integer");
    }
    auto entries = lock.find("packages");
    if (lockfile_version->get<int64_t>() >= 2 && entries != lock.end() && entries->is_object()) {
      // v2 and v3: "packages" keyed by install path; "" is the project itself, paths outside
      // node_modules are workspace members, and "link": true entries point at them.
      for (const auto& [path, entry] : entries->items()) {
        if (!entry.is_object()) {
          result.AddProblem("/packages/" + path + ": not an object; skipped");
          continue;
        }
        std::string_view name = NameFromInstallPath(path);
        if (name.empty() || IsTrue(entry, "link")) continue;
        std::string real_name = StringField(entry, "name");  // set for aliased installs
        std::string version = StringField(entry, "version");
        if (!IsRegistryVersion(version)) continue;
        packages.Add(real_name.empty() ? name : std::string_view(real_name), version,
                     IsTrue(entry, "dev"));
      }
    } else if (lockfile_version->get<int64_t>() == 1) {
      if (auto deps = lock.find("dependencies"); deps != lock.end()) {
        ReadNpmV1Dependencies(*deps, "/dependencies", 0, packages, result);
      }
    } else {
      return Fail(file_path, ": /lockfileVersion ", lockfile_version->dump(),
                  ": expected 1, 2 or 3 (with \"packages\" from 2 on)");
    }
    packages.MoveTo(result);
    return result;
  }

 private:
  AnalyzerDescriptor descriptor_{"npm-lock", 1, AnalyzerKind::kLanguage};
};

// ---- yarn.lock ----

// The package a yarn descriptor names: "@babel/core@^7.0.0" -> "@babel/core",
// "alias@npm:real@^1.0.0" -> "real" (with the range after it in `range`).
std::string_view DescriptorName(std::string_view descriptor, std::string_view* range) {
  size_t at = descriptor.find('@', 1);
  if (at == std::string_view::npos) {
    *range = {};
    return descriptor;
  }
  std::string_view name = descriptor.substr(0, at);
  *range = descriptor.substr(at + 1);
  if (range->starts_with("npm:")) {
    std::string_view aliased = range->substr(4);
    // "npm:real@^1" names another package; "npm:^1" (berry) only the registry.
    if (size_t inner = aliased.find('@', 1); inner != std::string_view::npos) {
      *range = aliased.substr(inner + 1);
      return aliased.substr(0, inner);
    }
  }
  return name;
}

std::string_view Unquote(std::string_view text) {
  text = TrimSpace(text);
  if (text.size() >= 2 && text.front() == '"' && text.back() == '"') {
    return text.substr(1, text.size() - 2);
  }
  return text;
}

// One entry of a yarn.lock: the descriptors that resolved to it ("ms@^2.1.1"), the package and
// version, and the descriptors of its dependencies.
struct YarnEntry {
  std::vector<std::string> descriptors;
  std::string name;
  std::string version;
  bool registry = false;  // a registry release (not a workspace, link, git checkout...)
  std::vector<std::string> dependencies;
};

// yarn v1: blocks of "descriptor[, descriptor...]:" at column 0 with indented fields; the
// "dependencies" and "optionalDependencies" fields list `name "range"` one level deeper.
std::vector<YarnEntry> ReadYarnV1(std::string_view text, AnalysisResult& result) {
  std::vector<YarnEntry> entries;
  bool registry = true;
  bool in_block = false;
  bool in_dependencies = false;
  size_t line_number = 0;
  for (std::string_view line : SplitLines(text)) {
    ++line_number;
    if (line.empty() || line.front() == '#') continue;
    if (line.front() != ' ') {
      in_block = in_dependencies = false;
      if (line.back() != ':') {
        result.AddProblem("line " + std::to_string(line_number) +
                          ": expected \"descriptor:\" at the start of an entry; skipped");
        continue;
      }
      YarnEntry entry;
      for (std::string_view descriptor : Split(line.substr(0, line.size() - 1), ',')) {
        entry.descriptors.emplace_back(Unquote(descriptor));
      }
      std::string_view range;
      entry.name = DescriptorName(entry.descriptors.front(), &range);
      registry = IsRegistryVersion(range) || range.starts_with("npm:");
      in_block = !entry.name.empty();
      if (in_block) entries.push_back(std::move(entry));
      continue;
    }
    if (!in_block) continue;
    std::string_view field = TrimSpace(line);
    const bool top_field = line.starts_with("  ") && !line.starts_with("   ");
    if (top_field) {
      in_dependencies = field == "dependencies:" || field == "optionalDependencies:";
      if (field.starts_with("version ")) {
        YarnEntry& entry = entries.back();
        entry.version = Unquote(field.substr(8));
        entry.registry = registry && IsRegistryVersion(entry.version);
      }
      continue;
    }
    if (in_dependencies) {
      size_t space = field.find(' ');
      if (space == std::string_view::npos) continue;
      entries.back().dependencies.push_back(std::string(Unquote(field.substr(0, space))) + "@" +
                                            std::string(Unquote(field.substr(space + 1))));
    }
  }
  return entries;
}

// yarn berry (2 and later): YAML whose keys are descriptor lists; "resolution" names the
// package and version it resolved to, with the protocol ("npm:" for the registry);
// "dependencies" maps names to ranges with their protocol ("npm:^4.1.0").
Result<std::vector<YarnEntry>> ReadYarnBerry(std::string_view text, const std::string& file_path,
                                             AnalysisResult& result) {
  MOAT_ASSIGN_OR_RETURN(k8s::Value root, k8s::ParseYamlDocument(text, file_path));
  if (!root.IsMap()) return Fail(file_path, ": not a YAML map");
  std::vector<YarnEntry> entries;
  for (const k8s::Value& item : root.Entries()) {
    if (item.key == "__metadata") continue;
    const k8s::Value* resolution = item.Get("resolution");
    if (resolution == nullptr || !resolution->IsScalar()) {
      result.AddProblem("line " + std::to_string(item.line) + ": entry \"" + item.key +
                        "\" has no resolution; skipped");
      continue;
    }
    YarnEntry entry;
    for (std::string_view descriptor : Split(item.key, ',')) {
      entry.descriptors.emplace_back(TrimSpace(descriptor));
    }
    std::string_view range;
    entry.name = DescriptorName(resolution->Str(), &range);
    entry.registry = range.starts_with("npm:");  // not workspace:, patch:, link:, git ...
    if (entry.registry) entry.version = range.substr(4);
    for (const char* field : {"dependencies", "optionalDependencies"}) {
      if (const k8s::Value* dependencies = item.Get(field)) {
        for (const k8s::Value& dependency : dependencies->Entries()) {
          entry.dependencies.push_back(dependency.key + "@" + std::string(dependency.Str()));
        }
      }
    }
    entries.push_back(std::move(entry));
  }
  return entries;
}

// yarn.lock has no dev flag. As Trivy does, the package.json beside it tells: the entries only
// its devDependencies reach (through the lock file's dependency lists) are development ones.
// Entries neither reaches (other workspaces' dependencies) stay production. Empty when there is
// no package.json to read.
std::vector<bool> YarnDevEntries(const std::vector<YarnEntry>& entries, bool berry,
                                 const FileMeta& file, AnalysisResult& result) {
  if (file.read_tree == nullptr) return {};
  auto manifest_path = lang::JoinRelative(lang::DirName(file.path), "package.json");
  if (!manifest_path) return {};
  auto text = (*file.read_tree)(*manifest_path);
  if (!text.ok()) return {};  // a lock file without its package.json: nothing to tell
  auto manifest = lang::ParseLockfileJson(*text, "/" + *manifest_path);
  if (!manifest.ok() || !manifest->is_object()) {
    result.AddProblem(
        (manifest.ok() ? "/" + *manifest_path + ": not a JSON object" : manifest.error().message) +
        "; development dependencies not marked");
    return {};
  }
  std::map<std::string, size_t, std::less<>> by_descriptor;
  for (size_t i = 0; i < entries.size(); ++i) {
    for (const auto& descriptor : entries[i].descriptors) by_descriptor.emplace(descriptor, i);
  }
  // package.json's ranges carry no protocol where berry's descriptors say "npm:".
  auto resolve = [&](const std::string& name, const std::string& range) -> std::optional<size_t> {
    for (const std::string& descriptor :
         {name + "@" + range, berry ? name + "@npm:" + range : std::string()}) {
      if (auto it = by_descriptor.find(descriptor); it != by_descriptor.end()) return it->second;
    }
    return std::nullopt;
  };
  lang::DependencyGraph graph;
  for (size_t i = 0; i < entries.size(); ++i) {
    for (const auto& dependency : entries[i].dependencies) {
      if (auto it = by_descriptor.find(dependency); it != by_descriptor.end()) {
        graph.AddEdge(std::to_string(i), std::to_string(it->second));
      }
    }
  }
  auto roots = [&](std::initializer_list<const char*> fields) {
    std::vector<std::string> out;
    for (const char* field : fields) {
      auto section = manifest->find(field);
      if (section == manifest->end() || !section->is_object()) continue;
      for (const auto& [name, range] : section->items()) {
        if (!range.is_string()) continue;
        if (auto entry = resolve(name, range.get<std::string>())) {
          out.push_back(std::to_string(*entry));
        }
      }
    }
    return out;
  };
  std::set<std::string> production =
      graph.Reachable(roots({"dependencies", "optionalDependencies"}));
  std::set<std::string> development = graph.Reachable(roots({"devDependencies"}));
  std::vector<bool> dev(entries.size(), false);
  for (size_t i = 0; i < entries.size(); ++i) {
    const std::string key = std::to_string(i);
    dev[i] = development.count(key) && !production.count(key);
  }
  return dev;
}

class YarnLockAnalyzer : public Analyzer {
 public:
  const AnalyzerDescriptor& descriptor() const override { return descriptor_; }
  bool Wants(const FileMeta& file) const override { return WantsLockfile(file, {"yarn.lock"}); }
  Result<AnalysisResult> Analyze(const FileMeta& file, ByteSpan content) const override {
    const std::string file_path = "/" + std::string(file.path);
    std::string_view text = AsText(content);
    AnalysisResult result;
    // Berry writes a __metadata entry; v1 a "# yarn lockfile v1" header.
    const bool berry =
        text.find("\n__metadata:") != std::string_view::npos || text.starts_with("__metadata:");
    std::vector<YarnEntry> entries;
    if (berry) {
      MOAT_ASSIGN_OR_RETURN(entries, ReadYarnBerry(text, file_path, result));
    } else {
      entries = ReadYarnV1(text, result);
    }
    std::vector<bool> dev = YarnDevEntries(entries, berry, file, result);
    lang::LockfilePackages packages(PackageType::kNpm, file_path);
    for (size_t i = 0; i < entries.size(); ++i) {
      if (entries[i].registry)
        packages.Add(entries[i].name, entries[i].version, !dev.empty() && dev[i]);
    }
    packages.MoveTo(result);
    return result;
  }

 private:
  AnalyzerDescriptor descriptor_{"yarn-lock", 2, AnalyzerKind::kLanguage};
};

// ---- pnpm-lock.yaml ----

// A pnpm package key without its peer-dependency suffix, split into name and version:
// v5 "/@scope/name/1.2.3_peer@1.0.0", v6 "/name@1.2.3(peer@1.0.0)", v9 "name@1.2.3(peer@1.0.0)".
bool SplitPnpmKey(std::string_view key, bool v5, std::string_view* name,
                  std::string_view* version) {
  if (key.starts_with("/")) key.remove_prefix(1);
  if (size_t paren = key.find('('); paren != std::string_view::npos) key = key.substr(0, paren);
  if (v5) {
    size_t slash = key.rfind('/');
    if (slash == std::string_view::npos || slash == 0) return false;
    *name = key.substr(0, slash);
    *version = key.substr(slash + 1);
    if (size_t underscore = version->find('_'); underscore != std::string_view::npos) {
      *version = version->substr(0, underscore);
    }
  } else {
    size_t at = key.find('@', 1);
    if (at == std::string_view::npos) return false;
    *name = key.substr(0, at);
    *version = key.substr(at + 1);
  }
  return !name->empty() && !version->empty() && IsRegistryVersion(*version);
}

// The snapshot key a dependency entry points at (v9): "name@" + the version written, which
// carries the peer suffix ("4.3.4(supports-color@8.1.1)"); an aliased version
// ("real@1.0.0") names the other package. Linked workspace directories have no snapshot.
std::string PnpmDependencyKey(std::string_view name, std::string_view version) {
  if (version.starts_with("link:")) return {};
  std::string_view head = version.substr(0, version.find('('));
  const bool alias =
      head.find('@', 1) != std::string_view::npos && head.find(':') == std::string_view::npos;
  if (alias) return std::string(version);
  return std::string(name) + "@" + std::string(version);
}

std::string_view DependencyVersion(const k8s::Value& dependency) {
  if (dependency.IsScalar()) return dependency.Str();     // v5/v6 "1.2.3" or v9 in snapshots
  const k8s::Value* version = dependency.Get("version");  // v9 importers: {specifier, version}
  return version == nullptr ? std::string_view() : version->Str();
}

class PnpmLockAnalyzer : public Analyzer {
 public:
  const AnalyzerDescriptor& descriptor() const override { return descriptor_; }
  bool Wants(const FileMeta& file) const override {
    return WantsLockfile(file, {"pnpm-lock.yaml"});
  }
  Result<AnalysisResult> Analyze(const FileMeta& file, ByteSpan content) const override {
    const std::string file_path = "/" + std::string(file.path);
    MOAT_ASSIGN_OR_RETURN(k8s::Value root, k8s::ParseYamlDocument(AsText(content), file_path));
    if (!root.IsMap()) return Fail(file_path, ": not a YAML map");
    const k8s::Value* lockfile_version = root.Get("lockfileVersion");
    if (lockfile_version == nullptr || !lockfile_version->IsScalar()) {
      return Fail(file_path, ": lockfileVersion: missing");
    }
    const std::string version_text(lockfile_version->Str());
    const double major = std::atof(version_text.c_str());
    if (major < 5 || major >= 10) {
      return Fail(file_path, ": line ", std::to_string(lockfile_version->line),
                  ": lockfileVersion ", version_text, ": expected 5.x, 6.x or 9.x");
    }
    const bool v5 = major < 6;
    AnalysisResult result;
    lang::LockfilePackages packages(PackageType::kNpm, file_path);
    const k8s::Value* entries = root.Get("packages");
    if (entries == nullptr) {
      packages.MoveTo(result);
      return result;
    }
    // v9 no longer marks dev packages: those only the importers' devDependencies reach, through
    // the snapshots' dependency lists, are.
    std::set<std::string> production;
    const bool walk = major >= 9;
    if (walk) production = ProductionSnapshots(root);
    for (const k8s::Value& entry : entries->Entries()) {
      std::string_view name, version;
      if (!SplitPnpmKey(entry.key, v5, &name, &version)) {
        // A tarball or git dependency ("debug@https://.../4.3.5") states its version apart; a
        // local directory has none.
        const k8s::Value* stated = entry.Get("version");
        size_t at = entry.key.find('@', entry.key.starts_with("/") ? 2 : 1);
        if (stated == nullptr || !stated->IsScalar() || at == std::string::npos) {
          if (entry.key.find(':') == std::string::npos) {
            result.AddProblem("line " + std::to_string(entry.line) + ": package key \"" +
                              entry.key + "\" is not name@version; skipped");
          }
          continue;
        }
        name = std::string_view(entry.key).substr(entry.key.starts_with("/") ? 1 : 0,
                                                  at - (entry.key.starts_with("/") ? 1 : 0));
        version = stated->Str();
      }
      bool dev = false;
      if (walk) {
        dev = !HasProductionSnapshot(production, entry.key);
      } else if (const k8s::Value* flag = entry.Get("dev"); flag != nullptr) {
        dev = flag->IsTrue();
      }
      packages.Add(name, version, dev);
    }
    packages.MoveTo(result);
    return result;
  }

 private:
  // The snapshot keys an importer's or a snapshot's dependencies and optionalDependencies
  // point at (devDependencies are left out: that is what makes the rest production).
  static std::vector<std::string> ProductionDependencyKeys(const k8s::Value& owner) {
    std::vector<std::string> keys;
    for (const char* field : {"dependencies", "optionalDependencies"}) {
      const k8s::Value* deps = owner.Get(field);
      if (deps == nullptr) continue;
      for (const k8s::Value& dep : deps->Entries()) {
        std::string key = PnpmDependencyKey(dep.key, DependencyVersion(dep));
        if (!key.empty()) keys.push_back(std::move(key));
      }
    }
    return keys;
  }
  // The snapshot keys the importers' production dependencies reach.
  static std::set<std::string> ProductionSnapshots(const k8s::Value& root) {
    lang::DependencyGraph graph;
    if (const k8s::Value* snapshots = root.Get("snapshots")) {
      for (const k8s::Value& snapshot : snapshots->Entries()) {
        for (std::string& key : ProductionDependencyKeys(snapshot))
          graph.AddEdge(snapshot.key, key);
      }
    }
    std::vector<std::string> roots;
    if (const k8s::Value* importers = root.Get("importers")) {
      for (const k8s::Value& importer : importers->Entries()) {
        for (std::string& key : ProductionDependencyKeys(importer)) roots.push_back(std::move(key));
      }
    }
    return graph.Reachable(roots);
  }
  // A package "name@1.0.0" is production when any of its snapshots ("name@1.0.0(peer@2)") is.
  static bool HasProductionSnapshot(const std::set<std::string>& production,
                                    const std::string& key) {
    for (auto it = production.lower_bound(key); it != production.end(); ++it) {
      if (!it->starts_with(key)) break;
      if (it->size() == key.size() || (*it)[key.size()] == '(') return true;
    }
    return false;
  }
  AnalyzerDescriptor descriptor_{"pnpm-lock", 1, AnalyzerKind::kLanguage};
};

}  // namespace

std::unique_ptr<Analyzer> MakeNpmLockAnalyzer() { return std::make_unique<NpmLockAnalyzer>(); }
std::unique_ptr<Analyzer> MakeYarnLockAnalyzer() { return std::make_unique<YarnLockAnalyzer>(); }
std::unique_ptr<Analyzer> MakePnpmLockAnalyzer() { return std::make_unique<PnpmLockAnalyzer>(); }

}  // namespace moat
