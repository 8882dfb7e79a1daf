#include "vulndb/diff.h"

#include <sqlite3.h>

#include <memory>

#include "vulndb/build.h"
#include "vulndb/codec.h"

namespace moat::vulndb {

namespace {

// One row per (key, record): the record's columns and the data of the vulnerability it names
// (directly, or through an alias as Database::Get resolves it). The sequence number is left out:
// records reordered by a rebuild are not a change.
std::string RecordRows(const std::string& schema) {
  return "SELECT p.ns, p.name, a.vuln_id, a.status, a.severity, a.source, a.data, "
         "COALESCE((SELECT v.data FROM " +
         schema +
         ".vulnerabilities v WHERE v.id = a.vuln_id), "
         "(SELECT v.data FROM " +
         schema + ".aliases l JOIN " + schema +
         ".vulnerabilities v ON v.id = l.id WHERE l.alias = a.vuln_id ORDER BY v.id LIMIT 1)) "
         "FROM " +
         schema + ".packages p JOIN " + schema + ".affected a ON a.package_id = p.id";
}

struct SqliteCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct StatementFinalizer {
  void operator()(sqlite3_stmt* stmt) const { sqlite3_finalize(stmt); }
};

}  // namespace

Result<std::vector<std::pair<std::string, std::string>>> ChangedPackages(
    const std::string& old_path, const std::string& new_path) {
  // Both files are checked first: SQLite would otherwise create an empty database for a missing
  // one, and every key would look added.
  MOAT_TRY(VerifyDatabaseFile(old_path, false));
  MOAT_TRY(VerifyDatabaseFile(new_path, false));
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(codec::ImmutableUri(new_path).c_str(), &raw,
                           SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, nullptr);
  std::unique_ptr<sqlite3, SqliteCloser> db(raw);
  if (rc != SQLITE_OK) {
    return Fail(new_path, ": cannot open: ", raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc));
  }
  auto fail = [&db](const std::string& what) {
    return Fail("comparing vulnerability databases: ", what, ": ", sqlite3_errmsg(db.get()));
  };
  {
    sqlite3_stmt* attach = nullptr;
    if (sqlite3_prepare_v2(db.get(), "ATTACH DATABASE ?1 AS old", -1, &attach, nullptr) !=
        SQLITE_OK) {
      return fail("ATTACH");
    }
    std::unique_ptr<sqlite3_stmt, StatementFinalizer> finalize(attach);
    const std::string uri = codec::ImmutableUri(old_path);
    sqlite3_bind_text(attach, 1, uri.c_str(), static_cast<int>(uri.size()), SQLITE_TRANSIENT);
    if (sqlite3_step(attach) != SQLITE_DONE) return fail(old_path);
  }
  const std::string now = RecordRows("main");
  const std::string before = RecordRows("old");
  const std::string sql = "SELECT ns, name FROM (" + now + " EXCEPT " + before +
                          ") UNION SELECT ns, name FROM (" + before + " EXCEPT " + now +
                          ") ORDER BY 1, 2";
  sqlite3_stmt* raw_stmt = nullptr;
  if (sqlite3_prepare_v2(db.get(), sql.c_str(), -1, &raw_stmt, nullptr) != SQLITE_OK) {
    return fail("query");
  }
  std::unique_ptr<sqlite3_stmt, StatementFinalizer> stmt(raw_stmt);
  std::vector<std::pair<std::string, std::string>> keys;
  while ((rc = sqlite3_step(raw_stmt)) == SQLITE_ROW) {
    auto text = [raw_stmt](int column) {
      const unsigned char* value = sqlite3_column_text(raw_stmt, column);
      return value ? std::string(reinterpret_cast<const char*>(value),
                                 static_cast<size_t>(sqlite3_column_bytes(raw_stmt, column)))
                   : std::string();
    };
    keys.emplace_back(text(0), text(1));
  }
  if (rc != SQLITE_DONE) return fail("query");
  return keys;
}

}  // namespace moat::vulndb
