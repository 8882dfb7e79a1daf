// Reading a built database. Lookups are served from a pool of read-only SQLite connections
// (one per concurrent caller, each with its prepared statements), so that the matcher's threads
// never wait on one another.

#include <sqlite3.h>
#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>

#include "vulndb/build.h"
#include "vulndb/codec.h"
#include "vulndb/vulndb.h"

namespace moat::vulndb {

std::string_view StatusName(Status status) {
  switch (status) {
    case Status::kAffected:
      return "affected";
    case Status::kFixed:
      return "fixed";
    case Status::kWillNotFix:
      return "will_not_fix";
    case Status::kEndOfLife:
      return "end_of_life";
    case Status::kUnimportant:
      return "unimportant";
    case Status::kUndetermined:
      return "undetermined";
    case Status::kNotAffected:
      return "not_affected";
    case Status::kFixDeferred:
      return "fix_deferred";
  }
  return "unknown";
}

std::string DefaultDatabasePath() {
  if (const char* env = std::getenv("MOAT_DB"); env && *env) return env;
  // As the layer cache (scan/scanner.cpp DefaultCacheDir): $XDG_CACHE_HOME/moat, ~/.cache/moat.
  std::string cache;
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg) {
    cache = std::string(xdg) + "/moat";
  } else if (const char* home = std::getenv("HOME"); home && *home) {
    cache = std::string(home) + "/.cache/moat";
  } else {
    cache = "/tmp/moat-cache";
  }
  return cache + "/db/moat.db";
}

namespace {

struct Connection {
  sqlite3* db = nullptr;
  sqlite3_stmt* lookup = nullptr;
  sqlite3_stmt* get = nullptr;
  sqlite3_stmt* alias = nullptr;
  ~Connection() {
    sqlite3_finalize(lookup);
    sqlite3_finalize(get);
    sqlite3_finalize(alias);
    if (db) sqlite3_close_v2(db);
  }
};

}  // namespace

// A database file is never written in place (`db update` and `db import` replace it by rename,
// and an open connection keeps reading the file it opened), so it is opened as immutable: SQLite
// then takes no file locks and makes no change checks, which otherwise cost system calls on every
// query of a scan.
std::string codec::ImmutableUri(const std::string& path) {
  std::string uri = "file:";
  for (char c : path) {
    if (c == '?' || c == '#' || c == '%') {
      char escaped[4];
      std::snprintf(escaped, sizeof escaped, "%%%02X", static_cast<unsigned char>(c));
      uri += escaped;
    } else {
      uri += c;
    }
  }
  return uri + "?immutable=1";
}

namespace {

Result<std::unique_ptr<Connection>> Connect(const std::string& path) {
  auto connection = std::make_unique<Connection>();
  int rc = sqlite3_open_v2(codec::ImmutableUri(path).c_str(), &connection->db,
                           SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_URI, nullptr);
  if (rc != SQLITE_OK) {
    return Fail(path, ": cannot open: ",
                connection->db ? sqlite3_errmsg(connection->db) : sqlite3_errstr(rc));
  }
  return connection;
}

Result<void> Prepare(const std::string& path, Connection* connection) {
  auto prepare = [&](const char* sql, sqlite3_stmt** stmt) -> Result<void> {
    if (sqlite3_prepare_v3(connection->db, sql, -1, SQLITE_PREPARE_PERSISTENT, stmt, nullptr) !=
        SQLITE_OK) {
      return Fail(
          path, ": not a Moat vulnerability database or corrupt: ", sqlite3_errmsg(connection->db));
    }
    return Ok();
  };
  MOAT_TRY(prepare(
      "SELECT a.vuln_id, a.status, a.severity, a.source, a.data FROM packages p "
      "JOIN affected a ON a.package_id = p.id WHERE p.ns = ?1 AND p.name = ?2 ORDER BY a.seq",
      &connection->lookup));
  MOAT_TRY(prepare("SELECT id, data FROM vulnerabilities WHERE id = ?1", &connection->get));
  MOAT_TRY(
      prepare("SELECT v.id, v.data FROM aliases a JOIN vulnerabilities v ON v.id = a.id "
              "WHERE a.alias = ?1 ORDER BY v.id LIMIT 1",
              &connection->alias));
  return Ok();
}

Result<std::unique_ptr<Connection>> ConnectAndPrepare(const std::string& path) {
  MOAT_ASSIGN_OR_RETURN(auto connection, Connect(path));
  MOAT_TRY(Prepare(path, connection.get()));
  return connection;
}

std::string Column(sqlite3_stmt* stmt, int index) {
  const unsigned char* text = sqlite3_column_text(stmt, index);
  return text ? std::string(reinterpret_cast<const char*>(text),
                            static_cast<size_t>(sqlite3_column_bytes(stmt, index)))
              : std::string();
}

std::string_view BlobColumn(sqlite3_stmt* stmt, int index) {
  const void* data = sqlite3_column_blob(stmt, index);
  return data ? std::string_view(static_cast<const char*>(data),
                                 static_cast<size_t>(sqlite3_column_bytes(stmt, index)))
              : std::string_view();
}

class SqliteDatabase : public Database {
 public:
  SqliteDatabase(std::string path, Metadata metadata, std::unique_ptr<Connection> first)
      : path_(std::move(path)), metadata_(std::move(metadata)) {
    pool_.push_back(std::move(first));
  }

