// The PostgreSQL driver (libpq): statements prepared once per connection, parameters in text
// format, result columns typed from their type oids.

#include <libpq-fe.h>

#include <charconv>
#include <cstdio>
#include <cstring>
#include <string>
#include <unordered_map>
#include <utility>

#include "server/store/sql_driver.h"

namespace moat::server::sql_internal {

namespace {

// Type oids (src/include/catalog/pg_type.dat).
constexpr Oid kBoolOid = 16;
constexpr Oid kInt8Oid = 20;
constexpr Oid kInt2Oid = 21;
constexpr Oid kInt4Oid = 23;
constexpr Oid kFloat4Oid = 700;
constexpr Oid kFloat8Oid = 701;
constexpr Oid kNumericOid = 1700;

// A PGresult freed on scope exit.
struct ResultDeleter {
  void operator()(PGresult* result) const { PQclear(result); }
};
using PgResult = std::unique_ptr<PGresult, ResultDeleter>;

bool Succeeded(const PGresult* result) {
  ExecStatusType status = PQresultStatus(result);
  return status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK || status == PGRES_EMPTY_QUERY;
}

// Removes the trailing newline libpq puts after its messages.
std::string Trimmed(const char* message) {
  std::string text = message != nullptr ? message : "";
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

SqlValue ColumnValue(const PGresult* result, int row, int column) {
  if (PQgetisnull(result, row, column)) return std::monostate{};
  const char* text = PQgetvalue(result, row, column);
  size_t size = static_cast<size_t>(PQgetlength(result, row, column));
  const char* end = text + size;
  switch (PQftype(result, column)) {
    case kInt2Oid:
    case kInt4Oid:
    case kInt8Oid: {
      int64_t value = 0;
      std::from_chars(text, end, value);
      return value;
    }
    case kBoolOid:
      return int64_t{text[0] == 't' ? 1 : 0};
    case kNumericOid: {
      // SUM(BIGINT) and friends are NUMERIC: keep whole numbers integers, as SQLite does.
      int64_t integer = 0;
      auto [stop, error] = std::from_chars(text, end, integer);
      if (error == std::errc() && stop == end) return integer;
      [[fallthrough]];
    }
    case kFloat4Oid:
    case kFloat8Oid: {
      double value = 0;
      std::from_chars(text, end, value);  // also reads NaN, Infinity, -Infinity
      return value;
    }
    default:
      return std::string(text, size);
  }
}

class PostgresConnection final : public SqlConnection {
 public:
  PostgresConnection(PGconn* connection, std::string label)
      : connection_(connection), label_(std::move(label)) {}
  ~PostgresConnection() override { PQfinish(connection_); }

  SqlDialect dialect() const override { return SqlDialect::kPostgres; }

  // Per session, so again after every reconnection.
  Result<void> Configure() {
    PgResult result(PQexec(connection_, "SET client_min_messages = warning"));
    if (!Succeeded(result.get())) return Failure("SET client_min_messages", result.get());
    return Ok();
  }

  Result<SqlRows> Query(std::string_view sql, const std::vector<SqlValue>& params) override {
    return Reconnecting([&] { return Execute(sql, params); });
  }

  Result<void> ExecScript(std::string_view sql) override {
    auto ran = Reconnecting([&]() -> Result<SqlRows> {
      PgResult result(PQexec(connection_, std::string(sql).c_str()));
      if (!Succeeded(result.get())) return Failure(sql, result.get());
      return SqlRows{};
    });
    if (!ran.ok()) return ran.error();
    return Ok();
  }

  Result<void> Begin() override {
    MOAT_TRY(Query("BEGIN", {}));
    in_transaction_ = true;
    return Ok();
  }

  Result<void> Commit() override {
    bool aborted = PQtransactionStatus(connection_) == PQTRANS_INERROR;
    in_transaction_ = false;
    auto committed = Execute("COMMIT", {});
    if (!committed.ok()) {
      if (PQstatus(connection_) != CONNECTION_OK) {
        return Fail("PostgreSQL ", label_,
                    ": connection lost during COMMIT; the transaction may or may not have been "
                    "committed: ",
                    committed.error().message);
      }
      return committed.error();
    }
    // COMMIT of a transaction in which a statement failed succeeds as a ROLLBACK.
    if (aborted) {
      return Fail("PostgreSQL ", label_,
                  ": COMMIT rolled back the transaction, in which a statement had failed");
    }
    return Ok();
  }

  Result<void> Rollback() override {
    in_transaction_ = false;
    // A lost connection has lost its transaction with it.
    if (PQstatus(connection_) != CONNECTION_OK) return Reconnect();
    MOAT_TRY(Execute("ROLLBACK", {}));
    return Ok();
  }

 private:
  // Runs `run`; when the connection is found lost outside a transaction, reconnects once and
  // runs it again (a server restart or an idle connection closed by a proxy costs nothing).
  template <typename Run>
  Result<SqlRows> Reconnecting(Run&& run) {
    if (PQstatus(connection_) != CONNECTION_OK) {
      if (in_transaction_) return Fail("PostgreSQL ", label_, ": connection lost in a transaction");
      MOAT_TRY(Reconnect());
    }
    auto result = run();
    if (result.ok() || PQstatus(connection_) == CONNECTION_OK || in_transaction_) return result;
    MOAT_TRY(Reconnect());
    return run();
  }

  Result<void> Reconnect() {
    PQreset(connection_);
    statements_.clear();  // prepared statements die with the session
    if (PQstatus(connection_) != CONNECTION_OK) {
      return Fail("PostgreSQL ", label_, ": reconnecting: ", Trimmed(PQerrorMessage(connection_)));
    }
    return Configure();
  }

  Result<SqlRows> Execute(std::string_view sql, const std::vector<SqlValue>& params) {
    // Integers and reals are sent typed, so that "$1 - 86400" or "$1 + 1" is BIGINT arithmetic
    // (an untyped parameter would be INTEGER and overflow on nanosecond times); text and NULL
    // take their type from the context. One statement per text and parameter types.
    std::string key(sql);
    key += '\0';
    std::vector<Oid> types(params.size(), 0);
    for (size_t i = 0; i < params.size(); ++i) {
      if (std::holds_alternative<int64_t>(params[i])) {
        types[i] = kInt8Oid;
        key += 'i';
      } else if (std::holds_alternative<double>(params[i])) {
        types[i] = kFloat8Oid;
        key += 'd';
      } else {
        key += '-';
      }
    }
    auto found = statements_.find(key);
    if (found == statements_.end()) {
      std::string name = "s" + std::to_string(statements_.size() + 1);
      PgResult prepared(PQprepare(connection_, name.c_str(), std::string(sql).c_str(),
                                  static_cast<int>(types.size()), types.data()));
      if (!Succeeded(prepared.get())) return Failure(sql, prepared.get());
      found = statements_.emplace(std::move(key), std::move(name)).first;
    }

    std::vector<std::string> texts(params.size());
    std::vector<const char*> values(params.size(), nullptr);
    for (size_t i = 0; i < params.size(); ++i) {
      if (const auto* integer = std::get_if<int64_t>(&params[i])) {
        texts[i] = std::to_string(*integer);
      } else if (const auto* real = std::get_if<double>(&params[i])) {
        char buffer[40];
        std::snprintf(buffer, sizeof(buffer), "%.17g", *real);
        texts[i] = buffer;
      } else if (const auto* text = std::get_if<std::string>(&params[i])) {
        texts[i] = *text;
      } else {
        continue;  // NULL
      }
      values[i] = texts[i].c_str();
    }
    PgResult result(PQexecPrepared(connection_, found->second.c_str(),
                                   static_cast<int>(values.size()), values.data(), nullptr, nullptr,
                                   0));
    if (!Succeeded(result.get())) return Failure(sql, result.get());

    SqlRows rows;
    int columns = PQnfields(result.get());
    for (int c = 0; c < columns; ++c) rows.columns.emplace_back(PQfname(result.get(), c));
    int count = PQntuples(result.get());
    rows.rows.resize(static_cast<size_t>(count));
    for (int r = 0; r < count; ++r) {
      rows.rows[r].values.reserve(columns);
      for (int c = 0; c < columns; ++c)
        rows.rows[r].values.push_back(ColumnValue(result.get(), r, c));
    }
    // PQcmdTuples also counts the rows of a SELECT: report changes only.
    std::string_view status = PQcmdStatus(result.get());
    if (status.starts_with("INSERT") || status.starts_with("UPDATE") ||
        status.starts_with("DELETE") || status.starts_with("MERGE")) {
      std::string_view tuples = PQcmdTuples(result.get());
      std::from_chars(tuples.data(), tuples.data() + tuples.size(), rows.affected);
    }
    return rows;
  }

  Error Failure(std::string_view sql, const PGresult* result) {
    std::string message;
    std::string_view state;
    if (result != nullptr && PQresultStatus(result) == PGRES_FATAL_ERROR) {
      const char* primary = PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY);
      const char* detail = PQresultErrorField(result, PG_DIAG_MESSAGE_DETAIL);
      const char* code = PQresultErrorField(result, PG_DIAG_SQLSTATE);
      message = Trimmed(primary != nullptr ? primary : PQresultErrorMessage(result));
      if (detail != nullptr) message += " (" + Trimmed(detail) + ")";
      if (code != nullptr) state = code;
    }
    if (message.empty()) message = Trimmed(PQerrorMessage(connection_));
    if (!state.empty()) message += " [SQLSTATE " + std::string(state) + "]";
    // serialization_failure, deadlock_detected: the transaction can simply be run again.
    if (state == "40001" || state == "40P01") message += " [retryable]";
    return Fail("PostgreSQL ", label_, ": SQL \"", StatementLabel(sql), "\": ", message);
  }

  PGconn* connection_;
  std::string label_;
  bool in_transaction_ = false;
  // Statement text and parameter types -> prepared statement name.
  std::unordered_map<std::string, std::string> statements_;
};

}  // namespace

Result<std::unique_ptr<SqlConnection>> OpenPostgres(const std::string& uri,
                                                    const std::string& label) {
  // Defaults first: what the URI says overrides them.
  const char* keywords[] = {"connect_timeout", "fallback_application_name", "dbname", nullptr};
  const char* values[] = {"10", "moat", uri.c_str(), nullptr};
  PGconn* connection = PQconnectdbParams(keywords, values, /*expand_dbname=*/1);
  if (connection == nullptr) return Fail("PostgreSQL ", label, ": out of memory");
  auto wrapped = std::make_unique<PostgresConnection>(connection, label);
  if (PQstatus(connection) != CONNECTION_OK) {
    return Fail("PostgreSQL ", label, ": ", Trimmed(PQerrorMessage(connection)));
  }
  MOAT_TRY(wrapped->Configure());
  return std::unique_ptr<SqlConnection>(std::move(wrapped));
}

}  // namespace moat::server::sql_internal
