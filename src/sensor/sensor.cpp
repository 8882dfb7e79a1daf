#include "sensor/sensor.h"

#include <unistd.h>

#include <chrono>
#include <ctime>
#include <mutex>

#include "core/log.h"
#include "http/metrics.h"
#include "http/server.h"
#include "sensor/container_id.h"
#include "sensor/decoder.h"
#include "sensor/event_json.h"
#include "sensor/image_drift.h"
#include "sensor/in_use.h"

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
  options.image_cache_dir = config.image_cache_dir;
  return options;
}

}  // namespace

EventPipeline::EventPipeline(const SensorConfig& config, PipelineSinks sinks)
    : config_(config),
      sinks_(sinks),
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
  ProcessInfo* process = tree_.Find(event.pid);
  if (process == nullptr && event.type != EventType::kExit && tree_.AddFromProc(event.pid)) {
    process = tree_.Find(event.pid);  // started between the seed and the attachment
  }
  // One EnrichedEvent for every event: its parent list and user name keep their storage.
  EnrichedEvent& enriched = enriched_;
  enriched.event = &event;
  enriched.time_ns = static_cast<int64_t>(event.boot_ns) + boot_to_wall_ns_;
  enriched.process = process;
  enriched.parents.clear();
  enriched.container = nullptr;
  if (process != nullptr) {
    tree_.Parents(event.pid, config_.parent_levels, enriched.parents);
    enriched.container = ContainerOf(*process);
    // Once per program (forks inherit it; an exec starts over), when the image's inventory is
    // known.
    if (enriched.container && !process->exec.exe_from_image &&
        enriched.container->image_executables) {
      process->exec.exe_from_image = ExeFromImage(process->exec, *enriched.container);
    }
  }
  static const std::string kHost;
  enriched.user_name =
      users_.Name(enriched.container ? enriched.container->id : kHost, event.pid, event.uid);
  if (sinks_.in_use && enriched.container && process && event.type == EventType::kExec) {
    sinks_.in_use->OnExec(*enriched.container, *process, event.boot_ns, enriched.time_ns);
  }
  if (sinks_.in_use && enriched.container && event.type == EventType::kMmapExec) {
    sinks_.in_use->OnMappedFile(*enriched.container, event.path, enriched.time_ns);
  }
  if (sinks_.detector) sinks_.detector->Process(enriched);
  if (sinks_.events) {
    line_.clear();
    AppendEnrichedEventJson(enriched, line_);
    line_.push_back('\n');
    std::fwrite(line_.data(), 1, line_.size(), sinks_.events);
    ++counters_.lines;
  }
}

void EventPipeline::TrackSeededProcesses(uint64_t now_boot_ns) {
  if (!sinks_.in_use) return;
  const int64_t now_ns = static_cast<int64_t>(now_boot_ns) + boot_to_wall_ns_;
  for (uint32_t pid : tree_.Pids()) {
    const ProcessInfo* process = tree_.Find(pid);
    if (process == nullptr || process->container_id.empty()) continue;
    if (const ContainerInfo* container = ContainerOf(*process)) {
      // Already running: its mappings can be read at once.
      sinks_.in_use->OnExec(*container, *process, /*boot_ns=*/0, now_ns);
    }
  }
}

void EventPipeline::Maintain(uint64_t now_boot_ns) {
  tree_.ForgetExited(now_boot_ns, kExitedGraceNs);
  containers_.RetryUnknownInventories();
  if (sinks_.in_use) sinks_.in_use->Sample(now_boot_ns);
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
                   const EventPipeline& pipeline, const Detector* detector, const char* when) {
  const DetectorStats rules = detector ? detector->stats() : DetectorStats{};
  std::fprintf(stderr,
               "sensor %s: events %llu, drops %llu, in-flight lost %llu, read %llu, decode errors "
               "%llu, printed %llu, alerts %llu, processes %zu\n",
               when, static_cast<unsigned long long>(kernel.events),
               static_cast<unsigned long long>(kernel.drops),
               static_cast<unsigned long long>(kernel.pending_lost),
               static_cast<unsigned long long>(user.records),
               static_cast<unsigned long long>(user.decode_errors),
               static_cast<unsigned long long>(user.lines),
               static_cast<unsigned long long>(rules.alerts), pipeline.processes());
}

// What /metrics shows of the event thread's state, copied once a second under a lock (the
// HTTP threads never touch the pipeline).
struct Snapshot {
  KernelCounters kernel;
  UserCounters user;
  size_t processes = 0;
  double events_per_second = 0;
  double drops_per_second = 0;
};

class MetricsState {
 public:
  void Update(const Snapshot& snapshot) {
    std::lock_guard lock(mutex_);
    snapshot_ = snapshot;
  }
  Snapshot Get() const {
    std::lock_guard lock(mutex_);
    return snapshot_;
  }

 private:
  mutable std::mutex mutex_;
  Snapshot snapshot_;
};

