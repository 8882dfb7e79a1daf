// `moat audit-log watch` and `moat audit-log serve` (docs/audit-log.md): the API server's log
// and webhook backends followed live. `moat audit-log scan` is in audit_log_command.cpp, which
// adds these two to its `audit-log` command.

#include <CLI/CLI.hpp>
#include <chrono>
#include <memory>

#include "auditlog/service.h"
#include "cli/alert_flags.h"
#include "cli/commands.h"
#include "cli/flags.h"
#include "core/log.h"
#include "http/server.h"

namespace moat::cli {
namespace {

/// The flags shared by watch and serve: rules, outputs, baseline.
struct ServiceFlags {
  AlertFlags alerts;
  std::string baseline;
  std::string baseline_window = "168h";
  std::string baseline_save_interval = "30s";
  std::vector<std::string> baseline_allow;
  std::vector<std::string> managed_identities;
};

void AddServiceFlags(CLI::App& command, ServiceFlags& flags) {
  AddAlertFlags(command, flags.alerts, "--output-file", "audit rules");
  command.add_option("--baseline", flags.baseline,
                     "Learn a baseline of identities' operations, namespaces' images and "
                     "service accounts' roles, kept in this file, and alert on what is new");
  command.add_option("--baseline-window", flags.baseline_window,
                     "How long the baseline learns before it alerts (default 168h)");
  command.add_option("--baseline-save-interval", flags.baseline_save_interval,
                     "How often the baseline file is written (default 30s)");
  AddListOption(command, "--baseline-allow", flags.baseline_allow,
                "identity=GLOB[,verb=GLOB][,resource=GLOB][,namespace=GLOB]: no anomaly alert for "
                "these (repeatable)");
  AddListOption(command, "--managed-identity", flags.managed_identities,
                "User-name globs of cloud add-on identities: their anomalies are "
                "K8S_AbnormalMiAcitivty");
}

Result<auditlog::ServiceOptions> MakeServiceOptions(const ServiceFlags& flags) {
  auditlog::ServiceOptions options;
  options.detector.rule_paths = flags.alerts.rules;
  options.detector.builtin_rules = !flags.alerts.no_builtin_rules;
  MOAT_ASSIGN_OR_RETURN(options.outputs,
                        MakeOutputOptions(flags.alerts, /*stdout_with_file=*/true));
  if (!flags.baseline.empty()) {
    auditlog::BaselineOptions baseline;
    baseline.path = flags.baseline;
    auto learn = ParseDuration(flags.baseline_window);
    if (!learn.ok()) return learn.error().Wrap("--baseline-window");
    baseline.window = std::chrono::duration_cast<std::chrono::seconds>(*learn);
    for (const std::string& text : flags.baseline_allow) {
      MOAT_ASSIGN_OR_RETURN(auditlog::BaselineAllow allow, auditlog::ParseBaselineAllow(text));
      baseline.allow.push_back(std::move(allow));
    }
    baseline.managed_identities = flags.managed_identities;
    options.baseline = std::move(baseline);
    auto save = ParseDuration(flags.baseline_save_interval);
    if (!save.ok()) return save.error().Wrap("--baseline-save-interval");
    options.baseline_save_interval = *save;
  } else if (!flags.baseline_allow.empty() || !flags.managed_identities.empty()) {
    return Fail("--baseline-allow and --managed-identity need --baseline FILE");
  }
  return options;
}

// Runs a started service until SIGINT/SIGTERM.
int RunUntilStopped(Result<std::unique_ptr<auditlog::AuditLogService>> started,
                    const std::string& what) {
  if (!started.ok()) {
    log::Error("audit-log " + what + ": " + started.error().message);
    return kExitError;
  }
  auditlog::AuditLogService& service = **started;
  const rules::LoadReport& report = service.load_report();
  log::Info("audit-log " + what + ": " + std::to_string(report.enabled.size()) +
            " rules enabled, " + std::to_string(report.disabled.size()) + " disabled" +
            (service.url().empty() ? "" : "; listening on " + service.url()));
  WaitForStopSignal();
  service.Stop();
  const auditlog::DetectorStats stats = service.detector().stats();
  log::Info("audit-log " + what + ": " + std::to_string(stats.events) + " events, " +
            std::to_string(stats.malformed) + " malformed, " + std::to_string(stats.alerts) +
            " alerts");
  return kExitOk;
}

}  // namespace

void AddAuditLogServiceCommands(CLI::App& audit_log, Action& action) {
  // watch
  auto watch_flags = std::make_shared<ServiceFlags>();
  auto watch = std::make_shared<auditlog::WatchOptions>();
  auto poll_interval = std::make_shared<std::string>("250ms");
  CLI::App* watch_command = audit_log.add_subcommand(
      "watch", "Follow the API server's audit log file (log backend) across rotation");
  watch_command->add_option("file", watch->follow.path, "The audit log (JSON lines)")->required();
  watch_command->add_option("--position-file", watch->follow.position_file,
                            "Keep the read position here so that a restart resumes");
  watch_command->add_flag("--from-end", watch->follow.start_at_end,
                          "Without a saved position, skip what the file holds now");
  watch_command->add_option("--poll-interval", *poll_interval,
                            "How often the file is checked for new lines (default 250ms)");
  watch_command->add_option("--metrics-listen", watch->metrics_listen,
                            "Serve GET /metrics and /healthz on HOST:PORT");
  AddServiceFlags(*watch_command, *watch_flags);
  SetExamples(*watch_command,
              {"moat audit-log watch /var/log/kubernetes/audit/audit.log --position-file "
               "/var/lib/moat/audit.pos",
               "moat audit-log watch audit.log --baseline baseline.json --notify "
               "webhook=https://moat:8443/api/v1/alerts,batch --spool-dir /var/lib/moat/spool"});
  watch_command->callback([&action, watch_flags, watch, poll_interval] {
    action = [watch_flags, watch, poll_interval]() -> int {
      auto options = MakeServiceOptions(*watch_flags);
      if (!options.ok()) {
        log::Error("audit-log watch: " + options.error().message);
        return kExitError;
      }
      auto interval = ParseDuration(*poll_interval);
      if (!interval.ok()) {
        log::Error("audit-log watch: --poll-interval: " + interval.error().message);
        return kExitError;
      }
      watch->poll_interval = *interval;
      return RunUntilStopped(auditlog::AuditLogService::StartWatch(*options, *watch), "watch");
    };
  });

  // serve
  auto serve_flags = std::make_shared<ServiceFlags>();
  auto serve = std::make_shared<auditlog::ServeOptions>();
  serve->server.listen = "0.0.0.0:8765";
  serve->server.max_body_bytes = 64 << 20;
  auto queue_mib = std::make_shared<uint64_t>(512);
  CLI::App* serve_command = audit_log.add_subcommand(
      "serve", "Receive the API server's audit events over HTTPS (webhook backend)");
  serve_command->add_option("--listen", serve->server.listen, "HOST:PORT (default 0.0.0.0:8765)");
  serve_command->add_option("--tls-cert", serve->server.tls_cert_file,
                            "PEM certificate (required unless listening on loopback)");
  serve_command->add_option("--tls-key", serve->server.tls_key_file, "PEM private key");
  serve_command->add_option("--client-ca", serve->server.tls_client_ca_file,
                            "Require a client certificate signed by this CA (the API server's)");
  serve_command->add_option("--queue-batches", serve->backend.max_queued_batches,
                            "Batches queued before POSTs get 429 (default 1024)");
  serve_command->add_option("--queue-mib", *queue_mib,
                            "Bytes of batches queued before POSTs get 429 (default 512)");
  serve_command->add_option("--workers", serve->backend.workers,
                            "Threads that decode batches and run the rules (default 1)");
  serve_command->add_option("--threads", serve->server.threads, "HTTP server threads (default 2)");
  AddServiceFlags(*serve_command, *serve_flags);
  SetExamples(*serve_command,
              {"moat audit-log serve --tls-cert tls.crt --tls-key tls.key --client-ca "
               "apiserver-ca.crt",
               "moat audit-log serve --listen 127.0.0.1:8765 --baseline baseline.json"});
  serve_command->callback([&action, serve_flags, serve, queue_mib] {
    action = [serve_flags, serve, queue_mib]() -> int {
      auto options = MakeServiceOptions(*serve_flags);
      if (!options.ok()) {
        log::Error("audit-log serve: " + options.error().message);
        return kExitError;
      }
      auto address = http::ParseListenAddress(serve->server.listen);
      if (!address.ok()) {
        log::Error("audit-log serve: --listen: " + address.error().message);
        return kExitError;
      }
      if (serve->server.tls_cert_file.empty() && !http::IsLoopbackHost(address->first)) {
        log::Error(
            "audit-log serve: --tls-cert and --tls-key are required outside loopback "
            "(audit events carry secrets' metadata and request bodies)");
        return kExitError;
      }
      if (!serve->server.tls_client_ca_file.empty() && serve->server.tls_cert_file.empty()) {
        log::Error("audit-log serve: --client-ca needs --tls-cert and --tls-key");
        return kExitError;
      }
      serve->backend.max_queued_bytes = *queue_mib << 20;
      return RunUntilStopped(auditlog::AuditLogService::StartServe(*options, *serve), "serve");
    };
  });
}

}  // namespace moat::cli
