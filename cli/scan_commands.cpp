// `moat image` and `moat rootfs`: inventory an image or a filesystem and write a report.

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>

#include "analyzer/analyzer.h"
#include "artifact/sources.h"
#include "cli/commands.h"
#include "cli/flags.h"
#include "cli/scan_report.h"
#include "core/log.h"
#include "core/sha256.h"
#include "core/text_format.h"
#include "match/filter.h"
#include "match/match.h"
#include "report/report.h"
#include "scan/scanner.h"
#include "vulndb/update.h"
#include "vulndb/vulndb.h"

namespace moat::cli {
namespace {

void AddOutputOptions(CLI::App& command, OutputOptions& options) {
  AddFormatOption(command, options);
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
  command
      .add_option("--timeout", options.timeout,
                  "Give up when the whole command takes longer (5m, 90s, 1h30m)")
      ->capture_default_str();
  AddListOption(command, "--skip-dirs", options.skip_dirs,
                "Directories not analyzed (globs; ** crosses directories)");
  AddListOption(command, "--skip-files", options.skip_files, "Files not analyzed (globs)");
}

// --skip-dirs/--skip-files: the walker offers every file to the analyzers, which never want a
// skipped one.
class SkippingAnalyzer : public Analyzer {
 public:
  SkippingAnalyzer(const Analyzer& inner, const OutputOptions& options)
      : inner_(inner), options_(options) {}
  const AnalyzerDescriptor& descriptor() const override { return inner_.descriptor(); }
  bool Wants(const FileMeta& file) const override {
    return inner_.Wants(file) && !PathSkipped(file.path, options_.skip_dirs, options_.skip_files);
  }
  Result<AnalysisResult> Analyze(const FileMeta& file, ByteSpan content) const override {
    return inner_.Analyze(file, content);
  }
  bool ReadsInParts() const override { return inner_.ReadsInParts(); }
  std::vector<FileRange> NextRanges(const FileMeta& file,
                                    const std::vector<FilePart>& parts) const override {
    return inner_.NextRanges(file, parts);
  }
  Result<AnalysisResult> AnalyzeParts(const FileMeta& file,
                                      const std::vector<FilePart>& parts) const override {
    return inner_.AnalyzeParts(file, parts);
  }

 private:
  const Analyzer& inner_;
  const OutputOptions& options_;
};

// The built-in analyzers (or a source tree's), behind the skip filters when there are any.
struct ScanAnalyzers {
  explicit ScanAnalyzers(const OutputOptions& options,
                         void (*register_analyzers)(AnalyzerRegistry&) = RegisterBuiltinAnalyzers) {
    register_analyzers(builtin);
    if (options.skip_dirs.empty() && options.skip_files.empty()) return;
    for (const auto& analyzer : builtin.analyzers()) {
      filtered.Add(std::make_unique<SkippingAnalyzer>(*analyzer, options));
    }
  }
  const AnalyzerRegistry& active() const {
    return filtered.analyzers().empty() ? builtin : filtered;
  }
  AnalyzerRegistry builtin;
  AnalyzerRegistry filtered;
};

// Ends the process when the command outlives --timeout. Registry and engine requests already
// stop at the deadline with an error that names what they waited for; this catches the rest
// (a huge layer still being analyzed), a moment later so that those errors come first.
class Watchdog {
 public:
  Watchdog(std::chrono::steady_clock::time_point deadline, std::string message)
      : thread_([this, deadline, message = std::move(message)] {
          std::unique_lock<std::mutex> lock(mutex_);
          if (!done_cv_.wait_until(lock, deadline + std::chrono::seconds(1),
                                   [this] { return done_; })) {
            std::fprintf(stderr, "%s\n", message.c_str());
            std::fflush(stderr);
            std::_Exit(kExitError);
          }
        }) {}
  ~Watchdog() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      done_ = true;
    }
    done_cv_.notify_all();
    thread_.join();
  }

 private:
  std::mutex mutex_;
  std::condition_variable done_cv_;
  bool done_ = false;
  std::thread thread_;
};

