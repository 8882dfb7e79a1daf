#pragma once
// Flag conventions shared by every command, with Trivy's names where Moat has the same thing:
// list flags take one comma-separated value and may repeat (so a list never swallows the
// positional argument that follows it, and flag order is free), each command's help ends with
// examples, and a word that names no command is an error rather than the main help.

#include <atomic>
#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "core/package.h"
#include "core/result.h"
#include "k8s/kubeconfig.h"

namespace CLI {
class App;
class Option;
}  // namespace CLI

namespace moat::cli {

/// `--name a,b --name c` -> {a, b, c}; exactly one argument per use.
CLI::Option* AddListOption(CLI::App& command, const std::string& name,
                           std::vector<std::string>& values, const std::string& description);

/// The same for a list kept as one comma-separated string: `--x a,b --x c` -> "a,b,c".
CLI::Option* AddListOption(CLI::App& command, const std::string& name, std::string& joined,
                           const std::string& description);

/// Appends "Examples:" and these command lines to the command's --help.
void SetExamples(CLI::App& command, const std::vector<std::string>& examples);

/// The first word of argv that should name a (sub)command but names none ("foo" in
/// `moat foo --help`, "bar" in `moat k8s bar`); "" when every command word is known.
std::string UnknownCommand(const CLI::App& app, int argc, const char* const* argv);

/// --kubeconfig, --context and --in-cluster, as kubectl names them, for every command that reads a
/// live cluster. `applies_to` prefixes each help text ("--kind cluster: ") when the flags only
/// matter in one mode of the command.
void AddKubeconfigFlags(CLI::App& command, k8s::ConnectionOptions& connection,
                        const std::string& applies_to = "");

/// True when any of the kubeconfig flags was given.
bool KubeconfigFlagsGiven(const k8s::ConnectionOptions& connection);

/// Makes SIGINT and SIGTERM set the returned flag (one for the process) instead of killing it:
/// for commands whose own loop checks the flag (agent, sensor).
std::atomic<bool>& InstallStopFlag();

/// Blocks until SIGINT or SIGTERM: the services (server, worker, admission webhook) then stop
/// their listeners and finish the work in flight.
void WaitForStopSignal();

/// Go-style durations as Trivy's --timeout takes them ("5m", "90s", "1h30m", "2m30.5s"), or
/// plain seconds ("300"). Zero and negative durations are errors.
Result<std::chrono::milliseconds> ParseDuration(std::string_view text);

/// The width a table on stdout may take: 0 (no limit) unless stdout is a terminal and the
/// report goes there (`output_path` empty or "-"); then $COLUMNS when it is a number, else the
/// terminal's width.
size_t TableWidth(const std::string& output_path);

/// The severities at or above `minimum` (case-insensitive), upper-case, from `ordered_low_to_high`;
/// empty when `minimum` is not one of them.
std::vector<std::string> SeveritiesAtOrAbove(std::string_view minimum,
                                             const std::vector<std::string>& ordered_low_to_high);

/// Trivy's --pkg-types: "os" keeps OS packages, "library" language packages.
bool PackageTypeSelected(PackageType type, const std::vector<std::string>& pkg_types);

/// Trivy's --skip-dirs / --skip-files: a path (relative to the scanned root, with or without a
/// leading "/") matches a file pattern itself, or a dir pattern when it lies below a directory
/// the pattern matches. Patterns are globs: `*` and `?` within a path segment, `**` across
/// segments.
bool PathSkipped(std::string_view path, const std::vector<std::string>& skip_dirs,
                 const std::vector<std::string>& skip_files);

}  // namespace moat::cli
