#pragma once
// What is "in use" in each container (docs/sensor.md "In use"): the executables its processes ran
// (every exec) and the shared objects they mapped executable: as the kernel reports each such
// mapping (an mmap with PROT_EXEC of a file, once per file and container: dlopen after start
// included), and from /proc/PID/maps a moment after each exec and for the processes already
// running when the sensor started. A scan ranks a vulnerable package above others when one of its
// files is in this set. Exported as one JSON document (format "moat-in-use/1").

#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <string_view>

#include "core/result.h"
#include "sensor/event.h"

namespace moat::sensor {

/// The files mapped with execute permission in the text of /proc/PID/maps ("(deleted)" marks
/// removed; anonymous, [vdso]-like and memfd mappings are not files and are left out).
std::set<std::string> ExecutableMappings(std::string_view maps_text);

class InUseTracker {
 public:
  /// `sample_delay_ns`: how long after an exec the process's mappings are read.
  explicit InUseTracker(std::string proc_root = "/proc", uint64_t sample_delay_ns = 500'000'000);

  /// A process of `container` exec'd `process.exec.exe` at `boot_ns` (wall time `time_ns`).
  void OnExec(const ContainerInfo& container, const ProcessInfo& process, uint64_t boot_ns,
              int64_t time_ns);
  /// A process of `container` mapped `path` (as the container sees it) executable at `time_ns`.
  void OnMappedFile(const ContainerInfo& container, const std::string& path, int64_t time_ns);
  /// Reads the mappings of the processes whose exec is at least the delay old.
  void Sample(uint64_t now_boot_ns);

  /// The JSON document (sorted, stable). `node`: the host name; `now_ns`: wall time.
  std::string ToJson(std::string_view node, int64_t now_ns) const;
  /// Writes ToJson to `path` atomically (a temporary file renamed over it).
  Result<void> WriteFile(const std::string& path, std::string_view node, int64_t now_ns) const;

  size_t containers() const;

 private:
  struct Container {
    std::string name, image, image_digest;
    int64_t first_seen_ns = 0, last_seen_ns = 0;
    std::set<std::string> executables;
    std::set<std::string> libraries;
  };
  struct Pending {
    uint32_t pid;
    uint64_t due_boot_ns;
    std::string container_id;
    std::string exe;  // to tell the same process from a reused pid
  };

  // The container's entry, created on its first event, with the runtime's metadata once known.
  // Called with mutex_ held.
  Container& Touch(const ContainerInfo& container, int64_t time_ns);

  std::string proc_root_;
  uint64_t sample_delay_ns_;
  mutable std::mutex mutex_;
  std::map<std::string, Container> containers_;  // by full id
  std::deque<Pending> pending_;                  // in due order
};

}  // namespace moat::sensor
