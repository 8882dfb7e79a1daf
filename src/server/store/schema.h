#pragma once
// The store's schema migrations (schema.cpp).

#include <vector>

#include "server/store/sql.h"

namespace moat::server {

std::vector<Migration> StoreMigrations(SqlDialect dialect);

}  // namespace moat::server
