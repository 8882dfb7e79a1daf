// Java: Maven's pom.xml (the direct dependencies, versions from properties, dependencyManagement
// and parent POMs found in the tree by relativePath; test and provided scopes are development
// ones) and Gradle's dependency lock files (*gradle.lockfile).
//
// Maven itself resolves transitive dependencies and remote parents from repositories; a scan
// without network reads only what the tree holds, and names what it could not resolve.

#include <libxml/tree.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "analyzer/analyzer.h"
#include "analyzer/lang/lockfile.h"
#include "analyzer/lang/text_util.h"
#include "core/xml.h"

namespace moat {
namespace {

constexpr uint64_t kMaxPomSize = 16ull << 20;
constexpr int kMaxParents = 16;
constexpr int kMaxInterpolations = 32;

struct PomDependency {
  std::string group, artifact, version, scope, type;
  long line = 0;
};

struct Pom {
  std::string path;  // relative to the tree's root
  std::string group, artifact, version;
  std::string parent_group, parent_artifact, parent_version, parent_relative_path;
  bool has_parent = false;
  std::map<std::string, std::string> properties;
  std::vector<PomDependency> dependencies;
  std::vector<PomDependency> managed;
};

std::vector<PomDependency> ReadDependencies(const xmlNode* list) {
  std::vector<PomDependency> out;
  for (const xmlNode* dep = list ? list->children : nullptr; dep; dep = dep->next) {
    if (dep->type != XML_ELEMENT_NODE || xml::Name(dep) != "dependency") {
      continue;
    }
    out.push_back({xml::ChildText(dep, "groupId"), xml::ChildText(dep, "artifactId"),
                   xml::ChildText(dep, "version"), xml::ChildText(dep, "scope"),
                   xml::ChildText(dep, "type"), xmlGetLineNo(dep)});
  }
  return out;
}

Result<Pom> ParsePom(std::string_view text, const std::string& relative_path) {
  MOAT_ASSIGN_OR_RETURN(xml::Doc doc, xml::Parse(text, "/" + relative_path));
  const std::string file_path = "/" + relative_path;
  const xmlNode* project = xmlDocGetRootElement(doc.get());
  if (project == nullptr || xml::Name(project) != "project") {
    return Fail(file_path, ": the root element is not <project>");
  }
  Pom pom;
  pom.path = relative_path;
  pom.group = xml::ChildText(project, "groupId");
  pom.artifact = xml::ChildText(project, "artifactId");
  pom.version = xml::ChildText(project, "version");
  if (const xmlNode* parent = xml::Child(project, "parent")) {
    pom.has_parent = true;
    pom.parent_group = xml::ChildText(parent, "groupId");
    pom.parent_artifact = xml::ChildText(parent, "artifactId");
    pom.parent_version = xml::ChildText(parent, "version");
    const xmlNode* relative = xml::Child(parent, "relativePath");
    // An empty <relativePath/> means "from the repository only".
    pom.parent_relative_path = relative ? xml::Text(relative) : "../pom.xml";
  }
  if (const xmlNode* properties = xml::Child(project, "properties")) {
    for (const xmlNode* p = properties->children; p; p = p->next) {
      if (p->type == XML_ELEMENT_NODE) {
        pom.properties[std::string(xml::Name(p))] = xml::Text(p);
      }
    }
  }
  pom.dependencies = ReadDependencies(xml::Child(project, "dependencies"));
  pom.managed =
      ReadDependencies(xml::Child(xml::Child(project, "dependencyManagement"), "dependencies"));
  return pom;
}

// The POM a pom's <parent> names, when the tree holds it at relativePath (a directory means its
// pom.xml) and its coordinates are the ones named.
std::optional<Pom> LocalParent(const Pom& pom, const TreeFileReader& read_tree,
                               AnalysisResult& result) {
  if (!pom.has_parent || pom.parent_relative_path.empty()) return std::nullopt;
  auto path = lang::JoinRelative(lang::DirName(pom.path), pom.parent_relative_path);
  if (!path) return std::nullopt;
  if (!path->ends_with(".xml")) *path += path->empty() ? "pom.xml" : "/pom.xml";
  auto text = read_tree(*path);
  if (!text.ok()) return std::nullopt;
  auto parent = ParsePom(*text, *path);
  if (!parent.ok()) {
    result.AddProblem(parent.error().message);
    return std::nullopt;
  }
  const std::string group = parent->group.empty() ? parent->parent_group : parent->group;
  if (parent->artifact != pom.parent_artifact || group != pom.parent_group) return std::nullopt;
  return std::move(*parent);
}

class PomResolver {
 public:
  // `chain`: the POM first, then its parents outward.
  explicit PomResolver(const std::vector<Pom>& chain) {
    const Pom& pom = chain.front();
    for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
      for (const auto& [key, value] : it->properties) properties_[key] = value;
      for (const PomDependency& dep : it->managed) managed_[dep.group + ":" + dep.artifact] = dep;
    }
    const std::string group = pom.group.empty() ? pom.parent_group : pom.group;
    const std::string version = pom.version.empty() ? pom.parent_version : pom.version;
    for (const char* prefix : {"project.", "pom.", ""}) {
      properties_[std::string(prefix) + "groupId"] = group;
      properties_[std::string(prefix) + "artifactId"] = pom.artifact;
      properties_[std::string(prefix) + "version"] = version;
    }
    for (const char* prefix : {"project.parent.", "parent."}) {
      properties_[std::string(prefix) + "groupId"] = pom.parent_group;
      properties_[std::string(prefix) + "artifactId"] = pom.parent_artifact;
      properties_[std::string(prefix) + "version"] = pom.parent_version;
    }
  }

