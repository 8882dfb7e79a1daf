#pragma once
// The sensor's in-use export (`moat sensor`, GET /in-use on its --metrics-listen address, format
// "moat-in-use/1", docs/sensor.md "In use") forwarded to the server as an `in_use` message, so
// that the server marks the findings of the packages that run (docs/server/agent-protocol.md).

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/result.h"

namespace moat::agent {

/// The sensor's default --metrics-listen address, where a host agent looks by default.
inline constexpr const char* kDefaultSensorUrl = "http://127.0.0.1:8766";

/// The in_use message body from the exports of `sensor_urls` (GET URL/in-use each): their
/// containers in one document of format moat-in-use/1 (a cluster has a sensor per node). A
/// container whose image digest the sensor could not learn (no Docker engine to ask) gets the
/// one `digest_by_container` gives its id. A sensor that does not answer, or answers with
/// something else, is a note and left out. Fails when no sensor gave an export (nothing to send).
Result<std::string> CollectInUse(const std::vector<std::string>& sensor_urls,
                                 const std::map<std::string, std::string>& digest_by_container,
                                 std::vector<std::string>& notes);

/// What in an in_use body changes what the server marks (its containers, not the time): an
/// unchanged export need not be sent again.
uint64_t InUseFingerprint(const std::string& body);

}  // namespace moat::agent
