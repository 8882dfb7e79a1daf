#include "cli/alert_flags.h"

#include <CLI/CLI.hpp>
#include <chrono>

#include "cli/flags.h"

namespace moat::cli {

void AddAlertFlags(CLI::App& command, AlertFlags& flags, const std::string& output_file_flag,
                   const std::string& builtin_what) {
  command
      .add_option("--rules", flags.rules,
                  "Falco-format rule file or directory loaded after the built-in rules "
                  "(repeatable): your rules, list appends, macro overrides")
      ->type_name("PATH")
      ->check(CLI::ExistingPath);
  command.add_flag("--no-builtin-rules", flags.no_builtin_rules,
                   "Load only the --rules files, not Moat's built-in " + builtin_what);
  command.add_flag("--no-stdout", flags.no_stdout, "Do not write alerts to standard output");
  command.add_option(output_file_flag, flags.output_file,
                     "Append alerts as JSON lines to this file, rotated by size");
  command.add_option("--output-file-max-mib", flags.output_file_max_mib,
                     "Rotate the output file at this size (default 100)");
  command.add_option("--output-file-backups", flags.output_file_backups,
                     "Rotated output files kept (default 5)");
  command
      .add_option(
          "--notify", flags.notify,
          "Alert target, repeatable: webhook=URL[,min=PRIORITY][,batch][,token-file=PATH][,ca-"
          "file=PATH], slack=URL, "
          "syslog=udp://HOST:PORT or tcp://HOST:PORT")
      ->allow_extra_args(false);
  command.add_option("--spool-dir", flags.spool_dir,
                     "Directory of the on-disk spools of the --notify targets");
  command.add_option("--spool-max-mib", flags.spool_max_mib,
                     "Spool size per target; beyond it the oldest undelivered alerts are dropped "
                     "and counted (default 64)");
  command.add_option("--rate-limit-window", flags.rate_limit_window,
                     "Suppress repeats of one rule on one resource within this window; 0 "
                     "disables (default 60s)");
}

Result<rules::OutputOptions> MakeOutputOptions(const AlertFlags& flags, bool stdout_with_file) {
  rules::OutputOptions out;
  out.stdout_json = !flags.no_stdout && (stdout_with_file || flags.output_file.empty());
  out.file = flags.output_file;
  out.file_max_bytes = flags.output_file_max_mib << 20;
  out.file_backups = flags.output_file_backups;
  out.targets = flags.notify;
  out.spool_dir = flags.spool_dir;
  out.spool_max_bytes = flags.spool_max_mib << 20;
  if (flags.rate_limit_window == "0" || flags.rate_limit_window == "0s") {
    out.rate_window = std::chrono::seconds(0);
  } else {
    auto window = ParseDuration(flags.rate_limit_window);
    if (!window.ok()) return window.error().Wrap("--rate-limit-window");
    out.rate_window = std::chrono::duration_cast<std::chrono::seconds>(*window);
  }
  return out;
}

}  // namespace moat::cli
