#include "cli/bench_report.h"

#include <sys/stat.h>

#include <algorithm>

#include "cis/output.h"
#include "cli/flags.h"
#include "core/bytes.h"
#include "core/log.h"
#include "core/text_format.h"

namespace moat::cli {

void AddBenchCommandOptions(CLI::App& command, BenchCommandOptions& options,
                            const std::string& check_example, const std::string& host_root_help) {
  command.add_option("-f,--format", options.format, "Output format")
      ->check(CLI::IsMember({"table", "json", "sarif", "junit"}))
      ->capture_default_str();
  command.add_option("-o,--output", options.output, "Write the report to this file");
  command.add_option("--exit-code", options.exit_code,
                     "Exit with this code when any control FAILs (default 0)");
  AddListOption(command, "--check", options.check,
                "Only these controls: ids, groups or globs (" + check_example + ")");
  AddListOption(command, "--skip", options.skip, "Skip these controls (same syntax as --check)");
  command.add_option("--level", options.level, "Only controls of CIS profile level <= N (1 or 2)");
  command.add_option("--host-root", options.host_root, host_root_help)->capture_default_str();
}

std::optional<cis::Selection> PrepareBenchSelection(const BenchCommandOptions& options,
                                                    const std::vector<std::string>& control_ids,
                                                    const std::string& command) {
  cis::Selection selection{cis::SplitPatterns(options.check), cis::SplitPatterns(options.skip),
                           options.level};
  if (auto valid = cis::ValidateSelection(control_ids, selection); !valid.ok()) {
    log::Error(command + ": " + valid.error().message);
    return std::nullopt;
  }
  struct stat st {};
  if (::stat(options.host_root.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    log::Error(command + ": --host-root " + options.host_root + " is not a directory");
    return std::nullopt;
  }
  return selection;
}

int WriteBenchReport(cis::BenchReport report, const std::vector<std::string>& notes,
                     const BenchCommandOptions& options,
                     const std::vector<cis::Status>& not_assessed,
                     const std::string& nothing_message) {
  report.tool_version = MOAT_VERSION;
  report.timestamp = NowRfc3339Utc();
  report.notes = notes;
  auto rendered = cis::RenderBenchReport(report, options.format);
  if (!rendered.ok()) {
    log::Error(rendered.error().message);
    return kExitError;
  }
  if (auto written = WriteOutput(options.output, *rendered); !written.ok()) {
    log::Error(written.error().message);
    return kExitError;
  }
  const bool nothing_assessed =
      !report.results.empty() &&
      std::all_of(report.results.begin(), report.results.end(), [&](const auto& r) {
        return std::find(not_assessed.begin(), not_assessed.end(), r.outcome.status) !=
               not_assessed.end();
      });
  if (nothing_assessed) {
    log::Error(nothing_message);
    return kExitError;
  }
  if (options.exit_code != 0 && report.totals.fail > 0) return options.exit_code;
  return kExitOk;
}

}  // namespace moat::cli
