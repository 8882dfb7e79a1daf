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
    return ParseRpmDatabase(file.path, content);
  }

 private:
  // 2: damaged records skipped instead of failing the file; file lists.
  AnalyzerDescriptor descriptor_{"rpm", 2, AnalyzerKind::kOsPackages};
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

void DeliverRecord(Result<RpmDbRecord> record, RpmRecordSink& sink) {
  if (record.ok()) {
    sink.OnRecord(*record);
  } else {
    sink.OnDamage(record.error().message);
  }
}

namespace {

// Decodes each header a reader finds; a header that does not decode is a damaged record.
class PackageCollector final : public RpmRecordSink {
 public:
  explicit PackageCollector(std::string_view path) : path_(path) {}

  void OnRecord(const RpmDbRecord& record) override {
    Result<RpmHeaderFields> fields = DecodeRpmHeader(record.blob);
    if (!fields.ok()) {
      std::string where = "package record " + record.id;
      if (record.file_offset) {
        where += " (blob at file offset " + std::to_string(*record.file_offset) + ")";
      }
      OnDamage(fields.error().Wrap(where).message);
      return;
    }
    if (!fields->files.empty()) result_.owned_files.push_back({fields->name, fields->files});
    result_.packages.push_back(ToPackage(std::move(fields).value(), path_));
  }

  void OnDamage(std::string message) override {
    result_.AddProblem(std::move(message) + "; skipped");
  }

  AnalysisResult& result() { return result_; }

 private:
  std::string_view path_;
  AnalysisResult result_;
};

}  // namespace

Result<AnalysisResult> ParseRpmDatabase(std::string_view path, ByteSpan content) {
  const std::string file = "rpm database /" + std::string(path);
  PackageCollector collector(path);
  collector.result().package_database = true;
  // An rpm database left empty (e.g. a placeholder next to a database of another format).
  if (content.empty()) return std::move(collector.result());
  const std::optional<RpmDbFormat> format = DetectRpmDbFormat(content);
  if (!format) {
    return Fail(file, ": offset 0: not an rpm database (no SQLite, Berkeley DB hash or NDB magic)");
  }
  Result<void> read = Ok();
  switch (*format) {
    case RpmDbFormat::kSqlite:
      read = ReadSqliteRpmDb(content, collector);
      break;
    case RpmDbFormat::kBerkeleyDb:
      read = ReadBerkeleyDbHash(content, collector);
      break;
    case RpmDbFormat::kNdb:
      read = ReadNdbRpmDb(content, collector);
      break;
  }
  AnalysisResult& result = collector.result();
  const std::string format_name = file + " (" + std::string(FormatName(*format)) + ")";
  if (!read.ok()) {
    // The walk stopped: what it read stands, the rest of the file is unread.
    if (result.packages.empty()) return read.error().Wrap(format_name);
    result.AddProblem(read.error().message + "; the rest of the database is unread");
  }
  if (result.packages.empty() && !result.problems.empty()) {
    std::string message = format_name + ": " + result.problems.front();
    if (const size_t more = result.problems.size() - 1 + result.unlisted_problems; more > 0) {
      message += " (and " + std::to_string(more) + " more damaged records)";
    }
    return Fail(message, "; no package could be read");
  }
  return std::move(result);
}

}  // namespace rpm

std::unique_ptr<Analyzer> MakeRpmAnalyzer() { return std::make_unique<rpm::RpmAnalyzer>(); }

}  // namespace moat
