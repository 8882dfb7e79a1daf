#pragma once
// JSON (de)serialization of the inventory model. Only the light nlohmann forward header here.

#include <nlohmann/json_fwd.hpp>

#include "core/package.h"

namespace moat {

void to_json(nlohmann::json& j, const Package& p);
void from_json(const nlohmann::json& j, Package& p);
void to_json(nlohmann::json& j, const OsInfo& o);
void from_json(const nlohmann::json& j, OsInfo& o);
void to_json(nlohmann::json& j, const LayerInfo& l);
void from_json(const nlohmann::json& j, LayerInfo& l);
void to_json(nlohmann::json& j, const ArtifactInfo& a);
void from_json(const nlohmann::json& j, ArtifactInfo& a);

}  // namespace moat
