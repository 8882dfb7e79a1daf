// `moat k8s`: Kubernetes configuration assessment (PSS, workload best practices, RBAC, exposure).
//   moat k8s manifests PATH...   files, directories, "-" for stdin
//   moat k8s cluster             a live cluster through the REST API (kubeconfig or in-cluster)
//   moat k8s node                CIS Kubernetes Benchmark section 4 on this worker node
//   moat k8s checks              the check catalogue

#include <CLI/CLI.hpp>
#include <algorithm>
#include <ctime>
#include <memory>
#include <set>
#include <sstream>

#include "cis/kubernetes-node/node.h"
#include "cli/bench_report.h"
#include "cli/commands.h"
#include "cli/flags.h"
#include "core/bytes.h"
#include "core/log.h"
#include "k8s/checks.h"
#include "k8s/cluster.h"
#include "k8s/kubeconfig.h"
#include "k8s/loader.h"
#include "k8s/report.h"

namespace moat::cli {
namespace {

struct K8sOptions {
  std::vector<std::string> paths;
  std::string checks;
  std::string pss_version;
  std::string k8s_version;
  std::string format = "table";
  std::string output;
  int exit_code = 0;
  std::vector<std::string> severities;
  std::string severity_min;
  std::string config;
  std::string exclude_namespaces;
  bool exclude_namespaces_set = false;
  std::string exempt_annotation;
  // k8s cluster
  k8s::ConnectionOptions connection;
  long request_timeout = 30;
  size_t page_limit = 500;
};

std::vector<std::string> SplitList(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  std::string part;
  while (std::getline(in, part, ',')) {
    while (!part.empty() && part.front() == ' ') part.erase(0, 1);
    while (!part.empty() && part.back() == ' ') part.pop_back();
    if (!part.empty()) out.push_back(part);
  }
  return out;
}

/// The assessment options shared by `manifests` and `cluster`; false after logging an error.
bool BuildAssessOptions(const K8sOptions& o, k8s::AssessOptions& options) {
  if (!o.config.empty()) {
    auto loaded = k8s::LoadConfig(o.config, options);
    if (!loaded.ok()) {
      log::Error("--config " + loaded.error().message);
      return false;
    }
  }
  if (!o.checks.empty()) options.checks = SplitList(o.checks);
  if (!o.pss_version.empty()) {
    auto minor = k8s::ParsePssVersion(o.pss_version);
    if (!minor.ok()) {
      log::Error(minor.error().message);
      return false;
    }
    options.pss_minor = *minor;
  }
  if (!o.k8s_version.empty()) {
    auto set = k8s::SetTargetKubernetesVersion(o.k8s_version, options);
    if (!set.ok()) {
      log::Error(set.error().message);
      return false;
    }
  }
  if (!o.severity_min.empty()) {
    auto parsed = k8s::ParseSeverity(o.severity_min);
    if (!parsed) {
      log::Error("--severity-min " + o.severity_min + ": expected LOW, MEDIUM, HIGH or CRITICAL");
      return false;
    }
    options.min_severity = *parsed;
  }
  if (!o.severities.empty()) {
    // A list, as in Trivy and `moat image`: only checks of exactly these severities run.
    std::set<k8s::Severity> wanted;
    for (const std::string& s : o.severities) {
      auto parsed = k8s::ParseSeverity(s);
      if (!parsed) {
        log::Error("--severity " + s + ": expected LOW, MEDIUM, HIGH or CRITICAL");
        return false;
      }
      wanted.insert(*parsed);
    }
    auto selected = k8s::SelectChecks(options.checks);
    if (!selected.ok()) {
      log::Error(selected.error().message);
      return false;
    }
    options.checks.clear();
    for (const std::string& id : *selected) {
      if (wanted.count(k8s::FindCheck(id)->severity)) options.checks.push_back(id);
    }
    if (options.checks.empty()) {  // an empty list would mean every check
      log::Error("--severity: no selected check has these severities (see `moat k8s checks`)");
      return false;
    }
  }
  if (o.exclude_namespaces_set) options.exclude_namespaces = SplitList(o.exclude_namespaces);
  if (!o.exempt_annotation.empty()) options.exempt_annotation = o.exempt_annotation;
  return true;
}

/// Assesses, renders and writes; the exit code.
int AssessAndReport(const K8sOptions& o, const k8s::AssessOptions& options, k8s::LoadResult input) {
  auto assessment = k8s::Assess(std::move(input), options);
  if (!assessment.ok()) {
    log::Error(assessment.error().message);
    return kExitError;
  }
  for (const k8s::LoadError& e : assessment->errors) log::Warn(e.ToString());
  for (const std::string& w : assessment->warnings) log::Warn(w);
  // Streamed: a cluster's report can be gigabytes, it is never held whole in memory.
  auto written = WriteOutputStream(o.output, [&](std::ostream& out) {
    return k8s::WriteAssessment(*assessment, o.format, MOAT_VERSION, out);
  });
  if (!written.ok()) {
    log::Error(written.error().message);
    return kExitError;
  }
  if (!assessment->errors.empty()) return kExitError;
  if (!assessment->findings.empty()) return o.exit_code;
  return kExitOk;
}

int RunManifests(const K8sOptions& o) {
  k8s::AssessOptions options;
  if (!BuildAssessOptions(o, options)) return kExitError;
  return AssessAndReport(o, options, k8s::LoadManifests(o.paths));
}

int RunCluster(const K8sOptions& o) {
  k8s::AssessOptions options;
  if (!BuildAssessOptions(o, options)) return kExitError;
  auto connection = k8s::ResolveConnection(o.connection);
  if (!connection.ok()) {
    log::Error("k8s cluster: " + connection.error().message);
    return kExitError;
  }
  log::Debug("k8s cluster: context " + connection->context + " (" + connection->source + "), " +
             connection->server);
  k8s::ClusterListOptions list_options;
  list_options.request_timeout_seconds = o.request_timeout;
  list_options.page_limit = o.page_limit;
  // ConfigMap data is read by one check only; without it, only metadata is kept.
  auto selected = k8s::SelectChecks(options.checks);
  if (selected.ok()) {
    list_options.configmap_data = std::find(selected->begin(), selected->end(),
                                            "cred-configmap-plaintext") != selected->end();
  }
  auto listing = k8s::ListCluster(*connection, list_options);
  if (!listing.ok()) {
    log::Error("k8s cluster: " + listing.error().message);
    return kExitError;
  }
  for (const k8s::KindListing& kind : listing->kinds) {
    log::Debug("k8s cluster: " + kind.kind + " (" + kind.api_version +
               "): " + std::to_string(kind.objects) + " objects in " + std::to_string(kind.pages) +
               " pages (HTTP " + std::to_string(kind.status) + ")");
  }
  for (const std::string& note : listing->notes) log::Info("k8s cluster: " + note);
  return AssessAndReport(o, options, std::move(listing->input));
}

int RunNode(const BenchCommandOptions& o) {
  std::vector<std::string> ids;
  for (const auto& check : cis::k8s_node::NodeChecks()) ids.push_back(check.control.id);
  auto selection = PrepareBenchSelection(o, ids, "k8s node");
  if (!selection) return kExitError;
  std::vector<std::string> notes;
  cis::k8s_node::NodeFacts facts = cis::k8s_node::CollectNodeFacts({o.host_root}, notes);
  for (const auto& note : notes) log::Warn(note);
  // NOT_APPLICABLE everywhere means no kubelet was found either: nothing was assessed.
  return WriteBenchReport(cis::k8s_node::AssessNode(facts, *selection), notes, o,
                          {cis::Status::kWarn, cis::Status::kNotApplicable},
                          "k8s node: no control could be assessed (is this a Kubernetes node? "
                          "--host-root?)");
}

/// The assessment flags shared by `manifests` and `cluster`.
void AddAssessOptions(CLI::App* command, const std::shared_ptr<K8sOptions>& options) {
  AddListOption(*command, "--checks", options->checks,
                "Checks to run: ids, groups (pss-baseline, pss-restricted, workload, "
                "rbac, network, namespace, credentials, api, schema, azure), globs (wl-*), "
                "optional policies by id or Azure Policy definitions by name "
                "(ContainerEnforceProbes), comma-separated; default all but optional and azure");
  command->add_option("--pss-version", options->pss_version,
                      "Pod Security Standards version v1.N (default latest)");
  command->add_option("--k8s-version", options->k8s_version,
                      "Kubernetes version v1.N the deprecated/removed API checks target "
                      "(default v1." +
                          std::to_string(k8s::DefaultTargetMinor()) + ")");
  command->add_option("-f,--format", options->format, "Output format")
      ->check(CLI::IsMember({"table", "json", "sarif", "junit"}))
      ->capture_default_str();
  command->add_option("-o,--output", options->output, "Write the report to this file");
  command
      ->add_option("--exit-code", options->exit_code,
                   "Exit with this code when a check fails on any object")
      ->capture_default_str();
  AddListOption(*command, "--severity", options->severities,
                "Only checks of these severities (LOW, MEDIUM, HIGH, CRITICAL)");
  command->add_option("--severity-min", options->severity_min,
                      "Only checks of this severity or higher");
  command->add_option("--config", options->config,
                      "YAML config: parameters, excluded namespaces, exemption annotation");
  AddListOption(*command, "--exclude-namespaces", options->exclude_namespaces,
                "Namespaces not assessed, comma-separated (default kube-system; \"\" = none)")
      ->each([options](const std::string&) { options->exclude_namespaces_set = true; });
  command->add_option("--exempt-annotation", options->exempt_annotation,
                      "Annotation whose value lists exempted check ids/globs (default "
                      "moat.dev/exempt)");
}

}  // namespace

void AddK8sCommand(CLI::App& app, const GlobalOptions& global, Action& action) {
  (void)global;
  auto* k8s = app.add_subcommand("k8s",
                                 "Assess Kubernetes configuration (PSS, best practices, "
                                 "RBAC, exposure) and nodes (CIS)");
  k8s->require_subcommand(1);
  SetExamples(*k8s, {"moat k8s manifests deploy/", "moat k8s cluster --context prod",
                     "moat k8s node", "moat k8s checks"});

  auto options = std::make_shared<K8sOptions>();
  auto* manifests =
      k8s->add_subcommand("manifests", "Assess manifests: YAML/JSON files, directories, - (stdin)");
  manifests->add_option("paths", options->paths, "Files, directories or - for stdin")->required();
  AddAssessOptions(manifests, options);
  SetExamples(*manifests,
              {"moat k8s manifests deploy/",
               "kustomize build overlays/prod | moat k8s manifests - --severity-min HIGH",
               "moat k8s manifests app.yaml --checks pss-restricted --format sarif -o k8s.sarif"});
  manifests->callback(
      [&action, options] { action = [options] { return RunManifests(*options); }; });

  auto cluster_options = std::make_shared<K8sOptions>();
  auto* cluster = k8s->add_subcommand(
      "cluster", "Assess a live cluster through the Kubernetes API (kubeconfig or in-cluster)");
  AddKubeconfigFlags(*cluster, cluster_options->connection);
  cluster
      ->add_option("--request-timeout", cluster_options->request_timeout,
                   "Seconds each API request may take, TLS handshake included")
      ->check(CLI::Range(1L, 3600L))
      ->capture_default_str();
  cluster
      ->add_option("--page-size", cluster_options->page_limit,
                   "Objects per list request (limit; continue for the next page)")
      ->check(CLI::Range(size_t{1}, size_t{10000}))
      ->capture_default_str();
  AddAssessOptions(cluster, cluster_options);
  SetExamples(*cluster,
              {"moat k8s cluster", "moat k8s cluster --context prod --severity HIGH,CRITICAL",
               "moat k8s cluster --in-cluster --format json -o cluster.json"});
  cluster->callback([&action, cluster_options] {
    action = [cluster_options] { return RunCluster(*cluster_options); };
  });

  auto node_options = std::make_shared<BenchCommandOptions>();
  auto* node = k8s->add_subcommand(
      "node", "CIS Kubernetes Benchmark v1.12 section 4 (worker node: kubelet, kube-proxy)");
  AddBenchCommandOptions(*node, *node_options, "\"4.2.1,4.2.6\", \"4.1.*\", \"4.2\"",
                         "The node's root filesystem (every path, /proc too, is read under it)");
  SetExamples(*node, {"moat k8s node", "moat k8s node --host-root /host --format json"});
  node->callback(
      [&action, node_options] { action = [node_options] { return RunNode(*node_options); }; });

  auto list_format = std::make_shared<std::string>("table");
  auto* checks = k8s->add_subcommand("checks", "List the checks, their severity and parameters");
  checks->add_option("-f,--format", *list_format, "Output format")
      ->check(CLI::IsMember({"table", "json"}))
      ->capture_default_str();
  SetExamples(*checks, {"moat k8s checks", "moat k8s checks --format json"});
  checks->callback([&action, list_format] {
    action = [list_format] {
      auto written = WriteOutput("", k8s::RenderCheckList(*list_format));
      return written.ok() ? kExitOk : kExitError;
    };
  });
}

}  // namespace moat::cli