  // "${a}-${b}" with the properties in; nullopt naming the property that is not defined.
  std::optional<std::string> Interpolate(std::string text, std::string* missing) const {
    for (int round = 0; round < kMaxInterpolations; ++round) {
      size_t start = text.find("${");
      if (start == std::string::npos) return text;
      size_t end = text.find('}', start);
      if (end == std::string::npos) return text;
      std::string key = text.substr(start + 2, end - start - 2);
      auto it = properties_.find(key);
      if (it == properties_.end()) {
        *missing = key;
        return std::nullopt;
      }
      text.replace(start, end - start + 1, it->second);
    }
    *missing = "(properties that refer to each other)";
    return std::nullopt;
  }

  const PomDependency* Managed(const std::string& group, const std::string& artifact) const {
    auto it = managed_.find(group + ":" + artifact);
    return it == managed_.end() ? nullptr : &it->second;
  }

 private:
  std::map<std::string, std::string> properties_;
  std::map<std::string, PomDependency> managed_;
};

class PomAnalyzer : public Analyzer {
 public:
  const AnalyzerDescriptor& descriptor() const override { return descriptor_; }
  bool Wants(const FileMeta& file) const override {
    return file.size <= kMaxPomSize && lang::BaseName(file.path) == "pom.xml";
  }
  Result<AnalysisResult> Analyze(const FileMeta& file, ByteSpan content) const override {
    const std::string file_path = "/" + std::string(file.path);
    AnalysisResult result;
    std::vector<Pom> chain;
    MOAT_ASSIGN_OR_RETURN(Pom pom, ParsePom(AsText(content), std::string(file.path)));
    chain.push_back(std::move(pom));
    while (file.read_tree != nullptr && chain.size() <= kMaxParents) {
      auto parent = LocalParent(chain.back(), *file.read_tree, result);
      if (!parent) break;
      bool cycle = false;
      for (const Pom& seen : chain) cycle = cycle || seen.path == parent->path;
      if (cycle) break;
      chain.push_back(std::move(*parent));
    }
    const PomResolver resolver(chain);
    lang::LockfilePackages packages(PackageType::kMaven, file_path);
    // The POM's own dependencies and those it inherits from its parents.
    for (const Pom& level : chain) {
      for (const PomDependency& dep : level.dependencies)
        AddDependency(dep, level, resolver, packages, result);
    }
    packages.MoveTo(result);
    return result;
  }

