// Python lock files: pip's requirements*.txt (pinned "==" lines, -r includes), Pipenv's
// Pipfile.lock, Poetry's poetry.lock and uv's uv.lock.

#include <toml++/toml.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "analyzer/analyzer.h"
#include "analyzer/lang/lockfile.h"
#include "analyzer/lang/text_util.h"

namespace moat {
namespace {

constexpr uint64_t kMaxLockfileSize = 64ull << 20;
constexpr int kMaxIncludeDepth = 16;
// Files one requirements file may pull in through includes in all (each include may name several).
constexpr size_t kMaxIncludedFiles = 64;

bool IsNameChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
}

// ---- requirements.txt ----

// "requirements.txt", "requirements-dev.txt", "requirements/prod.txt" are pip's conventions;
// Trivy reads only "requirements.txt".
bool IsRequirementsFile(std::string_view path) {
  std::string_view base = lang::BaseName(path);
  return base.starts_with("requirements") && base.ends_with(".txt");
}

// The lines of a requirements file as pip joins them: a trailing backslash continues the line,
// and " #" starts a comment. Each joined line keeps the number of its first physical line.
std::vector<std::pair<size_t, std::string>> LogicalLines(std::string_view text) {
  std::vector<std::pair<size_t, std::string>> lines;
  std::string current;
  size_t first = 0;
  size_t number = 0;
  for (std::string_view line : SplitLines(text)) {
    ++number;
    if (current.empty()) first = number;
    if (line.ends_with("\\")) {
      current += line.substr(0, line.size() - 1);
      continue;
    }
    current += line;
    if (size_t hash = current.find('#');
        hash != std::string::npos &&
        (hash == 0 || current[hash - 1] == ' ' || current[hash - 1] == '\t')) {
      current.resize(hash);
    }
    lines.emplace_back(first, std::move(current));
    current.clear();
  }
  if (!current.empty()) lines.emplace_back(first, std::move(current));
  return lines;
}

class RequirementsReader {
 public:
  RequirementsReader(const FileMeta& file, lang::LockfilePackages& out, AnalysisResult& result)
      : file_(file), out_(out), result_(result) {}

  void Read(std::string_view text, const std::string& relative_path, int depth) {
    visited_.insert(relative_path);
    const std::string file_path = "/" + relative_path;
    for (auto& [number, line] : LogicalLines(text)) {
      std::string_view rest = TrimSpace(line);
      if (rest.empty()) continue;
      const std::string place = file_path + ":" + std::to_string(number);
      if (rest.front() == '-') {
        Option(rest, relative_path, place, depth);
        continue;
      }
      Requirement(rest, file_path, place);
    }
  }

 private:
  void Option(std::string_view option, const std::string& relative_path, const std::string& place,
              int depth) {
    std::string_view target;
    for (std::string_view flag : {"--requirement=", "--requirement ", "-r "}) {
      if (option.starts_with(flag)) target = TrimSpace(option.substr(flag.size()));
    }
    if (target.empty() && option.starts_with("-r") && option.size() > 2) {
      target = TrimSpace(option.substr(2));
    }
    if (target.empty()) return;  // -c, -e, -i, --hash on its own line ...: install options
    if (file_.read_tree == nullptr) {
      result_.AddProblem(place + ": -r " + std::string(target) +
                         ": included file not read (no directory tree at hand)");
      return;
    }
    auto included = lang::JoinRelative(lang::DirName(relative_path), target);
    if (!included) {
      result_.AddProblem(place + ": -r " + std::string(target) + ": outside the scanned tree");
      return;
    }
    if (visited_.count(*included)) return;  // an include cycle, or read already
    if (visited_.size() > kMaxIncludedFiles) {
      result_.AddProblem(place + ": -r " + std::string(target) + ": more than " +
                         std::to_string(kMaxIncludedFiles) + " included files; not read");
      return;
    }
    if (depth >= kMaxIncludeDepth) {
      result_.AddProblem(place + ": -r " + std::string(target) + ": includes nested deeper than " +
                         std::to_string(kMaxIncludeDepth));
      return;
    }
    auto text = (*file_.read_tree)(*included);
    if (!text.ok()) {
      result_.AddProblem(place + ": -r " + std::string(target) + ": " + text.error().message);
      return;
    }
    Read(*text, *included, depth + 1);
  }

