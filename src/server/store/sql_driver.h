#pragma once
// Internal to the SQL layer: the two drivers behind OpenSqlConnection and what they share.

#include <memory>
#include <string>
#include <string_view>

#include "core/result.h"
#include "server/store/sql.h"

namespace moat::server::sql_internal {

/// Put in the message of errors that a retry of the whole transaction can cure (see
/// IsRetryableSqlError).
inline constexpr std::string_view kRetryableTag = "[retryable]";

/// The first words of a statement, whitespace collapsed, for error messages: "INSERT INTO
/// findings (resource_kind, ...".
std::string StatementLabel(std::string_view sql);

/// `sql` with every $N parameter outside string literals, quoted identifiers and comments
/// rewritten as ?N, which SQLite binds by number ("$2 ... $1" keeps its meaning; SQLite would
/// read "$2" as a named parameter numbered by first appearance).
std::string SqliteParameters(std::string_view sql);

/// `url` with the password replaced by "***" (user:PASSWORD@ and password=...), for messages.
std::string MaskPassword(std::string_view url);

Result<std::unique_ptr<SqlConnection>> OpenSqlite(const std::string& path);
/// `uri` is a libpq connection URI; `label` names it in errors (password masked).
Result<std::unique_ptr<SqlConnection>> OpenPostgres(const std::string& uri,
                                                    const std::string& label);

}  // namespace moat::server::sql_internal
