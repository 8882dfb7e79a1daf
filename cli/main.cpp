#include <CLI/CLI.hpp>
#include <cstdio>

#include "cli/commands.h"
#include "core/log.h"

int main(int argc, char** argv) {
  using namespace moat::cli;
  CLI::App app{"moat: container security center (image inventory and SBOMs)", "moat"};
  app.require_subcommand(1);
  GlobalOptions global;
  app.add_flag("-q,--quiet", global.quiet, "Print only results and errors");
  app.add_flag("-d,--debug", global.debug, "Print debug logs");
  Action action;
  AddVersionCommand(app, action);
  AddVercmpCommand(app, action);
  AddImageCommand(app, global, action);
  AddRootfsCommand(app, global, action);
  AddSbomCommand(app, global, action);
  AddK8sCommand(app, global, action);
  AddDbCommand(app, global, action);
  AddBenchCommand(app, global, action);
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
