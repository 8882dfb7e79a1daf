#include "agent/agent.h"

#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "agent/alerts_tail.h"
#include "agent/cluster_watch.h"
#include "agent/in_use.h"
#include "core/log.h"
#include "core/text_format.h"

namespace moat::agent {
namespace {

using Clock = std::chrono::steady_clock;

// Alerts per `alerts` message: enough to batch a burst, small enough for one request.
constexpr size_t kAlertsPerMessage = 500;

Result<std::unique_ptr<Spool>> OpenSpool(const AgentOptions& options) {
  std::vector<std::string> notes;
  auto spool = Spool::Open(options.spool_dir, options.spool, &notes);
  for (const auto& note : notes) log::Warn(note);
  return spool;
}

bool IsCluster(const AgentOptions& options) { return options.registration.kind == "cluster"; }

// Spools the sensors' in-use export after `report`, unless both are those sent last (`last_sent`,
// their fingerprint): the server weighs an export against the report before it (a container that
// stopped no longer counts), so a new report with the same export goes again. No sensor answering
// is normal on a host without one: a debug note.
Result<void> AppendInUse(const SensorTargets& sensors, const std::string& report, Spool& spool,
                         uint64_t& last_sent) {
  if (sensors.urls.empty()) return Ok();
  std::vector<std::string> notes;
  auto body = CollectInUse(sensors.urls, sensors.digest_by_container, notes);
  for (const auto& note : notes) log::Debug("in_use: " + note);
  if (!body.ok()) {
    log::Debug("in_use: " + body.error().message);
    return Ok();
  }
  // The server takes request bodies up to 16 MiB, and refuses a larger one for good.
  constexpr size_t kMaxInUseBytes = 12u << 20;
  if (body->size() > kMaxInUseBytes) {
    log::Warn("in_use: the sensors' export is " + std::to_string(body->size() >> 20) +
              " MiB, over the 12 MiB a message may have: not sent");
    return Ok();
  }
  const uint64_t fingerprint = InUseFingerprint(*body) * 31 + std::hash<std::string>{}(report);
  if (fingerprint == last_sent) return Ok();
  MOAT_ASSIGN_OR_RETURN(uint64_t seq, spool.Append(MessageKind::kInUse, NowRfc3339Utc(), *body));
  last_sent = fingerprint;
  log::Info("in_use seq " + std::to_string(seq) + " spooled (" + std::to_string(body->size()) +
            " bytes)");
  return Ok();
}

// Spools a host report, or with --kind cluster a cluster report, and then the sensors' in-use
// export. A cluster that cannot be read is an error the caller decides about (fatal with --once,
// retried at the next interval).
Result<void> AppendReport(const AgentOptions& options, ClusterAdmission* admission, Spool& spool,
                          uint64_t& in_use_sent) {
  auto started = Clock::now();
  std::vector<std::string> notes;
  std::string body;
  MessageKind kind = MessageKind::kHostReport;
  SensorTargets sensors{options.sensor_urls, {}};
  if (IsCluster(options)) {
    kind = MessageKind::kClusterReport;
    ClusterReportOptions cluster = options.cluster;
    cluster.admission = admission;
    auto report = BuildClusterReport(cluster, notes, &sensors);
    if (!report.ok()) return Fail("cluster report: ", report.error().message);
    body = std::move(*report);
  } else {
    body = BuildHostReport(options.report, notes);
  }
  for (const auto& note : notes) log::Debug(std::string(MessageKindName(kind)) + ": " + note);
  MOAT_ASSIGN_OR_RETURN(uint64_t seq, spool.Append(kind, NowRfc3339Utc(), body));
  log::Info(
      std::string(MessageKindName(kind)) + " seq " + std::to_string(seq) + " spooled (" +
      std::to_string(body.size()) + " bytes, " +
      std::to_string(
          std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started).count()) +
      " ms)");
  return AppendInUse(sensors, body, spool, in_use_sent);
}

// Spools the alerts appended to the file since the last call; returns how many.
Result<size_t> ForwardAlerts(AlertsTail& tail, Spool& spool) {
  size_t forwarded = 0;
  while (true) {
    MOAT_ASSIGN_OR_RETURN(std::vector<std::string> alerts, tail.Poll());
    for (size_t start = 0; start < alerts.size(); start += kAlertsPerMessage) {
      std::vector<std::string> part(
          alerts.begin() + static_cast<ptrdiff_t>(start),
          alerts.begin() +
              static_cast<ptrdiff_t>(std::min(alerts.size(), start + kAlertsPerMessage)));
      auto appended = spool.Append(MessageKind::kAlerts, NowRfc3339Utc(), AlertsBody(part));
      if (!appended.ok()) return appended.error();
      forwarded += part.size();
    }
    // Only once the alerts are durable in the spool does the file position move on.
    MOAT_TRY(tail.Commit());
    if (alerts.empty()) return forwarded;
  }
}

// A cluster agent's admission audit (null for a host, or with the audit off): the server's modes
// are fetched with the agent's own token.
std::unique_ptr<ClusterAdmission> MakeClusterAdmission(const AgentOptions& options) {
  if (!IsCluster(options) || !options.admission_audit) return nullptr;
  ClusterAdmissionOptions admission;
  admission.server.url = options.server.url;
  admission.server.token = options.server.token;
  admission.server.ca_pem = options.server.ca_pem;
  admission.server.timeout_seconds = options.server.request_timeout_seconds;
  admission.config_file = options.admission_config;
  return std::make_unique<ClusterAdmission>(std::move(admission));
}

Result<void> RunOnce(const AgentOptions& options, Spool& spool, const std::atomic<bool>& stop) {
  uint64_t in_use_sent = 0;
  std::unique_ptr<ClusterAdmission> admission = MakeClusterAdmission(options);
  MOAT_TRY(AppendReport(options, admission.get(), spool, in_use_sent));
  if (!options.alerts_file.empty()) {
    AlertsTail tail(options.alerts_file, options.spool_dir);
    MOAT_ASSIGN_OR_RETURN(size_t forwarded, ForwardAlerts(tail, spool));
    if (forwarded > 0) log::Info(std::to_string(forwarded) + " alerts spooled");
  }
  Sender sender(spool, options.server, options.registration, options.sender);
  MOAT_TRY(sender.Flush([&] { return stop.load(); }, Clock::now() + options.once_timeout));
  log::Info("spool flushed: the server has applied through seq " +
            std::to_string(sender.server_acked()));
  return Ok();
}

}  // namespace

