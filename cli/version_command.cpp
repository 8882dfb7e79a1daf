#include <CLI/CLI.hpp>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/flags.h"

namespace moat::cli {

void AddVersionCommand(CLI::App& app, Action& action) {
  auto* command = app.add_subcommand("version", "Print the version of moat");
  auto format = std::make_shared<std::string>("table");
  command->add_option("-f,--format", *format, "Output format")
      ->check(CLI::IsMember({"table", "json"}))
      ->capture_default_str();
  SetExamples(*command, {"moat version", "moat version --format json"});
  command->callback([&action, format] {
    action = [format] {
      if (*format == "json") {
        nlohmann::json j = {{"version", MOAT_VERSION}, {"compiler", __VERSION__}};
        std::cout << j.dump(2) << "\n";
      } else {
        std::cout << "Version: " << MOAT_VERSION << "\n";
      }
      return kExitOk;
    };
  });
}

}  // namespace moat::cli
