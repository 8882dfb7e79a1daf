// `moat bench docker`: the CIS Docker Benchmark v1.6.0 against a live Docker host.

#include <CLI/CLI.hpp>
#include <chrono>
#include <ctime>
#include <memory>

#include "cis/docker/collect.h"
#include "cli/bench_report.h"
#include "cli/commands.h"
#include "cli/flags.h"
#include "core/log.h"

namespace moat::cli {
namespace {

struct BenchOptions {
  BenchCommandOptions common;
  std::string docker_host;
  size_t threads = 8;
};

int RunBenchDocker(const BenchOptions& options) {
  std::vector<std::string> ids;
  for (const auto& check : cis::docker::DockerChecks()) ids.push_back(check.control.id);
  auto selection = PrepareBenchSelection(options.common, ids, "bench docker");
  if (!selection) return kExitError;
  auto started = std::chrono::steady_clock::now();
  cis::docker::CollectOptions collect;
  collect.docker_host = options.docker_host;
  collect.host_root = options.common.host_root;
  collect.threads = options.threads;
  std::vector<std::string> notes;
  cis::docker::DockerFacts facts = cis::docker::CollectDockerFacts(collect, notes);
  for (const auto& note : notes) log::Warn(note);
  cis::BenchReport report = cis::docker::AssessDocker(facts, *selection);
  auto elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - started);
  log::Debug("bench docker: " + std::to_string(report.results.size()) + " controls in " +
             std::to_string(elapsed.count()) + " s");
  // WARN (undecidable) and MANUAL everywhere: no engine and no host file answered.
  return WriteBenchReport(std::move(report), notes, options.common,
                          {cis::Status::kWarn, cis::Status::kManual},
                          "bench docker: no control could be assessed");
}

}  // namespace

void AddBenchCommand(CLI::App& app, const GlobalOptions& global, Action& action) {
  (void)global;
  auto* bench = app.add_subcommand("bench", "Assess a host against a CIS benchmark");
  bench->require_subcommand(1);
  SetExamples(*bench, {"moat bench docker"});
  auto* docker = bench->add_subcommand(
      "docker", "CIS Docker Benchmark v1.6.0 (sections 1-7) against the live Docker host");
  auto options = std::make_shared<BenchOptions>();
  AddBenchCommandOptions(
      *docker, options->common, "\"5.4,5.10\", \"1.1.*\", \"3\"",
      "The host's root filesystem (every host path, /proc too, is read under it)");
  docker->add_option("--docker-host", options->docker_host,
                     "Engine socket (unix:///path); default DOCKER_HOST or /var/run/docker.sock");
  docker->add_option("--parallel", options->threads, "Concurrent Engine API requests")
      ->capture_default_str();
  SetExamples(*docker, {"moat bench docker",
                        "moat bench docker --check 5.4,5.10 --format json -o bench.json",
                        "moat bench docker --host-root /host --level 1 --exit-code 1"});
  docker->callback([&action, options] { action = [options] { return RunBenchDocker(*options); }; });
}

}  // namespace moat::cli
