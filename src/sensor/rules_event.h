#pragma once
// The sensor's enriched events as the rules engine's "syscall" source sees them
// (rules/syscall_event.h): Falco's event names, evt.arg values as Falco prints them (open flags
// as "O_WRONLY|O_CREAT"), fd.* from the path or the socket ends, proc.* with the ancestors,
// container.* and k8s.*.

#include <cstdint>
#include <string>

#include "rules/syscall_event.h"
#include "sensor/event_json.h"

namespace moat::sensor {

/// Fills `out` (reused from event to event: its storage is kept) with views of `enriched`'s
/// event, process, parents and container, which must stay valid while `out` is evaluated; only
/// texts made from numbers (flags, socket names) are written into `out`. `number` becomes
/// evt.num.
void FillSyscallEvent(const EnrichedEvent& enriched, uint64_t number, rules::SyscallEvent& out);
/// The same into a new event (tests, recorded streams).
rules::SyscallEvent ToSyscallEvent(const EnrichedEvent& enriched, uint64_t number);

/// Open flags in Falco's spelling: "O_RDONLY", "O_WRONLY|O_CREAT|O_TRUNC", ...
std::string OpenFlagsText(uint64_t flags);
void AppendOpenFlagsText(uint64_t flags, std::string& out);

/// The controlling terminal's device number (proc.tty) from its name: "pts3" -> 136:3,
/// "tty2" -> 4:2, "ttyS0" -> 4:64; 0 for none or an unknown name.
int64_t TtyDeviceNumber(std::string_view name);

}  // namespace moat::sensor
