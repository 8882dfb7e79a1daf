// The database builder: ingest advisories, merge records of the same id, enrich them with NVD,
// KEV and EPSS, and write one SQLite file with a compact, package-clustered layout.

#include "vulndb/build.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <memory>
#include <optional>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "core/log.h"
#include "core/text_format.h"
#include "vulndb/codec.h"
#include "vulndb/cvss.h"
#include "vulndb/ingest.h"

namespace moat::vulndb {
namespace fs = std::filesystem;

std::string_view FeedKindName(FeedKind kind) {
  switch (kind) {
    case FeedKind::kOsv:
      return "osv";
    case FeedKind::kDebianTracker:
      return "debian-tracker";
    case FeedKind::kSecdb:
      return "secdb";
    case FeedKind::kNvd:
      return "nvd";
    case FeedKind::kKev:
      return "kev";
    case FeedKind::kEpss:
      return "epss";
    case FeedKind::kCsaf:
      return "csaf";
    case FeedKind::kOval:
      return "oval";
    case FeedKind::kAlas:
      return "alas";
    case FeedKind::kPhoton:
      return "photon";
  }
  return "unknown";
}

std::optional<FeedKind> ParseFeedKind(std::string_view name) {
  for (FeedKind kind :
       {FeedKind::kOsv, FeedKind::kDebianTracker, FeedKind::kSecdb, FeedKind::kNvd, FeedKind::kKev,
        FeedKind::kEpss, FeedKind::kCsaf, FeedKind::kOval, FeedKind::kAlas, FeedKind::kPhoton}) {
    if (FeedKindName(kind) == name) return kind;
  }
  if (name == "alpine-secdb") return FeedKind::kSecdb;
  return std::nullopt;
}

namespace {

std::string FileDate(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return "";
  return FormatRfc3339Utc(st.st_mtime);
}

std::string DefaultSourceName(const FeedInput& input) {
  if (!input.name.empty()) return input.name;
  fs::path path(input.path);
  std::string base = path.filename().string();
  if (input.kind == FeedKind::kOsv) {
    if (base == "all.zip" || base.empty()) base = path.parent_path().filename().string();
    if (base.ends_with(".zip")) base.resize(base.size() - 4);
    return "osv:" + base;
  }
  if (input.kind == FeedKind::kSecdb) return "secdb:" + path.stem().string();
  if (input.kind == FeedKind::kCsaf) return "redhat-csaf";
  if (input.kind == FeedKind::kOval) return "oval:" + path.filename().string();
  if (input.kind == FeedKind::kAlas) return "amazon-alas:" + path.filename().string();
  if (input.kind == FeedKind::kPhoton) return "photon:" + path.stem().string();
  return std::string(FeedKindName(input.kind));
}

template <typename T>
void AppendUnique(std::vector<T>& to, const std::vector<T>& from) {
  for (const auto& item : from) {
    if (std::find(to.begin(), to.end(), item) == to.end()) to.push_back(item);
  }
}

void Merge(Vulnerability& into, Vulnerability&& from) {
  AppendUnique(into.aliases, from.aliases);
  AppendUnique(into.references, from.references);
  AppendUnique(into.cwes, from.cwes);
  for (auto& score : from.cvss) {
    bool seen = false;
    for (const auto& existing : into.cvss) {
      seen = seen || (existing.vector == score.vector && existing.source == score.source);
    }
    if (!seen) into.cvss.push_back(std::move(score));
  }
  auto fill = [](std::string& a, std::string& b) {
    if (a.empty()) a = std::move(b);
  };
  fill(into.title, from.title);
  fill(into.description, from.description);
  fill(into.published, from.published);
  fill(into.modified, from.modified);
  if (into.severity.empty()) {
    into.severity = std::move(from.severity);
    into.severity_source = std::move(from.severity_source);
  }
  into.withdrawn = into.withdrawn || from.withdrawn;
}

// The best general severity: a CVSS v3 score (the advisory's own first, then NVD's), a v4 score,
// the advisory's own word, a v2 score; else "unknown".
void FinishSeverity(Vulnerability& v) {
  auto pick = [&v](auto predicate) -> const CvssScore* {
    for (const auto& score : v.cvss) {
      if (predicate(score)) return &score;
    }
    return nullptr;
  };
  auto v3_own = pick([](const CvssScore& s) {
    return s.version.starts_with("3") && !s.source.starts_with("nvd");
  });
  auto v3 = v3_own ? v3_own : pick([](const CvssScore& s) { return s.version.starts_with("3"); });
  auto v4 = pick([](const CvssScore& s) { return s.version.starts_with("4") && s.score > 0; });
  if (v3) {
    v.severity = CvssSeverity(v3->score);
    v.severity_source = v3->source;
  } else if (v4) {
    v.severity = CvssSeverity(v4->score);
    v.severity_source = v4->source;
  } else if (!v.severity.empty()) {
    // the advisory's own rating
  } else if (auto v2 = pick([](const CvssScore& s) { return s.version.starts_with("2"); })) {
    v.severity = Cvss2Severity(v2->score);
    v.severity_source = v2->source;
  } else {
    v.severity = "unknown";
  }
}

std::vector<std::string> FeedFiles(const std::string& path) {
  std::error_code ec;
  if (!fs::is_directory(path, ec)) return {path};
  std::vector<std::string> files;
  for (fs::recursive_directory_iterator it(path, ec), end; !ec && it != end; it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (it->is_regular_file(ec) && (name.ends_with(".json") || name.ends_with(".json.gz"))) {
      files.push_back(it->path().string());
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

class Sqlite {
 public:
  explicit Sqlite(sqlite3* db) : db_(db) {}
  ~Sqlite() {
    if (db_) sqlite3_close_v2(db_);
  }
  sqlite3* get() { return db_; }
  Result<void> Exec(const std::string& sql) {
    char* message = nullptr;
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &message) != SQLITE_OK) {
      std::string text = message ? message : sqlite3_errmsg(db_);
      sqlite3_free(message);
      return Fail("sqlite: ", text);
    }
    return Ok();
  }

 private:
  sqlite3* db_;
};

class Statement {
 public:
  Statement(sqlite3* db, const char* sql) : db_(db) {
    sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr);
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement& Text(int index, std::string_view text) {
    sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Statement& Blob(int index, std::string_view blob) {
    sqlite3_bind_blob(stmt_, index, blob.data(), static_cast<int>(blob.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Statement& Int(int index, int64_t value) {
    sqlite3_bind_int64(stmt_, index, value);
    return *this;
  }
  Result<void> Run() {
    int rc = stmt_ ? sqlite3_step(stmt_) : SQLITE_ERROR;
    sqlite3_reset(stmt_);
    if (rc != SQLITE_DONE) return Fail("sqlite: ", sqlite3_errmsg(db_));
    return Ok();
  }
  /// Steps a query: true with a row to read, false (and reset) at the end.
  Result<bool> Next() {
    int rc = stmt_ ? sqlite3_step(stmt_) : SQLITE_ERROR;
    if (rc == SQLITE_ROW) return true;
    sqlite3_reset(stmt_);
    if (rc != SQLITE_DONE) return Fail("sqlite: ", sqlite3_errmsg(db_));
    return false;
  }
  void Reset() { sqlite3_reset(stmt_); }
  std::string_view TextAt(int column) {
    const char* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, column));
    return text ? std::string_view(text, sqlite3_column_bytes(stmt_, column)) : std::string_view();
  }
  std::string_view BlobAt(int column) {
    const char* blob = static_cast<const char*>(sqlite3_column_blob(stmt_, column));
    return blob ? std::string_view(blob, sqlite3_column_bytes(stmt_, column)) : std::string_view();
  }
  int64_t IntAt(int column) { return sqlite3_column_int64(stmt_, column); }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
};

constexpr const char* kSchema = R"sql(
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE sources(name TEXT PRIMARY KEY, date TEXT NOT NULL, count INTEGER NOT NULL)
  WITHOUT ROWID;
CREATE TABLE packages(id INTEGER PRIMARY KEY, ns TEXT NOT NULL, name TEXT NOT NULL);
CREATE UNIQUE INDEX packages_by_name ON packages(ns, name);
CREATE TABLE affected(package_id INTEGER NOT NULL, seq INTEGER NOT NULL, vuln_id TEXT NOT NULL,
  status INTEGER NOT NULL, severity TEXT NOT NULL, source TEXT NOT NULL, data BLOB NOT NULL,
  PRIMARY KEY(package_id, seq)) WITHOUT ROWID;
CREATE TABLE vulnerabilities(id TEXT PRIMARY KEY, data BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE aliases(alias TEXT NOT NULL, id TEXT NOT NULL, PRIMARY KEY(alias, id)) WITHOUT ROWID;
)sql";

// The builder's scratch file: records are stored here as they are read, so that a build's
// memory does not grow with the feeds; the database is written from it in its final order.
// `affected` is clustered by (namespace, package, arrival), the order of the database's
// packages and of each package's records; `vulnerabilities` holds each id's merged record
// (uncompressed), `nvd` the NVD records the advisories reference.
constexpr const char* kStagingSchema = R"sql(
CREATE TABLE affected(ns TEXT NOT NULL, name TEXT NOT NULL, arrival INTEGER NOT NULL,
  vuln_id TEXT NOT NULL, status INTEGER NOT NULL, severity TEXT NOT NULL, source TEXT NOT NULL,
  data BLOB NOT NULL, PRIMARY KEY(ns, name, arrival)) WITHOUT ROWID;
CREATE TABLE vulnerabilities(id TEXT PRIMARY KEY, data BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE nvd(id TEXT PRIMARY KEY, data BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE aliases(alias TEXT NOT NULL, id TEXT NOT NULL, PRIMARY KEY(alias, id)) WITHOUT ROWID;
)sql";

class Builder {
 public:
  explicit Builder(const BuildOptions& options) : options_(options) {}

  Result<void> OpenStaging(const std::string& path) {
    staging_path_ = path;
    sqlite3* raw = nullptr;
    int rc =
        sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
    staging_ = std::make_unique<Sqlite>(raw);
    if (rc != SQLITE_OK) return Fail(path, ": ", raw ? sqlite3_errmsg(raw) : "cannot open");
    // A scratch file: no journal, no syncs; a bounded page cache (32 MiB) is the memory it costs.
    MOAT_TRY(Staged(staging_->Exec(
        "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA locking_mode=EXCLUSIVE; "
        "PRAGMA cache_size=-32768; PRAGMA temp_store=FILE;")));
    MOAT_TRY(Staged(staging_->Exec(kStagingSchema)));
    MOAT_TRY(Staged(staging_->Exec("BEGIN")));
    sqlite3* db = staging_->get();
    stage_affected_ = std::make_unique<Statement>(
        db,
        "INSERT INTO affected(ns, name, arrival, vuln_id, status, severity, source, data) "
        "VALUES(?,?,?,?,?,?,?,?)");
    stage_vuln_ = std::make_unique<Statement>(
        db, "INSERT INTO vulnerabilities(id, data) VALUES(?,?) ON CONFLICT(id) DO NOTHING");
    read_vuln_ = std::make_unique<Statement>(db, "SELECT data FROM vulnerabilities WHERE id=?");
    update_vuln_ = std::make_unique<Statement>(db, "UPDATE vulnerabilities SET data=? WHERE id=?");
    stage_nvd_ =
        std::make_unique<Statement>(db, "INSERT OR REPLACE INTO nvd(id, data) VALUES(?,?)");
    read_nvd_ = std::make_unique<Statement>(db, "SELECT data FROM nvd WHERE id=?");
    return Ok();
  }

  /// Where the ingesters hand their records over while they read.
  RecordSink Sink() {
    return [this](IngestResult& result) { return Stage(result); };
  }
  /// The newest modified/published date of the advisories staged since the last call.
  std::string TakeLatestRecordDate() { return std::exchange(latest_record_date_, {}); }

  void Progress(const std::string& line) {
    if (options_.progress) options_.progress(line);
  }

  Result<void> AddAdvisories(IngestResult&& result, const std::string& source_name,
                             std::string date) {
    stats_.warnings += result.warnings.size();
    for (size_t i = 0; i < result.warnings.size() && i < 20; ++i) {
      log::Debug(result.warnings[i]);
    }
    if (result.records == 0 && options_.require_records) {
      return Fail(source_name, ": no records");
    }
    result.sink = Sink();
    MOAT_TRY(result.Flush(true));
    if (date.empty()) date = result.date;
    AddSource(SourceInfo{source_name, date, result.records});
    std::string line = source_name + ": " + std::to_string(result.records) + " records, " +
                       std::to_string(result.affected_total()) + " affected packages";
    if (result.git_ranges_skipped) {
      line += ", " + std::to_string(result.git_ranges_skipped) + " GIT ranges skipped";
    }
    if (!result.warnings.empty()) {
      line += ", " + std::to_string(result.warnings.size()) +
              " records skipped (first: " + result.warnings.front() + ")";
    }
    Progress(line);
    return Ok();
  }

  // Source names are unique in the metadata: a repeated one gets "#2", "#3", ...
  void AddSource(SourceInfo source) {
    std::string base = source.name;
    for (int n = 2;; ++n) {
      bool taken = false;
      for (const auto& existing : stats_.sources) taken = taken || existing.name == source.name;
      if (!taken) break;
      source.name = base + "#" + std::to_string(n);
    }
    stats_.sources.push_back(std::move(source));
  }

  Result<void> AddNvd(const FeedInput& input, const std::string& source_name) {
    uint64_t count = 0;
    std::string date;
    // Only the CVEs some advisory names are kept (the rest of NVD is most of its 2 GB).
    RecordSink keep_referenced = [this](IngestResult& result) -> Result<void> {
      for (const auto& vuln : result.vulnerabilities) {
        if (!referenced_.count(vuln.id)) continue;
        MOAT_TRY(Staged(
            stage_nvd_->Text(1, vuln.id).Blob(2, codec::EncodeVulnerability(vuln, false)).Run()));
      }
      return Ok();
    };
    for (const auto& file : FeedFiles(input.path)) {
      MOAT_ASSIGN_OR_RETURN(IngestResult result, IngestNvdFile(file, keep_referenced));
      count += result.records;
      stats_.warnings += result.warnings.size();
      date = std::max(date, result.date);
    }
    if (count == 0 && options_.require_records) return Fail(source_name, ": no records");
    AddSource(SourceInfo{source_name, date.empty() ? FileDate(input.path) : date, count});
    Statement kept(staging_->get(), "SELECT count(*) FROM nvd");
    MOAT_ASSIGN_OR_RETURN(bool row, Staged(kept.Next()));
    Progress(source_name + ": " + std::to_string(count) + " CVEs (" +
             std::to_string(row ? kept.IntAt(0) : 0) + " used)");
    return Ok();
  }

  Result<void> AddKev(const FeedInput& input, const std::string& source_name) {
    MOAT_ASSIGN_OR_RETURN(std::string text, ReadFeedFile(input.path));
    MOAT_ASSIGN_OR_RETURN(KevCatalog catalog, ParseKev(text, input.path));
    if (catalog.entries.empty() && options_.require_records) {
      return Fail(input.path, ": no KEV entries");
    }
    AddSource(SourceInfo{source_name, catalog.date.empty() ? FileDate(input.path) : catalog.date,
                         catalog.entries.size()});
    Progress(source_name + ": " + std::to_string(catalog.entries.size()) + " known exploited");
    for (auto& [id, entry] : catalog.entries) kev_[id] = std::move(entry);
    return Ok();
  }

  Result<void> AddEpss(const FeedInput& input, const std::string& source_name) {
    MOAT_ASSIGN_OR_RETURN(std::string text, ReadFeedFile(input.path));
    MOAT_ASSIGN_OR_RETURN(EpssScores scores, ParseEpssCsv(text, input.path));
    if (scores.entries.empty() && options_.require_records) {
      return Fail(input.path, ": no EPSS scores");
    }
    AddSource(SourceInfo{source_name, scores.date.empty() ? FileDate(input.path) : scores.date,
                         scores.entries.size()});
    Progress(source_name + ": " + std::to_string(scores.entries.size()) + " scores");
    for (auto& [id, entry] : scores.entries) {
      if (referenced_.count(id)) epss_[id] = entry;
    }
    return Ok();
  }

  // NVD's texts and scores, KEV and EPSS for one advisory, then its general severity.
  Result<void> Enrich(const std::string& id, Vulnerability& vuln) {
    std::vector<std::string> cves;
    if (id.starts_with("CVE-")) cves.push_back(id);
    for (const auto& alias : vuln.aliases) {
      if (alias.starts_with("CVE-")) cves.push_back(alias);
    }
    for (const auto& cve : cves) {
      MOAT_ASSIGN_OR_RETURN(std::optional<Vulnerability> nvd, StagedNvd(cve));
      if (nvd) {
        Vulnerability& copy = *nvd;
        copy.aliases.clear();
        if (!vuln.references.empty()) copy.references.clear();
        copy.severity.clear();
        if (!copy.withdrawn) Merge(vuln, std::move(copy));
      }
      if (auto it = kev_.find(cve); it != kev_.end()) {
        vuln.known_exploited = true;
        if (vuln.kev_date_added.empty()) vuln.kev_date_added = it->second.date_added;
      }
      if (auto it = epss_.find(cve); it != epss_.end()) {
        if (!vuln.epss_score || *vuln.epss_score < it->second.score) {
          vuln.epss_score = it->second.score;
          vuln.epss_percentile = it->second.percentile;
        }
      }
    }
    FinishSeverity(vuln);
    return Ok();
  }

  Result<void> Write(const std::string& path) {
    sqlite3* raw = nullptr;
    int rc =
        sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
    Sqlite db(raw);
    if (rc != SQLITE_OK) return Fail(path, ": ", raw ? sqlite3_errmsg(raw) : "cannot open");
    auto wrap = [&path](Result<void> r) -> Result<void> {
      if (!r.ok()) return r.error().Wrap(path);
      return Ok();
    };
    MOAT_TRY(
        wrap(db.Exec("PRAGMA page_size=4096; PRAGMA journal_mode=OFF; "
                     "PRAGMA synchronous=OFF; PRAGMA locking_mode=EXCLUSIVE; "
                     "PRAGMA application_id=" +
                     std::to_string(codec::kApplicationId) +
                     "; PRAGMA user_version=" + std::to_string(codec::kSchemaVersion) + ";")));
    MOAT_TRY(wrap(db.Exec(kSchema)));
    MOAT_TRY(wrap(db.Exec("BEGIN")));
    {
      Statement insert_package(db.get(), "INSERT INTO packages(id, ns, name) VALUES(?,?,?)");
      Statement insert_affected(db.get(),
                                "INSERT INTO affected(package_id, seq, vuln_id, status, "
                                "severity, source, data) VALUES(?,?,?,?,?,?,?)");
      int64_t package_id = 0;
      int64_t seq = 0;
      std::string ns, name;
      Statement staged_affected(staging_->get(),
                                "SELECT ns, name, vuln_id, status, severity, source, data "
                                "FROM affected ORDER BY ns, name, arrival");
      while (true) {
        MOAT_ASSIGN_OR_RETURN(bool row, Staged(staged_affected.Next()));
        if (!row) break;
        if (package_id == 0 || staged_affected.TextAt(0) != ns ||
            staged_affected.TextAt(1) != name) {
          ns = staged_affected.TextAt(0);
          name = staged_affected.TextAt(1);
          ++package_id;
          seq = 0;
          MOAT_TRY(wrap(insert_package.Int(1, package_id).Text(2, ns).Text(3, name).Run()));
        }
        MOAT_TRY(wrap(insert_affected.Int(1, package_id)
                          .Int(2, seq++)
                          .Text(3, staged_affected.TextAt(2))
                          .Int(4, staged_affected.IntAt(3))
                          .Text(5, staged_affected.TextAt(4))
                          .Text(6, staged_affected.TextAt(5))
                          .Blob(7, staged_affected.BlobAt(6))
                          .Run()));
        ++stats_.affected;
      }
      stats_.packages = static_cast<uint64_t>(package_id);

      // In id order (the staging key), enriched on the way; aliases are staged to come out
      // sorted and without repeats.
      Statement insert_vuln(db.get(), "INSERT INTO vulnerabilities(id, data) VALUES(?,?)");
      Statement staged_vulns(staging_->get(), "SELECT id, data FROM vulnerabilities ORDER BY id");
      Statement stage_alias(staging_->get(),
                            "INSERT OR IGNORE INTO aliases(alias, id) VALUES(?,?)");
      while (true) {
        MOAT_ASSIGN_OR_RETURN(bool row, Staged(staged_vulns.Next()));
        if (!row) break;
        std::string id(staged_vulns.TextAt(0));
        Vulnerability vuln;
        if (!codec::DecodeVulnerability(staged_vulns.BlobAt(1), vuln)) {
          return Fail(staging_path_, ": ", id, ": unreadable staged record");
        }
        vuln.id = id;
        MOAT_TRY(Enrich(id, vuln));
        MOAT_TRY(wrap(insert_vuln.Text(1, id).Blob(2, codec::EncodeVulnerability(vuln)).Run()));
        for (const auto& alias : vuln.aliases) {
          MOAT_TRY(Staged(stage_alias.Text(1, alias).Text(2, id).Run()));
        }
        ++stats_.vulnerabilities;
      }
      Statement insert_alias(db.get(), "INSERT INTO aliases(alias, id) VALUES(?,?)");
      Statement staged_aliases(staging_->get(), "SELECT alias, id FROM aliases ORDER BY alias, id");
      while (true) {
        MOAT_ASSIGN_OR_RETURN(bool row, Staged(staged_aliases.Next()));
        if (!row) break;
        MOAT_TRY(wrap(insert_alias.Text(1, staged_aliases.TextAt(0))
                          .Text(2, staged_aliases.TextAt(1))
                          .Run()));
        ++stats_.aliases;
      }

      Statement insert_source(db.get(),
                              "INSERT OR REPLACE INTO sources(name, date, count) VALUES(?,?,?)");
      for (const auto& source : stats_.sources) {
        MOAT_TRY(wrap(insert_source.Text(1, source.name)
                          .Text(2, source.date)
                          .Int(3, static_cast<int64_t>(source.count))
                          .Run()));
      }
      Statement insert_meta(db.get(), "INSERT INTO meta(key, value) VALUES(?,?)");
      MOAT_TRY(wrap(insert_meta.Text(1, "format").Text(2, "moat-vulndb").Run()));
      MOAT_TRY(wrap(insert_meta.Text(1, "schema_version")
                        .Text(2, std::to_string(codec::kSchemaVersion))
                        .Run()));
      MOAT_TRY(wrap(
          insert_meta.Text(1, "built_at").Text(2, FormatRfc3339Utc(std::time(nullptr))).Run()));
    }
    MOAT_TRY(wrap(db.Exec("COMMIT")));
    return Ok();
  }

  BuildStats& stats() { return stats_; }

 private:
  template <typename T>
  Result<T> Staged(Result<T> result) const {
    if (!result.ok()) return result.error().Wrap(staging_path_);
    return result;
  }

  Result<void> Stage(IngestResult& result) {
    for (auto& record : result.affected) {
      MOAT_TRY(Staged(stage_affected_->Text(1, record.ns)
                          .Text(2, record.package)
                          .Int(3, arrival_++)
                          .Text(4, record.vuln_id)
                          .Int(5, static_cast<int>(record.status))
                          .Text(6, record.severity)
                          .Text(7, record.source)
                          .Blob(8, codec::EncodeAffected(record))
                          .Run()));
    }
    for (auto& vuln : result.vulnerabilities) MOAT_TRY(StageVulnerability(std::move(vuln)));
    return Ok();
  }

  // The first record of an id is stored as it is; later ones are merged into it, in the order
  // they come (as one in-memory map did).
  Result<void> StageVulnerability(Vulnerability&& vuln) {
    // Go's records carry a zero "modified"; "published" still dates them.
    latest_record_date_ = std::max({latest_record_date_, vuln.modified, vuln.published});
    // The CVE ids the advisories talk about: only these are kept from the enrichment feeds.
    if (vuln.id.starts_with("CVE-")) referenced_.insert(vuln.id);
    for (const auto& alias : vuln.aliases) {
      if (alias.starts_with("CVE-")) referenced_.insert(alias);
    }
    MOAT_TRY(Staged(
        stage_vuln_->Text(1, vuln.id).Blob(2, codec::EncodeVulnerability(vuln, false)).Run()));
    if (sqlite3_changes(staging_->get()) > 0) return Ok();
    const std::string id = vuln.id;
    read_vuln_->Text(1, id);
    MOAT_ASSIGN_OR_RETURN(bool found, Staged(read_vuln_->Next()));
    Vulnerability merged;
    bool decoded = found && codec::DecodeVulnerability(read_vuln_->BlobAt(0), merged);
    read_vuln_->Reset();
    if (!decoded) return Fail(staging_path_, ": ", id, ": unreadable staged record");
    Merge(merged, std::move(vuln));
    return Staged(
        update_vuln_->Blob(1, codec::EncodeVulnerability(merged, false)).Text(2, id).Run());
  }

  Result<std::optional<Vulnerability>> StagedNvd(const std::string& cve) {
    read_nvd_->Text(1, cve);
    MOAT_ASSIGN_OR_RETURN(bool found, Staged(read_nvd_->Next()));
    if (!found) return std::optional<Vulnerability>();
    Vulnerability vuln;
    bool decoded = codec::DecodeVulnerability(read_nvd_->BlobAt(0), vuln);
    read_nvd_->Reset();
    if (!decoded) return Fail(staging_path_, ": ", cve, ": unreadable staged NVD record");
    vuln.id = cve;
    return std::optional<Vulnerability>(std::move(vuln));
  }

  const BuildOptions& options_;
  BuildStats stats_;
  std::string staging_path_;
  std::unique_ptr<Sqlite> staging_;
  std::unique_ptr<Statement> stage_affected_, stage_vuln_, read_vuln_, update_vuln_, stage_nvd_,
      read_nvd_;
  int64_t arrival_ = 0;
  std::string latest_record_date_;
  std::unordered_set<std::string> referenced_;
  std::unordered_map<std::string, KevEntry> kev_;
  std::unordered_map<std::string, EpssEntry> epss_;
};

Result<void> SyncFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Fail(path, ": cannot open for fsync");
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return Fail(path, ": fsync failed");
  return Ok();
}

}  // namespace

Result<BuildStats> BuildDatabase(const std::vector<FeedInput>& inputs,
                                 const std::string& output_path, const BuildOptions& options) {
  auto start = std::chrono::steady_clock::now();
  fs::path output(output_path);
  std::error_code ec;
  if (output.has_parent_path()) fs::create_directories(output.parent_path(), ec);
  std::string temp = output_path + ".tmp-" + std::to_string(::getpid());
  fs::remove(temp, ec);
  // Next to the output, not in /tmp (often a tmpfs, i.e. memory); removed whatever happens.
  const std::string staging = temp + ".staging";
  fs::remove(staging, ec);
  struct RemoveOnExit {
    const std::string& path;
    ~RemoveOnExit() {
      std::error_code ignored;
      fs::remove(path, ignored);
    }
  } remove_staging{staging};
  Builder builder(options);
  MOAT_TRY(builder.OpenStaging(staging));
  // Advisories first: enrichment keeps only the CVEs they reference.
  for (const auto& input : inputs) {
    std::string name = DefaultSourceName(input);
    if (input.kind == FeedKind::kNvd || input.kind == FeedKind::kKev ||
        input.kind == FeedKind::kEpss) {
      continue;
    }
    builder.Progress("reading " + input.path);
    builder.TakeLatestRecordDate();
    auto ingest = [&]() -> Result<IngestResult> {
      switch (input.kind) {
        case FeedKind::kOsv:
          return IngestOsv(input.path, builder.Sink());
        case FeedKind::kDebianTracker:
          return IngestDebianTracker(input.path, builder.Sink());
        case FeedKind::kCsaf:
          return IngestCsaf(input.path, builder.Sink());
        case FeedKind::kOval:
          return IngestOval(input.path, "", builder.Sink());
        case FeedKind::kAlas:
          return IngestAlas(input.path, builder.Sink());
        case FeedKind::kSecdb: {
          MOAT_ASSIGN_OR_RETURN(std::string text, ReadFeedFile(input.path));
          return ParseSecdb(text, input.path);
        }
        default: {  // kPhoton
          MOAT_ASSIGN_OR_RETURN(std::string text, ReadFeedFile(input.path));
          return ParsePhotonCves(text, input.path);
        }
      }
    };
    MOAT_ASSIGN_OR_RETURN(IngestResult result, ingest());
    std::string date;
    if (input.kind == FeedKind::kOsv) {
      // The newest advisory dates the feed; the records went to the builder while read, so
      // it keeps the date (flushing the rest first).
      result.sink = builder.Sink();
      MOAT_TRY(result.Flush(true));
      date = builder.TakeLatestRecordDate();
    } else if (input.kind == FeedKind::kDebianTracker || input.kind == FeedKind::kSecdb) {
      date = FileDate(input.path);
    } else {
      date = result.date.empty() ? FileDate(input.path) : result.date;
    }
    if (input.kind == FeedKind::kSecdb && input.name.empty() && !result.source_hint.empty()) {
      name = result.source_hint;
    }
    MOAT_TRY(builder.AddAdvisories(std::move(result), name, date));
  }
  for (const auto& input : inputs) {
    std::string name = DefaultSourceName(input);
    if (input.kind == FeedKind::kNvd) {
      builder.Progress("reading " + input.path);
      MOAT_TRY(builder.AddNvd(input, name));
    } else if (input.kind == FeedKind::kKev) {
      MOAT_TRY(builder.AddKev(input, name));
    } else if (input.kind == FeedKind::kEpss) {
      MOAT_TRY(builder.AddEpss(input, name));
    }
  }

  builder.Progress("writing " + output_path);
  auto written = builder.Write(temp);
  if (written.ok()) written = SyncFile(temp);
  if (written.ok()) written = VerifyDatabaseFile(temp, false);
  if (!written.ok()) {
    fs::remove(temp, ec);
    return written.error();
  }
  if (::rename(temp.c_str(), output_path.c_str()) != 0) {
    fs::remove(temp, ec);
    return Fail(output_path, ": rename failed: ", std::strerror(errno));
  }
  // Make the rename itself durable.
  std::string dir = output.has_parent_path() ? output.parent_path().string() : ".";
  if (int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
  BuildStats stats = builder.stats();
  stats.bytes = fs::file_size(output_path, ec);
  stats.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return stats;
}

}  // namespace moat::vulndb
