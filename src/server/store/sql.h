#pragma once
// The SQL layer under the server's one store: a connection with two drivers, SQLite (WAL, one
// file, the default) and PostgreSQL (libpq, for replicas and workers). The store's queries are
// written once in the common subset of both dialects with $1..$N parameters; the SQLite driver
// binds $N as ?N. Neither sqlite3.h nor libpq-fe.h is included here.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/result.h"

namespace moat::server {

enum class SqlDialect { kSqlite, kPostgres };

/// NULL, integer, real or text (blobs are stored as text: hex, base64 or JSON).
using SqlValue = std::variant<std::monostate, int64_t, double, std::string>;

struct SqlRow {
  std::vector<SqlValue> values;

  bool IsNull(size_t column) const;
  /// Integer of a column (text holding a number is converted; NULL -> 0).
  int64_t Int(size_t column) const;
  double Real(size_t column) const;
  /// Text of a column (a number is formatted; NULL -> "").
  std::string Text(size_t column) const;
};

struct SqlRows {
  std::vector<std::string> columns;
  std::vector<SqlRow> rows;
  /// Rows changed by INSERT/UPDATE/DELETE.
  int64_t affected = 0;
};

class SqlConnection {
 public:
  virtual ~SqlConnection() = default;
  virtual SqlDialect dialect() const = 0;
  /// One statement with $1..$N parameters; returns its rows (RETURNING included). Statements
  /// are prepared once per connection and cached by their text. The error names the statement's
  /// first words and the driver's message.
  virtual Result<SqlRows> Query(std::string_view sql, const std::vector<SqlValue>& params = {}) = 0;
  /// Several statements without parameters (schema migrations).
  virtual Result<void> ExecScript(std::string_view sql) = 0;
  /// BEGIN (SQLite: BEGIN IMMEDIATE, so that two writers wait instead of failing late).
  virtual Result<void> Begin() = 0;
  virtual Result<void> Commit() = 0;
  virtual Result<void> Rollback() = 0;
};

/// "sqlite:PATH", a plain path (SQLite), or "postgres://..." / "postgresql://..." (libpq
/// connection URI). SQLite files are opened in WAL mode with synchronous=FULL (an acknowledged
/// commit survives kill -9 and power loss), foreign keys on and a busy timeout.
Result<std::unique_ptr<SqlConnection>> OpenSqlConnection(const std::string& url);

/// A fixed set of connections to one database, handed out one caller at a time.
class SqlPool {
 public:
  static Result<std::unique_ptr<SqlPool>> Open(const std::string& url, size_t size);
  ~SqlPool();
  SqlDialect dialect() const { return dialect_; }

  class Lease {
   public:
    Lease(SqlPool* pool, std::unique_ptr<SqlConnection> connection);
    Lease(Lease&&) noexcept;
    Lease& operator=(Lease&&) = delete;
    ~Lease();
    SqlConnection* operator->() const { return connection_.get(); }
    SqlConnection& operator*() const { return *connection_; }

   private:
    SqlPool* pool_;
    std::unique_ptr<SqlConnection> connection_;
  };
  /// Waits for a free connection.
  Lease Acquire();

 private:
  struct State;
  explicit SqlPool(SqlDialect dialect);
  SqlDialect dialect_;
  std::unique_ptr<State> state_;
};

/// True for PostgreSQL serialization failures/deadlocks (40001, 40P01) and SQLite BUSY/LOCKED:
/// the drivers put "[retryable]" in such messages.
bool IsRetryableSqlError(const Error& error);

/// Runs fn inside BEGIN..COMMIT on one connection; rolls back when fn fails. Retries the whole
/// transaction a few times on a serialization failure or deadlock (PostgreSQL) / busy (SQLite).
template <typename Fn>
auto InTransaction(SqlConnection& connection, Fn&& fn) -> decltype(fn(connection));

/// Applies the numbered migrations that the database has not seen yet, each in its own
/// transaction, recording them in schema_migrations(version, applied_at). Concurrent replicas
/// starting together apply each migration once (PostgreSQL: an advisory lock).
struct Migration {
  int version;
  std::string name;
  std::string sql;           // common to both dialects
  std::string sqlite_sql;    // when non-empty, replaces sql on SQLite
  std::string postgres_sql;  // when non-empty, replaces sql on PostgreSQL
};
Result<void> Migrate(SqlConnection& connection, const std::vector<Migration>& migrations);

// ---------------------------------------------------------------------------------------------

template <typename Fn>
auto InTransaction(SqlConnection& connection, Fn&& fn) -> decltype(fn(connection)) {
  for (int attempt = 0;; ++attempt) {
    MOAT_TRY(connection.Begin());
    auto result = fn(connection);
    if (result.ok()) {
      auto committed = connection.Commit();
      if (committed.ok()) return result;
      (void)connection.Rollback();
      if (attempt < 4 && IsRetryableSqlError(committed.error())) continue;
      return committed.error();
    }
    (void)connection.Rollback();
    if (attempt < 4 && IsRetryableSqlError(result.error())) continue;
    return result;
  }
}


}  // namespace moat::server
