// `moat sensor`: the eBPF run-time sensor (docs/sensor.md). This session's mode is --events: each
// enriched event as one JSON line; alerts come when the rules engine is wired in.

#include <CLI/CLI.hpp>
#include <atomic>
#include <csignal>
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "core/bytes.h"
#include "sensor/config.h"
#include "sensor/loader.h"
#include "sensor/sensor.h"

namespace moat::cli {
namespace {

// Exit code of --check when the kernel side cannot run here (what ctest's SKIP_RETURN_CODE of
// the sensor test expects).
constexpr int kExitSensorUnavailable = 77;

struct SensorFlags {
  std::string config_path;
  std::string output;
  bool events = false;
  bool check = false;
};

std::atomic<bool> g_stop{false};

void RequestStop(int) { g_stop = true; }

int Failed(const std::string& message) {
  std::cerr << "moat sensor: " << message << "\n";
  return kExitError;
}

int RunSensorCommand(const SensorFlags& flags) {
  if (flags.check) {
    auto support = sensor::ProbeProgramTypes();
    std::cout << "BPF program types on this kernel:\n" << sensor::DescribeProgramTypes(support);
    bool raw_tracepoints = false, ring_buffer = false, btf = false;
    for (const auto& type : support) {
      if (type.name == "raw_tracepoint") raw_tracepoints = type.loads;
      if (type.name == "ringbuf map") ring_buffer = type.loads;
      if (type.name.rfind("BTF", 0) == 0) btf = type.loads;
    }
    if (!sensor::KernelSideBuilt()) {
      std::cout << "the sensor cannot run: this moat was built without its kernel programs\n";
      return kExitSensorUnavailable;
    }
    if (!raw_tracepoints || !ring_buffer || !btf) {
      std::cout << "the sensor cannot run here: it needs raw tracepoints, the BPF ring buffer and "
                   "kernel BTF (and root, or CAP_BPF + CAP_PERFMON)\n";
      return kExitSensorUnavailable;
    }
    std::cout << "the sensor can run here (raw tracepoints + ring buffer)\n";
    return kExitOk;
  }
  if (!flags.events) {
    return Failed(
        "alerts need the rules engine, which is not wired into the sensor yet: run with --events "
        "to print every enriched event as a JSON line");
  }
  sensor::RunOptions options;
  std::string text;
  std::string name = "built-in defaults";
  if (!flags.config_path.empty()) {
    auto read = ReadFileToString(flags.config_path, 1 << 20);
    if (!read.ok()) return Failed("--config: " + read.error().message);
    text = std::move(*read);
    name = flags.config_path;
  }
  auto config = sensor::ParseSensorConfig(text, name);
  if (!config.ok()) return Failed(config.error().message);
  options.config = std::move(*config);
  options.output_path = flags.output;
  options.stop = &g_stop;
  struct sigaction action {};
  action.sa_handler = RequestStop;
  sigemptyset(&action.sa_mask);
  ::sigaction(SIGINT, &action, nullptr);
  ::sigaction(SIGTERM, &action, nullptr);
  return sensor::RunSensor(options);
}

}  // namespace

void AddSensorCommand(CLI::App& app, const GlobalOptions& global, Action& action) {
  (void)global;
  auto* command = app.add_subcommand(
      "sensor",
      "Run-time sensor (eBPF raw tracepoints): process, file, network, namespace, mount and "
      "module events with the process tree and container attribution. Runs in the foreground "
      "until SIGINT or SIGTERM; needs root (or CAP_BPF, CAP_PERFMON, CAP_SYS_RESOURCE, "
      "CAP_SYS_PTRACE)");
  auto flags = std::make_shared<SensorFlags>();
  command->add_option("--config", flags->config_path,
                      "YAML configuration: ringBufferMiB, statsInterval, dockerSocket, "
                      "parentLevels, sensitiveReadPrefixes (docs/sensor.md)");
  command->add_option("-o,--output", flags->output, "Write the JSON lines here (default: stdout)");
  command->add_flag("--events", flags->events,
                    "Print every enriched event as one JSON line (the debugging mode)");
  command->add_flag("--check", flags->check,
                    "Print which BPF program types load on this kernel and exit (77 when the "
                    "sensor cannot run here)");
  command->footer(
      "Examples:\n"
      "  moat sensor --check\n"
      "  moat sensor --events\n"
      "  moat sensor --events --config /etc/moat/sensor.yaml -o /var/log/moat/events.jsonl");
  command->callback([flags, &action] { action = [flags] { return RunSensorCommand(*flags); }; });
}

}  // namespace moat::cli