std::string RenderSensorMetrics(const Snapshot& s, const Detector* detector,
                                const rules::AlertOutputs* outputs) {
  std::string out;
  http::RenderSample("moat_sensor_kernel_events_total", "counter",
                     "Records the kernel wrote to the ring buffer.", s.kernel.events, out);
  http::RenderSample("moat_sensor_kernel_drops_total", "counter",
                     "Records lost because the ring buffer was full.", s.kernel.drops, out);
  http::RenderSample("moat_sensor_inflight_lost_total", "counter",
                     "System calls not recorded because the in-flight table was full.",
                     s.kernel.pending_lost, out);
  http::RenderSample("moat_sensor_records_total", "counter", "Records read in user space.",
                     s.user.records, out);
  http::RenderSample("moat_sensor_decode_errors_total", "counter", "Records the decoder refused.",
                     s.user.decode_errors, out);
  http::RenderSample("moat_sensor_processes", "gauge", "Processes in the process tree.",
                     s.processes, out);
  out +=
      "# HELP moat_sensor_events_per_second Records read per second over the last second.\n"
      "# TYPE moat_sensor_events_per_second gauge\nmoat_sensor_events_per_second " +
      http::PrometheusNumber(s.events_per_second) + "\n";
  out +=
      "# HELP moat_sensor_drops_per_second Records dropped per second over the last second.\n"
      "# TYPE moat_sensor_drops_per_second gauge\nmoat_sensor_drops_per_second " +
      http::PrometheusNumber(s.drops_per_second) + "\n";
  if (detector) detector->RenderMetrics(out);
  if (outputs) outputs->RenderMetrics(out);
  return out;
}

std::string HostName() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0) return "";
  return name;
}

}  // namespace

