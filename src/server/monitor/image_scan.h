#pragma once
// Scans one image for the center: inventory (pulled once, kept), vulnerability findings in the
// store's shape, and the (namespace, name) keys the matcher looked up, which index the image for
// re-matching after a database update.

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/package.h"
#include "core/result.h"
#include "server/store/store.h"

namespace moat::vulndb {
class Database;
}

namespace moat::server {

struct ImageScan {
  Inventory inventory;
  std::string inventory_json;  // packages, OS, layers (no findings)
  std::vector<std::pair<std::string, std::string>> package_keys;
  std::vector<FindingRecord> findings;
};

struct ImageScanOptions {
  std::string cache_dir;  // layer cache; empty = none
  size_t threads = 1;
};

/// Pulls `reference` ("host:port/repo@sha256:...") and inventories it.
Result<Inventory> InventoryRegistryImage(const std::string& reference, bool insecure,
                                         const std::string& username, const std::string& password,
                                         const ImageScanOptions& options);

/// Matches an inventory (fresh or re-read from the store) against the database; `db` may be
/// null (no database: inventory only).
ImageScan MatchImage(Inventory inventory, const vulndb::Database* db);

/// The stored inventory JSON back into an Inventory (re-matching without pulling).
Result<Inventory> ParseStoredInventory(const std::string& json, const std::string& digest);

}  // namespace moat::server