 private:
  static void AddDependency(const PomDependency& dep, const Pom& declared_in,
                            const PomResolver& resolver, lang::LockfilePackages& packages,
                            AnalysisResult& result) {
    const std::string place = "/" + declared_in.path + ":" + std::to_string(dep.line);
    std::string missing;
    auto group = resolver.Interpolate(dep.group, &missing);
    auto artifact = resolver.Interpolate(dep.artifact, &missing);
    if (!group || !artifact || group->empty() || artifact->empty()) {
      result.AddProblem(place + ": dependency without a resolvable groupId and artifactId" +
                        (missing.empty() ? "" : " (${" + missing + "} not defined here)"));
      return;
    }
    const PomDependency* managed = resolver.Managed(*group, *artifact);
    std::string version = !dep.version.empty() ? dep.version : managed ? managed->version : "";
    std::string scope = !dep.scope.empty() ? dep.scope : managed ? managed->scope : "";
    const std::string coordinates = *group + ":" + *artifact;
    if (version.empty()) {
      result.AddProblem(place + ": " + coordinates +
                        ": no version, and no dependencyManagement in the tree gives one");
      return;
    }
    auto resolved = resolver.Interpolate(version, &missing);
    if (!resolved) {
      result.AddProblem(place + ": " + coordinates + ": version " + version + ": ${" + missing +
                        "} is not defined in this POM or a parent in the tree");
      return;
    }
    if (resolved->starts_with("[") || resolved->starts_with("(")) {
      result.AddProblem(place + ": " + coordinates + ": version range " + *resolved +
                        " names no single version");
      return;
    }
    // test: only the tests see it; provided: the runtime (a servlet container, the JDK)
    // supplies it and the application does not ship it.
    const bool dev = scope == "test" || scope == "provided";
    packages.Add(coordinates, *resolved, dev);
  }
  AnalyzerDescriptor descriptor_{"pom", 1, AnalyzerKind::kLanguage};
};

// ---- gradle.lockfile ----

class GradleLockAnalyzer : public Analyzer {
 public:
  const AnalyzerDescriptor& descriptor() const override { return descriptor_; }
  bool Wants(const FileMeta& file) const override {
    return file.size <= kMaxPomSize && lang::BaseName(file.path).ends_with("gradle.lockfile");
  }
  Result<AnalysisResult> Analyze(const FileMeta& file, ByteSpan content) const override {
    const std::string file_path = "/" + std::string(file.path);
    AnalysisResult result;
    lang::LockfilePackages packages(PackageType::kMaven, file_path);
    size_t number = 0;
    // "group:artifact:version=configuration,configuration"; "empty=..." lists configurations
    // without dependencies.
    for (std::string_view line : SplitLines(AsText(content))) {
      ++number;
      line = TrimSpace(line);
      if (line.empty() || line.front() == '#' || line.starts_with("empty=")) continue;
      size_t equals = line.find('=');
      std::vector<std::string_view> coordinates = Split(line.substr(0, equals), ':');
      if (coordinates.size() != 3 || coordinates[0].empty() || coordinates[1].empty() ||
          coordinates[2].empty()) {
        result.AddProblem(file_path + ":" + std::to_string(number) +
                          ": expected group:artifact:version=configurations; skipped");
        continue;
      }
      // Only test configurations (testCompileClasspath, testRuntimeClasspath, ...) need it.
      bool dev = equals != std::string_view::npos;
      if (dev) {
        for (std::string_view configuration : Split(line.substr(equals + 1), ',')) {
          configuration = TrimSpace(configuration);
          if (!configuration.empty() && !configuration.starts_with("test")) dev = false;
        }
      }
      packages.Add(std::string(coordinates[0]) + ":" + std::string(coordinates[1]), coordinates[2],
                   dev);
    }
    packages.MoveTo(result);
    return result;
  }

 private:
  AnalyzerDescriptor descriptor_{"gradle-lock", 1, AnalyzerKind::kLanguage};
};

}  // namespace

std::unique_ptr<Analyzer> MakePomAnalyzer() { return std::make_unique<PomAnalyzer>(); }
std::unique_ptr<Analyzer> MakeGradleLockAnalyzer() {
  return std::make_unique<GradleLockAnalyzer>();
}

}  // namespace moat