  Result<std::vector<AffectedPackage>> Lookup(std::string_view ns,
                                              std::string_view package) const override {
    MOAT_ASSIGN_OR_RETURN(auto connection, Acquire());
    sqlite3_stmt* stmt = connection->lookup;
    sqlite3_bind_text(stmt, 1, ns.data(), static_cast<int>(ns.size()), SQLITE_STATIC);
    sqlite3_bind_text(stmt, 2, package.data(), static_cast<int>(package.size()), SQLITE_STATIC);
    std::vector<AffectedPackage> out;
    int rc;
    Result<void> status = Ok();
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
      AffectedPackage record;
      record.vuln_id = Column(stmt, 0);
      int status_value = sqlite3_column_int(stmt, 1);
      record.ns = std::string(ns);
      record.package = std::string(package);
      record.severity = Column(stmt, 2);
      record.source = Column(stmt, 3);
      if (status_value < 0 || status_value > static_cast<int>(kLastStatus) ||
          !codec::DecodeAffected(BlobColumn(stmt, 4), record)) {
        status = Fail(path_, ": corrupt record for ", std::string(ns), "/", std::string(package),
                      " (", record.vuln_id, ")");
        break;
      }
      record.status = static_cast<Status>(status_value);
      out.push_back(std::move(record));
    }
    if (status.ok() && rc != SQLITE_DONE && rc != SQLITE_ROW) {
      status = Fail(path_, ": lookup failed: ", sqlite3_errmsg(connection->db));
    }
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
    Release(std::move(connection));
    if (!status.ok()) return status.error();
    return out;
  }

  Result<std::optional<Vulnerability>> Get(std::string_view id) const override {
    MOAT_ASSIGN_OR_RETURN(auto connection, Acquire());
    std::optional<Vulnerability> found;
    Result<void> status = Ok();
    for (sqlite3_stmt* stmt : {connection->get, connection->alias}) {
      sqlite3_bind_text(stmt, 1, id.data(), static_cast<int>(id.size()), SQLITE_STATIC);
      int rc = sqlite3_step(stmt);
      if (rc == SQLITE_ROW) {
        Vulnerability vuln;
        vuln.id = Column(stmt, 0);
        if (codec::DecodeVulnerability(BlobColumn(stmt, 1), vuln)) {
          found = std::move(vuln);
        } else {
          status = Fail(path_, ": corrupt vulnerability record ", std::string(id));
        }
      } else if (rc != SQLITE_DONE) {
        status = Fail(path_, ": query failed: ", sqlite3_errmsg(connection->db));
      }
      sqlite3_reset(stmt);
      sqlite3_clear_bindings(stmt);
      if (found || !status.ok()) break;
    }
    Release(std::move(connection));
    if (!status.ok()) return status.error();
    return found;
  }

  const Metadata& metadata() const override { return metadata_; }

 private:
  Result<std::unique_ptr<Connection>> Acquire() const {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!pool_.empty()) {
        auto connection = std::move(pool_.back());
        pool_.pop_back();
        return connection;
      }
    }
    return ConnectAndPrepare(path_);
  }
  void Release(std::unique_ptr<Connection> connection) const {
    std::lock_guard<std::mutex> lock(mutex_);
    pool_.push_back(std::move(connection));
  }

  std::string path_;
  Metadata metadata_;
  mutable std::mutex mutex_;
  mutable std::vector<std::unique_ptr<Connection>> pool_;
};

// The SQLite header tells the page size and page count: a file shorter than that was truncated
// (an interrupted copy), which SQLite itself would only notice on the missing pages.
Result<void> CheckHeader(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Fail(path, ": cannot open: ", std::strerror(errno));
  unsigned char header[100] = {};
  in.read(reinterpret_cast<char*>(header), sizeof header);
  if (in.gcount() < 100 || std::memcmp(header, "SQLite format 3\0", 16) != 0) {
    return Fail(path, ": not a Moat vulnerability database (not an SQLite file)");
  }
  uint32_t page_size = (header[16] << 8) | header[17];
  if (page_size == 1) page_size = 65536;
  uint32_t pages = (static_cast<uint32_t>(header[28]) << 24) | (header[29] << 16) |
                   (header[30] << 8) | header[31];
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return Fail(path, ": cannot stat");
  if (static_cast<uint64_t>(st.st_size) < static_cast<uint64_t>(page_size) * pages) {
    return Fail(path, ": truncated database (", std::to_string(st.st_size), " bytes, header says ",
                std::to_string(static_cast<uint64_t>(page_size) * pages), ")");
  }
  return Ok();
}

