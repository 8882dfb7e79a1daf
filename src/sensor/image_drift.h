#pragma once
// Drift against the image inventory (docs/sensor.md "Drift"): whether the program a container
// process runs is one of its image's executables (proc.is_exe_from_image).

#include <optional>

#include "sensor/event.h"

namespace moat::sensor {

/// True when `exec`'s executable is one of the image's, false when it is not, nullopt when the
/// container's image inventory is unknown or the path cannot tell. The path compared is `exe`,
/// the one the kernel walked from the executable's file up to the container's root: symbolic
/// links resolved ("/bin/sh" is "/usr/bin/dash"), relative names made absolute, and for a script
/// the interpreter (what the kernel ran). execve's filename is none of these.
std::optional<bool> ExeFromImage(const ExecInfo& exec, const ContainerInfo& container);

}  // namespace moat::sensor
