#pragma once
// Shared by `moat image`, `moat rootfs` and `moat sbom`: output and vulnerability options, and
// the step that matches, filters and writes the report.

#include <functional>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "core/package.h"
#include "core/result.h"

namespace moat::cli {

struct OutputOptions {
  std::string format = "table";
  std::string output;
  std::string cache_dir;
  bool no_cache = false;
  uint64_t max_layer_mib = 32768;
  size_t threads = 0;
};

struct VulnOptions {
  std::vector<std::string> scanners{"vuln"};
  std::string db;
  bool skip_db_update = false;
  std::vector<std::string> severities;
  bool ignore_unfixed = false;
  std::vector<std::string> ignore_statuses;
  std::string ignore_file;
  std::vector<std::string> vex;
  int exit_code = 0;
  std::string fail_on;
};

void AddFormatOption(CLI::App& command, OutputOptions& options);
void AddVulnOptions(CLI::App& command, VulnOptions& options);

/// Opens the vulnerability database (unless --scanners none; first, so a missing database fails
/// before a long scan), runs `scan`, then matches, filters, renders and writes; returns the exit
/// code.
int ScanAndReport(const std::function<Result<Inventory>()>& scan, const OutputOptions& output,
                  const VulnOptions& vuln, const GlobalOptions& global);

}  // namespace moat::cli
