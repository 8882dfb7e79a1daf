#include <CLI/CLI.hpp>
#include <cstdio>

#include "cli/commands.h"
#include "cli/flags.h"
#include "core/log.h"

int main(int argc, char** argv) {
  using namespace moat::cli;
  CLI::App app{"moat: container security center (image inventory and SBOMs)", "moat"};
  app.require_subcommand(1);
  // -q and -d are accepted after any subcommand too (`moat image -q IMAGE`), as in Trivy.
  app.fallthrough();
  GlobalOptions global;
  app.add_flag("-q,--quiet", global.quiet, "Print only results and errors");
  app.add_flag("-d,--debug", global.debug, "Print debug logs");
  Action action;
  AddVersionCommand(app, action);
  AddVercmpCommand(app, action);
  AddCelCommand(app, action);
  AddImageCommand(app, global, action);
  AddRootfsCommand(app, global, action);
  AddFsCommand(app, global, action);
  AddRepoCommand(app, global, action);
  AddSbomCommand(app, global, action);
  AddK8sCommand(app, global, action);
  AddDbCommand(app, global, action);
  AddBenchCommand(app, global, action);
  AddServerCommand(app, global, action);
  AddWorkerCommand(app, global, action);
  AddAgentCommand(app, global, action);
  AddAdmissionCommand(app, global, action);
  AddSensorCommand(app, global, action);
  AddAuditLogCommand(app, action);
  // After the subcommands: they would inherit a footer set earlier.
  SetExamples(app, {"moat image debian:bookworm", "moat rootfs / --scanners none",
                    "moat k8s manifests deploy/", "moat db update && moat db info"});
  // CLI11 would print the main help for `moat foo --help` and exit 0: a mistyped command must fail.
  if (std::string unknown = UnknownCommand(app, argc, argv); !unknown.empty()) {
    std::fprintf(stderr, "moat: unknown command \"%s\" (see moat --help)\n", unknown.c_str());
    return kExitError;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kExitError;
  }
  moat::log::SetLevel(global.debug   ? moat::log::Level::kDebug
                      : global.quiet ? moat::log::Level::kError
                                     : moat::log::Level::kInfo);
  if (!action) return kExitError;
  return action();
}
