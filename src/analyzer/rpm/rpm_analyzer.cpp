// The "rpm" analyzer: installed packages from rpm's database, in any of its three formats
// (SQLite of rpm 4.16+, Berkeley DB hash of RHEL/CentOS 7-8, NDB of SUSE). The format is told by
// the file's magic bytes, not its name: distributions moved between formats under the same names.
//
// Like `rpm -qa`, every header in the database is reported, gpg-pubkey pseudo-packages (imported
// signing keys) included.

#include <array>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "analyzer/analyzer.h"
#include "analyzer/rpm/endian.h"
#include "analyzer/rpm/rpm_db.h"

namespace moat {
namespace rpm {
namespace {

constexpr std::array<std::string_view, 5> kDatabasePaths = {
    "var/lib/rpm/rpmdb.sqlite", "usr/lib/sysimage/rpm/rpmdb.sqlite", "var/lib/rpm/Packages",
    "var/lib/rpm/Packages.db",  "usr/lib/sysimage/rpm/Packages.db",
};

std::string_view FormatName(RpmDbFormat format) {
  switch (format) {
    case RpmDbFormat::kSqlite:
      return "sqlite";
    case RpmDbFormat::kBerkeleyDb:
      return "Berkeley DB";
    case RpmDbFormat::kNdb:
      return "NDB";
  }
  return "unknown";
}

Package ToPackage(RpmHeaderFields fields, std::string_view path) {
  Package package;
  package.type = PackageType::kRpm;
  package.name = std::move(fields.name);
  package.version = std::move(fields.version);
  package.release = std::move(fields.release);
  if (fields.epoch) package.epoch = std::to_string(*fields.epoch);
  package.arch = std::move(fields.arch);
  if (!fields.license.empty()) package.licenses.push_back(std::move(fields.license));
  if (auto source = ParseSourceRpmName(fields.source_rpm)) {
    package.source_name = std::move(source->name);
    package.source_version = std::move(source->version);
    package.source_release = std::move(source->release);
  }
  // rpm has no maintainer field; the vendor is who stands behind the package (as Trivy does).
  package.maintainer = std::move(fields.vendor);
  package.modularity_label = std::move(fields.modularity_label);
  package.file_path = "/" + std::string(path);
  return package;
}

class RpmAnalyzer : public Analyzer {
 public:
  const AnalyzerDescriptor& descriptor() const override { return descriptor_; }

  bool Wants(const FileMeta& file) const override {
    for (std::string_view path : kDatabasePaths) {
      if (file.path == path) return true;
    }
    return false;
  }

  Result<AnalysisResult> Analyze(const FileMeta& file, ByteSpan content) const override {
    AnalysisResult result;
    MOAT_ASSIGN_OR_RETURN(result.packages, ParseRpmDatabase(file.path, content));
    return result;
  }

 private:
  AnalyzerDescriptor descriptor_{"rpm", 1, AnalyzerKind::kOsPackages};
};

}  // namespace

std::optional<RpmDbFormat> DetectRpmDbFormat(ByteSpan content) {
  static constexpr char kSqliteMagic[] = "SQLite format 3";  // compared with its NUL
  if (content.size() >= sizeof(kSqliteMagic) &&
      std::memcmp(content.data(), kSqliteMagic, sizeof(kSqliteMagic)) == 0) {
    return RpmDbFormat::kSqlite;
  }
  if (content.size() >= 4 && std::memcmp(content.data(), "RpmP", 4) == 0) {
    return RpmDbFormat::kNdb;
  }
  constexpr uint32_t kBdbHashMagic = 0x00061561;
  if (content.size() >= 16 && (LoadLe32(content.data() + 12) == kBdbHashMagic ||
                               LoadBe32(content.data() + 12) == kBdbHashMagic)) {
    return RpmDbFormat::kBerkeleyDb;
  }
  return std::nullopt;
}

std::optional<SourceRpmName> ParseSourceRpmName(std::string_view file_name) {
  for (std::string_view suffix : {std::string_view(".src.rpm"), std::string_view(".nosrc.rpm")}) {
    if (file_name.size() > suffix.size() && file_name.ends_with(suffix)) {
      file_name.remove_suffix(suffix.size());
      break;
    }
  }
  // name-version-release: name may contain dashes, version and release may not.
  const size_t release_dash = file_name.rfind('-');
  if (release_dash == std::string_view::npos || release_dash == 0) return std::nullopt;
  const size_t version_dash = file_name.rfind('-', release_dash - 1);
  if (version_dash == std::string_view::npos || version_dash == 0) return std::nullopt;
  SourceRpmName source{
      std::string(file_name.substr(0, version_dash)),
      std::string(file_name.substr(version_dash + 1, release_dash - version_dash - 1)),
      std::string(file_name.substr(release_dash + 1))};
  if (source.version.empty() || source.release.empty()) return std::nullopt;
  return source;
}

Result<std::vector<Package>> ParseRpmDatabase(std::string_view path, ByteSpan content) {
  const std::string file = "rpm database /" + std::string(path);
  std::vector<Package> packages;
  // An rpm database left empty (e.g. a placeholder next to a database of another format).
  if (content.empty()) return packages;
  const std::optional<RpmDbFormat> format = DetectRpmDbFormat(content);
  if (!format) {
    return Fail(file, ": offset 0: not an rpm database (no SQLite, Berkeley DB hash or NDB magic)");
  }
  auto visit = [&](const RpmDbRecord& record) -> Result<void> {
    Result<RpmHeaderFields> fields = DecodeRpmHeader(record.blob);
    if (!fields.ok()) {
      std::string where = "package record " + record.id;
      if (record.file_offset)
        where += " (blob at file offset " + std::to_string(*record.file_offset) + ")";
      return fields.error().Wrap(where);
    }
    packages.push_back(ToPackage(std::move(fields).value(), path));
    return Ok();
  };
  Result<void> read = Ok();
  switch (*format) {
    case RpmDbFormat::kSqlite:
      read = ReadSqliteRpmDb(content, visit);
      break;
    case RpmDbFormat::kBerkeleyDb:
      read = ReadBerkeleyDbHash(content, visit);
      break;
    case RpmDbFormat::kNdb:
      read = ReadNdbRpmDb(content, visit);
      break;
  }
  if (!read.ok()) return read.error().Wrap(file + " (" + std::string(FormatName(*format)) + ")");
  return packages;
}

}  // namespace rpm

std::unique_ptr<Analyzer> MakeRpmAnalyzer() { return std::make_unique<rpm::RpmAnalyzer>(); }

}  // namespace moat