// The end of the command under --timeout; nullopt after logging an invalid duration.
std::optional<std::chrono::steady_clock::time_point> ScanDeadline(const OutputOptions& output) {
  auto timeout = ParseDuration(output.timeout);
  if (!timeout.ok()) {
    log::Error("--timeout: " + timeout.error().message);
    return std::nullopt;
  }
  return std::chrono::steady_clock::now() + *timeout;
}

ScanOptions MakeScanOptions(const OutputOptions& output, const GlobalOptions& global) {
  ScanOptions options;
  if (!output.no_cache)
    options.cache_dir = output.cache_dir.empty() ? DefaultCacheDir() : output.cache_dir;
  if (!options.cache_dir.empty() && (!output.skip_dirs.empty() || !output.skip_files.empty())) {
    // Layer results depend on the skipped paths: keep them apart from unfiltered ones.
    std::string key;
    for (const auto& d : output.skip_dirs) key += "d:" + d + "\n";
    for (const auto& f : output.skip_files) key += "f:" + f + "\n";
    options.cache_dir += "/skip-" + Sha256Hex(AsBytes(key)).substr(0, 16);
  }
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

struct ImageOptions {
  OutputOptions output;
  VulnOptions vuln;
  std::string target;
  std::string input;
  std::vector<std::string> image_sources{"docker", "registry"};
  RegistryOptions registry;
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
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
      source = OpenDockerEngineImage(options.target, DefaultDockerSocket(), options.deadline);
    } else if (kind == "registry" || kind == "remote") {  // "remote" is Trivy's name
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

double DaysSince(const std::string& rfc3339) {
  std::tm tm{};
  if (!strptime(rfc3339.c_str(), "%Y-%m-%dT%H:%M:%S", &tm)) return 0;
  return std::difftime(std::time(nullptr), timegm(&tm)) / 86400;
}

Result<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Fail(path, ": cannot open");
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

Result<match::FilterOptions> LoadFilters(const VulnOptions& vuln) {
  match::FilterOptions filters;
  filters.severities = vuln.severities;
  if (!vuln.severity_min.empty()) {
    if (!vuln.severities.empty()) return Fail("give --severity or --severity-min, not both");
    filters.severities =
        SeveritiesAtOrAbove(vuln.severity_min, {"UNKNOWN", "LOW", "MEDIUM", "HIGH", "CRITICAL"});
    if (filters.severities.empty()) {
      return Fail("--severity-min ", vuln.severity_min,
                  ": expected UNKNOWN, LOW, MEDIUM, HIGH or CRITICAL");
    }
  }
  filters.ignore_unfixed = vuln.ignore_unfixed;
  filters.ignore_statuses = vuln.ignore_statuses;
  MOAT_TRY(match::ValidateFilterOptions(filters));
  // The default ignore file is optional; one named with --ignorefile must exist.
  std::string ignore_path = vuln.ignore_file.empty() ? ".moatignore" : vuln.ignore_file;
  if (!vuln.ignore_file.empty() || ::access(ignore_path.c_str(), F_OK) == 0) {
    MOAT_ASSIGN_OR_RETURN(std::string text, ReadFile(ignore_path));
    MOAT_ASSIGN_OR_RETURN(filters.ignore_rules, match::ParseIgnoreFile(text, ignore_path));
  }
  for (const auto& path : vuln.vex) {
    MOAT_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
    MOAT_ASSIGN_OR_RETURN(auto statements, match::ParseVex(text, path));
    for (auto& s : statements) filters.vex.push_back(std::move(s));
  }
  return filters;
}

}  // namespace

void AddFormatOption(CLI::App& command, OutputOptions& options) {
  command.add_option("-f,--format", options.format, "Output format")
      ->check(CLI::IsMember({"table", "json", "sarif", "cyclonedx", "spdx-json"}))
      ->capture_default_str();
}

void AddVulnOptions(CLI::App& command, VulnOptions& options) {
  AddListOption(command, "--scanners", options.scanners,
                "What to look for: vuln, or none (inventory)")
      ->check(CLI::IsMember({"vuln", "none"}))
      ->capture_default_str();
  AddListOption(command, "--pkg-types", options.pkg_types,
                "Package types reported: os (distribution packages), library (language packages)")
      ->check(CLI::IsMember({"os", "library"}))
      ->capture_default_str();
  command.add_option("--db", options.db,
                     "Vulnerability database (default $MOAT_DB or ~/.cache/moat/db/moat.db)");
  command.add_flag("--skip-db-update", options.skip_db_update,
                   "Do not bring the default database up to date before scanning");
  AddListOption(command, "--severity", options.severities,
                "Report only these severities (CRITICAL,HIGH,MEDIUM,LOW,UNKNOWN)");
  command.add_option("--severity-min", options.severity_min,
                     "Report only this severity and higher (instead of --severity)");
  command.add_flag("--ignore-unfixed", options.ignore_unfixed,
                   "Leave out vulnerabilities without a fixed version");
  AddListOption(command, "--ignore-status", options.ignore_statuses,
                "Leave out these statuses (affected,will_not_fix,end_of_life,...)");
  command.add_option("--ignorefile", options.ignore_file,
                     "Ignore file (default .moatignore in the current directory, if present)");
  AddListOption(command, "--vex", options.vex, "OpenVEX or CycloneDX VEX documents (repeatable)");
  command.add_option("--exit-code", options.exit_code,
                     "Exit with this code when vulnerabilities remain after filtering");
  command
      .add_option("--fail-on", options.fail_on,
                  "Exit 1 when a vulnerability at or above this severity remains")
      ->check(CLI::IsMember({"CRITICAL", "HIGH", "MEDIUM", "LOW", "UNKNOWN", "critical", "high",
                             "medium", "low", "unknown"}));
  command.add_flag("--allow-incomplete", options.allow_incomplete,
                   "Exit as if the assessment were complete when parts of the target could not "
                   "be assessed (damaged or empty package databases, an OS without "
                   "vulnerability data); they are still reported");
  command.add_flag("--match-os-owned-libraries", options.match_os_owned,
                   "Also match language packages installed by an OS package (whose fixes the "
                   "distribution backports) against upstream advisories");
}

namespace {

bool ScansVulnerabilities(const VulnOptions& vuln) {
  return std::find(vuln.scanners.begin(), vuln.scanners.end(), "vuln") != vuln.scanners.end() &&
         std::find(vuln.scanners.begin(), vuln.scanners.end(), "none") == vuln.scanners.end();
}

// The database a scan reads, ready before the (possibly long) inventory so a missing database
// fails fast. As in Trivy, the default database is brought up to date first when it is missing
// or more than a day old, unless --skip-db-update; a database named with --db is used as is.
Result<std::unique_ptr<vulndb::Database>> PrepareDatabase(const VulnOptions& vuln,
                                                          const GlobalOptions& global) {
  const bool explicit_path = !vuln.db.empty();
  const std::string path = explicit_path ? vuln.db : vulndb::DefaultDatabasePath();
  const bool exists = ::access(path.c_str(), F_OK) == 0;
  double age_days = 0;
  if (exists) {
    MOAT_ASSIGN_OR_RETURN(auto db, vulndb::OpenDatabase(path));
    age_days = DaysSince(db->metadata().built_at);
    if (explicit_path || vuln.skip_db_update || age_days <= 1) {
      if (age_days > 7) {
        log::Warn("vulnerability database " + path + " was built " +
                  std::to_string(static_cast<int>(age_days)) +
                  " days ago; run `moat db update` for current advisories");
      }
      return db;
    }
  }
  if (explicit_path || vuln.skip_db_update) {
    return Fail("no vulnerability database at ", path,
                ": run `moat db update` (download) or `moat db build --osv DIR ... -o ", path,
                "` (from local feeds), give --db PATH, or scan the inventory only with "
                "--scanners none");
  }
  if (!global.quiet) log::Info("updating the vulnerability database " + path);
  vulndb::BuildOptions build;
  if (!global.quiet) build.progress = [](const std::string& line) { log::Info(line); };
  auto updated = vulndb::UpdateDatabase(path, vulndb::DefaultUpdateSources(), build);
  if (!updated.ok()) {
    if (!exists) {
      return Fail("no vulnerability database at ", path, " and the download failed (",
                  updated.error().message,
                  "); build one with `moat db build ... -o PATH` and give --db PATH, import one "
                  "with `moat db import`, or scan the inventory only with --scanners none");
    }
    log::Warn("vulnerability database update failed (" + updated.error().message +
              "); scanning with the database of " + std::to_string(static_cast<int>(age_days)) +
              " days ago (--skip-db-update skips the update)");
  }
  return vulndb::OpenDatabase(path);
}

}  // namespace

int ScanAndReport(const std::function<Result<Inventory>()>& scan, const OutputOptions& output,
                  const VulnOptions& vuln, const GlobalOptions& global) {
  const bool scan_vulns = ScansVulnerabilities(vuln);
  if (output.format == "sarif" && !scan_vulns) {
    log::Error("--format sarif reports vulnerabilities; it needs --scanners vuln");
    return kExitError;
  }
  match::FilterOptions filters;
  std::unique_ptr<vulndb::Database> db;
  if (scan_vulns) {
    auto loaded_filters = LoadFilters(vuln);
    if (!loaded_filters.ok()) {
      log::Error(loaded_filters.error().message);
      return kExitError;
    }
    filters = std::move(*loaded_filters);
    auto opened = PrepareDatabase(vuln, global);
    if (!opened.ok()) {
      log::Error(opened.error().message);
      return kExitError;
    }
    db = std::move(*opened);
  }
  Result<Inventory> inventory = scan();
  if (!inventory.ok()) {
    log::Error(inventory.error().message);
    return kExitError;
  }
  std::erase_if(inventory->packages, [&](const Package& package) {
    return !PackageTypeSelected(package.type, vuln.pkg_types);
  });
  if (scan_vulns) {
    auto matched = match::MatchInventory(*inventory, *db,
                                         match::MatchOptions{output.threads, vuln.match_os_owned});
    for (auto& w : matched.warnings) inventory->warnings.push_back(std::move(w));
    for (auto& gap : matched.gaps) inventory->assessment_gaps.push_back(std::move(gap));
    inventory->vulnerability_scan = true;
    inventory->vulnerabilities = std::move(matched.findings);
    match::ApplyFilters(*inventory, filters);
  }
  for (const auto& warning : report::GroupWarnings(inventory->warnings)) log::Warn(warning);
  std::vector<std::string> gap_lines;
  for (const auto& gap : inventory->assessment_gaps) {
    gap_lines.push_back("incomplete assessment: " + DescribeAssessmentGap(gap) +
                        (gap.details.empty() ? "" : ": " + gap.details.front()));
  }
  for (const auto& line : report::GroupWarnings(gap_lines)) log::Warn(line);
  ReportContext context{MOAT_VERSION, NowRfc3339Utc()};
  context.table_width = TableWidth(output.output);
  auto text = RenderInventory(*inventory, output.format, context);
  if (!text.ok()) {
    log::Error(text.error().message);
    return kExitError;
  }
  if (auto written = WriteOutput(output.output, *text); !written.ok()) {
    log::Error(written.error().message);
    return kExitError;
  }
  // Part of the target not assessed: exit 2 unless --allow-incomplete. A damaged or empty
  // package database always (it may hide anything); an OS without vulnerability data when a
  // gate asked for a verdict (--exit-code, --fail-on).
  const bool gate = vuln.exit_code != 0 || !vuln.fail_on.empty();
  if (!vuln.allow_incomplete) {
    for (const auto& gap : inventory->assessment_gaps) {
      if (gap.kind != AssessmentGap::Kind::kNoVulnerabilityData || gate) return kExitError;
    }
  }
  if (!scan_vulns) return kExitOk;
  if (!vuln.fail_on.empty()) {
    std::string threshold = vuln.fail_on;
    for (char& c : threshold) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    const int rank = SeverityRank(threshold);
    for (const auto& f : inventory->vulnerabilities) {
      if (SeverityRank(f.severity) >= rank) return kExitFindings;
    }
  }
  if (vuln.exit_code != 0 && !inventory->vulnerabilities.empty()) return vuln.exit_code;
  return kExitOk;
}

void AddImageCommand(CLI::App& app, const GlobalOptions& global, Action& action) {
  auto options = std::make_shared<ImageOptions>();
  auto* command = app.add_subcommand(
      "image", "Inventory a container image (Docker Engine, registry, docker-save/OCI archive)");
  command->add_option("target", options->target,
                      "Image reference (nginx:1.25, 127.0.0.1:5000/app@sha256:...)");
  command->add_option("-i,--input", options->input,
                      "docker-save tarball, OCI archive or OCI layout directory");
  AddListOption(*command, "--image-src", options->image_sources,
                "Sources to try in order for a reference: docker, registry (or remote)")
      ->check(CLI::IsMember({"docker", "registry", "remote"}))
      ->capture_default_str();
  command->add_option("--platform", options->registry.platform, "os/arch[/variant] to scan")
      ->capture_default_str();
  command->add_option("--username", options->registry.username, "Registry user name");
  command->add_option("--password", options->registry.password, "Registry password or token");
  command->add_flag("--insecure", options->registry.insecure,
                    "Allow plain HTTP and unverified TLS registries");
  AddOutputOptions(*command, options->output);
  AddVulnOptions(*command, options->vuln);
  SetExamples(*command,
              {"moat image debian:bookworm",
               "moat image --image-src registry --insecure 127.0.0.1:5000/app:1.0",
               "moat image --input app.tar --scanners none --format cyclonedx -o sbom.json",
               "moat image nginx:1.25 --severity HIGH,CRITICAL --ignore-unfixed --exit-code 1"});
  command->callback([&action, &global, options] {
    action = [&global, options] {
      auto deadline = ScanDeadline(options->output);
      if (!deadline) return kExitError;
      options->deadline = options->registry.deadline = *deadline;
      Watchdog watchdog(*deadline, "moat image: " + options->target + options->input +
                                       ": not finished within --timeout " +
                                       options->output.timeout + " (give a longer --timeout)");
      ScanAnalyzers analyzers(options->output);
      ScanOptions scan = MakeScanOptions(options->output, global);
      return ScanAndReport([&] { return ScanImageTarget(*options, scan, analyzers.active()); },
                           options->output, options->vuln, global);
    };
  });
}

void AddRootfsCommand(CLI::App& app, const GlobalOptions& global, Action& action) {
  auto options = std::make_shared<ImageOptions>();
  auto* command = app.add_subcommand("rootfs", "Inventory an unpacked root filesystem");
  command->add_option("dir", options->target, "Root directory (/ for this host)")->required();
  AddOutputOptions(*command, options->output);
  AddVulnOptions(*command, options->vuln);
  SetExamples(*command, {"moat rootfs /", "moat rootfs /srv/chroot --scanners none --format json",
                         "moat rootfs / --skip-dirs '**/node_modules' --pkg-types os"});
  command->callback([&action, &global, options] {
    action = [&global, options] {
      auto deadline = ScanDeadline(options->output);
      if (!deadline) return kExitError;
      Watchdog watchdog(*deadline, "moat rootfs " + options->target +
                                       ": not finished within --timeout " +
                                       options->output.timeout + " (give a longer --timeout)");
      ScanAnalyzers analyzers(options->output);
      ScanOptions scan = MakeScanOptions(options->output, global);
      return ScanAndReport([&] { return ScanRootfs(options->target, analyzers.active(), scan); },
                           options->output, options->vuln, global);
    };
  });
}

namespace {

struct SourceTreeOptions {
  OutputOptions output;
  VulnOptions vuln;
  std::string target;
  bool include_dev_deps = false;
};

// A source tree as Trivy's `fs` and `repo` read it: OS packages if any, and the packages its
// lock files name (docs/fs.md), with paths relative to the scanned directory.
Result<Inventory> ScanSourceTree(const SourceTreeOptions& options, const std::string& type,
                                 const AnalyzerRegistry& analyzers, ScanOptions scan) {
  // Trivy skips .git by default; nothing under node_modules is wanted in a source tree (lock
  // files there belong to installed packages), so neither is walked.
  scan.skip_dir = [&options](std::string_view relative) {
    std::string_view base = relative.substr(relative.rfind('/') + 1);
    return base == ".git" || base == "node_modules" ||
           PathSkipped(std::string(relative) + "/", options.output.skip_dirs, {});
  };
  MOAT_ASSIGN_OR_RETURN(Inventory inventory, ScanRootfs(options.target, analyzers, scan));
  inventory.artifact.type = type;
  // Development dependencies are not part of what ships: left out unless asked, as in Trivy.
  if (!options.include_dev_deps) {
    std::erase_if(inventory.packages, [](const Package& package) { return package.dev; });
  }
  auto relative = [](std::string& path) {
    if (path.starts_with("/")) path.erase(0, 1);
  };
  for (Package& package : inventory.packages) relative(package.file_path);
  for (AssessmentGap& gap : inventory.assessment_gaps) relative(gap.subject);
  return inventory;
}

void AddSourceTreeCommand(CLI::App& app, const GlobalOptions& global, Action& action,
                          const std::string& name, const std::string& type,
                          const std::string& description, std::vector<std::string> examples) {
  auto options = std::make_shared<SourceTreeOptions>();
  auto* command = app.add_subcommand(name, description);
  command
      ->add_option(name == "repo" ? "repository" : "path", options->target,
                   name == "repo" ? "A checked-out repository (a directory; no cloning)"
                                  : "Directory (a source tree or an unpacked application)")
      ->required();
  command->add_flag("--include-dev-deps", options->include_dev_deps,
                    "Also report development and test dependencies that lock files mark");
  AddOutputOptions(*command, options->output);
  AddVulnOptions(*command, options->vuln);
  SetExamples(*command, std::move(examples));
  command->callback([&action, &global, options, name, type] {
    action = [&global, options, name, type] {
      if (options->target.find("://") != std::string::npos || options->target.starts_with("git@")) {
        log::Error("moat " + name + " " + options->target +
                   ": reads a directory; clone the repository first (Moat does not fetch it)");
        return kExitError;
      }
      auto deadline = ScanDeadline(options->output);
      if (!deadline) return kExitError;
      Watchdog watchdog(*deadline, "moat " + name + " " + options->target +
                                       ": not finished within --timeout " +
                                       options->output.timeout + " (give a longer --timeout)");
      ScanAnalyzers analyzers(options->output, RegisterSourceTreeAnalyzers);
      ScanOptions scan = MakeScanOptions(options->output, global);
      return ScanAndReport([&] { return ScanSourceTree(*options, type, analyzers.active(), scan); },
                           options->output, options->vuln, global);
    };
  });
}

}  // namespace

void AddFsCommand(CLI::App& app, const GlobalOptions& global, Action& action) {
  AddSourceTreeCommand(app, global, action, "fs", "filesystem",
                       "Scan a source tree or unpacked application through its lock files",
                       {"moat fs .", "moat fs ./app --severity HIGH,CRITICAL --exit-code 1",
                        "moat fs . --scanners none --format cyclonedx -o sbom.json",
                        "moat fs . --skip-dirs 'testdata/**' --include-dev-deps"});
}

void AddRepoCommand(CLI::App& app, const GlobalOptions& global, Action& action) {
  AddSourceTreeCommand(app, global, action, "repo", "repository",
                       "Scan a checked-out repository through its lock files",
                       {"moat repo ~/src/app", "moat repo . --format sarif -o moat.sarif"});
}

}  // namespace moat::cli
