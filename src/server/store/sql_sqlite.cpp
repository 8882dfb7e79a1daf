// The SQLite driver: one file in WAL mode, synchronous=FULL, statements cached by their text.

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <unordered_map>
#include <utility>

#include "server/store/sql_driver.h"

namespace moat::server::sql_internal {

namespace {

// A writer waits this long for another connection's transaction before SQLITE_BUSY.
constexpr int kBusyTimeoutMs = 10'000;

class SqliteConnection final : public SqlConnection {
 public:
  SqliteConnection(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  ~SqliteConnection() override {
    for (auto& [sql, statement] : statements_) sqlite3_finalize(statement);
    sqlite3_close(db_);
  }

  SqlDialect dialect() const override { return SqlDialect::kSqlite; }

  Result<void> Configure() {
    sqlite3_busy_timeout(db_, kBusyTimeoutMs);
    MOAT_ASSIGN_OR_RETURN(auto journal, Query("PRAGMA journal_mode=WAL", {}));
    std::string mode = journal.rows.empty() ? "" : journal.rows[0].Text(0);
    // An in-memory database reports "memory"; a file that cannot do WAL (some network file
    // systems) keeps "delete", which would make readers block writers: refuse it.
    if (mode != "wal" && mode != "memory") {
      return Fail("SQLite ", path_, ": cannot use WAL journal mode (got \"", mode, "\")");
    }
    // FULL: the WAL is synced at every commit, so an acknowledged commit survives power loss
    // (NORMAL would only survive a crash of the process).
    return ExecScript("PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;");
  }

  Result<SqlRows> Query(std::string_view sql, const std::vector<SqlValue>& params) override {
    MOAT_ASSIGN_OR_RETURN(sqlite3_stmt * statement, Prepare(sql));
    // Leaves the statement reset and unbound whatever happens, so that it holds no read
    // snapshot and keeps no copy of the parameters.
    struct Reset {
      sqlite3_stmt* statement;
      ~Reset() {
        sqlite3_reset(statement);
        sqlite3_clear_bindings(statement);
      }
    } reset{statement};

    int expected = sqlite3_bind_parameter_count(statement);
    if (static_cast<size_t>(expected) != params.size()) {
      return Fail("SQL \"", StatementLabel(sql), "\": ", std::to_string(params.size()),
                  " parameters given, the statement has ", std::to_string(expected));
    }
    for (size_t i = 0; i < params.size(); ++i) {
      int index = static_cast<int>(i) + 1;
      int rc = SQLITE_OK;
      if (const auto* integer = std::get_if<int64_t>(&params[i])) {
        rc = sqlite3_bind_int64(statement, index, *integer);
      } else if (const auto* real = std::get_if<double>(&params[i])) {
        rc = sqlite3_bind_double(statement, index, *real);
      } else if (const auto* text = std::get_if<std::string>(&params[i])) {
        rc = sqlite3_bind_text64(statement, index, text->data(), text->size(), SQLITE_STATIC,
                                 SQLITE_UTF8);
      } else {
        rc = sqlite3_bind_null(statement, index);
      }
      if (rc != SQLITE_OK) return Failure(sql);
    }

    SqlRows result;
    int columns = sqlite3_column_count(statement);
    for (int c = 0; c < columns; ++c)
      result.columns.emplace_back(sqlite3_column_name(statement, c));
    int64_t changes_before = sqlite3_total_changes64(db_);
    for (;;) {
      int rc = sqlite3_step(statement);
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW) return Failure(sql);
      SqlRow& row = result.rows.emplace_back();
      row.values.reserve(columns);
      for (int c = 0; c < columns; ++c) row.values.push_back(Column(statement, c));
    }
    // sqlite3_changes64 keeps the count of the last INSERT/UPDATE/DELETE: only report it when
    // this statement changed something.
    if (sqlite3_total_changes64(db_) != changes_before) result.affected = sqlite3_changes64(db_);
    return result;
  }

