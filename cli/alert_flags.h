#pragma once
// The flags of the commands that run the rules engine live and emit alerts (`moat sensor`,
// `moat audit-log watch|serve`): which rule files, and where the alerts go
// (rules/output.h). One definition so that both commands spell and check them the same way.

#include <cstdint>
#include <string>
#include <vector>

#include "core/result.h"
#include "rules/output.h"

namespace CLI {
class App;
}

namespace moat::cli {

struct AlertFlags {
  std::vector<std::string> rules;
  bool no_builtin_rules = false;
  bool no_stdout = false;
  std::string output_file;
  uint64_t output_file_max_mib = 100;
  int output_file_backups = 5;
  std::vector<std::string> notify;
  std::string spool_dir;
  uint64_t spool_max_mib = 64;
  std::string rate_limit_window = "60s";
};

/// Adds --rules, --no-builtin-rules, --no-stdout, the output file (named `output_file_flag`:
/// "--output-file", or "-o,--output"), --output-file-max-mib, --output-file-backups, --notify,
/// --spool-dir, --spool-max-mib and --rate-limit-window. `builtin_what` names the built-in rules
/// in the help ("audit rules", "node rules").
void AddAlertFlags(CLI::App& command, AlertFlags& flags, const std::string& output_file_flag,
                   const std::string& builtin_what);

/// The outputs the flags ask for. `stdout_with_file`: whether alerts also go to stdout when an
/// output file is given (audit-log: yes; the sensor writes to one place).
Result<rules::OutputOptions> MakeOutputOptions(const AlertFlags& flags, bool stdout_with_file);

}  // namespace moat::cli