int RunSensor(const RunOptions& options) {
  // Step 1: what loads here.
  auto support = ProbeProgramTypes();
  std::fprintf(stderr, "sensor: BPF program types on this kernel:\n%s",
               DescribeProgramTypes(support).c_str());
  // Step 2: where events and alerts go.
  std::FILE* events_out = nullptr;
  if (options.events_path) {
    events_out = stdout;
    if (!options.events_path->empty() && *options.events_path != "-") {
      events_out = std::fopen(options.events_path->c_str(), "a");
      if (events_out == nullptr) {
        log::Error("sensor: cannot open " + *options.events_path + " for writing");
        return 2;
      }
    }
  }
  auto close_events = [&] {
    if (events_out != nullptr && events_out != stdout) std::fclose(events_out);
  };
  std::unique_ptr<rules::AlertOutputs> outputs;
  std::unique_ptr<Detector> detector;
  if (!options.events_path || options.alerts_with_events) {
    auto opened = rules::AlertOutputs::Open(options.outputs);
    if (!opened.ok()) {
      log::Error("sensor: outputs: " + opened.error().message);
      close_events();
      return 2;
    }
    outputs = std::move(*opened);
    rules::LoadReport report;
    auto created = Detector::Create(options.detector, outputs.get(), &report);
    if (!created.ok()) {
      log::Error("sensor: rules: " + created.error().message);
      close_events();
      return 2;
    }
    detector = std::move(*created);
    for (const rules::DisabledRule& rule : report.disabled) {
      if (rule.reason == "enabled: false") continue;
      log::Warn("sensor: rule \"" + rule.name + "\" (" + rule.location.file + ":" +
                std::to_string(rule.location.line) + ") disabled: " + rule.reason);
    }
    for (const std::string& warning : report.warnings) log::Warn("sensor: " + warning);
    std::fprintf(stderr, "sensor: %zu rules enabled, %zu disabled\n", report.enabled.size(),
                 report.disabled.size());
  }
  std::unique_ptr<InUseTracker> in_use;
  if (!options.in_use_path.empty() || !options.metrics_listen.empty()) {
    in_use = std::make_unique<InUseTracker>();
  }
  EventPipeline pipeline(options.config, {events_out, detector.get(), in_use.get()});
  // Step 3: the processes already running. Seeded before the programs attach, so that a process
  // that starts in between is read from /proc on its first event (EventPipeline::OnEvent).
  size_t seeded = pipeline.tree().SeedFromProc();
  std::fprintf(stderr, "sensor: %zu processes read from /proc\n", seeded);
  pipeline.TrackSeededProcesses(static_cast<uint64_t>(ClockNs(CLOCK_BOOTTIME)));
  // Step 4: /metrics, /healthz and /in-use.
  MetricsState metrics;
  const std::string node = HostName();
  std::unique_ptr<http::Server> server;
  if (!options.metrics_listen.empty()) {
    http::ServerOptions server_options;
    server_options.listen = options.metrics_listen;
    server_options.threads = 1;
    auto handler = [&](http::Request& request) {
      if (request.method == "GET" && request.path == "/metrics") {
        return http::Response::Text(
            200, RenderSensorMetrics(metrics.Get(), detector.get(), outputs.get()),
            "text/plain; version=0.0.4");
      }
      if (request.method == "GET" && request.path == "/healthz") {
        return http::Response::Text(200, "ok\n");
      }
      if (request.method == "GET" && request.path == "/in-use" && in_use) {
        return http::Response::Json(200, in_use->ToJson(node, ClockNs(CLOCK_REALTIME)));
      }
      return http::Response::Error(404, "not found: GET /metrics, /healthz, /in-use");
    };
    auto started = http::Server::Start(server_options, handler);
    if (!started.ok()) {
      log::Error("sensor: --metrics-listen: " + started.error().message);
      close_events();
      return 2;
    }
    server = std::move(*started);
    std::fprintf(stderr, "sensor: metrics on %s/metrics\n", server->url().c_str());
  }
  auto stop_outputs = [&] {
    if (server) server->Stop();
    if (outputs) {
      if (!outputs->Flush(std::chrono::seconds(10))) {
        log::Warn("sensor: alerts not yet delivered stay in the spool for the next run");
      }
      outputs->Close();
    }
    close_events();
  };
  // Step 5: the kernel side.
  KernelProbeOptions probe_options;
  probe_options.ring_buffer_bytes = options.config.ring_buffer_bytes;
  probe_options.sensitive_read_prefixes = options.config.sensitive_read_prefixes;
  probe_options.self_pid = static_cast<uint32_t>(::getpid());
  probe_options.syscall_attach = options.config.syscall_attach;
  auto probe = KernelProbe::Load(probe_options);
  if (!probe.ok()) {
    log::Error(probe.error().message);
    stop_outputs();
    return 2;
  }
  std::fprintf(stderr, "sensor: attached %s; ring buffer %u bytes\n",
               (*probe)->Attachment().c_str(), options.config.ring_buffer_bytes);
  // Step 6: the loop. Drops are read every second; the counters line every stats interval.
  auto on_record = [&](ByteSpan record) { pipeline.OnRecord(record); };
  auto now = std::chrono::steady_clock::now();
  auto next_check = now + std::chrono::seconds(1);
  auto next_stats = now + std::chrono::seconds(options.config.stats_interval_seconds);
  auto next_in_use = now + std::chrono::seconds(options.in_use_interval_seconds);
  auto write_in_use = [&] {
    if (options.in_use_path.empty()) return;
    auto written = in_use->WriteFile(options.in_use_path, node, ClockNs(CLOCK_REALTIME));
    if (!written.ok()) log::Error("sensor: in-use: " + written.error().message);
  };
  KernelCounters last{};
  uint64_t last_records = 0;
  auto last_check = now;
  while (!options.stop->load()) {
    auto polled = (*probe)->Poll(100, on_record);
    if (!polled.ok()) {
      log::Error(polled.error().message);
      break;
    }
    if (events_out != nullptr) std::fflush(events_out);
    now = std::chrono::steady_clock::now();
    if (now < next_check) continue;
    next_check = now + std::chrono::seconds(1);
    KernelCounters counters = (*probe)->ReadCounters();
    if (counters.drops > last.drops) {
      std::fprintf(stderr, "sensor: %llu events dropped in the last second (ring buffer full)\n",
                   static_cast<unsigned long long>(counters.drops - last.drops));
    }
    const double seconds = std::chrono::duration<double>(now - last_check).count();
    Snapshot snapshot;
    snapshot.kernel = counters;
    snapshot.user = pipeline.counters();
    snapshot.processes = pipeline.processes();
    snapshot.events_per_second = (snapshot.user.records - last_records) / seconds;
    snapshot.drops_per_second = (counters.drops - last.drops) / seconds;
    metrics.Update(snapshot);
    last = counters;
    last_records = snapshot.user.records;
    last_check = now;
    pipeline.Maintain(static_cast<uint64_t>(ClockNs(CLOCK_BOOTTIME)));
    if (options.config.stats_interval_seconds > 0 && now >= next_stats) {
      next_stats = now + std::chrono::seconds(options.config.stats_interval_seconds);
      PrintCounters(counters, pipeline.counters(), pipeline, detector.get(), "counters");
    }
    if (in_use && now >= next_in_use) {
      next_in_use = now + std::chrono::seconds(options.in_use_interval_seconds);
      write_in_use();
    }
  }
  // Step 7: drain what is left, deliver the alerts and report.
  while (true) {
    auto polled = (*probe)->Poll(0, on_record);
    if (!polled.ok() || *polled == 0) break;
  }
  if (in_use) {
    pipeline.Maintain(static_cast<uint64_t>(ClockNs(CLOCK_BOOTTIME)));
    write_in_use();
  }
  if (events_out != nullptr) std::fflush(events_out);
  PrintCounters((*probe)->ReadCounters(), pipeline.counters(), pipeline, detector.get(), "at exit");
  stop_outputs();
  return 0;
}

}  // namespace moat::sensor
