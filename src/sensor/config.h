#pragma once
// moat sensor's configuration file (YAML or JSON; docs/sensor.md):
//
//   ringBufferMiB: 16          # the kernel's ring buffer, a power of two
//   statsInterval: 10          # seconds between the counters lines on stderr (0: only at exit)
//   dockerSocket: /var/run/docker.sock   # "" : no metadata lookups
//   parentLevels: 5            # parents carried by each event (at least 4)
//   sensitiveReadPrefixes:     # reads of these are reported (writes are reported everywhere)
//   - /etc/shadow
//   imageCache: /root/.cache/moat  # moat image's layer cache, for drift; "" : off
//   syscallAttach: auto        # auto, tracepoints or raw (docs/sensor.md "What loads")

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace moat::sensor {

/// How the syscall programs attach: kTracepoints, one program pair per recorded syscall on the
/// kernel's syscalls:sys_enter_NAME/sys_exit_NAME tracepoints (no BPF runs for the other calls);
/// kRaw, the tp_btf sys_enter/sys_exit pair that sees every call; kAuto, the first where the
/// tracepoints' ids can be read (tracefs), else the second.
enum class SyscallAttach { kAuto, kTracepoints, kRaw };

struct SensorConfig {
  uint32_t ring_buffer_bytes = 16u << 20;
  int stats_interval_seconds = 10;
  std::string docker_socket;  // default: DOCKER_HOST or /var/run/docker.sock
  size_t parent_levels = 5;
  std::vector<std::string> sensitive_read_prefixes;
  /// The scanner's layer cache, whose executable lists the drift check compares execs against
  /// (default: the scanner's DefaultCacheDir()); "" : off.
  std::string image_cache_dir;
  SyscallAttach syscall_attach = SyscallAttach::kAuto;
};

/// The built-in sensitive set: shadow files, sudoers, SSH keys of root (any user's .ssh/ and
/// /proc/N/mem and cgroup release_agent files are matched in the kernel by name), service-account
/// tokens, kubeconfigs, cloud credentials.
std::vector<std::string> DefaultSensitiveReadPrefixes();

/// Defaults, then `text` (YAML or JSON) over them. `name` names the file in errors.
Result<SensorConfig> ParseSensorConfig(std::string_view text, const std::string& name);

}  // namespace moat::sensor
