#pragma once
// moat sensor's life cycle as ordered steps (DESIGN.md): probe what the kernel loads, seed the
// process tree, load the programs, then read, decode, enrich and print events until asked to
// stop. Each step is a function of its own so that tests can run it alone.

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>

#include "core/bytes.h"
#include "core/result.h"
#include "sensor/config.h"
#include "sensor/container_metadata.h"
#include "sensor/event.h"
#include "sensor/loader.h"
#include "sensor/process_tree.h"

namespace moat::sensor {

/// What the user side counts, beside the kernel's counters.
struct UserCounters {
  uint64_t records = 0;        // records read from the ring buffer
  uint64_t decode_errors = 0;  // records refused by the decoder
  uint64_t lines = 0;          // events printed
};

/// Turns records into enriched JSON lines: decodes, keeps the process tree, attributes the
/// container (cgroup path, then the runtime's metadata). The stream is the caller's.
class EventPipeline {
 public:
  EventPipeline(const SensorConfig& config, std::FILE* out);

  ProcessTree& tree() { return tree_; }
  size_t processes() const { return tree_.size(); }
  const UserCounters& counters() const { return counters_; }
  size_t containers_seen() const { return containers_seen_; }

  /// One ring-buffer record. Decoding errors are counted, and the first few logged.
  void OnRecord(ByteSpan record);
  /// One decoded event (also the entry point for recorded streams).
  void OnEvent(const Event& event);
  /// Periodic upkeep: forgets processes that exited a while ago.
  void Maintain(uint64_t now_boot_ns);

 private:
  const ContainerInfo* ContainerOf(const ProcessInfo& process);

  SensorConfig config_;
  std::FILE* out_;
  ProcessTree tree_;
  ContainerMetadataCache containers_;
  UserCounters counters_;
  size_t containers_seen_ = 0;
  int64_t boot_to_wall_ns_ = 0;
  ContainerInfo unresolved_scratch_;
};

/// The lines `moat sensor --check` prints: each program type and whether it loads here.
std::string DescribeProgramTypes(const std::vector<ProgramTypeSupport>& support);

struct RunOptions {
  SensorConfig config;
  std::string output_path;  // "" or "-": stdout
  const std::atomic<bool>* stop = nullptr;
};

/// Runs the sensor until *stop; returns the process exit code (0 after a clean stop, 2 when the
/// kernel side could not start). Statistics go to stderr every stats_interval and at the end.
int RunSensor(const RunOptions& options);

}  // namespace moat::sensor
