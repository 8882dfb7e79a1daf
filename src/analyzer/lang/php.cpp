// PHP packages (Composer): composer.lock in source trees, and the vendor/composer/installed.json
// Composer writes beside installed packages (v1: a list; v2, Composer 2: an object with
// "packages" and "dev-package-names").

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

constexpr uint64_t kMaxComposerFileSize = 64ull << 20;

using nlohmann::json;

// One entry of a package list: {"name": "vendor/package", "version": "v1.2.3", "license": [...]}.
// The version is kept as Composer wrote it ("v1.2.3", "dev-main"); the matcher normalizes it.
void AddComposerPackage(const json& entry, const std::string& place, bool dev,
                        const std::string& file_path, std::vector<Package>& out,
                        AnalysisResult& result) {
  auto name = entry.is_object() ? entry.find("name") : entry.end();
  auto version = entry.is_object() ? entry.find("version") : entry.end();
  if (!entry.is_object() || name == entry.end() || version == entry.end() || !name->is_string() ||
      !version->is_string() || name->get_ref<const std::string&>().empty() ||
      version->get_ref<const std::string&>().empty()) {
    result.AddProblem(place + ": no name or version; skipped");
    return;
  }
  Package package;
  package.type = PackageType::kComposer;
  package.name = name->get<std::string>();
  package.version = version->get<std::string>();
  package.dev = dev;
  package.file_path = file_path;
  if (auto license = entry.find("license"); license != entry.end()) {
    if (license->is_string()) {
      package.licenses.push_back(license->get<std::string>());
    } else if (license->is_array()) {
      for (const json& item : *license) {
        if (item.is_string()) package.licenses.push_back(item.get<std::string>());
      }
    }
  }
  out.push_back(std::move(package));
}

void AddComposerList(const json& list, const std::string& pointer, bool dev,
                     const std::set<std::string>& dev_names, const std::string& file_path,
                     std::vector<Package>& out, AnalysisResult& result) {
  for (size_t i = 0; i < list.size(); ++i) {
    const json& entry = list[i];
    bool entry_dev = dev;
    if (!dev_names.empty() && entry.is_object()) {
      auto name = entry.find("name");
      entry_dev =
          name != entry.end() && name->is_string() && dev_names.count(name->get<std::string>());
    }
    AddComposerPackage(entry, file_path + ": " + pointer + "/" + std::to_string(i), entry_dev,
                       file_path, out, result);
  }
}

class ComposerLockAnalyzer : public Analyzer {
 public:
  const AnalyzerDescriptor& descriptor() const override { return descriptor_; }

  bool Wants(const FileMeta& file) const override {
    return file.size <= kMaxComposerFileSize && lang::BaseName(file.path) == "composer.lock";
  }

  Result<AnalysisResult> Analyze(const FileMeta& file, ByteSpan content) const override {
    const std::string file_path = "/" + std::string(file.path);
    MOAT_ASSIGN_OR_RETURN(json document, lang::ParseLockfileJson(AsText(content), file_path));
    if (!document.is_object()) return Fail(file_path, ": not a JSON object");
    AnalysisResult result;
    bool any_list = false;
    for (const auto& [key, dev] : {std::pair<const char*, bool>{"packages", false},
                                   std::pair<const char*, bool>{"packages-dev", true}}) {
      auto list = document.find(key);
      if (list == document.end() || list->is_null()) continue;
      if (!list->is_array()) {
        result.AddProblem(file_path + ": /" + key + " is not an array; skipped");
        continue;
      }
      any_list = true;
      AddComposerList(*list, std::string("/") + key, dev, {}, file_path, result.packages, result);
    }
    if (!any_list && result.problems.empty()) {
      return Fail(file_path, ": not a composer.lock (no \"packages\" array)");
    }
    return result;
  }

 private:
  AnalyzerDescriptor descriptor_{"composer-lock", 1, AnalyzerKind::kLanguage};
};

class ComposerInstalledAnalyzer : public Analyzer {
 public:
  const AnalyzerDescriptor& descriptor() const override { return descriptor_; }

  bool Wants(const FileMeta& file) const override {
    return file.size <= kMaxComposerFileSize &&
           (lang::EndsWith(file.path, "/vendor/composer/installed.json") ||
            file.path == "vendor/composer/installed.json");
  }

  Result<AnalysisResult> Analyze(const FileMeta& file, ByteSpan content) const override {
    const std::string file_path = "/" + std::string(file.path);
    MOAT_ASSIGN_OR_RETURN(json document, lang::ParseLockfileJson(AsText(content), file_path));
    AnalysisResult result;
    if (document.is_array()) {  // Composer 1
      AddComposerList(document, "", false, {}, file_path, result.packages, result);
      return result;
    }
    if (!document.is_object()) return Fail(file_path, ": neither a list nor an object");
    auto list = document.find("packages");
    if (list == document.end() || !list->is_array()) {
      return Fail(file_path, ": no \"packages\" array");
    }
    // Composer 2 lists the dev packages by name; "dev": false means none were installed.
    std::set<std::string> dev_names;
    if (auto names = document.find("dev-package-names");
        names != document.end() && names->is_array()) {
      for (const json& name : *names) {
        if (name.is_string()) dev_names.insert(name.get<std::string>());
      }
    }
    AddComposerList(*list, "/packages", false, dev_names, file_path, result.packages, result);
    return result;
  }

 private:
  AnalyzerDescriptor descriptor_{"composer-installed", 1, AnalyzerKind::kLanguage,
                                 /*installed_only=*/true};
};

}  // namespace

std::unique_ptr<Analyzer> MakeComposerLockAnalyzer() {
  return std::make_unique<ComposerLockAnalyzer>();
}
std::unique_ptr<Analyzer> MakeComposerInstalledAnalyzer() {
  return std::make_unique<ComposerInstalledAnalyzer>();
}

}  // namespace moat