Result<void> RunAgent(const AgentOptions& options, const std::atomic<bool>& stop) {
  MOAT_ASSIGN_OR_RETURN(std::unique_ptr<Spool> spool, OpenSpool(options));
  if (options.once) return RunOnce(options, *spool, stop);

  // Every thread stops on `halt`: the caller's stop, or a fatal error of one of them.
  std::atomic<bool> halt{false};
  std::mutex mutex;
  std::condition_variable wake_sender;
  bool appended = false;
  std::optional<Error> fatal;
  std::optional<Clock::time_point> events_due;

  std::thread sender_thread([&] {
    Sender sender(*spool, options.server, options.registration, options.sender);
    while (!halt) {
      auto flushed = sender.Flush([&] { return halt.load(); });
      if (!flushed.ok() && sender.fatal()) {
        std::lock_guard<std::mutex> lock(mutex);
        fatal = flushed.error();
        halt = true;
        break;
      }
      std::unique_lock<std::mutex> lock(mutex);
      wake_sender.wait_for(lock, std::chrono::seconds(1), [&] { return appended || halt.load(); });
      appended = false;
    }
  });
  std::thread events_thread;
  if (options.watch_events && !IsCluster(options)) {
    events_thread = std::thread([&] {
      WatchContainerEvents(options.report.docker_host, halt, [&](const std::string& action) {
        log::Debug("docker engine event: container " + action);
        std::lock_guard<std::mutex> lock(mutex);
        events_due = Clock::now() + options.debounce;
      });
    });
  } else if (options.watch_events) {
    // A cluster is assessed again shortly after the last of a burst of workload changes.
    events_thread = std::thread([&] {
      WatchCluster(options.cluster.connection, options.cluster_watch, halt,
                   [&](const std::string& what) {
                     log::Debug("cluster watch: " + what);
                     std::lock_guard<std::mutex> lock(mutex);
                     events_due = Clock::now() + options.debounce;
                   });
    });
  }
  auto notify = [&] {
    std::lock_guard<std::mutex> lock(mutex);
    appended = true;
    wake_sender.notify_one();
  };
  auto fail = [&](const Error& error) {
    std::lock_guard<std::mutex> lock(mutex);
    if (!fatal) fatal = error;
    halt = true;
  };

  std::optional<AlertsTail> tail;
  if (!options.alerts_file.empty()) tail.emplace(options.alerts_file, options.spool_dir);
  std::unique_ptr<ClusterAdmission> admission = MakeClusterAdmission(options);
  Clock::time_point next_report = Clock::now();
  uint64_t in_use_sent = 0;  // the in-use export last spooled
  Clock::time_point next_heartbeat = Clock::now() + options.heartbeat;
  Clock::time_point next_alerts_poll = Clock::now();
  while (!halt) {
    if (stop) {
      halt = true;
      break;
    }
    const auto now = Clock::now();
    bool report_now = now >= next_report;
    {
      std::lock_guard<std::mutex> lock(mutex);
      if (events_due && now >= *events_due) {
        report_now = true;
        events_due.reset();
      }
    }
    if (report_now) {
      if (auto appended_report = AppendReport(options, admission.get(), *spool, in_use_sent);
          !appended_report.ok()) {
        // An API server that is down or refuses the agent now may answer at the next interval;
        // a spool that cannot be written ends the agent.
        if (!IsCluster(options) ||
            appended_report.error().message.rfind("cluster report:", 0) != 0) {
          fail(appended_report.error());
          break;
        }
        log::Warn(appended_report.error().message);
      }
      next_report = Clock::now() + options.interval;
      next_heartbeat = Clock::now() + options.heartbeat;
      notify();
    }
    if (tail && now >= next_alerts_poll) {
      auto forwarded = ForwardAlerts(*tail, *spool);
      if (!forwarded.ok()) {
        fail(forwarded.error());
        break;
      }
      if (*forwarded > 0) {
        log::Debug(std::to_string(*forwarded) + " alerts spooled");
        notify();
      }
      next_alerts_poll = now + std::chrono::seconds(1);
    }
    if (now >= next_heartbeat) {
      // Anything waiting to be sent already tells the server the agent lives when it arrives.
      if (spool->pending() == 0) {
        if (auto beat = spool->Append(MessageKind::kHeartbeat, NowRfc3339Utc(), "{}"); !beat.ok()) {
          fail(beat.error());
          break;
        }
        notify();
      }
      next_heartbeat = now + options.heartbeat;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  halt = true;
  wake_sender.notify_one();
  sender_thread.join();
  if (events_thread.joinable()) events_thread.join();
  if (fatal) return *fatal;
  log::Info("agent stopped; " + std::to_string(spool->pending()) + " messages spooled in " +
            spool->dir());
  return Ok();
}

}  // namespace moat::agent
