// .NET (NuGet) packages: the *.deps.json beside a published application, NuGet's
// packages.lock.json, the older packages.config, and the .nuspec of each package in a NuGet
// packages folder (~/.nuget/packages/NAME/VERSION/NAME.nuspec) or inside a .nupkg archive.

#include <archive.h>
#include <archive_entry.h>
#include <libxml/tree.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "analyzer/analyzer.h"
#include "analyzer/lang/lockfile.h"
#include "analyzer/lang/text_util.h"
#include "core/xml.h"

namespace moat {
namespace {

using nlohmann::json;

constexpr uint64_t kMaxDotnetFileSize = 64ull << 20;
constexpr uint64_t kMaxNupkgSize = 512ull << 20;
constexpr uint64_t kMaxNuspecSize = 4ull << 20;

// "Newtonsoft.Json/13.0.1" -> name and version.
bool SplitLibraryKey(std::string_view key, std::string_view& name, std::string_view& version) {
  size_t slash = key.rfind('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 == key.size()) return false;
  name = key.substr(0, slash);
  version = key.substr(slash + 1);
  return true;
}

// ---- *.deps.json ----

class DepsJsonAnalyzer : public Analyzer {
 public:
  const AnalyzerDescriptor& descriptor() const override { return descriptor_; }

  bool Wants(const FileMeta& file) const override {
    return file.size <= kMaxDotnetFileSize && lang::EndsWith(file.path, ".deps.json");
  }

  // "libraries" lists every library of the application with its type: "package" (from NuGet),
  // "project" (the application's own projects) or "reference"; only packages are reported.
  Result<AnalysisResult> Analyze(const FileMeta& file, ByteSpan content) const override {
    const std::string file_path = "/" + std::string(file.path);
    MOAT_ASSIGN_OR_RETURN(json document, lang::ParseLockfileJson(AsText(content), file_path));
    if (!document.is_object()) return Fail(file_path, ": not a JSON object");
    auto libraries = document.find("libraries");
    if (libraries == document.end() || !libraries->is_object()) {
      return Fail(file_path, ": no \"libraries\" object");
    }
    AnalysisResult result;
    lang::LockfilePackages packages(PackageType::kNuget, file_path);
    for (const auto& [key, library] : libraries->items()) {
      const std::string place = file_path + ": /libraries/" + key;
      if (!library.is_object()) {
        result.AddProblem(place + " is not an object; skipped");
        continue;
      }
      auto type = library.find("type");
      if (type == library.end() || !type->is_string() || *type != "package") continue;
      std::string_view name, version;
      if (!SplitLibraryKey(key, name, version)) {
        result.AddProblem(place + ": expected \"NAME/VERSION\"; skipped");
        continue;
      }
      packages.Add(name, version, /*dev=*/false);
    }
    packages.MoveTo(result);
    return result;
  }

 private:
  AnalyzerDescriptor descriptor_{"dotnet-deps", 1, AnalyzerKind::kLanguage};
};

// ---- packages.lock.json ----

class NugetLockAnalyzer : public Analyzer {
 public:
  const AnalyzerDescriptor& descriptor() const override { return descriptor_; }

  bool Wants(const FileMeta& file) const override {
    return file.size <= kMaxDotnetFileSize && lang::BaseName(file.path) == "packages.lock.json";
  }

  // {"version": 1|2, "dependencies": {"net8.0": {"Name": {"type": "Direct"|"Transitive"|
  // "CentralTransitive"|"Project", "resolved": "1.2.3"}}}}: one section per target framework.
  Result<AnalysisResult> Analyze(const FileMeta& file, ByteSpan content) const override {
    const std::string file_path = "/" + std::string(file.path);
    MOAT_ASSIGN_OR_RETURN(json document, lang::ParseLockfileJson(AsText(content), file_path));
    if (!document.is_object()) return Fail(file_path, ": not a JSON object");
    auto frameworks = document.find("dependencies");
    if (frameworks == document.end() || !frameworks->is_object()) {
      return Fail(file_path, ": no \"dependencies\" object");
    }
    AnalysisResult result;
    lang::LockfilePackages packages(PackageType::kNuget, file_path);
    for (const auto& [framework, dependencies] : frameworks->items()) {
      if (!dependencies.is_object()) {
        result.AddProblem(file_path + ": /dependencies/" + framework +
                          " is not an object; skipped");
        continue;
      }
      for (const auto& [name, dependency] : dependencies.items()) {
        const std::string place = file_path + ": /dependencies/" + framework + "/" + name;
        if (!dependency.is_object()) {
          result.AddProblem(place + " is not an object; skipped");
          continue;
        }
        auto type = dependency.find("type");
        if (type != dependency.end() && type->is_string() && *type == "Project") continue;
        auto resolved = dependency.find("resolved");
        if (resolved == dependency.end() || !resolved->is_string()) {
          result.AddProblem(place + ": no \"resolved\" version; skipped");
          continue;
        }
        packages.Add(name, resolved->get<std::string>(), /*dev=*/false);
      }
    }
    packages.MoveTo(result);
    return result;
  }

 private:
  AnalyzerDescriptor descriptor_{"nuget-lock", 1, AnalyzerKind::kLanguage};
};

// ---- XML: packages.config and .nuspec ----

using xml::Attribute;

class PackagesConfigAnalyzer : public Analyzer {
 public:
  const AnalyzerDescriptor& descriptor() const override { return descriptor_; }

  bool Wants(const FileMeta& file) const override {
    return file.size <= kMaxDotnetFileSize && lang::BaseName(file.path) == "packages.config";
  }

  // <packages><package id="X" version="1.0" targetFramework="net48"
  // developmentDependency="true"/></packages>
  Result<AnalysisResult> Analyze(const FileMeta& file, ByteSpan content) const override {
    const std::string file_path = "/" + std::string(file.path);
    MOAT_ASSIGN_OR_RETURN(xml::Doc doc, xml::Parse(AsText(content), file_path));
    const xmlNode* root = xmlDocGetRootElement(doc.get());
    if (xml::Name(root) != "packages")
      return Fail(file_path, ": the root element is not <packages>");
    AnalysisResult result;
    lang::LockfilePackages packages(PackageType::kNuget, file_path);
    for (const xmlNode* node = root->children; node; node = node->next) {
      if (node->type != XML_ELEMENT_NODE || xml::Name(node) != "package") continue;
      std::string id = Attribute(node, "id");
      std::string version = Attribute(node, "version");
      if (id.empty() || version.empty()) {
        result.AddProblem(file_path + ": line " + std::to_string(xmlGetLineNo(node)) +
                          ": <package> without id or version; skipped");
        continue;
      }
      packages.Add(id, version, Attribute(node, "developmentDependency") == "true");
    }
    packages.MoveTo(result);
    return result;
  }

 private:
  AnalyzerDescriptor descriptor_{"packages-config", 1, AnalyzerKind::kLanguage};
};

// <package><metadata><id>..</id><version>..</version><license type="expression">MIT</license>
// </metadata></package>, in any of the nuspec schema namespaces.
Result<Package> ParseNuspec(std::string_view text, const std::string& file_path) {
  MOAT_ASSIGN_OR_RETURN(xml::Doc doc, xml::Parse(text, file_path));
  const xmlNode* root = xmlDocGetRootElement(doc.get());
  if (xml::Name(root) != "package") return Fail(file_path, ": the root element is not <package>");
  const xmlNode* metadata = xml::Child(root, "metadata");
  if (metadata == nullptr) return Fail(file_path, ": no <metadata> element");
  Package package;
  package.type = PackageType::kNuget;
  package.name = xml::ChildText(metadata, "id");
  package.version = xml::ChildText(metadata, "version");
  if (package.name.empty() || package.version.empty()) {
    return Fail(file_path, ": line ", std::to_string(xmlGetLineNo(metadata)),
                ": <metadata> without <id> or <version>");
  }
  if (const xmlNode* license = xml::Child(metadata, "license")) {
    if (Attribute(license, "type") == "expression") {
      std::string expression = xml::Text(license);
      if (!expression.empty()) package.licenses.push_back(std::move(expression));
    }
  }
  package.dev = xml::ChildText(metadata, "developmentDependency") == "true";
  package.file_path = file_path;
  return package;
}

class NuspecAnalyzer : public Analyzer {
 public:
  const AnalyzerDescriptor& descriptor() const override { return descriptor_; }

  bool Wants(const FileMeta& file) const override {
    if (lang::EndsWithIgnoreCase(file.path, ".nuspec")) return file.size <= kMaxNuspecSize;
    return file.size <= kMaxNupkgSize && lang::EndsWithIgnoreCase(file.path, ".nupkg") &&
           !InPackagesFolder(file.path);
  }

  Result<AnalysisResult> Analyze(const FileMeta& file, ByteSpan content) const override {
    const std::string file_path = "/" + std::string(file.path);
    AnalysisResult result;
    if (lang::EndsWithIgnoreCase(file.path, ".nuspec")) {
      MOAT_ASSIGN_OR_RETURN(Package package, ParseNuspec(AsText(content), file_path));
      result.packages.push_back(std::move(package));
      return result;
    }
    MOAT_ASSIGN_OR_RETURN(std::string nuspec, ReadNuspecFromNupkg(content, file_path));
    MOAT_ASSIGN_OR_RETURN(Package package, ParseNuspec(nuspec, file_path + "!/*.nuspec"));
    package.file_path = file_path;
    result.packages.push_back(std::move(package));
    return result;
  }

 private:
  // NuGet's packages folders keep ".../ID/VERSION/ID.VERSION.nupkg" beside "ID.nuspec", which
  // is read instead: one package, not two.
  static bool InPackagesFolder(std::string_view path) {
    std::vector<std::string_view> parts;
    for (size_t start = 0;;) {
      size_t slash = path.find('/', start);
      parts.push_back(path.substr(start, slash == std::string_view::npos ? slash : slash - start));
      if (slash == std::string_view::npos) break;
      start = slash + 1;
    }
    if (parts.size() < 3) return false;
    const std::string expected = std::string(parts[parts.size() - 3]) + "." +
                                 std::string(parts[parts.size() - 2]) + ".nupkg";
    return AsciiLower(parts.back()) == AsciiLower(expected);
  }

  struct ArchiveDeleter {
    void operator()(archive* handle) const { archive_read_free(handle); }
  };

  // A .nupkg is a zip whose one top-level *.nuspec is the package's manifest.
  static Result<std::string> ReadNuspecFromNupkg(ByteSpan data, const std::string& file_path) {
    std::unique_ptr<archive, ArchiveDeleter> reader(archive_read_new());
    if (!reader) return Fail(file_path, ": cannot allocate a zip reader");
    archive_read_support_format_zip(reader.get());
    if (archive_read_open_memory(reader.get(), data.data(), data.size()) != ARCHIVE_OK) {
      return Fail(file_path, ": not a readable zip archive: ",
                  archive_error_string(reader.get()) ? archive_error_string(reader.get()) : "");
    }
    for (size_t index = 0;; ++index) {
      archive_entry* entry = nullptr;
      int status = archive_read_next_header(reader.get(), &entry);
      if (status == ARCHIVE_EOF) break;
      if (status < ARCHIVE_WARN) {
        return Fail(file_path, ": corrupt zip at entry ", std::to_string(index), ": ",
                    archive_error_string(reader.get()) ? archive_error_string(reader.get()) : "");
      }
      const char* name = archive_entry_pathname(entry);
      std::string_view entry_name = name ? name : "";
      if (entry_name.find('/') != std::string_view::npos ||
          !lang::EndsWithIgnoreCase(entry_name, ".nuspec")) {
        continue;
      }
      if (archive_entry_size_is_set(entry) && archive_entry_size(entry) > int64_t{kMaxNuspecSize}) {
        return Fail(file_path, "!/", entry_name, ": larger than ", std::to_string(kMaxNuspecSize),
                    " bytes");
      }
      std::string text;
      char buffer[16384];
      while (true) {
        la_ssize_t n = archive_read_data(reader.get(), buffer, sizeof(buffer));
        if (n < 0) {
          return Fail(file_path, "!/", entry_name, ": ",
                      archive_error_string(reader.get()) ? archive_error_string(reader.get())
                                                         : "read error");
        }
        if (n == 0) break;
        text.append(buffer, static_cast<size_t>(n));
        if (text.size() > kMaxNuspecSize) {
          return Fail(file_path, "!/", entry_name, ": larger than ", std::to_string(kMaxNuspecSize),
                      " bytes");
        }
      }
      return text;
    }
    return Fail(file_path, ": no .nuspec manifest at the top of the package");
  }

  AnalyzerDescriptor descriptor_{"nuspec", 1, AnalyzerKind::kLanguage, /*installed_only=*/true};
};

}  // namespace

std::unique_ptr<Analyzer> MakeDotnetDepsAnalyzer() { return std::make_unique<DepsJsonAnalyzer>(); }
std::unique_ptr<Analyzer> MakeNugetLockAnalyzer() { return std::make_unique<NugetLockAnalyzer>(); }
std::unique_ptr<Analyzer> MakePackagesConfigAnalyzer() {
  return std::make_unique<PackagesConfigAnalyzer>();
}
std::unique_ptr<Analyzer> MakeNuspecAnalyzer() { return std::make_unique<NuspecAnalyzer>(); }

}  // namespace moat
