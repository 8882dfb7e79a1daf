// Moat's own JSON format, documented in docs/json-format.md. Keys are sorted (nlohmann's default
// object is ordered by key) and packages come in canonical order, so output is reproducible.

#include <nlohmann/json.hpp>

#include "core/json_model.h"
#include "report/render.h"

namespace moat::report {

inline constexpr int kMoatJsonSchemaVersion = 1;

std::string RenderMoatJson(const PreparedInventory& input) {
  const Inventory& inventory = input.inventory;
  nlohmann::json doc = nlohmann::json::object();
  doc["schema_version"] = kMoatJsonSchemaVersion;
  doc["tool"] = {{"name", "moat"}, {"version", input.context.tool_version}};
  doc["created"] = input.context.timestamp;
  doc["artifact"] = inventory.artifact;
  doc["os"] = inventory.os;
  doc["packages"] = nlohmann::json::array();
  for (const Package& package : inventory.packages) doc["packages"].push_back(package);
  doc["warnings"] = inventory.warnings;
  // Invalid UTF-8 from package metadata is replaced, not thrown on.
  return doc.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

}  // namespace moat::report
