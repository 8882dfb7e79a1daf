// `moat admission`: the validating admission webhook and its audit (docs/admission.md).
//   moat admission serve        HTTPS webhook: /validate, /mutate, /healthz, /readyz, /metrics
//   moat admission check-config FILE
//   moat admission audit (MANIFEST... | --cluster)

#include <CLI/CLI.hpp>
#include <chrono>
#include <memory>

#include "admission/audit.h"
#include "admission/config.h"
#include "admission/decision.h"
#include "admission/namespace_cache.h"
#include "admission/server_modes.h"
#include "admission/vap.h"
#include "admission/vap_params.h"
#include "admission/webhook.h"
#include "agent/sender.h"
#include "cli/commands.h"
#include "cli/flags.h"
#include "core/bytes.h"
#include "core/log.h"
#include "core/text.h"
#include "core/token_file.h"
#include "k8s/cluster.h"
#include "k8s/kubeconfig.h"
#include "k8s/loader.h"
#include "k8s/report.h"

namespace moat::cli {
namespace {

/// The policy flags shared by `serve` and `audit`.
struct PolicyFlags {
  std::string config;
  std::vector<std::string> enforce;
  std::vector<std::string> warn;
  std::vector<std::string> audit;
  std::vector<std::string> policy_files;  // --policy: ValidatingAdmissionPolicy YAML
  /// Set at start when the cluster is read (serve --cluster, audit --cluster).
  std::shared_ptr<const admission::NamespaceCache> namespaces;
  std::shared_ptr<const admission::ParamCache> cluster_params;
  /// --server: the policy modes set on `moat server`, pulled at start and polled.
  std::string server;
  std::string token_file;
  std::string ca_file;
  int server_interval_seconds = 10;
  std::shared_ptr<const admission::ServerModes> server_modes;
};

/// --server, --token-file, --ca-file: pulls the modes once (an error stops the command).
Result<void> StartServerModes(PolicyFlags& flags) {
  if (flags.server.empty()) return Ok();
  MOAT_TRY(agent::ValidateServerUrl(flags.server));
  if (flags.token_file.empty()) return Fail("--server needs --token-file (a token of role reader)");
  admission::ServerModesOptions options;
  options.url = flags.server;
  auto token = ReadTokenFile(flags.token_file);
  if (!token.ok()) return token.error().Wrap("--token-file");
  options.token = std::move(*token);
  if (!flags.ca_file.empty()) {
    MOAT_ASSIGN_OR_RETURN(options.ca_pem, ReadFileToString(flags.ca_file, 1 << 20));
  }
  options.interval = std::chrono::seconds(flags.server_interval_seconds);
  MOAT_ASSIGN_OR_RETURN(flags.server_modes, admission::ServerModes::Start(std::move(options)));
  log::Info("admission: " + std::to_string(flags.server_modes->rules().size()) +
            " policy modes from " + flags.server + ", polled every " +
            std::to_string(flags.server_interval_seconds) + " s");
  return Ok();
}

void AddPolicyFlags(CLI::App& command, PolicyFlags& flags) {
  command.add_option("--config", flags.config,
                     "YAML configuration: policies with actions, selectors and exemptions, "
                     "parameters (docs/admission.md); reloaded when it changes");
  AddListOption(command, "--enforce", flags.enforce,
                "Deny requests that fail these checks: ids, groups, globs as `moat k8s --checks` "
                "(pss-restricted, workload, wl-*)");
  AddListOption(command, "--warn", flags.warn,
                "Admit requests that fail these checks with a warning to the client");
  AddListOption(command, "--audit", flags.audit,
                "Admit requests that fail these checks with an audit annotation");
  command
      .add_option("--policy", flags.policy_files,
                  "ValidatingAdmissionPolicy, Binding and param YAML: a file or a directory "
                  "(repeatable; docs/admission.md)")
      ->type_name("PATH")
      ->allow_extra_args(false)  // one path per --policy: the manifests follow
      ->check(CLI::ExistingPath);
  auto* server = command.add_option(
      "--server", flags.server,
      "moat server URL whose admission policy modes (Settings) apply too: https://host:port "
      "(http:// only on loopback)");
  auto* token = command.add_option("--token-file", flags.token_file,
                                   "--server: file holding an API token of role reader");
  command.add_option("--ca-file", flags.ca_file,
                     "--server: PEM CA certificates to trust (default: the system store)");
  command
      .add_option("--server-interval", flags.server_interval_seconds,
                  "--server: seconds between polls of the modes")
      ->check(CLI::Range(1, 3600))
      ->capture_default_str();
  server->needs(token);
}

/// What reading a cluster for the policies needs: the connection and the param kinds the
/// --policy files name (what a cluster param cache lists).
struct ClusterAccess {
  k8s::ClusterConnection connection;
  std::vector<admission::VapParamKind> param_kinds;
};

Result<ClusterAccess> ResolveClusterAccess(const k8s::ConnectionOptions& options,
                                           const PolicyFlags& flags) {
  ClusterAccess access;
  MOAT_ASSIGN_OR_RETURN(access.connection, k8s::ResolveConnection(options));
  if (!flags.policy_files.empty()) {
    MOAT_ASSIGN_OR_RETURN(auto policy, admission::VapPolicy::Load(flags.policy_files));
    access.param_kinds = policy->ParamKinds();
  }
  return access;
}

/// The configuration file (if any) plus the flags' rules, and Moat's own namespace excluded.
Result<admission::AdmissionConfig> LoadPolicyConfig(const PolicyFlags& flags) {
  admission::AdmissionConfig config;
  if (!flags.config.empty()) {
    MOAT_ASSIGN_OR_RETURN(config, admission::LoadAdmissionConfig(flags.config));
  }
  MOAT_TRY(admission::AddFlagRule(config, admission::Action::kDeny, flags.enforce, "--enforce"));
  MOAT_TRY(admission::AddFlagRule(config, admission::Action::kWarn, flags.warn, "--warn"));
  MOAT_TRY(admission::AddFlagRule(config, admission::Action::kAudit, flags.audit, "--audit"));
  // The server's modes come after the file's and the flags' rules: as between those, the
  // strongest action wins where several name the same check.
  if (flags.server_modes) {
    for (admission::PolicyRule& rule : flags.server_modes->rules())
      config.rules.push_back(std::move(rule));
  }
  config.policy_files = flags.policy_files;
  config.namespaces = flags.namespaces;
  config.cluster_params = flags.cluster_params;
  if (config.rules.empty() && config.mutations.empty() && config.policy_files.empty() &&
      !flags.server_modes)
    return Fail(
        "no policy: give --config FILE, --enforce/--warn/--audit CHECKS, --policy PATH or "
        "--server URL");
  config.excluded_namespaces.push_back(admission::OwnNamespace());
  return config;
}

Result<std::shared_ptr<const admission::PolicySet>> LoadPolicies(const PolicyFlags& flags) {
  MOAT_ASSIGN_OR_RETURN(admission::AdmissionConfig config, LoadPolicyConfig(flags));
  return admission::PolicySet::Build(config);
}

struct ServeOptions {
  PolicyFlags policy;
  http::ServerOptions server;
  bool cluster = false;
  k8s::ConnectionOptions connection;
  std::chrono::milliseconds cluster_refresh{30000};
};

int RunServe(const ServeOptions& o) {
  admission::WebhookOptions webhook_options;
  webhook_options.config_file = o.policy.config;
  webhook_options.policy_paths = o.policy.policy_files;
  PolicyFlags flags = o.policy;
  if (auto started = StartServerModes(flags); !started.ok()) {
    log::Error("admission serve: " + started.error().message);
    return kExitError;
  }
  if (flags.server_modes) {
    webhook_options.extra_stamp = [modes = flags.server_modes] {
      return "server=" + std::to_string(modes->generation());
    };
  }
  if (o.cluster) {
    // Namespace labels and VAP params from the API, refreshed in the background.
    auto access = ResolveClusterAccess(o.connection, flags);
    if (!access.ok()) {
      log::Error("admission serve: " + access.error().message);
      return kExitError;
    }
    const k8s::ClusterConnection& connection = access->connection;
    auto namespaces = admission::NamespaceCache::Start(connection, o.cluster_refresh);
    if (!namespaces.ok()) {
      log::Error("admission serve: " + namespaces.error().message);
      return kExitError;
    }
    flags.namespaces = *namespaces;
    log::Info("admission: " + std::to_string((*namespaces)->size()) + " namespaces from " +
              connection.server + ", refreshed every " +
              std::to_string(o.cluster_refresh.count() / 1000) + " s");
    if (!access->param_kinds.empty()) {
      auto params =
          admission::ParamCache::Start(connection, access->param_kinds, o.cluster_refresh);
      if (!params.ok()) {
        log::Error("admission serve: " + params.error().message);
        return kExitError;
      }
      flags.cluster_params = *params;
    }
  }
  auto webhook =
      admission::Webhook::Create([flags] { return LoadPolicies(flags); }, webhook_options);
  if (!webhook.ok()) {
    log::Error("admission serve: " + webhook.error().message);
    return kExitError;
  }
  auto server = admission::StartWebhookServer(**webhook, o.server);
  if (!server.ok()) {
    log::Error("admission serve: " + server.error().message);
    return kExitError;
  }
  const auto policies = (*webhook)->policies();
  log::Info("admission: serving " + (*server)->url() + " (/validate, /mutate, /healthz, /readyz, " +
            "/metrics); " + std::to_string(policies->config().rules.size()) + " policy rules");
  WaitForStopSignal();
  log::Info("admission: stopping");
  (*server)->Stop();
  return kExitOk;
}

struct CheckConfigOptions {
  std::string file;
  std::vector<std::string> policy_files;
};

/// --policy alone: the ValidatingAdmissionPolicies, compiled, and what they hold.
int CheckVapFiles(const std::vector<std::string>& files) {
  auto policy = admission::VapPolicy::Load(files);
  if (!policy.ok()) {
    log::Error(policy.error().message);
    return kExitError;
  }
  std::printf("--policy: OK: %zu ValidatingAdmissionPolicies, %zu bindings, %zu param objects\n",
              (*policy)->policies(), (*policy)->bindings(), (*policy)->params());
  return kExitOk;
}

int RunCheckConfig(const CheckConfigOptions& o) {
  if (o.file.empty() && o.policy_files.empty()) {
    log::Error("admission check-config: give a configuration FILE, --policy PATH, or both");
    return kExitError;
  }
  if (!o.policy_files.empty()) {
    if (int rc = CheckVapFiles(o.policy_files); rc != kExitOk || o.file.empty()) return rc;
  }
  const std::string& file = o.file;
  auto config = admission::LoadAdmissionConfig(file);
  if (!config.ok()) {
    log::Error(config.error().message);
    return kExitError;
  }
  auto policies = admission::PolicySet::Build(*config);
  if (!policies.ok()) {
    log::Error(policies.error().message);
    return kExitError;
  }
  size_t by_action[4] = {0, 0, 0, 0};
  for (const admission::PolicyRule& rule : config->rules) {
    // Image policies count as one check each; an empty list would select every k8s check.
    const auto k8s_checks = admission::WithoutImagePolicies(rule.checks);
    by_action[static_cast<size_t>(rule.action)] += rule.checks.size() - k8s_checks.size();
    auto ids = k8s::SelectChecks(k8s_checks);
    if (ids.ok() && !k8s_checks.empty()) by_action[static_cast<size_t>(rule.action)] += ids->size();
  }
  std::printf("%s: OK: %zu policy rules (checks: %zu deny, %zu warn, %zu audit, %zu disabled)",
              file.c_str(), config->rules.size(), by_action[3], by_action[2], by_action[1],
              by_action[0]);
  if (!config->mutations.empty()) std::printf(", %zu mutation rules", config->mutations.size());
  std::printf("\n");
  return kExitOk;
}

struct AuditOptions {
  PolicyFlags policy;
  std::vector<std::string> paths;
  bool cluster = false;
  k8s::ConnectionOptions connection;
  std::string format = "table";
  std::string output;
  int exit_code = 0;
  /// The image gate waits this long for a scan: no API server is waiting on an audit, so a
  /// verdict is worth more than the webhook's fallback.
  int scan_timeout_seconds = 600;
};

int RunAudit(const AuditOptions& o) {
  if (o.cluster == !o.paths.empty()) {
    log::Error("admission audit: give manifests or --cluster (one of them)");
    return kExitError;
  }
  PolicyFlags flags = o.policy;
  if (auto started = StartServerModes(flags); !started.ok()) {
    log::Error("admission audit: " + started.error().message);
    return kExitError;
  }
  k8s::LoadResult input;
  if (o.cluster) {
    auto access = ResolveClusterAccess(o.connection, flags);
    if (!access.ok()) {
      log::Error("admission audit: " + access.error().message);
      return kExitError;
    }
    auto listing = k8s::ListCluster(access->connection, k8s::ClusterListOptions{});
    if (!listing.ok()) {
      log::Error("admission audit: " + listing.error().message);
      return kExitError;
    }
    input = std::move(listing->input);
    // The listing holds the namespaces (their labels for namespaceSelectors); the VAP params
    // are listed once more by kind.
    flags.namespaces = admission::NamespaceCache::FromObjects(input.objects);
    if (!access->param_kinds.empty()) {
      auto params = admission::ParamCache::Start(access->connection, access->param_kinds,
                                                 std::chrono::hours(1));
      if (!params.ok()) {
        log::Error("admission audit: " + params.error().message);
        return kExitError;
      }
      flags.cluster_params = *params;
    }
  } else {
    input = k8s::LoadManifests(o.paths);
  }
  auto config = LoadPolicyConfig(flags);
  if (!config.ok()) {
    log::Error("admission audit: " + config.error().message);
    return kExitError;
  }
  config->image_gate.scan_timeout = std::chrono::seconds(o.scan_timeout_seconds);
  auto policies = admission::PolicySet::Build(*config);
  if (!policies.ok()) {
    log::Error("admission audit: " + policies.error().message);
    return kExitError;
  }
  admission::AuditResult result = admission::Audit(**policies, std::move(input));
  for (const k8s::LoadError& e : result.assessment.errors) log::Warn(e.ToString());
  for (const std::string& w : result.assessment.warnings) log::Warn(w);
  auto written = WriteOutputStream(o.output, [&](std::ostream& out) {
    return k8s::WriteAssessment(result.assessment, o.format, MOAT_VERSION, out);
  });
  if (!written.ok()) {
    log::Error(written.error().message);
    return kExitError;
  }
  if (!result.assessment.errors.empty()) return kExitError;
  return result.denied_objects > 0 ? o.exit_code : kExitOk;
}

}  // namespace

void AddAdmissionCommand(CLI::App& app, const GlobalOptions& global, Action& action) {
  (void)global;
  auto* admission = app.add_subcommand(
      "admission", "Admission webhook: the Kubernetes checks enforced at the API server");
  admission->require_subcommand(1);
  SetExamples(*admission,
              {"moat admission serve --enforce pss-restricted --tls-cert tls.crt --tls-key tls.key",
               "moat admission check-config moat-admission.yaml",
               "moat admission audit --enforce pss-baseline deploy/"});

  auto serve_options = std::make_shared<ServeOptions>();
  serve_options->server.listen = "0.0.0.0:8443";
  auto* serve = admission->add_subcommand(
      "serve", "Serve the webhook over HTTPS: /validate, /mutate, /healthz, /readyz, /metrics");
  AddPolicyFlags(*serve, serve_options->policy);
  serve->add_option("--listen", serve_options->server.listen, "Address to listen on, HOST:PORT")
      ->capture_default_str();
  serve
      ->add_option("--tls-cert", serve_options->server.tls_cert_file,
                   "Serving certificate (PEM); reloaded when it changes")
      ->required();
  serve
      ->add_option("--tls-key", serve_options->server.tls_key_file,
                   "Private key of the certificate (PEM); reloaded when it changes")
      ->required();
  serve
      ->add_option_function<std::string>(
          "--read-timeout",
          [serve_options](const std::string& text) {
            auto duration = ParseDuration(text);
            if (!duration.ok())
              throw CLI::ValidationError("--read-timeout", duration.error().message);
            serve_options->server.read_timeout = *duration;
          },
          "A request must arrive whole within this (slow or half-closed clients get a 408); "
          "default 10s")
      ->type_name("DURATION");
  serve->add_flag("--cluster", serve_options->cluster,
                  "Read namespace labels (namespaceSelector, namespaceObject) and the "
                  "ValidatingAdmissionPolicies' params through the Kubernetes API (kubeconfig "
                  "or in-cluster, as `moat k8s cluster`), refreshed periodically");
  AddKubeconfigFlags(*serve, serve_options->connection, "--cluster: ");
  serve
      ->add_option_function<std::string>(
          "--cluster-refresh",
          [serve_options](const std::string& text) {
            auto duration = ParseDuration(text);
            if (!duration.ok())
              throw CLI::ValidationError("--cluster-refresh", duration.error().message);
            serve_options->cluster_refresh = *duration;
          },
          "--cluster: how often namespaces and params are listed again (default 30s)")
      ->type_name("DURATION");
  serve->add_option("--threads", serve_options->server.threads, "Server threads")
      ->check(CLI::Range(size_t{1}, size_t{64}))
      ->capture_default_str();
  SetExamples(*serve,
              {"moat admission serve --enforce pss-baseline --warn pss-restricted --tls-cert "
               "/tls/tls.crt --tls-key /tls/tls.key",
               "moat admission serve --config /etc/moat/admission.yaml --tls-cert /tls/tls.crt "
               "--tls-key /tls/tls.key"});
  serve->callback(
      [&action, serve_options] { action = [serve_options] { return RunServe(*serve_options); }; });

  auto check_options = std::make_shared<CheckConfigOptions>();
  auto* check = admission->add_subcommand(
      "check-config",
      "Validate a webhook configuration file and ValidatingAdmissionPolicy files (errors name "
      "file:line)");
  check->add_option("file", check_options->file, "The YAML configuration");
  check
      ->add_option("--policy", check_options->policy_files,
                   "ValidatingAdmissionPolicy, Binding and param YAML to compile: a file or a "
                   "directory (repeatable)")
      ->type_name("PATH")
      ->allow_extra_args(false)  // one path per --policy: the manifests follow
      ->check(CLI::ExistingPath);
  SetExamples(*check, {"moat admission check-config moat-admission.yaml",
                       "moat admission check-config --policy policies/"});
  check->callback([&action, check_options] {
    action = [check_options] { return RunCheckConfig(*check_options); };
  });

  auto audit_options = std::make_shared<AuditOptions>();
  auto* audit = admission->add_subcommand(
      "audit", "Judge existing manifests or a cluster's objects as the webhook would admit them");
  audit->add_option("paths", audit_options->paths, "Files, directories or - for stdin");
  AddPolicyFlags(*audit, audit_options->policy);
  audit->add_flag("--cluster", audit_options->cluster,
                  "Audit a live cluster's objects (kubeconfig, as `moat k8s cluster`)");
  AddKubeconfigFlags(*audit, audit_options->connection, "--cluster: ");
  audit->add_option("-f,--format", audit_options->format, "Output format")
      ->check(CLI::IsMember({"table", "json", "sarif", "junit"}))
      ->capture_default_str();
  audit->add_option("-o,--output", audit_options->output, "Write the report to this file");
  audit
      ->add_option("--exit-code", audit_options->exit_code,
                   "Exit with this code when an object violates a deny-mode policy")
      ->capture_default_str();
  audit
      ->add_option("--scan-timeout", audit_options->scan_timeout_seconds,
                   "Seconds the image gate waits for each image's scan")
      ->check(CLI::Range(1, 86400))
      ->capture_default_str();
  SetExamples(*audit, {"moat admission audit --enforce pss-restricted deploy/",
                       "moat admission audit --config admission.yaml --cluster --format json",
                       "helm template chart | moat admission audit --enforce pss-baseline - "
                       "--exit-code 1"});
  audit->callback(
      [&action, audit_options] { action = [audit_options] { return RunAudit(*audit_options); }; });
}

}  // namespace moat::cli
