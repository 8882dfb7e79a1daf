// Go modules: go.mod's require directives with replace directives applied, and, for modules
// whose go.mod predates Go 1.17 (which lists indirect requirements only from then on), the
// go.sum beside it for the modules go.mod does not name (as Trivy does).

#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "analyzer/analyzer.h"
#include "analyzer/lang/lockfile.h"
#include "analyzer/lang/text_util.h"

namespace moat {
namespace {

constexpr uint64_t kMaxGoModSize = 16ull << 20;

// A go.mod line's tokens without its "//" comment; quoted module paths ("..." or `...`) unquoted.
std::vector<std::string> Tokens(std::string_view line, bool* indirect) {
  *indirect = false;
  if (size_t comment = line.find("//"); comment != std::string_view::npos) {
    std::string_view text = TrimSpace(line.substr(comment + 2));
    *indirect = text == "indirect" || text.starts_with("indirect;");
    line = line.substr(0, comment);
  }
  std::vector<std::string> tokens;
  for (std::string_view word : SplitWords(line)) {
    if (word.size() >= 2 && (word.front() == '"' || word.front() == '`') &&
        word.back() == word.front()) {
      word = word.substr(1, word.size() - 2);
    }
    tokens.emplace_back(word);
  }
  return tokens;
}

struct Replacement {
  std::string old_version;  // empty: every version
  std::string new_path;
  std::string new_version;  // empty: a local directory (no module version)
};

// "go 1.16" -> true; Go 1.17 and later list every module of the build in go.mod.
bool BeforeGo117(std::string_view version) {
  int major = 0;
  int minor = 0;
  if (std::sscanf(std::string(version).c_str(), "%d.%d", &major, &minor) < 2) return false;
  return major == 1 && minor < 17;
}

class GoModAnalyzer : public Analyzer {
 public:
  const AnalyzerDescriptor& descriptor() const override { return descriptor_; }
  bool Wants(const FileMeta& file) const override {
    return file.size <= kMaxGoModSize && lang::BaseName(file.path) == "go.mod";
  }
  Result<AnalysisResult> Analyze(const FileMeta& file, ByteSpan content) const override {
    const std::string file_path = "/" + std::string(file.path);
    AnalysisResult result;
    struct Require {
      std::string path, version;
      size_t line;
    };
    std::vector<Require> required;
    std::map<std::string, std::vector<Replacement>> replaces;
    std::string go_version;
    std::string block;  // the directive of the "( ... )" block we are in
    size_t number = 0;
    for (std::string_view line : SplitLines(AsText(content))) {
      ++number;
      bool indirect = false;
      std::vector<std::string> tokens = Tokens(line, &indirect);
      if (tokens.empty()) continue;
      if (!block.empty() && tokens[0] == ")") {
        block.clear();
        continue;
      }
      std::string directive = block;
      if (block.empty()) {
        directive = tokens[0];
        tokens.erase(tokens.begin());
        if (tokens.size() == 1 && tokens[0] == "(") {
          block = directive;
          continue;
        }
      }
      const std::string place = "line " + std::to_string(number);
      if (directive == "go" && !tokens.empty()) {
        go_version = tokens[0];
      } else if (directive == "require") {
        if (tokens.size() < 2) {
          result.AddProblem(place + ": require needs a module path and a version; skipped");
          continue;
        }
        required.push_back({tokens[0], tokens[1], number});
      } else if (directive == "replace") {
        // "old [v] => new [v]"
        auto arrow = std::find(tokens.begin(), tokens.end(), "=>");
        size_t left = static_cast<size_t>(arrow - tokens.begin());
        size_t right = tokens.size() - left - (arrow == tokens.end() ? 0 : 1);
        if (arrow == tokens.end() || left < 1 || left > 2 || right < 1 || right > 2) {
          result.AddProblem(place +
                            ": replace: expected \"old [version] => new [version]\"; "
                            "skipped");
          continue;
        }
        Replacement replacement;
        if (left == 2) replacement.old_version = tokens[1];
        replacement.new_path = *(arrow + 1);
        if (right == 2) replacement.new_version = *(arrow + 2);
        replaces[tokens[0]].push_back(std::move(replacement));
      }
      // module, exclude, retract, toolchain, godebug: nothing to report
    }

    lang::LockfilePackages packages(PackageType::kGolang, file_path);
    std::set<std::string> named;
    for (const Require& require : required) {
      named.insert(require.path);
      std::string path = require.path;
      std::string version = require.version;
      if (ApplyReplace(replaces, path, version)) packages.Add(path, version, false);
    }
    if (BeforeGo117(go_version) && file.read_tree != nullptr) {
      std::string sum_path(lang::DirName(file.path));
      sum_path += sum_path.empty() ? "go.sum" : "/go.sum";
      if (auto sum = (*file.read_tree)(sum_path); sum.ok()) {
        ReadGoSum(*sum, "/" + sum_path, named, replaces, packages, result);
      }
    }
    packages.MoveTo(result);
    return result;
  }

 private:
  // A replace directive for this module (one for its version before one for every version);
  // false when it is replaced by a local directory, which has no version to match.
  static bool ApplyReplace(const std::map<std::string, std::vector<Replacement>>& replaces,
                           std::string& path, std::string& version) {
    auto it = replaces.find(path);
    if (it == replaces.end()) return true;
    const Replacement* chosen = nullptr;
    for (const Replacement& r : it->second) {
      if (r.old_version == version) chosen = &r;
      if (r.old_version.empty() && chosen == nullptr) chosen = &r;
    }
    if (chosen == nullptr) return true;
    if (chosen->new_version.empty()) return false;
    path = chosen->new_path;
    version = chosen->new_version;
    return true;
  }

  // go.sum lines: "module version[/go.mod] hash". The last version of a module wins, as in
  // Trivy; modules go.mod names keep its version.
  static void ReadGoSum(std::string_view text, const std::string& sum_path,
                        const std::set<std::string>& named,
                        const std::map<std::string, std::vector<Replacement>>& replaces,
                        lang::LockfilePackages& packages, AnalysisResult& result) {
    std::map<std::string, std::string> versions;
    std::vector<std::string> order;
    size_t number = 0;
    for (std::string_view line : SplitLines(text)) {
      ++number;
      std::vector<std::string_view> words = SplitWords(line);
      if (words.empty()) continue;
      if (words.size() != 3) {
        result.AddProblem(sum_path + ":" + std::to_string(number) +
                          ": expected \"module version hash\"; skipped");
        continue;
      }
      std::string path(words[0]);
      if (named.count(path)) continue;
      std::string_view version = words[1];
      if (version.ends_with("/go.mod")) version.remove_suffix(7);
      if (!versions.count(path)) order.push_back(path);
      versions[path] = std::string(version);
    }
    for (const std::string& module : order) {
      std::string path = module;
      std::string version = versions[module];
      if (ApplyReplace(replaces, path, version)) packages.AddFrom(path, version, false, sum_path);
    }
  }

  AnalyzerDescriptor descriptor_{"gomod", 1, AnalyzerKind::kLanguage};
};

}  // namespace

std::unique_ptr<Analyzer> MakeGoModAnalyzer() { return std::make_unique<GoModAnalyzer>(); }

}  // namespace moat
