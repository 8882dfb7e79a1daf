#pragma once
// One function per subcommand: each adds itself to the CLI11 app and returns the action to run.

#include <functional>
#include <string>

namespace CLI {
class App;
}

namespace moat::cli {

/// Exit codes of every command.
constexpr int kExitOk = 0;
constexpr int kExitFindings = 1;
constexpr int kExitError = 2;

using Action = std::function<int()>;

struct GlobalOptions {
  bool quiet = false;
  bool debug = false;
};

void AddVersionCommand(CLI::App& app, Action& action);
void AddVercmpCommand(CLI::App& app, Action& action);
void AddCelCommand(CLI::App& app, Action& action);
void AddImageCommand(CLI::App& app, const GlobalOptions& global, Action& action);
void AddRootfsCommand(CLI::App& app, const GlobalOptions& global, Action& action);
/// `moat fs` and `moat repo`: a source tree through its lock files (scan_commands.cpp).
void AddFsCommand(CLI::App& app, const GlobalOptions& global, Action& action);
void AddRepoCommand(CLI::App& app, const GlobalOptions& global, Action& action);
void AddSbomCommand(CLI::App& app, const GlobalOptions& global, Action& action);
void AddK8sCommand(CLI::App& app, const GlobalOptions& global, Action& action);
void AddDbCommand(CLI::App& app, const GlobalOptions& global, Action& action);
void AddBenchCommand(CLI::App& app, const GlobalOptions& global, Action& action);
void AddServerCommand(CLI::App& app, const GlobalOptions& global, Action& action);
void AddWorkerCommand(CLI::App& app, const GlobalOptions& global, Action& action);
void AddAgentCommand(CLI::App& app, const GlobalOptions& global, Action& action);
void AddAdmissionCommand(CLI::App& app, const GlobalOptions& global, Action& action);
void AddSensorCommand(CLI::App& app, const GlobalOptions& global, Action& action);
/// `moat audit-log` with `scan` (audit_log_command.cpp); it adds `watch` and `serve`.
void AddAuditLogCommand(CLI::App& app, Action& action);
/// `watch` and `serve` under the `audit-log` command (audit_log_service_command.cpp).
void AddAuditLogServiceCommands(CLI::App& audit_log, Action& action);

}  // namespace moat::cli
