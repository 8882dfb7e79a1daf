// `moat bench docker`: the CIS Docker Benchmark v1.6.0 against a live Docker host.

#include <sys/stat.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <ctime>
#include <memory>

#include "bench/docker/collect.h"
#include "bench/output.h"
#include "cli/commands.h"
#include "core/bytes.h"
#include "core/log.h"
#include "core/text_format.h"

namespace moat::cli {
namespace {

struct BenchOptions {
  std::string format = "table";
  std::string output;
  int exit_code = 0;
  std::string check;
  std::string skip;
  int level = 0;
  std::string host_root = "/";
  std::string docker_host;
  size_t threads = 8;
};

int RunBenchDocker(const BenchOptions& options) {
  using namespace moat::bench;
  Selection selection{SplitPatterns(options.check), SplitPatterns(options.skip), options.level};
  std::vector<std::string> ids;
  for (const auto& check : docker::DockerChecks()) ids.push_back(check.control.id);
  if (auto valid = ValidateSelection(ids, selection); !valid.ok()) {
    log::Error("bench docker: " + valid.error().message);
    return kExitError;
  }
  struct stat st {};
  if (::stat(options.host_root.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    log::Error("bench docker: --host-root " + options.host_root + " is not a directory");
    return kExitError;
  }
  auto started = std::chrono::steady_clock::now();
  docker::CollectOptions collect;
  collect.docker_host = options.docker_host;
  collect.host_root = options.host_root;
  collect.threads = options.threads;
  std::vector<std::string> notes;
  docker::DockerFacts facts = docker::CollectDockerFacts(collect, notes);
  for (const auto& note : notes) log::Warn(note);
  BenchReport report = docker::AssessDocker(facts, selection);
  report.tool_version = MOAT_VERSION;
  report.timestamp = NowRfc3339Utc();
  report.notes = notes;
  auto elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - started);
  log::Debug("bench docker: " + std::to_string(report.results.size()) + " controls in " +
             std::to_string(elapsed.count()) + " s");

  auto rendered = RenderBenchReport(report, options.format);
  if (!rendered.ok()) {
    log::Error(rendered.error().message);
    return kExitError;
  }
  if (auto written = WriteOutput(options.output, *rendered); !written.ok()) {
    log::Error(written.error().message);
    return kExitError;
  }
  size_t assessed = 0;
  for (const auto& r : report.results) {
    if (r.outcome.status != Status::kWarn && r.outcome.status != Status::kManual) ++assessed;
  }
  if (assessed == 0 && !report.results.empty()) {
    log::Error("bench docker: no control could be assessed");
    return kExitError;
  }
  if (options.exit_code != 0 && report.totals.fail > 0) return options.exit_code;
  return kExitOk;
}

}  // namespace

void AddBenchCommand(CLI::App& app, const GlobalOptions& global, Action& action) {
  (void)global;
  auto* bench = app.add_subcommand("bench", "Assess a host against a CIS benchmark");
  bench->require_subcommand(1);
  auto* docker = bench->add_subcommand(
      "docker", "CIS Docker Benchmark v1.6.0 (sections 1-7) against the live Docker host");
  auto options = std::make_shared<BenchOptions>();
  docker->add_option("-f,--format", options->format, "Output format")
      ->check(CLI::IsMember({"table", "json", "sarif", "junit"}))
      ->capture_default_str();
  docker->add_option("-o,--output", options->output, "Write the report to this file");
  docker->add_option("--exit-code", options->exit_code,
                     "Exit with this code when any control FAILs (default 0)");
  docker->add_option("--check", options->check,
                     "Only these controls: ids, groups or globs (\"5.4,5.10\", \"1.1.*\", \"3\")");
  docker->add_option("--skip", options->skip, "Skip these controls (same syntax as --check)");
  docker->add_option("--level", options->level, "Only controls of CIS profile level <= N (1 or 2)");
  docker
      ->add_option("--host-root", options->host_root,
                   "The host's root filesystem (every host path, /proc too, is read under it)")
      ->capture_default_str();
  docker->add_option("--docker-host", options->docker_host,
                     "Engine socket (unix:///path); default DOCKER_HOST or /var/run/docker.sock");
  docker->add_option("--parallel", options->threads, "Concurrent Engine API requests")
      ->capture_default_str();
  docker->callback([&action, options] { action = [options] { return RunBenchDocker(*options); }; });
}

}  // namespace moat::cli