  Result<void> ExecScript(std::string_view sql) override {
    char* message = nullptr;
    std::string script(sql);
    int rc = sqlite3_exec(db_, script.c_str(), nullptr, nullptr, &message);
    if (rc == SQLITE_OK) return Ok();
    std::string text = message != nullptr ? message : sqlite3_errstr(rc);
    sqlite3_free(message);
    return Fail("SQLite ", path_, ": SQL \"", StatementLabel(sql), "\": ", text,
                Retryable(sqlite3_extended_errcode(db_)));
  }

  Result<void> Begin() override { return Statement("BEGIN IMMEDIATE"); }
  Result<void> Commit() override { return Statement("COMMIT"); }
  Result<void> Rollback() override { return Statement("ROLLBACK"); }

 private:
  Result<void> Statement(std::string_view sql) {
    MOAT_TRY(Query(sql, {}));
    return Ok();
  }

  Result<sqlite3_stmt*> Prepare(std::string_view sql) {
    std::string key(sql);
    auto found = statements_.find(key);
    if (found != statements_.end()) return found->second;
    std::string translated = SqliteParameters(sql);
    sqlite3_stmt* statement = nullptr;
    const char* tail = nullptr;
    int rc = sqlite3_prepare_v3(db_, translated.data(), static_cast<int>(translated.size()),
                                SQLITE_PREPARE_PERSISTENT, &statement, &tail);
    if (rc != SQLITE_OK) return Failure(sql);
    if (statement == nullptr) return Fail("SQL \"", StatementLabel(sql), "\": no statement");
    std::string_view rest(tail, translated.data() + translated.size() - tail);
    if (rest.find_first_not_of(" \t\r\n;") != std::string_view::npos) {
      sqlite3_finalize(statement);
      return Fail("SQL \"", StatementLabel(sql), "\": more than one statement (use ExecScript)");
    }
    statements_.emplace(std::move(key), statement);
    return statement;
  }

  static SqlValue Column(sqlite3_stmt* statement, int column) {
    switch (sqlite3_column_type(statement, column)) {
      case SQLITE_INTEGER:
        return int64_t{sqlite3_column_int64(statement, column)};
      case SQLITE_FLOAT:
        return sqlite3_column_double(statement, column);
      case SQLITE_NULL:
        return std::monostate{};
      default: {  // TEXT, and a BLOB read as its bytes
        const auto* data = static_cast<const char*>(sqlite3_column_blob(statement, column));
        int size = sqlite3_column_bytes(statement, column);
        return std::string(data == nullptr ? "" : data, static_cast<size_t>(size));
      }
    }
  }

  static std::string_view Retryable(int code) {
    int primary = code & 0xff;
    return primary == SQLITE_BUSY || primary == SQLITE_LOCKED ? " [retryable]" : "";
  }

  // sqlite3_errmsg and the extended code describe the last failure on this connection.
  Error Failure(std::string_view sql) {
    return Fail("SQLite ", path_, ": SQL \"", StatementLabel(sql), "\": ", sqlite3_errmsg(db_),
                Retryable(sqlite3_extended_errcode(db_)));
  }

  sqlite3* db_;
  std::string path_;
  std::unordered_map<std::string, sqlite3_stmt*> statements_;
};

}  // namespace

Result<std::unique_ptr<SqlConnection>> OpenSqlite(const std::string& path) {
  // The store holds token hashes, the audit log and encrypted registry credentials: readable by
  // its owner only. SQLite gives the -wal and -shm files the database file's mode, so creating
  // the file first with 0600 covers all three.
  if (path != ":memory:" && path.rfind("file:", 0) != 0) {
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return Fail("SQLite ", path, ": ", std::strerror(errno));
    ::close(fd);
  }
  sqlite3* db = nullptr;
  // NOMUTEX: the pool gives a connection to one thread at a time.
  int rc = sqlite3_open_v2(
      path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string message = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close(db);
    return Fail("SQLite ", path, ": ", message);
  }
  sqlite3_extended_result_codes(db, 1);
  auto connection = std::make_unique<SqliteConnection>(db, path);
  MOAT_TRY(connection->Configure());
  return std::unique_ptr<SqlConnection>(std::move(connection));
}

}  // namespace moat::server::sql_internal
