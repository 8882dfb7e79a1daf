// `moat k8s`: Kubernetes configuration assessment (PSS, workload best practices, RBAC, exposure).
//   moat k8s manifests PATH...   files, directories, "-" for stdin
//   moat k8s checks              the check catalogue

#include <CLI/CLI.hpp>
#include <memory>
#include <sstream>

#include "cli/commands.h"
#include "core/bytes.h"
#include "core/log.h"
#include "k8s/checks.h"
#include "k8s/loader.h"
#include "k8s/report.h"

namespace moat::cli {
namespace {

struct K8sOptions {
  std::vector<std::string> paths;
  std::string checks;
  std::string pss_version;
  std::string format = "table";
  std::string output;
  int exit_code = 0;
  std::string severity;
  std::string config;
  std::string exclude_namespaces;
  bool exclude_namespaces_set = false;
  std::string exempt_annotation;
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

int RunManifests(const K8sOptions& o) {
  k8s::AssessOptions options;
  if (!o.config.empty()) {
    auto loaded = k8s::LoadConfig(o.config, options);
    if (!loaded.ok()) {
      log::Error("--config " + loaded.error().message);
      return kExitError;
    }
  }
  if (!o.checks.empty()) options.checks = SplitList(o.checks);
  if (!o.pss_version.empty()) {
    auto minor = k8s::ParsePssVersion(o.pss_version);
    if (!minor.ok()) {
      log::Error(minor.error().message);
      return kExitError;
    }
    options.pss_minor = *minor;
  }
  if (!o.severity.empty()) {
    // --severity LOW,MEDIUM style lists: the lowest one named is the threshold.
    std::optional<k8s::Severity> lowest;
    for (const std::string& s : SplitList(o.severity)) {
      auto parsed = k8s::ParseSeverity(s);
      if (!parsed) {
        log::Error("--severity " + s + ": expected LOW, MEDIUM, HIGH or CRITICAL");
        return kExitError;
      }
      if (!lowest || *parsed < *lowest) lowest = parsed;
    }
    if (lowest) options.min_severity = *lowest;
  }
  if (o.exclude_namespaces_set) options.exclude_namespaces = SplitList(o.exclude_namespaces);
  if (!o.exempt_annotation.empty()) options.exempt_annotation = o.exempt_annotation;

  auto assessment = k8s::Assess(k8s::LoadManifests(o.paths), options);
  if (!assessment.ok()) {
    log::Error(assessment.error().message);
    return kExitError;
  }
  for (const k8s::LoadError& e : assessment->errors) log::Warn(e.ToString());
  auto text = k8s::RenderAssessment(*assessment, o.format, MOAT_VERSION);
  if (!text.ok()) {
    log::Error(text.error().message);
    return kExitError;
  }
  auto written = WriteOutput(o.output, *text);
  if (!written.ok()) {
    log::Error(written.error().message);
    return kExitError;
  }
  if (!assessment->errors.empty()) return kExitError;
  if (!assessment->findings.empty()) return o.exit_code;
  return kExitOk;
}

}  // namespace

void AddK8sCommand(CLI::App& app, const GlobalOptions& global, Action& action) {
  (void)global;
  auto* k8s = app.add_subcommand("k8s",
                                 "Assess Kubernetes configuration (PSS, best practices, "
                                 "RBAC, exposure)");
  k8s->require_subcommand(1);

  auto options = std::make_shared<K8sOptions>();
  auto* manifests =
      k8s->add_subcommand("manifests", "Assess manifests: YAML/JSON files, directories, - (stdin)");
  manifests->add_option("paths", options->paths, "Files, directories or - for stdin")->required();
  manifests->add_option("--checks", options->checks,
                        "Checks to run: ids, groups (pss-baseline, pss-restricted, workload, "
                        "rbac, network, schema) or globs (wl-*), comma-separated; default all");
  manifests->add_option("--pss-version", options->pss_version,
                        "Pod Security Standards version v1.N (default latest)");
  manifests->add_option("-f,--format", options->format, "Output format")
      ->check(CLI::IsMember({"table", "json", "sarif", "junit"}))
      ->capture_default_str();
  manifests->add_option("-o,--output", options->output, "Write the report to this file");
  manifests
      ->add_option("--exit-code", options->exit_code,
                   "Exit with this code when a check fails on any object")
      ->capture_default_str();
  manifests->add_option("--severity", options->severity,
                        "Only checks of this severity or higher (LOW, MEDIUM, HIGH, CRITICAL)");
  manifests->add_option("--config", options->config,
                        "YAML config: parameters, excluded namespaces, exemption annotation");
  manifests
      ->add_option("--exclude-namespaces", options->exclude_namespaces,
                   "Namespaces not assessed, comma-separated (default kube-system; \"\" = none)")
      ->each([options](const std::string&) { options->exclude_namespaces_set = true; });
  manifests->add_option("--exempt-annotation", options->exempt_annotation,
                        "Annotation whose value lists exempted check ids/globs (default "
                        "moat.dev/exempt)");
  manifests->callback(
      [&action, options] { action = [options] { return RunManifests(*options); }; });

  auto list_format = std::make_shared<std::string>("table");
  auto* checks = k8s->add_subcommand("checks", "List the checks, their severity and parameters");
  checks->add_option("-f,--format", *list_format, "Output format")
      ->check(CLI::IsMember({"table", "json"}))
      ->capture_default_str();
  checks->callback([&action, list_format] {
    action = [list_format] {
      auto written = WriteOutput("", k8s::RenderCheckList(*list_format));
      return written.ok() ? kExitOk : kExitError;
    };
  });
}

}  // namespace moat::cli
