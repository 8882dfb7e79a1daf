// Java archives (jar, war, ear): the Maven coordinates in META-INF/maven/**/pom.properties, else
// the manifest, else the "artifact-version.jar" file name; nested archives (WEB-INF/lib,
// BOOT-INF/lib, ear modules) are read recursively from memory.
//
// Paths of nested archives use the "!/" separator of Java's jar: URLs, so a package found in
// BOOT-INF/lib/b.jar inside /app/a.jar has file_path "/app/a.jar!/BOOT-INF/lib/b.jar" (and one
// level deeper "/app/a.war!/WEB-INF/lib/b.jar!/lib/c.jar"). The path stays unambiguous even
// when an archive member is named like a directory.

#include <archive.h>
#include <archive_entry.h>

#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "analyzer/analyzer.h"
#include "analyzer/lang/jar_metadata.h"
#include "analyzer/lang/text_util.h"

namespace moat {
namespace {

constexpr uint64_t kMaxJarSize = 2ull << 30;
// Nested archives are inflated into memory: bound the depth, each one's size and their total,
// so a zip bomb stops with an error instead of exhausting memory.
constexpr int kMaxNestingDepth = 4;
constexpr uint64_t kMaxNestedArchiveSize = 512ull << 20;
constexpr uint64_t kMaxTotalNestedBytes = 1ull << 30;
constexpr uint64_t kMaxMetadataFileSize = 1ull << 20;
constexpr uint64_t kMaxEntries = 1ull << 20;

bool IsJavaArchiveName(std::string_view name) {
  return lang::EndsWithIgnoreCase(name, ".jar") || lang::EndsWithIgnoreCase(name, ".war") ||
         lang::EndsWithIgnoreCase(name, ".ear");
}

bool IsPomProperties(std::string_view entry) {
  constexpr std::string_view kPrefix = "META-INF/maven/";
  return entry.substr(0, kPrefix.size()) == kPrefix && lang::EndsWith(entry, "/pom.properties");
}

bool IsManifest(std::string_view entry) {
  return entry.size() == 20 && lang::EndsWithIgnoreCase(entry, "META-INF/MANIFEST.MF");
}

struct ArchiveDeleter {
  void operator()(archive* handle) const { archive_read_free(handle); }
};

struct Budget {
  uint64_t nested_bytes = 0;
};

class JarReader {
 public:
  explicit JarReader(std::vector<Package>& packages) : packages_(packages) {}

  // Reads one archive; `display_path` is its file_path ("/a.war" or "/a.war!/WEB-INF/lib/b.jar").
  Result<void> Read(ByteSpan data, const std::string& display_path, int depth) {
    std::unique_ptr<archive, ArchiveDeleter> reader(archive_read_new());
    if (!reader) return Fail(display_path, ": cannot allocate a zip reader");
    archive_read_support_format_zip(reader.get());
    if (archive_read_open_memory(reader.get(), data.data(), data.size()) != ARCHIVE_OK) {
      return Fail(display_path, ": not a readable zip archive: ", ErrorText(reader.get()));
    }
    std::vector<lang::MavenCoordinates> poms;
    std::map<std::string, std::string> manifest;
    uint64_t entries = 0;
    while (true) {
      archive_entry* entry = nullptr;
      int status = archive_read_next_header(reader.get(), &entry);
      if (status == ARCHIVE_EOF) break;
      if (status < ARCHIVE_WARN) {
        return Fail(display_path, ": corrupt zip at entry ", std::to_string(entries), ": ",
                    ErrorText(reader.get()));
      }
      if (++entries > kMaxEntries)
        return Fail(display_path, ": more than ", std::to_string(kMaxEntries), " entries");
      if (archive_entry_filetype(entry) != AE_IFREG) continue;
      const char* raw_name = archive_entry_pathname(entry);
      if (raw_name == nullptr) continue;
      std::string name = raw_name;
      if (IsPomProperties(name)) {
        MOAT_ASSIGN_OR_RETURN(std::string text,
                              ReadEntry(reader.get(), display_path, name, kMaxMetadataFileSize));
        if (auto coordinates = lang::ParsePomProperties(text)) poms.push_back(*coordinates);
      } else if (IsManifest(name)) {
        MOAT_ASSIGN_OR_RETURN(std::string text,
                              ReadEntry(reader.get(), display_path, name, kMaxMetadataFileSize));
        manifest = lang::ParseManifest(text);
      } else if (IsJavaArchiveName(name) && depth < kMaxNestingDepth) {
        const std::string nested_path = display_path + "!/" + name;
        uint64_t remaining = kMaxTotalNestedBytes - budget_.nested_bytes;
        MOAT_ASSIGN_OR_RETURN(std::string nested,
                              ReadEntry(reader.get(), display_path, name,
                                        std::min(kMaxNestedArchiveSize, remaining)));
        budget_.nested_bytes += nested.size();
        MOAT_TRY(Read(AsBytes(nested), nested_path, depth + 1));
      }
    }
    Identify(display_path, poms, manifest);
    return Ok();
  }

