// The driver-independent part of the SQL layer: row accessors, connection URLs, the pool and
// schema migrations.

#include "server/store/sql.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <condition_variable>
#include <ctime>
#include <mutex>
#include <string>
#include <utility>

#include "core/check.h"
#include "core/log.h"
#include "server/store/sql_driver.h"

namespace moat::server {

// ---------------------------------------------------------------------------------------------
// Rows

namespace {

// The shortest text that reads back as the same double (what PostgreSQL prints, too).
std::string FormatReal(double value) {
  char buffer[32];
  auto [end, error] = std::to_chars(buffer, buffer + sizeof(buffer), value);
  MOAT_CHECK(error == std::errc());
  return std::string(buffer, end);
}

}  // namespace

bool SqlRow::IsNull(size_t column) const {
  MOAT_CHECK(column < values.size());
  return std::holds_alternative<std::monostate>(values[column]);
}

int64_t SqlRow::Int(size_t column) const {
  MOAT_CHECK(column < values.size());
  const SqlValue& value = values[column];
  if (const auto* integer = std::get_if<int64_t>(&value)) return *integer;
  if (const auto* real = std::get_if<double>(&value)) return static_cast<int64_t>(*real);
  if (const auto* text = std::get_if<std::string>(&value)) {
    int64_t parsed = 0;
    std::from_chars(text->data(), text->data() + text->size(), parsed);
    return parsed;
  }
  return 0;
}

double SqlRow::Real(size_t column) const {
  MOAT_CHECK(column < values.size());
  const SqlValue& value = values[column];
  if (const auto* real = std::get_if<double>(&value)) return *real;
  if (const auto* integer = std::get_if<int64_t>(&value)) return static_cast<double>(*integer);
  if (const auto* text = std::get_if<std::string>(&value)) {
    double parsed = 0;
    std::from_chars(text->data(), text->data() + text->size(), parsed);
    return parsed;
  }
  return 0;
}

std::string SqlRow::Text(size_t column) const {
  MOAT_CHECK(column < values.size());
  const SqlValue& value = values[column];
  if (const auto* text = std::get_if<std::string>(&value)) return *text;
  if (const auto* integer = std::get_if<int64_t>(&value)) return std::to_string(*integer);
  if (const auto* real = std::get_if<double>(&value)) return FormatReal(*real);
  return "";
}

// ---------------------------------------------------------------------------------------------
// Helpers shared by the drivers

namespace sql_internal {

std::string StatementLabel(std::string_view sql) {
  constexpr size_t kMaxLength = 60;
  std::string label;
  bool pending_space = false;
  for (char c : sql) {
    if (std::isspace(static_cast<unsigned char>(c))) {
      pending_space = !label.empty();
      continue;
    }
    if (pending_space) label += ' ';
    pending_space = false;
    if (label.size() >= kMaxLength) return label + "...";
    label += c;
  }
  return label;
}

std::string SqliteParameters(std::string_view sql) {
  std::string out;
  out.reserve(sql.size());
  size_t i = 0;
  // Copies up to and including `terminator` (or to the end), starting after the opening
  // character at i.
  auto copy_until = [&](std::string_view terminator) {
    size_t end = sql.find(terminator, i + 1);
    end = end == std::string_view::npos ? sql.size() : end + terminator.size();
    out.append(sql.substr(i, end - i));
    i = end;
  };
  while (i < sql.size()) {
    char c = sql[i];
    if (c == '\'') {
      copy_until("'");  // '' inside a literal is two literals back to back: same result
    } else if (c == '"') {
      copy_until("\"");
    } else if (c == '-' && i + 1 < sql.size() && sql[i + 1] == '-') {
      copy_until("\n");
    } else if (c == '/' && i + 1 < sql.size() && sql[i + 1] == '*') {
      copy_until("*/");
    } else if (c == '$' && i + 1 < sql.size() &&
               std::isdigit(static_cast<unsigned char>(sql[i + 1]))) {
      out += '?';
      ++i;
    } else {
      out += c;
      ++i;
    }
  }
  return out;
}

std::string MaskPassword(std::string_view url) {
  std::string masked(url);
  size_t scheme_end = masked.find("://");
  if (scheme_end != std::string::npos) {
    size_t authority = scheme_end + 3;
    size_t authority_end = masked.find_first_of("/?#", authority);
    if (authority_end == std::string::npos) authority_end = masked.size();
    size_t at = masked.rfind('@', authority_end);
    if (at != std::string::npos && at >= authority) {
      size_t colon = masked.find(':', authority);
      if (colon != std::string::npos && colon < at)
        masked.replace(colon + 1, at - colon - 1, "***");
    }
  }
  for (size_t pos = masked.find("password="); pos != std::string::npos;
       pos = masked.find("password=", pos + 1)) {
    size_t value = pos + 9;
    size_t end = masked.find_first_of("& ", value);
    if (end == std::string::npos) end = masked.size();
    masked.replace(value, end - value, "***");
  }
  return masked;
}

}  // namespace sql_internal

// ---------------------------------------------------------------------------------------------
// Connections

Result<std::unique_ptr<SqlConnection>> OpenSqlConnection(const std::string& url) {
  std::string_view view = url;
  if (view.starts_with("postgres://") || view.starts_with("postgresql://")) {
    return sql_internal::OpenPostgres(url, sql_internal::MaskPassword(url));
  }
  std::string_view path = view;
  if (view.starts_with("sqlite://")) {
    path = view.substr(9);  // sqlite:///var/lib/moat/store.db
  } else if (view.starts_with("sqlite:")) {
    path = view.substr(7);
  } else if (view.find("://") != std::string_view::npos) {
    return Fail("store ", sql_internal::MaskPassword(url),
                ": unknown database kind (want sqlite:PATH, a file path, postgres://...)");
  }
  if (path.empty()) return Fail("store \"", url, "\": no SQLite file path");
  return sql_internal::OpenSqlite(std::string(path));
}

bool IsRetryableSqlError(const Error& error) {
  return error.message.find(sql_internal::kRetryableTag) != std::string::npos;
}

// ---------------------------------------------------------------------------------------------
// Pool

struct SqlPool::State {
  std::mutex mutex;
  std::condition_variable returned;
  std::vector<std::unique_ptr<SqlConnection>> idle;
};

SqlPool::SqlPool(SqlDialect dialect) : dialect_(dialect), state_(std::make_unique<State>()) {}

SqlPool::~SqlPool() = default;

Result<std::unique_ptr<SqlPool>> SqlPool::Open(const std::string& url, size_t size) {
  if (size == 0) return Fail("store ", sql_internal::MaskPassword(url), ": pool of 0 connections");
  std::unique_ptr<SqlPool> pool;
  for (size_t i = 0; i < size; ++i) {
    MOAT_ASSIGN_OR_RETURN(auto connection, OpenSqlConnection(url));
    if (!pool) pool.reset(new SqlPool(connection->dialect()));
    pool->state_->idle.push_back(std::move(connection));
  }
  return pool;
}

SqlPool::Lease SqlPool::Acquire() {
  std::unique_lock lock(state_->mutex);
  state_->returned.wait(lock, [this] { return !state_->idle.empty(); });
  std::unique_ptr<SqlConnection> connection = std::move(state_->idle.back());
  state_->idle.pop_back();
  return Lease(this, std::move(connection));
}

SqlPool::Lease::Lease(SqlPool* pool, std::unique_ptr<SqlConnection> connection)
    : pool_(pool), connection_(std::move(connection)) {}

SqlPool::Lease::Lease(Lease&& other) noexcept
    : pool_(std::exchange(other.pool_, nullptr)), connection_(std::move(other.connection_)) {}

SqlPool::Lease::~Lease() {
  if (pool_ == nullptr || connection_ == nullptr) return;
  {
    std::lock_guard lock(pool_->state_->mutex);
    pool_->state_->idle.push_back(std::move(connection_));
  }
  pool_->state_->returned.notify_one();
}

// ---------------------------------------------------------------------------------------------
// Migrations

namespace {

// pg_advisory_lock key that serialises migration runs of every replica on one database
// ("moat" in ASCII, then "mig").
constexpr int64_t kMigrationLockKey = 0x6d6f6174'006d6967;

std::string UtcNow() {
  std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char text[32];
  std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

Result<void> ApplyMigrations(SqlConnection& connection,
                             const std::vector<const Migration*>& ordered) {
  MOAT_TRY(connection.ExecScript(
      "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, "
      "name TEXT NOT NULL, applied_at TEXT NOT NULL)"));
  int64_t known = ordered.empty() ? 0 : ordered.back()->version;
  MOAT_ASSIGN_OR_RETURN(auto newest,
                        connection.Query("SELECT MAX(version) FROM schema_migrations"));
  int64_t recorded = newest.rows.empty() ? 0 : newest.rows[0].Int(0);
  if (recorded > known) {
    return Fail("database schema version ", std::to_string(recorded), " is newer than this moat (",
                std::to_string(known), "); upgrade moat");
  }
  for (const Migration* migration : ordered) {
    bool postgres = connection.dialect() == SqlDialect::kPostgres;
    const std::string& specific = postgres ? migration->postgres_sql : migration->sqlite_sql;
    const std::string& script = specific.empty() ? migration->sql : specific;
    // The check is inside the transaction: on SQLite, BEGIN IMMEDIATE is what makes a second
    // process starting at the same time see the first one's migration.
    auto applied = InTransaction(connection, [&](SqlConnection& tx) -> Result<bool> {
      MOAT_ASSIGN_OR_RETURN(auto seen,
                            tx.Query("SELECT 1 FROM schema_migrations WHERE version = $1",
                                     {int64_t{migration->version}}));
      if (!seen.rows.empty()) return false;
      MOAT_TRY(tx.ExecScript(script));
      MOAT_TRY(
          tx.Query("INSERT INTO schema_migrations (version, name, applied_at) "
                   "VALUES ($1, $2, $3)",
                   {int64_t{migration->version}, migration->name, UtcNow()}));
      return true;
    });
    if (!applied.ok()) {
      return applied.error().Wrap("migration " + std::to_string(migration->version) + " (" +
                                  migration->name + ")");
    }
    if (*applied) {
      log::Info("store: applied migration " + std::to_string(migration->version) + " (" +
                migration->name + ")");
    }
  }
  return Ok();
}

}  // namespace

Result<void> Migrate(SqlConnection& connection, const std::vector<Migration>& migrations) {
  std::vector<const Migration*> ordered;
  for (const Migration& migration : migrations) ordered.push_back(&migration);
  std::sort(ordered.begin(), ordered.end(),
            [](const Migration* a, const Migration* b) { return a->version < b->version; });
  for (size_t i = 0; i < ordered.size(); ++i) {
    MOAT_CHECK(ordered[i]->version > 0);
    MOAT_CHECK(i == 0 || ordered[i - 1]->version != ordered[i]->version);
  }
  if (connection.dialect() != SqlDialect::kPostgres) return ApplyMigrations(connection, ordered);
  // Session-level lock: held across the per-migration transactions, released even on failure.
  MOAT_TRY(connection.Query("SELECT pg_advisory_lock($1)", {kMigrationLockKey}));
  Result<void> result = ApplyMigrations(connection, ordered);
  auto unlocked = connection.Query("SELECT pg_advisory_unlock($1)", {kMigrationLockKey});
  if (result.ok() && !unlocked.ok()) return unlocked.error();
  return result;
}

}  // namespace moat::server
