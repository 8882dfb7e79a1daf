// `moat agent`: reports a Docker host, or (--kind cluster) a Kubernetes cluster, to `moat server`
// (docs/agent.md).

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <iostream>
#include <memory>

#include "admission/config.h"
#include "agent/agent.h"
#include "agent/in_use.h"
#include "cli/commands.h"
#include "cli/flags.h"
#include "core/bytes.h"
#include "core/log.h"
#include "core/text.h"
#include "core/token_file.h"

namespace moat::cli {
namespace {

struct AgentFlags {
  std::string server;
  std::string token;
  std::string token_file;
  std::string ca_file;
  std::string name;
  std::string spool = "/var/lib/moat/agent";
  std::string interval = "1h";
  std::string heartbeat = "1m";
  std::string timeout = "5m";
  uint64_t spool_max_mib = 256;
  std::string docker_host;
  std::string host_root = "/";
  std::string alerts_file;
  bool once = false;
  bool no_events = false;
  std::string kind = "host";
  k8s::ConnectionOptions connection;
  std::string cluster_name;
  std::vector<std::string> sensors;
  bool no_sensor = false;
  std::string sensor_pods = "app.kubernetes.io/name=moat-sensor";
  int sensor_port = 8766;
  std::string admission_config;
  bool no_admission_audit = false;
};

int Failed(const std::string& message) {
  std::cerr << "moat agent: " << message << "\n";
  return kExitError;
}

int RunAgentCommand(const AgentFlags& flags) {
  agent::AgentOptions options;
  if (auto valid = agent::ValidateServerUrl(flags.server); !valid.ok()) {
    return Failed(valid.error().message);
  }
  options.server.url = flags.server;
  if (!flags.token_file.empty()) {
    auto token = ReadTokenFile(flags.token_file);
    if (!token.ok()) return Failed("--token-file: " + token.error().message);
    options.server.token = std::move(*token);
  } else {
    options.server.token = flags.token;
  }
  if (!flags.ca_file.empty()) {
    auto ca = ReadFileToString(flags.ca_file, 1 << 20);
    if (!ca.ok()) return Failed("--ca-file: " + ca.error().message);
    options.server.ca_pem = *ca;
  }
  for (auto [flag, text, target] :
       {std::tuple{"--interval", &flags.interval, &options.interval},
        std::tuple{"--heartbeat", &flags.heartbeat, &options.heartbeat},
        std::tuple{"--timeout", &flags.timeout, &options.once_timeout}}) {
    auto duration = ParseDuration(*text);
    if (!duration.ok()) return Failed(std::string(flag) + ": " + duration.error().message);
    *target = *duration;
  }
  char hostname[256] = {};
  ::gethostname(hostname, sizeof hostname - 1);
  options.registration.kind = flags.kind;
  // A cluster's agent runs in a pod whose host name changes with every restart: it is known by
  // the cluster's name unless told otherwise.
  options.registration.name = !flags.name.empty()           ? flags.name
                              : !flags.cluster_name.empty() ? flags.cluster_name
                                                            : hostname;
  options.cluster.connection = flags.connection;
  options.cluster.cluster_name = flags.cluster_name;
  options.registration.hostname = hostname;
  options.registration.version = MOAT_VERSION;
  options.spool_dir = flags.spool;
  options.spool.max_bytes = flags.spool_max_mib << 20;
  options.report.docker_host = flags.docker_host;
  options.report.host_root = flags.host_root;
  options.report.tool_version = MOAT_VERSION;
  options.alerts_file = flags.alerts_file;
  // A host's sensor listens on its default address unless told otherwise; a cluster's sensors
  // are its DaemonSet's pods.
  if (!flags.no_sensor) {
    options.sensor_urls = flags.sensors;
    if (flags.sensors.empty() && flags.kind == "host") {
      options.sensor_urls.push_back(agent::kDefaultSensorUrl);
    }
    options.cluster.sensor_pod_label = flags.sensor_pods;
    options.cluster.sensor_port = flags.sensor_port;
  } else {
    options.cluster.sensor_pod_label.clear();
  }
  options.once = flags.once;
  options.watch_events = !flags.no_events;
  options.admission_audit = !flags.no_admission_audit;
  options.admission_config = flags.admission_config;
  if (!flags.admission_config.empty()) {
    // A configuration that does not load would leave every report without its audit: said now.
    if (auto config = admission::LoadAdmissionConfig(flags.admission_config); !config.ok()) {
      return Failed("--admission-config: " + config.error().message);
    }
  }

  auto result = agent::RunAgent(options, InstallStopFlag());
  if (!result.ok()) return Failed(result.error().message);
  return kExitOk;
}

}  // namespace

void AddAgentCommand(CLI::App& app, const GlobalOptions& global, Action& action) {
  (void)global;
  auto* command = app.add_subcommand(
      "agent",
      "Report this Docker host to moat server: containers and image digests, the CIS Docker "
      "Benchmark (every --interval and on container events), forwarded alerts; buffered on disk "
      "while the server is unreachable. --kind cluster reports a Kubernetes cluster instead: "
      "workloads, running images, the k8s checks and the admission policy audit, every "
      "--interval");
  auto flags = std::make_shared<AgentFlags>();
  command
      ->add_option("--server", flags->server,
                   "moat server URL: https://host:port (http:// only on loopback)")
      ->required();
  auto* token = command->add_option("--token", flags->token,
                                    "API token of role agent (visible in ps: prefer --token-file)");
  auto* token_file =
      command->add_option("--token-file", flags->token_file, "File holding the API token");
  token->excludes(token_file);
  token_file->excludes(token);
  command->add_option("--ca-file", flags->ca_file,
                      "PEM CA certificates to trust for the server (default: the system store)");
  command->add_option("--name", flags->name, "Agent name on the server (default: the host name)");
  command
      ->add_option("--spool", flags->spool,
                   "Spool directory: messages wait here until the server acknowledges them")
      ->capture_default_str();
  command
      ->add_option("--spool-max-size", flags->spool_max_mib,
                   "Spool cap in MiB; beyond it the oldest unsent messages are dropped")
      ->capture_default_str();
  command->add_option("--interval", flags->interval, "Time between host reports (1h, 30m, 90s)")
      ->capture_default_str();
  command
      ->add_option("--heartbeat", flags->heartbeat,
                   "Time between heartbeats while nothing else is sent")
      ->capture_default_str();
  command->add_option("--docker-host", flags->docker_host,
                      "Engine socket (unix:///path); default DOCKER_HOST or /var/run/docker.sock");
  command
      ->add_option("--host-root", flags->host_root,
                   "The host's root filesystem (for the CIS host checks)")
      ->capture_default_str();
  command->add_option("--alerts-file", flags->alerts_file,
                      "JSON-lines file of alerts (the sensor's output) to forward");
  command->add_option("--kind", flags->kind, "What this agent reports: host or cluster")
      ->check(CLI::IsMember({"host", "cluster"}))
      ->capture_default_str();
  AddKubeconfigFlags(*command, flags->connection, "--kind cluster: ");
  command->add_option("--cluster-name", flags->cluster_name,
                      "--kind cluster: the cluster's name on the server (default: the kubeconfig "
                      "context; in a pod, cluster- and the start of kube-system's uid)");
  command->add_option("--sensor", flags->sensors,
                      "Base URL of a moat sensor's --metrics-listen address whose in-use export "
                      "(GET /in-use) goes with each report, repeatable (default for --kind host: " +
                          std::string(agent::kDefaultSensorUrl) + ")");
  command->add_flag("--no-sensor", flags->no_sensor, "Fetch no sensor's in-use export");
  command
      ->add_option("--sensor-pods", flags->sensor_pods,
                   "--kind cluster: the label (key=value) of the sensor DaemonSet's pods, whose "
                   "in-use exports go with each report")
      ->capture_default_str();
  command
      ->add_option("--sensor-port", flags->sensor_port,
                   "--kind cluster: the sensor pods' --metrics-listen port")
      ->check(CLI::Range(1, 65535))
      ->capture_default_str();
  command
      ->add_option("--admission-config", flags->admission_config,
                   "--kind cluster: admission configuration (docs/admission.md) whose policies the "
                   "admission audit of each report applies besides the server's policy modes")
      ->check(CLI::ExistingFile);
  command->add_flag("--no-admission-audit", flags->no_admission_audit,
                    "--kind cluster: no admission policy audit in the reports");
  command->add_flag("--no-events", flags->no_events,
                    "Report on the interval only, not on container start/die/destroy events "
                    "(--kind cluster: not on workload watch events)");
  command->add_flag("--once", flags->once,
                    "Send one report (and pending alerts), flush the spool and exit (cron, tests)");
  command
      ->add_option("--timeout", flags->timeout,
                   "With --once: how long to try to reach the server (messages stay spooled)")
      ->capture_default_str();
  SetExamples(*command,
              {"moat agent --server https://moat.example:8443 --token-file /etc/moat/agent.token "
               "--ca-file /etc/moat/ca.pem",
               "moat agent --server http://127.0.0.1:8080 --token-file agent.token --once",
               "moat agent --server https://moat.example:8443 --token-file agent.token "
               "--interval 30m --alerts-file /var/log/moat/alerts.jsonl",
               "moat agent --kind cluster --cluster-name prod --server https://moat.example:8443 "
               "--token-file agent.token --interval 15m"});
  command->callback([&action, flags] {
    action = [flags] {
      if (flags->token.empty() && flags->token_file.empty()) {
        return Failed("give the API token with --token-file FILE (or --token)");
      }
      if (flags->kind != "cluster" &&
          (KubeconfigFlagsGiven(flags->connection) || !flags->cluster_name.empty())) {
        return Failed(
            "--kubeconfig, --context, --in-cluster and --cluster-name need --kind cluster");
      }
      if (flags->kind != "cluster" &&
          (!flags->admission_config.empty() || flags->no_admission_audit)) {
        return Failed("--admission-config and --no-admission-audit need --kind cluster");
      }
      return RunAgentCommand(*flags);
    };
  });
}

}  // namespace moat::cli
