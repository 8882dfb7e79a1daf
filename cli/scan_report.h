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
  std::string timeout = "5m";  // the whole command, as Trivy's --timeout
  std::vector<std::string> skip_dirs;
  std::vector<std::string> skip_files;
};

struct VulnOptions {
  std::vector<std::string> scanners{"vuln"};
  std::string db;
  bool skip_db_update = false;
  std::vector<std::string> severities;
  std::string severity_min;
  std::vector<std::string> pkg_types{"os", "library"};
  bool ignore_unfixed = false;
  std::vector<std::string> ignore_statuses;
  std::string ignore_file;
  std::vector<std::string> vex;
  int exit_code = 0;
  std::string fail_on;
  /// Assessment gaps (damaged or empty package databases, an OS without vulnerability data) are
  /// reported but do not make the exit code 2.
  bool allow_incomplete = false;
  /// Match language packages that an OS package installed against upstream advisories too.
  bool match_os_owned = false;
};

void AddFormatOption(CLI::App& command, OutputOptions& options);
void AddVulnOptions(CLI::App& command, VulnOptions& options);

/// Opens the vulnerability database (unless --scanners none; first, so a missing database fails
/// before a long scan), runs `scan`, then matches, filters, renders and writes; returns the exit
/// code.
int ScanAndReport(const std::function<Result<Inventory>()>& scan, const OutputOptions& output,
                  const VulnOptions& vuln, const GlobalOptions& global);

}  // namespace moat::cli