  // "Name[extra1,extra2] == 1.2.3 ; python_version < '3.8' --hash=sha256:...": the name and the
  // pinned version; anything not pinned with == (or ===) names no single version.
  void Requirement(std::string_view line, const std::string& file_path, const std::string& place) {
    if (size_t marker = line.find(';'); marker != std::string_view::npos) {
      line = line.substr(0, marker);
    }
    if (size_t hash = line.find(" --"); hash != std::string_view::npos) line = line.substr(0, hash);
    line = TrimSpace(line);
    size_t end = 0;
    while (end < line.size() && IsNameChar(line[end])) ++end;
    std::string_view name = line.substr(0, end);
    std::string_view rest = TrimSpace(line.substr(end));
    if (!rest.empty() && rest.front() == '[') {
      size_t close = rest.find(']');
      if (close == std::string_view::npos) {
        result_.AddProblem(place + ": unclosed extras \"[\"; line skipped");
        return;
      }
      rest = TrimSpace(rest.substr(close + 1));
    }
    if (name.empty()) {
      // A URL, a path or an archive ("./pkg", "https://...whl"): no registry version.
      return;
    }
    if (!rest.starts_with("==")) return;
    rest.remove_prefix(rest.starts_with("===") ? 3 : 2);
    std::string_view version = TrimSpace(rest);
    if (version.empty() || version.find_first_of(",<>!~* ") != std::string_view::npos) {
      if (version.find('*') == std::string_view::npos &&
          version.find(',') == std::string_view::npos) {
        result_.AddProblem(place + ": \"" + std::string(line) + "\": no version after ==");
      }
      return;  // "==1.*" or "==1.0, !=1.0.1" pin no single version
    }
    out_.AddFrom(name, version, false, file_path);
  }

  const FileMeta& file_;
  lang::LockfilePackages& out_;
  AnalysisResult& result_;
  std::set<std::string> visited_;
};

class PipRequirementsAnalyzer : public Analyzer {
 public:
  const AnalyzerDescriptor& descriptor() const override { return descriptor_; }
  bool Wants(const FileMeta& file) const override {
    return file.size <= kMaxLockfileSize && IsRequirementsFile(file.path);
  }
  Result<AnalysisResult> Analyze(const FileMeta& file, ByteSpan content) const override {
    AnalysisResult result;
    lang::LockfilePackages packages(PackageType::kPypi, "/" + std::string(file.path));
    RequirementsReader(file, packages, result).Read(AsText(content), std::string(file.path), 0);
    packages.MoveTo(result);
    return result;
  }

 private:
  AnalyzerDescriptor descriptor_{"pip", 1, AnalyzerKind::kLanguage};
};

// ---- Pipfile.lock ----

class PipenvLockAnalyzer : public Analyzer {
 public:
  const AnalyzerDescriptor& descriptor() const override { return descriptor_; }
  bool Wants(const FileMeta& file) const override {
    return file.size <= kMaxLockfileSize && lang::BaseName(file.path) == "Pipfile.lock";
  }
  Result<AnalysisResult> Analyze(const FileMeta& file, ByteSpan content) const override {
    const std::string file_path = "/" + std::string(file.path);
    MOAT_ASSIGN_OR_RETURN(nlohmann::json lock, lang::ParseLockfileJson(AsText(content), file_path));
    if (!lock.is_object()) return Fail(file_path, ": not a JSON object");
    AnalysisResult result;
    lang::LockfilePackages packages(PackageType::kPypi, file_path);
    // "default" is what the application installs, "develop" what `pipenv install --dev` adds.
    for (const auto& [section, dev] : {std::pair{"default", false}, std::pair{"develop", true}}) {
      auto entries = lock.find(section);
      if (entries == lock.end() || !entries->is_object()) continue;
      for (const auto& [name, entry] : entries->items()) {
        auto version = entry.is_object() ? entry.find("version") : entry.end();
        if (!entry.is_object() || version == entry.end() || !version->is_string()) continue;
        std::string_view pinned = version->get_ref<const std::string&>();
        if (!pinned.starts_with("==")) {
          result.AddProblem(std::string("/") + section + "/" + name + "/version: \"" +
                            std::string(pinned) + "\" is not pinned with ==; skipped");
          continue;
        }
        packages.Add(name, pinned.substr(pinned.starts_with("===") ? 3 : 2), dev);
      }
    }
    packages.MoveTo(result);
    return result;
  }

 private:
  AnalyzerDescriptor descriptor_{"pipenv", 1, AnalyzerKind::kLanguage};
};

// ---- poetry.lock and uv.lock (TOML) ----

Result<toml::table> ParseToml(std::string_view text, const std::string& file_path) {
  try {
    return toml::parse(text, file_path);
  } catch (const toml::parse_error& error) {
    return Fail(file_path, ": line ", std::to_string(error.source().begin.line), ", column ",
                std::to_string(error.source().begin.column), ": ",
                std::string(error.description()));
  }
}

std::string TomlString(const toml::table& table, std::string_view key) {
  if (auto value = table[key].value<std::string>()) return *value;
  return {};
}

std::string LineOf(const toml::node& node) {
  return "line " + std::to_string(node.source().begin.line);
}

class PoetryLockAnalyzer : public Analyzer {
 public:
  const AnalyzerDescriptor& descriptor() const override { return descriptor_; }
  bool Wants(const FileMeta& file) const override {
    return file.size <= kMaxLockfileSize && lang::BaseName(file.path) == "poetry.lock";
  }
  Result<AnalysisResult> Analyze(const FileMeta& file, ByteSpan content) const override {
    const std::string file_path = "/" + std::string(file.path);
    MOAT_ASSIGN_OR_RETURN(toml::table lock, ParseToml(AsText(content), file_path));
    AnalysisResult result;
    lang::LockfilePackages packages(PackageType::kPypi, file_path);
    if (const toml::array* entries = lock["package"].as_array()) {
      for (const toml::node& node : *entries) {
        const toml::table* entry = node.as_table();
        if (entry == nullptr) continue;
        std::string name = TomlString(*entry, "name");
        std::string version = TomlString(*entry, "version");
        if (name.empty() || version.empty()) {
          result.AddProblem(LineOf(node) + ": [[package]] without name or version; skipped");
          continue;
        }
        // Poetry before 1.2 writes category = "dev"; lock format 2.1 (Poetry 2) lists the
        // groups, and a package only in non-main groups is a development one.
        bool dev = TomlString(*entry, "category") == "dev";
        if (const toml::array* groups = (*entry)["groups"].as_array(); groups && !groups->empty()) {
          dev = true;
          for (const toml::node& group : *groups) {
            if (group.value<std::string>() == "main") dev = false;
          }
        }
        packages.Add(name, version, dev);
      }
    }
    packages.MoveTo(result);
    return result;
  }

