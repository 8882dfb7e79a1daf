// The SQLite package database of rpm 4.16+ (rpmdb.sqlite): table Packages(hnum, blob), one
// header blob per row. The file's bytes are handed to SQLite as an in-memory, read-only database;
// nothing touches the disk. SQLite reports corrupt files as SQLITE_CORRUPT rather than crashing;
// we also run it in defensive mode, without trusting the schema, and with a step budget so a
// hostile schema cannot keep it busy forever.

#include <sqlite3.h>

#include <cstring>
#include <memory>
#include <string>

#include "analyzer/rpm/rpm_db.h"

namespace moat::rpm {
namespace {

constexpr char kSqliteMagic[] = "SQLite format 3";  // 16 bytes with its NUL
constexpr size_t kSqliteHeaderSize = 100;
// Offsets of the file format write/read versions: 2 means WAL mode.
constexpr size_t kWriteVersionOffset = 18;
constexpr size_t kReadVersionOffset = 19;

// The progress handler runs every kProgressInterval virtual machine steps; reading a Packages
// table takes a few steps per row, so this budget (about 10^9 steps) is never met by a real one.
constexpr int kProgressInterval = 1000;
constexpr int kMaxProgressCalls = 1000000;

struct SqliteCloser {
  void operator()(sqlite3* db) const { sqlite3_close(db); }
};
struct StatementFinalizer {
  void operator()(sqlite3_stmt* statement) const { sqlite3_finalize(statement); }
};

int CountProgress(void* calls) {
  int* count = static_cast<int*>(calls);
  return ++*count > kMaxProgressCalls ? 1 : 0;
}

Error SqliteError(sqlite3* db, const std::string& what) {
  return Fail("sqlite: ", what, ": ", sqlite3_errmsg(db), " (code ",
              std::to_string(sqlite3_extended_errcode(db)), ")");
}

}  // namespace

Result<void> ReadSqliteRpmDb(ByteSpan content, RpmRecordSink& sink) {
  if (content.size() < kSqliteHeaderSize ||
      std::memcmp(content.data(), kSqliteMagic, sizeof(kSqliteMagic)) != 0) {
    return Fail("offset 0: not a SQLite database");
  }
  sqlite3* raw_db = nullptr;
  int rc =
      sqlite3_open_v2(":memory:", &raw_db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr);
  std::unique_ptr<sqlite3, SqliteCloser> db(raw_db);
  if (rc != SQLITE_OK) {
    if (!db) return Fail("sqlite: cannot open an in-memory database");
    return SqliteError(db.get(), "open");
  }
  sqlite3_db_config(db.get(), SQLITE_DBCONFIG_DEFENSIVE, 1, nullptr);
  sqlite3_db_config(db.get(), SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, nullptr);
  sqlite3_db_config(db.get(), SQLITE_DBCONFIG_ENABLE_TRIGGER, 0, nullptr);
  sqlite3_db_config(db.get(), SQLITE_DBCONFIG_ENABLE_VIEW, 0, nullptr);

  // SQLite owns (and frees) the copy. rpm keeps its database in WAL mode; the in-memory VFS
  // cannot open a WAL-mode file, and the -wal file is not available anyway, so the copy is marked
  // as a rollback-journal database. Changes still in the WAL are not seen, as with rpm -qa on
  // the main file alone after a checkpoint-less crash.
  auto* copy = static_cast<unsigned char*>(sqlite3_malloc64(content.size()));
  if (copy == nullptr)
    return Fail("sqlite: out of memory for ", std::to_string(content.size()), " bytes");
  std::memcpy(copy, content.data(), content.size());
  if (copy[kWriteVersionOffset] == 2) copy[kWriteVersionOffset] = 1;
  if (copy[kReadVersionOffset] == 2) copy[kReadVersionOffset] = 1;
  rc = sqlite3_deserialize(db.get(), "main", copy, static_cast<sqlite3_int64>(content.size()),
                           static_cast<sqlite3_int64>(content.size()),
                           SQLITE_DESERIALIZE_FREEONCLOSE | SQLITE_DESERIALIZE_READONLY);
  if (rc != SQLITE_OK) return SqliteError(db.get(), "load database");

  int progress_calls = 0;
  sqlite3_progress_handler(db.get(), kProgressInterval, CountProgress, &progress_calls);

  sqlite3_stmt* raw_statement = nullptr;
  rc = sqlite3_prepare_v2(db.get(), "SELECT hnum, blob FROM Packages", -1, &raw_statement, nullptr);
  std::unique_ptr<sqlite3_stmt, StatementFinalizer> statement(raw_statement);
  if (rc != SQLITE_OK) return SqliteError(db.get(), "query Packages table");

  while ((rc = sqlite3_step(statement.get())) == SQLITE_ROW) {
    const sqlite3_int64 hnum = sqlite3_column_int64(statement.get(), 0);
    const std::string id = "hnum " + std::to_string(hnum);
    if (sqlite3_column_type(statement.get(), 1) != SQLITE_BLOB) {
      sink.OnDamage("sqlite: Packages row " + id + ": blob column is not a BLOB");
      continue;
    }
    const void* data = sqlite3_column_blob(statement.get(), 1);
    const int size = sqlite3_column_bytes(statement.get(), 1);
    if (size < 0 || (data == nullptr && size != 0)) {
      sink.OnDamage("sqlite: Packages row " + id + ": unreadable blob");
      continue;
    }
    sink.OnRecord(RpmDbRecord{
        id, std::nullopt, ByteSpan(static_cast<const uint8_t*>(data), static_cast<size_t>(size))});
  }
  if (rc == SQLITE_INTERRUPT) {
    return Fail("sqlite: reading the Packages table exceeded the step budget");
  }
  if (rc != SQLITE_DONE) return SqliteError(db.get(), "read Packages table");
  return Ok();
}

}  // namespace moat::rpm
