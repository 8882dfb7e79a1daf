// The sensor's rules over a recorded event stream (issue 13 "Speed": at least 1,000,000 events/s
// on one core with Falco's stable rules plus Moat's built-ins loaded). The stream is what
// `moat sensor --events` recorded on a real node (bench/sensor_rules.sh records one while a
// workload runs); each line is turned back into the sensor's enriched event and then into the
// engine's syscall event by the sensor's own converter (ToSyscallEvent), so the benchmark
// evaluates exactly what the running sensor evaluates.
//   MOAT_SENSOR_EVENTS=events.jsonl build-*/sensor_rules_bench --benchmark_counters_tabular=true
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "rules/syscall_event.h"
#include "sensor/detector.h"
#include "sensor/rules_event.h"

namespace {

using Json = nlohmann::json;
using namespace moat;

// The parts of one recorded line that an EnrichedEvent points to. Processes are shared between
// the lines that show the same one (pid, program and arguments), as the sensor's process tree
// holds one entry per process: a stream of copies would make every event's conversion read cold
// memory that the running sensor reads warm.
struct Recorded {
  sensor::Event event;
  const sensor::ProcessInfo* process = nullptr;
  std::vector<const sensor::ProcessInfo*> parents;
  sensor::ContainerInfo container;
  bool has_container = false;
  std::string user_name;
};

// The recorded processes, one per distinct (pid, container, exe, cwd, arguments).
std::map<std::string, std::unique_ptr<sensor::ProcessInfo>>& Processes() {
  static std::map<std::string, std::unique_ptr<sensor::ProcessInfo>> processes;
  return processes;
}

const sensor::ProcessInfo* Shared(sensor::ProcessInfo process) {
  std::string key = std::to_string(process.pid) + '\0' + process.container_id + '\0' +
                    process.exec.exe + '\0' + process.exec.cwd + '\0' + process.Cmdline();
  auto& entry = Processes()[key];
  if (!entry) entry = std::make_unique<sensor::ProcessInfo>(std::move(process));
  return entry.get();
}

std::optional<sensor::EventType> TypeNamed(const std::string& name) {
  for (int value = 1; value <= static_cast<int>(sensor::EventType::kDnsQuery); ++value) {
    auto type = static_cast<sensor::EventType>(value);
    if (sensor::EventTypeName(type) == name) return type;
  }
  return std::nullopt;
}

std::optional<sensor::SocketAddress> Address(const Json& json, const char* key) {
  auto it = json.find(key);
  if (it == json.end()) return std::nullopt;
  return sensor::SocketAddress{it->value("family", ""), it->value("address", ""),
                               static_cast<uint16_t>(it->value("port", 0))};
}

sensor::ProcessInfo ProcessFrom(const Json& json) {
  sensor::ProcessInfo p;
  p.pid = json.value("pid", 0u);
  p.ppid = json.value("ppid", 0u);
  p.comm = json.value("name", "");
  p.exec.exe = json.value("exe", "");
  p.exec.argv.push_back(p.comm);
  if (auto args = json.find("args"); args != json.end()) {
    for (const auto& arg : *args) p.exec.argv.push_back(arg.get<std::string>());
  }
  p.exec.cwd = json.value("cwd", "");
  p.exec.tty = json.value("tty", "");
  p.exec.exe_upper_layer = json.value("exe_upper_layer", false);
  p.exec.exe_memfd = json.value("exe_memfd", false);
  p.exec.cap_effective = std::strtoull(json.value("cap_effective", "0").c_str(), nullptr, 16);
  return p;
}

std::unique_ptr<Recorded> Parse(const std::string& line) {
  Json json = Json::parse(line, nullptr, false);
  if (!json.is_object()) return nullptr;
  auto type = TypeNamed(json.value("type", ""));
  if (!type) return nullptr;
  auto r = std::make_unique<Recorded>();
  sensor::Event& e = r->event;
  e.type = *type;
  e.syscall = json.value("syscall", "");
  e.ret = json.value("ret", int64_t{0});
  e.pid = json.value("pid", 0u);
  e.tid = json.value("tid", 0u);
  e.path = json.value("path", "");
  e.path2 = json.value("new_path", json.value("source", json.value("link_path", "")));
  e.local = Address(json, "local");
  e.remote = Address(json, "remote");
  if (auto args = json.find("args"); args != json.end()) {
    for (const auto& [key, value] : args->items()) {
      if (value.is_number()) e.numbers.emplace_back(key, value.get<int64_t>());
      if (value.is_string()) e.texts.emplace_back(key, value.get<std::string>());
    }
  }
  const Json& proc = json["proc"];
  e.comm = proc.value("name", "");
  e.uid = json["user"].value("uid", 0u);
  r->user_name = json["user"].value("name", "");
  if (auto c = json.find("container"); c != json.end()) {
    r->has_container = true;
    r->container.id = c->value("full_id", "");
    r->container.name = c->value("name", "");
    r->container.image = c->value("image", "");
    r->container.image_digest = c->value("image_digest", "");
    r->container.privileged = c->value("privileged", false);
    r->container.resolved = c->contains("name");
  }
  if (proc.contains("exe")) {
    sensor::ProcessInfo process = ProcessFrom(proc);
    process.container_id = r->container.id;
    r->process = Shared(std::move(process));
    for (const auto& parent : proc.value("parents", Json::array())) {
      r->parents.push_back(Shared(ProcessFrom(parent)));
    }
  }
  return r;
}

sensor::EnrichedEvent Enrich(const Recorded& r) {
  sensor::EnrichedEvent enriched;
  enriched.event = &r.event;
  enriched.time_ns = 1'700'000'000'000'000'000;
  enriched.process = r.process;
  enriched.parents = r.parents;
  enriched.container = r.has_container ? &r.container : nullptr;
  enriched.user_name = r.user_name;
  return enriched;
}

struct Stream {
  std::vector<std::unique_ptr<Recorded>> recorded;
  std::vector<sensor::EnrichedEvent> enriched;  // as the sensor's pipeline hands them over
  std::vector<rules::SyscallEvent> events;
};

const Stream& LoadStream() {
  static const Stream stream = [] {
    Stream s;
    const char* path = std::getenv("MOAT_SENSOR_EVENTS");
    if (path == nullptr) {
      std::cerr << "set MOAT_SENSOR_EVENTS to a file of `moat sensor --events` lines\n";
      std::exit(2);
    }
    std::ifstream in(path);
    for (std::string line; std::getline(in, line);) {
      auto r = Parse(line);
      if (!r) continue;
      s.enriched.push_back(Enrich(*r));
      s.events.push_back(sensor::ToSyscallEvent(s.enriched.back(), s.events.size() + 1));
      s.recorded.push_back(std::move(r));
    }
    std::cerr << "recorded stream: " << s.events.size() << " events of " << Processes().size()
              << " processes from " << path << "\n";
    return s;
  }();
  return stream;
}

std::unique_ptr<sensor::Detector> LoadDetector(bool with_falco) {
  sensor::DetectorOptions options;
  if (with_falco) {
    options.rule_paths = {std::string(MOAT_SHARED_DATA_DIR) +
                          "/runtime/falco-rules/falco_rules.yaml"};
  }
  rules::LoadReport report;
  auto detector = sensor::Detector::Create(options, nullptr, &report);
  if (!detector.ok()) {
    std::cerr << detector.error().message << "\n";
    std::exit(2);
  }
  std::cerr << "rules: " << report.enabled.size() << " enabled, " << report.disabled.size()
            << " disabled\n";
  return std::move(*detector);
}

// Evaluation only: the converted events against every rule (alerts built for the matches).
void BM_Evaluate(benchmark::State& state) {
  const Stream& stream = LoadStream();
  auto detector = LoadDetector(state.range(0) != 0);
  size_t alerts = 0;
  for (auto _ : state) {
    for (const rules::SyscallEvent& event : stream.events) {
      alerts += detector->Evaluate(event).size();
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * stream.events.size()));
  state.counters["events/s"] = benchmark::Counter(
      static_cast<double>(state.iterations() * stream.events.size()), benchmark::Counter::kIsRate);
  state.counters["alerts/pass"] =
      static_cast<double>(alerts) / static_cast<double>(std::max<int64_t>(state.iterations(), 1));
}
BENCHMARK(BM_Evaluate)->Arg(0)->Arg(1)->ArgName("falco_rules")->Unit(benchmark::kMillisecond);

// What the sensor does per event: Detector::Process converts the enriched event into its one
// reused syscall event (views of the process tree's and the container's strings), then evaluates.
void BM_ConvertAndEvaluate(benchmark::State& state) {
  const Stream& stream = LoadStream();
  auto detector = LoadDetector(true);
  for (auto _ : state) {
    for (const sensor::EnrichedEvent& enriched : stream.enriched) detector->Process(enriched);
  }
  state.counters["events/s"] =
      benchmark::Counter(static_cast<double>(state.iterations() * stream.enriched.size()),
                         benchmark::Counter::kIsRate);
  state.counters["alerts/pass"] = static_cast<double>(detector->stats().alerts) /
                                  static_cast<double>(std::max<int64_t>(state.iterations(), 1));
}
BENCHMARK(BM_ConvertAndEvaluate)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