 private:
  AnalyzerDescriptor descriptor_{"poetry", 1, AnalyzerKind::kLanguage};
};

std::vector<std::string> UvDependencyNames(const toml::node_view<const toml::node> list) {
  std::vector<std::string> names;
  if (const toml::array* deps = list.as_array()) {
    for (const toml::node& dep : *deps) {
      if (const toml::table* table = dep.as_table()) {
        std::string name = TomlString(*table, "name");
        if (!name.empty()) names.push_back(NormalizePythonName(name));
      }
    }
  }
  return names;
}

class UvLockAnalyzer : public Analyzer {
 public:
  const AnalyzerDescriptor& descriptor() const override { return descriptor_; }
  bool Wants(const FileMeta& file) const override {
    return file.size <= kMaxLockfileSize && lang::BaseName(file.path) == "uv.lock";
  }
  Result<AnalysisResult> Analyze(const FileMeta& file, ByteSpan content) const override {
    const std::string file_path = "/" + std::string(file.path);
    MOAT_ASSIGN_OR_RETURN(toml::table lock, ParseToml(AsText(content), file_path));
    AnalysisResult result;
    lang::LockfilePackages packages(PackageType::kPypi, file_path);
    const toml::array* entries = lock["package"].as_array();
    if (entries == nullptr) {
      packages.MoveTo(result);
      return result;
    }
    // The project itself (and workspace members) come from a local source; their dependencies
    // and optional dependencies are production roots, their dev-dependencies groups are not.
    lang::DependencyGraph graph;
    std::vector<std::string> production_roots;
    for (const toml::node& node : *entries) {
      const toml::table* entry = node.as_table();
      if (entry == nullptr) continue;
      const std::string name = NormalizePythonName(TomlString(*entry, "name"));
      const bool local = IsLocalSource(*entry);
      for (const std::string& dep : UvDependencyNames((*entry)["dependencies"])) {
        if (local) production_roots.push_back(dep);
        graph.AddEdge(name, dep);
      }
      if (const toml::table* optional = (*entry)["optional-dependencies"].as_table()) {
        for (const auto& [extra, list] : *optional) {
          for (const std::string& dep :
               UvDependencyNames(toml::node_view<const toml::node>(list))) {
            if (local) production_roots.push_back(dep);
            graph.AddEdge(name, dep);
          }
        }
      }
    }
    // Without a local project entry (older uv) nothing tells development dependencies apart.
    const bool marks_dev = HasLocalSource(*entries);
    const std::set<std::string> production = graph.Reachable(production_roots);
    for (const toml::node& node : *entries) {
      const toml::table* entry = node.as_table();
      if (entry == nullptr || IsLocalSource(*entry)) continue;
      std::string name = TomlString(*entry, "name");
      std::string version = TomlString(*entry, "version");
      if (name.empty() || version.empty()) {
        result.AddProblem(LineOf(node) + ": [[package]] without name or version; skipped");
        continue;
      }
      packages.Add(name, version, marks_dev && !production.count(NormalizePythonName(name)));
    }
    packages.MoveTo(result);
    return result;
  }

 private:
  static bool HasLocalSource(const toml::array& entries) {
    for (const toml::node& node : entries) {
      if (const toml::table* entry = node.as_table(); entry && IsLocalSource(*entry)) return true;
    }
    return false;
  }
  static bool IsLocalSource(const toml::table& entry) {
    const toml::table* source = entry["source"].as_table();
    return source != nullptr && (source->contains("editable") || source->contains("virtual") ||
                                 source->contains("directory") || source->contains("path"));
  }
  AnalyzerDescriptor descriptor_{"uv", 1, AnalyzerKind::kLanguage};
};

}  // namespace

std::unique_ptr<Analyzer> MakePipRequirementsAnalyzer() {
  return std::make_unique<PipRequirementsAnalyzer>();
}
std::unique_ptr<Analyzer> MakePipenvLockAnalyzer() {
  return std::make_unique<PipenvLockAnalyzer>();
}
std::unique_ptr<Analyzer> MakePoetryLockAnalyzer() {
  return std::make_unique<PoetryLockAnalyzer>();
}
std::unique_ptr<Analyzer> MakeUvLockAnalyzer() { return std::make_unique<UvLockAnalyzer>(); }

}  // namespace moat
