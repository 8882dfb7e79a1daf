#pragma once
// Shared by the benchmark commands (`moat bench docker`, `moat k8s node`): their common flags,
// control selection, and writing the report with the benchmark exit codes.

#include <CLI/CLI.hpp>
#include <optional>
#include <string>
#include <vector>

#include "cis/engine.h"
#include "cli/commands.h"

namespace moat::cli {

struct BenchCommandOptions {
  std::string format = "table";
  std::string output;
  int exit_code = 0;
  std::string check;
  std::string skip;
  int level = 0;
  std::string host_root = "/";
};

/// -f/--format, -o/--output, --exit-code, --check, --skip, --level, --host-root.
void AddBenchCommandOptions(CLI::App& command, BenchCommandOptions& options,
                            const std::string& check_example, const std::string& host_root_help);

/// The selection from --check/--skip/--level, validated against the benchmark's control ids, and
/// --host-root checked to be a directory. Errors are logged with the command's name.
std::optional<cis::Selection> PrepareBenchSelection(const BenchCommandOptions& options,
                                                    const std::vector<std::string>& control_ids,
                                                    const std::string& command);

/// Stamps (version, time, notes), renders and writes the report. Exit code: 2 when the render or
/// write fails or when every result has one of the `not_assessed` statuses (nothing could be
/// assessed: `nothing_message` says why), --exit-code when a control FAILs, else 0.
int WriteBenchReport(cis::BenchReport report, const std::vector<std::string>& notes,
                     const BenchCommandOptions& options,
                     const std::vector<cis::Status>& not_assessed,
                     const std::string& nothing_message);

}  // namespace moat::cli
