#pragma once
// moat sensor's life cycle as ordered steps (DESIGN.md): probe what the kernel loads, seed the
// process tree, load the rules and outputs, load the programs, then read, decode, enrich and
// evaluate (or print) events until asked to stop. Each step is a function of its own so that tests
// can run it alone.

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>

#include "core/bytes.h"
#include "core/result.h"
#include "rules/output.h"
#include "sensor/config.h"
#include "sensor/container_metadata.h"
#include "sensor/detector.h"
#include "sensor/event.h"
#include "sensor/loader.h"
#include "sensor/process_tree.h"
#include "sensor/user_names.h"

namespace moat::sensor {

/// What the user side counts, beside the kernel's counters.
struct UserCounters {
  uint64_t records = 0;        // records read from the ring buffer
  uint64_t decode_errors = 0;  // records refused by the decoder
  uint64_t lines = 0;          // events printed (--events)
};

class Detector;
class InUseTracker;

/// Where enriched events go; any may be null.
struct PipelineSinks {
  std::FILE* events = nullptr;     // --events: one JSON line per event
  Detector* detector = nullptr;    // the rules
  InUseTracker* in_use = nullptr;  // executables and libraries per container
};

/// Turns records into enriched events: decodes, keeps the process tree, attributes the
/// container (cgroup path, then the runtime's metadata) and the user name, and hands each to the
/// sinks. Runs on one thread.
class EventPipeline {
 public:
  EventPipeline(const SensorConfig& config, PipelineSinks sinks);

  ProcessTree& tree() { return tree_; }
  size_t processes() const { return tree_.size(); }
  const UserCounters& counters() const { return counters_; }

  /// One ring-buffer record. Decoding errors are counted, and the first few logged.
  void OnRecord(ByteSpan record);
  /// One decoded event (also the entry point for recorded streams).
  void OnEvent(const Event& event);
  /// Tells the in-use tracker about the containers' processes already running (after the seed).
  void TrackSeededProcesses(uint64_t now_boot_ns);
  /// Periodic upkeep: forgets processes that exited a while ago, samples mappings.
  void Maintain(uint64_t now_boot_ns);

 private:
  const ContainerInfo* ContainerOf(const ProcessInfo& process);

  SensorConfig config_;
  PipelineSinks sinks_;
  ProcessTree tree_;
  ContainerMetadataCache containers_;
  UserNames users_;
  UserCounters counters_;
  int64_t boot_to_wall_ns_ = 0;
  std::string line_;        // reused for each JSON line
  EnrichedEvent enriched_;  // reused for each event
};

/// The lines `moat sensor --check` prints: each program type and whether it loads here.
std::string DescribeProgramTypes(const std::vector<ProgramTypeSupport>& support);

struct RunOptions {
  SensorConfig config;
  /// --events: every enriched event as a JSON line here ("" or "-": stdout). Unset: alerts only.
  std::optional<std::string> events_path;
  /// The rules and the alert outputs (not used with --events unless `alerts_with_events`).
  DetectorOptions detector;
  rules::OutputOptions outputs;
  bool alerts_with_events = false;
  /// "HOST:PORT" of GET /metrics, /healthz and /in-use; "" for none.
  std::string metrics_listen;
  /// The in-use document is written here every `in_use_interval_seconds` and at exit; "" none.
  std::string in_use_path;
  int in_use_interval_seconds = 30;
  const std::atomic<bool>* stop = nullptr;
};

/// Runs the sensor until *stop; returns the process exit code (0 after a clean stop, 2 when the
/// rules, the outputs or the kernel side could not start). Statistics go to stderr every
/// stats_interval and at the end.
int RunSensor(const RunOptions& options);

}  // namespace moat::sensor