int PragmaInt(sqlite3* db, const char* sql, bool& ok) {
  sqlite3_stmt* stmt = nullptr;
  int value = 0;
  ok = sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr) == SQLITE_OK &&
       sqlite3_step(stmt) == SQLITE_ROW;
  if (ok) value = sqlite3_column_int(stmt, 0);
  sqlite3_finalize(stmt);
  return value;
}

Result<Metadata> ReadMetadata(const std::string& path, sqlite3* db, bool full) {
  bool ok = false;
  int application_id = PragmaInt(db, "PRAGMA application_id", ok);
  if (!ok) return Fail(path, ": corrupt database: ", sqlite3_errmsg(db));
  if (application_id != codec::kApplicationId) {
    return Fail(path, ": not a Moat vulnerability database (SQLite application_id ",
                std::to_string(application_id), ")");
  }
  int schema = PragmaInt(db, "PRAGMA user_version", ok);
  if (schema > codec::kSchemaVersion) {
    return Fail(path, ": database schema version ", std::to_string(schema),
                " is newer than this moat supports (", std::to_string(codec::kSchemaVersion),
                "); update moat or run `moat db update` with this version");
  }
  if (schema < 1) return Fail(path, ": unknown database schema version ", std::to_string(schema));
  if (full) {
    sqlite3_stmt* stmt = nullptr;
    std::string result;
    if (sqlite3_prepare_v2(db, "PRAGMA quick_check", -1, &stmt, nullptr) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW) {
      result = Column(stmt, 0);
    } else {
      result = sqlite3_errmsg(db);
    }
    sqlite3_finalize(stmt);
    if (result != "ok") return Fail(path, ": corrupt database: ", result);
  }
  Metadata metadata;
  metadata.schema_version = schema;
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db, "SELECT key, value FROM meta", -1, &stmt, nullptr) != SQLITE_OK) {
    return Fail(path, ": corrupt database: ", sqlite3_errmsg(db));
  }
  bool format_ok = false;
  int rc;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    std::string key = Column(stmt, 0);
    std::string value = Column(stmt, 1);
    if (key == "format") format_ok = value == "moat-vulndb";
    if (key == "built_at") metadata.built_at = value;
  }
  sqlite3_finalize(stmt);
  if (rc != SQLITE_DONE) return Fail(path, ": corrupt database: ", sqlite3_errmsg(db));
  if (!format_ok) return Fail(path, ": not a Moat vulnerability database (no format marker)");
  if (sqlite3_prepare_v2(db, "SELECT name, date, count FROM sources ORDER BY name", -1, &stmt,
                         nullptr) != SQLITE_OK) {
    return Fail(path, ": corrupt database: ", sqlite3_errmsg(db));
  }
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    metadata.sources.push_back(SourceInfo{Column(stmt, 0), Column(stmt, 1),
                                          static_cast<uint64_t>(sqlite3_column_int64(stmt, 2))});
  }
  sqlite3_finalize(stmt);
  if (rc != SQLITE_DONE) return Fail(path, ": corrupt database: ", sqlite3_errmsg(db));
  // The distinct namespaces, one index seek each (a skip scan of packages_by_name) rather than a
  // pass over every package.
  if (sqlite3_prepare_v2(db,
                         "WITH RECURSIVE n(ns) AS (SELECT MIN(ns) FROM packages UNION ALL "
                         "SELECT (SELECT MIN(ns) FROM packages WHERE ns > n.ns) FROM n "
                         "WHERE n.ns IS NOT NULL) SELECT ns FROM n WHERE ns IS NOT NULL",
                         -1, &stmt, nullptr) != SQLITE_OK) {
    return Fail(path, ": corrupt database: ", sqlite3_errmsg(db));
  }
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) metadata.namespaces.push_back(Column(stmt, 0));
  sqlite3_finalize(stmt);
  if (rc != SQLITE_DONE) return Fail(path, ": corrupt database: ", sqlite3_errmsg(db));
  return metadata;
}

}  // namespace

Result<void> VerifyDatabaseFile(const std::string& path, bool full) {
  MOAT_TRY(CheckHeader(path));
  MOAT_ASSIGN_OR_RETURN(auto connection, Connect(path));
  MOAT_ASSIGN_OR_RETURN(Metadata metadata, ReadMetadata(path, connection->db, full));
  (void)metadata;
  return Ok();
}

Result<std::unique_ptr<Database>> OpenDatabase(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return Fail(path, ": no vulnerability database here (run `moat db update` or `moat db build`)");
  }
  MOAT_TRY(CheckHeader(path));
  MOAT_ASSIGN_OR_RETURN(auto connection, Connect(path));
  MOAT_ASSIGN_OR_RETURN(Metadata metadata, ReadMetadata(path, connection->db, false));
  MOAT_TRY(Prepare(path, connection.get()));
  return std::unique_ptr<Database>(
      std::make_unique<SqliteDatabase>(path, std::move(metadata), std::move(connection)));
}

}  // namespace moat::vulndb
