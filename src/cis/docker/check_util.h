#pragma once
// Building blocks shared by the CIS Docker definitions (private to bench/docker).

#include <sys/types.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "cis/docker/facts.h"
#include "cis/engine.h"

namespace moat::cis::docker {

using DockerCheck = Check<DockerFacts>;

std::vector<DockerCheck> HostChecks();        // section 1
std::vector<DockerCheck> DaemonChecks();      // section 2
std::vector<DockerCheck> FileChecks();        // section 3
std::vector<DockerCheck> ImageChecks();       // section 4
std::vector<DockerCheck> ContainerChecks();   // section 5
std::vector<DockerCheck> OperationsChecks();  // sections 6 and 7

/// Evaluates `offender` on each running container; each non-empty return is one evidence line
/// (prefixed with the container's description). No running container -> NOT_APPLICABLE.
Outcome ForEachRunning(
    const DockerFacts& facts,
    const std::function<std::optional<std::string>(const ContainerInfo&)>& offender);

/// PASS when an audit rule watches one of the paths that exist on the host; NOT_APPLICABLE when
/// none exists.
Outcome AuditWatch(const DockerFacts& facts, const std::vector<std::string>& candidates);

/// Ownership must be root (uid 0) and group root, or `group` when given ("docker").
Outcome FileOwnership(const DockerFacts& facts, const std::string& path,
                      const std::string& extra_group = "", const std::string& what = "");
/// Permission bits must be a subset of `max_mode` (e.g. 0644).
Outcome FilePermissions(const DockerFacts& facts, const std::string& path, mode_t max_mode,
                        const std::string& what = "");
/// Same over every file below a directory (registry certificates).
Outcome TreeOwnership(const DockerFacts& facts, const std::string& dir);
Outcome TreePermissions(const DockerFacts& facts, const std::string& dir, mode_t max_mode);

/// The systemd unit file in use for `unit` (first of /etc/systemd/system, /run/systemd/system,
/// /usr/local/lib/systemd/system, /usr/lib/systemd/system, /lib/systemd/system), or "".
std::string UnitFile(const DockerFacts& facts, const std::string& unit);
/// The containerd socket the daemon uses (--containerd / "containerd", else the default).
std::string ContainerdSocket(const DockerFacts& facts);

/// A boolean daemon setting: PASS when its effective value is `want`.
Outcome BoolSetting(const DockerFacts& facts, const std::string& flag, const std::string& key,
                    bool want, bool default_value);
/// "0644".
std::string Octal(mode_t mode);
/// Human description of where a setting comes from when unset: `daemon.json: "icc" not set`.
std::string UnsetWhere(const DockerFacts& facts, const std::string& flag, const std::string& key);
bool IsTrue(const std::string& value);

}  // namespace moat::cis::docker
