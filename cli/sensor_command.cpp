// `moat sensor`: the eBPF run-time sensor (docs/sensor.md). By default it runs the rules engine
// (built-in node rules + --rules files) over every enriched event and emits alerts; --events
// prints the enriched events instead (the debugging mode).

#include <CLI/CLI.hpp>
#include <iostream>
#include <memory>

#include "cli/alert_flags.h"
#include "cli/commands.h"
#include "cli/flags.h"
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
  AlertFlags alerts;  // -o is the alert file, or with --events the events file
  bool events = false;
  bool check = false;
  std::string metrics_listen = "127.0.0.1:8766";
  std::string in_use_path;
  int in_use_interval = 30;
  std::string image_cache;
  bool image_cache_given = false;  // --image-cache was on the command line (even as "")
  bool no_image_cache = false;
};

int Failed(const std::string& message) {
  std::cerr << "moat sensor: " << message << "\n";
  return kExitError;
}

int RunCheck() {
  auto support = sensor::ProbeProgramTypes();
  std::cout << "BPF program types on this kernel:\n" << sensor::DescribeProgramTypes(support);
  bool raw_tracepoints = false, ring_buffer = false, btf = false, syscalls = false;
  for (const auto& type : support) {
    if (type.name == "raw_tracepoint") raw_tracepoints = type.loads;
    if (type.name == "tracepoint" || type.name == "tp_btf") syscalls = syscalls || type.loads;
    if (type.name == "ringbuf map") ring_buffer = type.loads;
    if (type.name.rfind("BTF", 0) == 0) btf = type.loads;
  }
  if (!sensor::KernelSideBuilt()) {
    std::cout << "the sensor cannot run: this moat was built without its kernel programs\n";
    return kExitSensorUnavailable;
  }
  if (!raw_tracepoints || !syscalls || !ring_buffer || !btf) {
    std::cout << "the sensor cannot run here: it needs raw tracepoints, per-syscall tracepoints "
                 "or tp_btf, the BPF ring buffer and kernel BTF (and root, or CAP_BPF + "
                 "CAP_PERFMON)\n";
    return kExitSensorUnavailable;
  }
  std::cout << "the sensor can run here (tracepoints + ring buffer)\n";
  return kExitOk;
}

int RunSensorCommand(const SensorFlags& flags) {
  if (flags.check) return RunCheck();
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
  if (flags.image_cache_given) options.config.image_cache_dir = flags.image_cache;
  if (flags.no_image_cache) options.config.image_cache_dir.clear();
  if (flags.events) {
    options.events_path = flags.alerts.output_file;
  } else {
    options.detector.rule_paths = flags.alerts.rules;
    options.detector.builtin_rules = !flags.alerts.no_builtin_rules;
    auto outputs = MakeOutputOptions(flags.alerts, /*stdout_with_file=*/false);
    if (!outputs.ok()) return Failed(outputs.error().message);
    options.outputs = std::move(*outputs);
  }
  options.metrics_listen = flags.metrics_listen;
  options.in_use_path = flags.in_use_path;
  if (flags.in_use_interval <= 0) return Failed("--in-use-interval: must be at least 1 second");
  options.in_use_interval_seconds = flags.in_use_interval;
  options.stop = &InstallStopFlag();
  return sensor::RunSensor(options);
}

}  // namespace

void AddSensorCommand(CLI::App& app, const GlobalOptions& global, Action& action) {
  (void)global;
  auto* command = app.add_subcommand(
      "sensor",
      "Run-time sensor (eBPF tracepoints): process, file, network, namespace, mount and "
      "module events with the process tree and container attribution, run through Moat's "
      "built-in node rules and your Falco-format rules; alerts as JSON lines, to a webhook, "
      "Slack or syslog. Runs in the foreground until SIGINT or SIGTERM; needs root (or CAP_BPF, "
      "CAP_PERFMON, CAP_SYS_RESOURCE, CAP_SYS_PTRACE)");
  auto flags = std::make_shared<SensorFlags>();
  command->add_option("--config", flags->config_path,
                      "YAML configuration: ringBufferMiB, statsInterval, dockerSocket, "
                      "imageCache, parentLevels, sensitiveReadPrefixes (docs/sensor.md)");
  AddAlertFlags(*command, flags->alerts, "-o,--output", "node rules");
  command->add_flag("--events", flags->events,
                    "Print every enriched event as one JSON line instead of alerts (the "
                    "debugging mode; -o then names the events file)");
  command->add_flag("--check", flags->check,
                    "Print which BPF program types load on this kernel and exit (77 when the "
                    "sensor cannot run here)");
  command->add_option("--metrics-listen", flags->metrics_listen,
                      "Serve GET /metrics, /healthz and /in-use on HOST:PORT; \"\" for none "
                      "(default 127.0.0.1:8766)");
  command->add_option("--in-use", flags->in_use_path,
                      "Write the executables and shared libraries each container loaded to this "
                      "JSON file (docs/sensor.md \"In use\")");
  command->add_option("--in-use-interval", flags->in_use_interval,
                      "Seconds between writes of the --in-use file (default 30)");
  auto* image_cache = command->add_option(
      "--image-cache", flags->image_cache,
      "moat image's layer cache: a program a container runs that is not among its image's "
      "executables there is drift (default: the scanner's, ~/.cache/moat; \"\" for none)");
  command->add_flag("--no-image-cache", flags->no_image_cache,
                    "No drift check against the image inventory (the writable-layer check stays)");
  SetExamples(
      *command,
      {"moat sensor --check", "moat sensor",
       "moat sensor --rules /etc/falco/falco_rules.yaml -o /var/log/moat/alerts.jsonl",
       "moat sensor --notify webhook=https://moat:8443/api/v1/alerts,batch --spool-dir "
       "/var/lib/moat/spool --in-use /var/lib/moat/in-use.json",
       "moat sensor --events --config /etc/moat/sensor.yaml -o /var/log/moat/events.jsonl"});
  command->callback([flags, image_cache, &action] {
    flags->image_cache_given = image_cache->count() > 0;
    action = [flags] { return RunSensorCommand(*flags); };
  });
}

}  // namespace moat::cli
