// `moat db build|info|update|export|import`: the local vulnerability database.

#include <sys/stat.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/flags.h"
#include "core/log.h"
#include "vulndb/build.h"
#include "vulndb/update.h"
#include "vulndb/vulndb.h"

namespace moat::cli {
namespace {

struct DbOptions {
  std::string db;
  std::string format = "table";
  std::string output;
  std::string sources_file;
  std::string bundle;
  std::vector<std::string> osv, debian_tracker, secdb, csaf, oval, alas, photon, nvd, kev, epss;
};

std::string DbPath(const DbOptions& options) {
  return options.db.empty() ? vulndb::DefaultDatabasePath() : options.db;
}

vulndb::BuildOptions Progress(const GlobalOptions& global) {
  vulndb::BuildOptions build;
  if (!global.quiet) build.progress = [](const std::string& line) { log::Info(line); };
  return build;
}

int Failed(const std::string& command, const Error& error) {
  std::cerr << "moat db " << command << ": " << error.message << "\n";
  return kExitError;
}

std::string HumanBytes(uint64_t bytes) {
  char buffer[32];
  if (bytes >= (1u << 20)) {
    std::snprintf(buffer, sizeof buffer, "%.1f MiB", bytes / 1048576.0);
  } else {
    std::snprintf(buffer, sizeof buffer, "%.1f KiB", bytes / 1024.0);
  }
  return buffer;
}

void PrintStats(const vulndb::BuildStats& stats, const std::string& path) {
  std::fprintf(stderr,
               "%s: %llu packages, %llu affected records, %llu vulnerabilities, %llu aliases, "
               "%s, %.1f s\n",
               path.c_str(), static_cast<unsigned long long>(stats.packages),
               static_cast<unsigned long long>(stats.affected),
               static_cast<unsigned long long>(stats.vulnerabilities),
               static_cast<unsigned long long>(stats.aliases), HumanBytes(stats.bytes).c_str(),
               stats.seconds);
}

int RunBuild(const DbOptions& options, const GlobalOptions& global) {
  std::vector<vulndb::FeedInput> inputs;
  auto add = [&inputs](vulndb::FeedKind kind, const std::vector<std::string>& paths) {
    for (const auto& path : paths) inputs.push_back(vulndb::FeedInput{kind, path, ""});
  };
  add(vulndb::FeedKind::kOsv, options.osv);
  add(vulndb::FeedKind::kDebianTracker, options.debian_tracker);
  add(vulndb::FeedKind::kSecdb, options.secdb);
  add(vulndb::FeedKind::kCsaf, options.csaf);
  add(vulndb::FeedKind::kOval, options.oval);
  add(vulndb::FeedKind::kAlas, options.alas);
  add(vulndb::FeedKind::kPhoton, options.photon);
  add(vulndb::FeedKind::kNvd, options.nvd);
  add(vulndb::FeedKind::kKev, options.kev);
  add(vulndb::FeedKind::kEpss, options.epss);
  if (inputs.empty()) {
    std::cerr << "moat db build: give at least one feed (--osv, --debian-tracker, ...)\n";
    return kExitError;
  }
  std::string output = options.output.empty() ? DbPath(options) : options.output;
  auto stats = vulndb::BuildDatabase(inputs, output, Progress(global));
  if (!stats.ok()) return Failed("build", stats.error());
  if (!global.quiet) PrintStats(*stats, output);
  return kExitOk;
}

std::string Age(const std::string& built_at) {
  std::tm tm{};
  if (!strptime(built_at.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm)) return "unknown";
  double hours = std::difftime(std::time(nullptr), timegm(&tm)) / 3600;
  char buffer[32];
  if (hours < 48) {
    std::snprintf(buffer, sizeof buffer, "%.1f hours", hours);
  } else {
    std::snprintf(buffer, sizeof buffer, "%.1f days", hours / 24);
  }
  return buffer;
}

int RunInfo(const DbOptions& options) {
  std::string path = DbPath(options);
  auto db = vulndb::OpenDatabase(path);
  if (!db.ok()) return Failed("info", db.error());
  const auto& metadata = (*db)->metadata();
  struct stat st {};
  uint64_t size = ::stat(path.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
  if (options.format == "json") {
    nlohmann::json sources = nlohmann::json::array();
    for (const auto& source : metadata.sources) {
      sources.push_back({{"name", source.name}, {"date", source.date}, {"count", source.count}});
    }
    nlohmann::json j = {{"path", path},
                        {"schema_version", metadata.schema_version},
                        {"built_at", metadata.built_at},
                        {"age", Age(metadata.built_at)},
                        {"size", size},
                        {"sources", sources}};
    std::cout << j.dump(2) << "\n";
    return kExitOk;
  }
  std::printf(
      "Database:       %s\nSchema version: %d\nBuilt at:       %s (%s ago)\nSize:"
      "           %s\nSources:\n",
      path.c_str(), metadata.schema_version, metadata.built_at.c_str(),
      Age(metadata.built_at).c_str(), HumanBytes(size).c_str());
  int name_width = 6, date_width = 4;
  for (const auto& source : metadata.sources) {
    name_width = std::max(name_width, static_cast<int>(source.name.size()));
    date_width = std::max(date_width, static_cast<int>(source.date.size()));
  }
  std::printf("  %-*s  %-*s  %10s\n", name_width, "SOURCE", date_width, "DATE", "RECORDS");
  for (const auto& source : metadata.sources) {
    std::printf("  %-*s  %-*s  %10llu\n", name_width, source.name.c_str(), date_width,
                source.date.c_str(), static_cast<unsigned long long>(source.count));
  }
  return kExitOk;
}

int RunUpdate(const DbOptions& options, const GlobalOptions& global) {
  std::vector<vulndb::UpdateSource> sources = vulndb::DefaultUpdateSources();
  if (!options.sources_file.empty()) {
    auto loaded = vulndb::LoadUpdateSources(options.sources_file);
    if (!loaded.ok()) return Failed("update", loaded.error());
    sources = std::move(*loaded);
  }
  std::string path = DbPath(options);
  auto report = vulndb::UpdateDatabase(path, sources, Progress(global));
  if (!report.ok()) return Failed("update", report.error());
  if (!report->rebuilt) {
    if (!global.quiet) std::cerr << path << ": up to date (every source unchanged)\n";
    return kExitOk;
  }
  if (!global.quiet) PrintStats(report->stats, path);
  return kExitOk;
}

}  // namespace

void AddDbCommand(CLI::App& app, const GlobalOptions& global, Action& action) {
  auto* command = app.add_subcommand("db", "Build, update and inspect the vulnerability database");
  command->require_subcommand(1);
  SetExamples(*command, {"moat db update && moat db info", "moat db build --osv osv/ -o moat.db"});
  auto options = std::make_shared<DbOptions>();
  auto add_db = [options](CLI::App* sub) {
    sub->add_option("--db", options->db, "Database file (default $MOAT_DB or ~/.cache/moat/db)");
  };

  auto* build = command->add_subcommand("build", "Compile feed files into a database");
  AddListOption(*build, "--osv", options->osv, "OSV directories of *.json, all.zip or files");
  AddListOption(*build, "--debian-tracker", options->debian_tracker, "Debian tracker JSON");
  AddListOption(*build, "--alpine-secdb,--secdb", options->secdb,
                "Alpine/Wolfi/Chainguard secdb JSON (or Alpine's older YAML)");
  AddListOption(*build, "--csaf", options->csaf,
                "Red Hat CSAF VEX/advisories: directories, .tar.zst archives or files");
  AddListOption(*build, "--oval", options->oval,
                "OVAL definitions: Oracle ELSA, SUSE/openSUSE, Azure Linux (.xml[.gz|.bz2])");
  AddListOption(*build, "--alas", options->alas,
                "Amazon Linux: updateinfo.xml[.gz], ALAS advisory pages or a directory of them");
  AddListOption(*build, "--photon", options->photon, "Photon OS cve_data_photonX.Y.json");
  AddListOption(*build, "--nvd", options->nvd,
                "NVD CVE 2.0 JSON files or directories (.json[.gz])");
  AddListOption(*build, "--kev", options->kev, "CISA KEV JSON");
  AddListOption(*build, "--epss", options->epss, "EPSS CSV (.csv or .csv.gz)");
  SetExamples(*build, {"moat db build --osv osv/ --debian-tracker debian.json -o moat.db",
                       "moat db build --osv Go.zip,PyPI.zip --nvd nvd/ --kev kev.json"});
  build->add_option("-o,--output", options->output, "Database file to write");
  add_db(build);
  build->callback([&action, &global, options] {
    action = [&global, options] { return RunBuild(*options, global); };
  });

  auto* info = command->add_subcommand("info", "Show the database's schema, age and sources");
  add_db(info);
  info->add_option("-f,--format", options->format, "Output format")
      ->check(CLI::IsMember({"table", "json"}));
  SetExamples(*info, {"moat db info", "moat db info --db moat.db --format json"});
  info->callback([&action, options] { action = [options] { return RunInfo(*options); }; });

  auto* update = command->add_subcommand("update", "Download the feeds and rebuild if changed");
  add_db(update);
  update->add_option("--sources", options->sources_file,
                     "JSON list of sources (default: built in)");
  SetExamples(*update, {"moat db update", "moat db update --sources sources.json --db moat.db"});
  update->callback([&action, &global, options] {
    action = [&global, options] { return RunUpdate(*options, global); };
  });

  auto* export_command = command->add_subcommand("export", "Write a verified single-file bundle");
  add_db(export_command);
  export_command->add_option("-o,--output", options->output, "Bundle file")->required();
  SetExamples(*export_command, {"moat db export -o moat-db.bundle"});
  export_command->callback([&action, options] {
    action = [options] {
      auto status = vulndb::ExportBundle(DbPath(*options), options->output);
      return status.ok() ? kExitOk : Failed("export", status.error());
    };
  });

  auto* import_command = command->add_subcommand("import", "Verify a bundle and install it");
  import_command->add_option("bundle", options->bundle, "Bundle file")->required();
  add_db(import_command);
  SetExamples(*import_command, {"moat db import moat-db.bundle"});
  import_command->callback([&action, &global, options] {
    action = [&global, options] {
      std::string path = DbPath(*options);
      auto status = vulndb::ImportBundle(options->bundle, path);
      if (!status.ok()) return Failed("import", status.error());
      if (!global.quiet) std::cerr << path << ": imported from " << options->bundle << "\n";
      return kExitOk;
    };
  });
}

}  // namespace moat::cli
