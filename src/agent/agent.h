#pragma once
// `moat agent` for a Docker host or (--kind cluster) a Kubernetes cluster, as ordered steps: open
// the spool, then (threads) a sender that drains it to the server, for a host a watcher of the
// engine's container events, and the scheduler that appends reports (every interval, and for a
// host shortly after container events), heartbeats and forwarded alerts. docs/agent.md describes
// the behaviour.

#include <atomic>
#include <chrono>
#include <string>
#include <vector>

#include "agent/cluster_admission.h"
#include "agent/cluster_report.h"
#include "agent/cluster_watch.h"
#include "agent/host_report.h"
#include "agent/sender.h"
#include "agent/spool.h"
#include "core/result.h"

namespace moat::agent {

struct AgentOptions {
  ServerConfig server;
  Registration registration;
  std::string spool_dir;
  SpoolOptions spool;
  SenderOptions sender;
  HostReportOptions report;
  /// Registration.kind "cluster": cluster reports (Kubernetes API, k8s checks) instead of host
  /// reports; a cluster that cannot be read is retried at the next interval.
  ClusterReportOptions cluster;
  /// Registration.kind "cluster": the admission policy audit with each report, with the policy
  /// modes of `server` (fetched with its token) and admission_config (--admission-config).
  bool admission_audit = true;
  std::string admission_config;
  /// Registration.kind "cluster" with watch_events: the workload kinds watched.
  ClusterWatchOptions cluster_watch;
  std::chrono::milliseconds interval = std::chrono::hours(1);
  /// A report follows container events (a cluster's watch events) once none has come for this
  /// long.
  std::chrono::milliseconds debounce = std::chrono::seconds(5);
  /// While nothing is waiting to be sent, a heartbeat this often tells the server the agent lives.
  std::chrono::milliseconds heartbeat = std::chrono::minutes(1);
  bool watch_events = true;
  std::string alerts_file;  // JSON lines of alerts to forward; empty = none
  /// Host: the sensors whose in-use export (agent/in_use.h) goes with each report; empty = none.
  /// A cluster agent finds the sensor pods itself (ClusterReportOptions).
  std::vector<std::string> sensor_urls;
  /// One report (and the alerts file once), flush, return: for cron and tests.
  bool once = false;
  /// --once: how long to try to flush before giving up (the messages stay spooled).
  std::chrono::milliseconds once_timeout = std::chrono::minutes(5);
};

/// Runs until `stop` is set (or, with `once`, the spool is flushed). Errors: the spool cannot be
/// opened or written, the server refused the agent (token, malformed batch), or --once could not
/// flush in time.
Result<void> RunAgent(const AgentOptions& options, const std::atomic<bool>& stop);

}  // namespace moat::agent