 private:
  static std::string ErrorText(archive* handle) {
    const char* text = archive_error_string(handle);
    return text != nullptr ? text : "unknown error";
  }

  static Result<std::string> ReadEntry(archive* handle, const std::string& display_path,
                                       const std::string& name, uint64_t limit) {
    std::string content;
    char buffer[64 * 1024];
    while (true) {
      la_ssize_t count = archive_read_data(handle, buffer, sizeof(buffer));
      if (count == 0) break;
      if (count < 0) {
        return Fail(display_path, "!/", name, ": cannot inflate: ", ErrorText(handle));
      }
      if (content.size() + static_cast<uint64_t>(count) > limit) {
        return Fail(display_path, "!/", name, ": larger than the limit of ", std::to_string(limit),
                    " bytes");
      }
      content.append(buffer, static_cast<size_t>(count));
    }
    return content;
  }

  // Every pom.properties names a Maven artifact in the archive (a shaded jar holds several). When
  // none of them is the archive itself (its name does not match), the manifest or, failing that,
  // the file name identifies it, as Trivy does offline.
  void Identify(const std::string& display_path, const std::vector<lang::MavenCoordinates>& poms,
                const std::map<std::string, std::string>& manifest) {
    for (const lang::MavenCoordinates& pom : poms) Add(pom, display_path);

    std::string_view file_name = lang::BaseName(display_path);
    std::optional<lang::MavenCoordinates> from_name = lang::CoordinatesFromFileName(file_name);
    std::string_view own_artifact = file_name.substr(0, file_name.rfind('.'));
    if (from_name) own_artifact = from_name->artifact_id;
    for (const lang::MavenCoordinates& pom : poms) {
      if (pom.artifact_id == own_artifact) return;
    }
    // An archive named without a version ("app.jar") whose pom.properties do not match is an
    // application bundling those artifacts; its own identity is unknown.
    if (!from_name && !poms.empty()) return;
    std::optional<lang::MavenCoordinates> from_manifest = lang::CoordinatesFromManifest(manifest);
    if (from_manifest) {
      Add(*from_manifest, display_path);
    } else if (from_name) {
      from_name->group_id = lang::GroupFromManifest(manifest, from_name->artifact_id);
      Add(*from_name, display_path);
    }
  }

  void Add(const lang::MavenCoordinates& coordinates, const std::string& display_path) {
    std::string name = coordinates.Name();
    for (const Package& existing : packages_) {
      if (existing.name == name && existing.version == coordinates.version &&
          existing.file_path == display_path) {
        return;
      }
    }
    Package package;
    package.type = PackageType::kMaven;
    package.name = std::move(name);
    package.version = coordinates.version;
    package.file_path = display_path;
    packages_.push_back(std::move(package));
  }

  std::vector<Package>& packages_;
  Budget budget_;
};

class JarAnalyzer : public Analyzer {
 public:
  const AnalyzerDescriptor& descriptor() const override { return descriptor_; }

  bool Wants(const FileMeta& file) const override {
    return file.size <= kMaxJarSize && IsJavaArchiveName(lang::BaseName(file.path));
  }

  Result<AnalysisResult> Analyze(const FileMeta& file, ByteSpan content) const override {
    AnalysisResult result;
    JarReader reader(result.packages);
    MOAT_TRY(reader.Read(content, "/" + std::string(file.path), 0));
    return result;
  }

 private:
  AnalyzerDescriptor descriptor_{"jar", 1, AnalyzerKind::kLanguage, /*installed_only=*/true};
};

}  // namespace

std::unique_ptr<Analyzer> MakeJarAnalyzer() { return std::make_unique<JarAnalyzer>(); }

}  // namespace moat
