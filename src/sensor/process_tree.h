#pragma once
// The processes of the host as the sensor knows them: seeded from /proc at start, then kept from
// the kernel's exec, fork and exit events, so that every event can carry its process, the parent
// chain and the container even when the process is gone by the time the event is read.

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "sensor/event.h"

namespace moat::sensor {

class ProcessTree {
 public:
  /// Reads every process under `proc_root` ("/proc"). Processes that vanish while being read are
  /// skipped. Returns how many were added.
  size_t SeedFromProc(const std::string& proc_root = "/proc");

  /// Reads one process from `proc_root` (for a pid an event names that the tree has not seen:
  /// one that started between the seed and the probe's attachment). False when it is gone.
  bool AddFromProc(uint32_t pid, const std::string& proc_root = "/proc");

  /// Applies a lifecycle event (exec, fork, exit); other types are ignored.
  void Apply(const Event& event);

  /// The process, or nullptr.
  const ProcessInfo* Find(uint32_t pid) const;
  ProcessInfo* Find(uint32_t pid) {
    return const_cast<ProcessInfo*>(static_cast<const ProcessTree*>(this)->Find(pid));
  }

  /// The parents of `pid`, nearest first, at most `levels` (pid 0 and loops end the chain).
  std::vector<const ProcessInfo*> Parents(uint32_t pid, size_t levels) const;
  /// The same into `out` (cleared first; the sensor reuses one vector for every event).
  void Parents(uint32_t pid, size_t levels, std::vector<const ProcessInfo*>& out) const;

  /// Forgets processes that exited more than `grace_ns` before `now_boot_ns`: events recorded
  /// before an exit can still be read after it.
  void ForgetExited(uint64_t now_boot_ns, uint64_t grace_ns);

  size_t size() const { return processes_.size(); }
  /// Every pid the tree holds (exited ones too), in no order.
  std::vector<uint32_t> Pids() const {
    std::vector<uint32_t> pids;
    pids.reserve(processes_.size());
    for (const auto& entry : processes_) pids.push_back(entry.first);
    return pids;
  }

 private:
  std::unordered_map<uint32_t, ProcessInfo> processes_;
};

/// Reads /proc/PID into a ProcessInfo; false when the process is gone or unreadable.
bool ReadProcProcess(const std::string& proc_root, uint32_t pid, ProcessInfo& out);

/// The cgroup path to attribute a process by from the text of /proc/PID/cgroup: the unified
/// (v2) path when it is not the root, else the pids controller's (v1), else "/".
std::string CgroupFromProcText(std::string_view text);

}  // namespace moat::sensor
