// `moat image` and `moat rootfs`: inventory an image or a filesystem and write a report.

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <memory>
#include <sstream>

#include "analyzer/analyzer.h"
#include "artifact/sources.h"
#include "cli/commands.h"
#include "core/log.h"
#include "report/report.h"
#include "scan/scanner.h"

namespace moat::cli {
namespace {

struct OutputOptions {
  std::string format = "table";
  std::string output;
  std::string cache_dir;
  bool no_cache = false;
  uint64_t max_layer_mib = 32768;
  size_t threads = 0;
};

void AddOutputOptions(CLI::App& command, OutputOptions& options) {
  command.add_option("-f,--format", options.format, "Output format")
      ->check(CLI::IsMember({"table", "json", "cyclonedx", "spdx-json"}))
      ->capture_default_str();
  command.add_option("-o,--output", options.output,
                     "Write the report to this file (default stdout)");
  command.add_option("--cache-dir", options.cache_dir,
                     "Layer cache directory (default ~/.cache/moat)");
  command.add_flag("--no-cache", options.no_cache, "Neither read nor write the layer cache");
  command
      .add_option("--max-layer-size", options.max_layer_mib,
                  "Stop a layer that expands past this many MiB (decompression bombs)")
      ->capture_default_str();
  command.add_option("--parallel", options.threads, "Layers analyzed at once (0 = one per core)")
      ->capture_default_str();
}

std::string NowRfc3339() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buffer;
}

ScanOptions MakeScanOptions(const OutputOptions& output, const GlobalOptions& global) {
  ScanOptions options;
  if (!output.no_cache)
    options.cache_dir = output.cache_dir.empty() ? DefaultCacheDir() : output.cache_dir;
  options.max_layer_bytes = output.max_layer_mib << 20;
  options.threads = output.threads;
  // Progress only for people watching a terminal; never mixed into piped output.
  if (!global.quiet && ::isatty(STDOUT_FILENO) && ::isatty(STDERR_FILENO)) {
    options.on_progress = [](size_t done, size_t total) {
      std::fprintf(stderr, "\ranalyzing layers %zu/%zu", done, total);
      if (done >= total) std::fprintf(stderr, "\r\033[K");
      std::fflush(stderr);
    };
  }
  return options;
}

int Report(const Result<Inventory>& inventory, const OutputOptions& output) {
  if (!inventory.ok()) {
    log::Error(inventory.error().message);
    return kExitError;
  }
  for (const auto& warning : inventory->warnings) log::Warn(warning);
  ReportContext context{MOAT_VERSION, NowRfc3339()};
  auto text = RenderInventory(*inventory, output.format, context);
  if (!text.ok()) {
    log::Error(text.error().message);
    return kExitError;
  }
  if (auto written = WriteOutput(output.output, *text); !written.ok()) {
    log::Error(written.error().message);
    return kExitError;
  }
  return kExitOk;
}

struct ImageOptions {
  OutputOptions output;
  std::string target;
  std::string input;
  std::vector<std::string> image_sources{"docker", "registry"};
  RegistryOptions registry;
};

Result<Inventory> ScanImageTarget(const ImageOptions& options, const ScanOptions& scan,
                                  const AnalyzerRegistry& analyzers) {
  if (!options.input.empty()) {
    MOAT_ASSIGN_OR_RETURN(
        auto source, OpenArchiveImage(options.input, options.target, options.registry.platform));
    return ScanImage(*source, options.target.empty() ? options.input : options.target, analyzers,
                     scan);
  }
  if (options.target.empty()) return Fail("moat image: give an image reference or --input PATH");
  // Try each source in order, as Trivy does; report every source's error when none has it.
  std::string errors;
  for (const auto& kind : options.image_sources) {
    Result<std::unique_ptr<ImageSource>> source = Fail("unknown image source '", kind, "'");
    if (kind == "docker") {
      source = OpenDockerEngineImage(options.target, DefaultDockerSocket());
    } else if (kind == "registry") {
      source = OpenRegistryImage(options.target, options.registry);
    }
    if (source.ok()) {
      // Only a source that has the image is used; a scan failure after that is final.
      auto described = (*source)->Describe();
      if (described.ok()) return ScanImage(**source, options.target, analyzers, scan);
      source = described.error();
    }
    log::Debug(kind + ": " + source.error().message);
    errors += "\n  " + kind + ": " + source.error().message;
  }
  return Fail(options.target, ": image not found in any source:", errors);
}

}  // namespace

void AddImageCommand(CLI::App& app, const GlobalOptions& global, Action& action) {
  auto options = std::make_shared<ImageOptions>();
  auto* command = app.add_subcommand(
      "image", "Inventory a container image (Docker Engine, registry, docker-save/OCI archive)");
  command->add_option("target", options->target,
                      "Image reference (nginx:1.25, 127.0.0.1:5000/app@sha256:...)");
  command->add_option("-i,--input", options->input,
                      "docker-save tarball, OCI archive or OCI layout directory");
  command
      ->add_option("--image-src", options->image_sources,
                   "Sources to try in order for a reference: docker, registry")
      ->delimiter(',')
      ->check(CLI::IsMember({"docker", "registry"}))
      ->capture_default_str();
  command->add_option("--platform", options->registry.platform, "os/arch[/variant] to scan")
      ->capture_default_str();
  command->add_option("--username", options->registry.username, "Registry user name");
  command->add_option("--password", options->registry.password, "Registry password or token");
  command->add_flag("--insecure", options->registry.insecure,
                    "Allow plain HTTP and unverified TLS registries");
  AddOutputOptions(*command, options->output);
  command->callback([&action, &global, options] {
    action = [&global, options] {
      AnalyzerRegistry analyzers;
      RegisterBuiltinAnalyzers(analyzers);
      ScanOptions scan = MakeScanOptions(options->output, global);
      return Report(ScanImageTarget(*options, scan, analyzers), options->output);
    };
  });
}

void AddRootfsCommand(CLI::App& app, const GlobalOptions& global, Action& action) {
  auto options = std::make_shared<ImageOptions>();
  auto* command = app.add_subcommand("rootfs", "Inventory an unpacked root filesystem");
  command->add_option("dir", options->target, "Root directory (/ for this host)")->required();
  AddOutputOptions(*command, options->output);
  command->callback([&action, &global, options] {
    action = [&global, options] {
      AnalyzerRegistry analyzers;
      RegisterBuiltinAnalyzers(analyzers);
      ScanOptions scan = MakeScanOptions(options->output, global);
      return Report(ScanRootfs(options->target, analyzers, scan), options->output);
    };
  });
}

}  // namespace moat::cli
