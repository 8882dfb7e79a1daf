#include "sensor/sensor.h"

#include <unistd.h>

#include <chrono>
#include <ctime>

#include "core/log.h"
#include "sensor/container_id.h"
#include "sensor/decoder.h"
#include "sensor/event_json.h"

namespace moat::sensor {

namespace {

constexpr int kLoggedDecodeErrors = 5;
constexpr uint64_t kExitedGraceNs = 5'000'000'000;  // events read after an exit still resolve

int64_t ClockNs(clockid_t clock) {
  timespec ts{};
  ::clock_gettime(clock, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

ContainerMetadataOptions MetadataOptions(const SensorConfig& config) {
  ContainerMetadataOptions options;
  options.docker_socket = config.docker_socket;
  return options;
}

}  // namespace

EventPipeline::EventPipeline(const SensorConfig& config, std::FILE* out)
    : config_(config),
      out_(out),
      containers_(MetadataOptions(config)),
      boot_to_wall_ns_(ClockNs(CLOCK_REALTIME) - ClockNs(CLOCK_BOOTTIME)) {}

void EventPipeline::OnRecord(ByteSpan record) {
  ++counters_.records;
  auto event = DecodeRecord(record);
  if (!event.ok()) {
    if (++counters_.decode_errors <= kLoggedDecodeErrors) log::Warn(event.error().message);
    return;
  }
  OnEvent(*event);
}

const ContainerInfo* EventPipeline::ContainerOf(const ProcessInfo& process) {
  if (process.container_id.empty()) return nullptr;
  auto ref = ContainerFromCgroup(process.exec.cgroup);
  if (!ref) return nullptr;
  const ContainerInfo& info = containers_.Lookup(*ref);
  return &info;
}

void EventPipeline::OnEvent(const Event& event) {
  tree_.Apply(event);
  const ProcessInfo* process = tree_.Find(event.pid);
  if (process == nullptr && event.type != EventType::kExit && tree_.AddFromProc(event.pid)) {
    process = tree_.Find(event.pid);  // started between the seed and the attachment
  }
  EnrichedEvent enriched;
  enriched.event = &event;
  enriched.time_ns = static_cast<int64_t>(event.boot_ns) + boot_to_wall_ns_;
  enriched.process = process;
  if (process != nullptr) {
    enriched.parents = tree_.Parents(event.pid, config_.parent_levels);
    enriched.container = ContainerOf(*process);
  }
  std::string line = EnrichedEventToJson(enriched);
  line.push_back('\n');
  std::fwrite(line.data(), 1, line.size(), out_);
  ++counters_.lines;
}

void EventPipeline::Maintain(uint64_t now_boot_ns) {
  tree_.ForgetExited(now_boot_ns, kExitedGraceNs);
}

std::string DescribeProgramTypes(const std::vector<ProgramTypeSupport>& support) {
  std::string text;
  for (const auto& type : support) {
    text += "  " + type.name + ": " + (type.loads ? "yes" : "no");
    if (!type.note.empty()) text += " (" + type.note + ")";
    text += "\n";
  }
  return text;
}

namespace {

void PrintCounters(const KernelCounters& kernel, const UserCounters& user,
                   const EventPipeline& pipeline, const char* when) {
  std::fprintf(stderr,
               "sensor %s: events %llu, drops %llu, in-flight lost %llu, read %llu, decode errors "
               "%llu, printed %llu, processes %zu\n",
               when, static_cast<unsigned long long>(kernel.events),
               static_cast<unsigned long long>(kernel.drops),
               static_cast<unsigned long long>(kernel.pending_lost),
               static_cast<unsigned long long>(user.records),
               static_cast<unsigned long long>(user.decode_errors),
               static_cast<unsigned long long>(user.lines), pipeline.processes());
}

}  // namespace

int RunSensor(const RunOptions& options) {
  // Step 1: what loads here.
  auto support = ProbeProgramTypes();
  std::fprintf(stderr, "sensor: BPF program types on this kernel:\n%s",
               DescribeProgramTypes(support).c_str());
  // Step 2: the output.
  std::FILE* out = stdout;
  if (!options.output_path.empty() && options.output_path != "-") {
    out = std::fopen(options.output_path.c_str(), "a");
    if (out == nullptr) {
      log::Error("sensor: cannot open " + options.output_path + " for writing");
      return 2;
    }
  }
  EventPipeline pipeline(options.config, out);
  // Step 3: the processes already running. Seeded before the programs attach, so that a process
  // that starts in between is read from /proc on its first event (EventPipeline::OnEvent).
  size_t seeded = pipeline.tree().SeedFromProc();
  std::fprintf(stderr, "sensor: %zu processes read from /proc\n", seeded);
  // Step 4: the kernel side.
  KernelProbeOptions probe_options;
  probe_options.ring_buffer_bytes = options.config.ring_buffer_bytes;
  probe_options.sensitive_read_prefixes = options.config.sensitive_read_prefixes;
  probe_options.self_pid = static_cast<uint32_t>(::getpid());
  auto probe = KernelProbe::Load(probe_options);
  if (!probe.ok()) {
    log::Error(probe.error().message);
    if (out != stdout) std::fclose(out);
    return 2;
  }
  std::string programs;
  for (const auto& name : (*probe)->AttachedPrograms()) programs += " " + name;
  std::fprintf(stderr, "sensor: attached%s; ring buffer %u bytes\n", programs.c_str(),
               options.config.ring_buffer_bytes);
  // Step 5: the loop. Drops are read every second; the counters line every stats interval.
  auto on_record = [&](ByteSpan record) { pipeline.OnRecord(record); };
  auto next_check = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  auto next_stats = std::chrono::steady_clock::now() +
                    std::chrono::seconds(options.config.stats_interval_seconds);
  uint64_t reported_drops = 0;
  while (!options.stop->load()) {
    auto polled = (*probe)->Poll(100, on_record);
    if (!polled.ok()) {
      log::Error(polled.error().message);
      break;
    }
    std::fflush(out);
    auto now = std::chrono::steady_clock::now();
    if (now >= next_check) {
      next_check = now + std::chrono::seconds(1);
      KernelCounters counters = (*probe)->ReadCounters();
      if (counters.drops > reported_drops) {
        std::fprintf(stderr, "sensor: %llu events dropped in the last second (ring buffer full)\n",
                     static_cast<unsigned long long>(counters.drops - reported_drops));
        reported_drops = counters.drops;
      }
      pipeline.Maintain(static_cast<uint64_t>(ClockNs(CLOCK_BOOTTIME)));
      if (options.config.stats_interval_seconds > 0 && now >= next_stats) {
        next_stats = now + std::chrono::seconds(options.config.stats_interval_seconds);
        PrintCounters(counters, pipeline.counters(), pipeline, "counters");
      }
    }
  }
  // Step 6: drain what is left and report.
  while (true) {
    auto polled = (*probe)->Poll(0, on_record);
    if (!polled.ok() || *polled == 0) break;
  }
  std::fflush(out);
  PrintCounters((*probe)->ReadCounters(), pipeline.counters(), pipeline, "at exit");
  if (out != stdout) std::fclose(out);
  return 0;
}

}  // namespace moat::sensor
