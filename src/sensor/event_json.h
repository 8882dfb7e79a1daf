#pragma once
// The JSON line `moat sensor --events` prints for each enriched event (docs/sensor.md): the
// event, its process with the parent chain, and its container.

#include <cstdint>
#include <string>
#include <vector>

#include "sensor/event.h"

namespace moat::sensor {

struct EnrichedEvent {
  const Event* event = nullptr;
  int64_t time_ns = 0;                   // wall clock, nanoseconds since the epoch
  const ProcessInfo* process = nullptr;  // nullptr: not in the tree
  std::vector<const ProcessInfo*> parents;
  const ContainerInfo* container = nullptr;  // nullptr: on the host
  std::string user_name;                     // the uid's name in the process's /etc/passwd
};

/// One line of JSON, without the newline.
std::string EnrichedEventToJson(const EnrichedEvent& enriched);
/// The same appended to `out` (the sensor reuses one buffer for every line).
void AppendEnrichedEventJson(const EnrichedEvent& enriched, std::string& out);

}  // namespace moat::sensor
