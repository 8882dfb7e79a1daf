// `moat sbom FILE`: match the packages of an existing CycloneDX or SPDX JSON SBOM.

#include <CLI/CLI.hpp>
#include <fstream>
#include <memory>
#include <sstream>

#include "cli/commands.h"
#include "cli/flags.h"
#include "cli/scan_report.h"
#include "match/sbom.h"

namespace moat::cli {
namespace {

struct SbomOptions {
  std::string file;
  OutputOptions output;
  VulnOptions vuln;
};

Result<Inventory> ReadSbom(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Fail(path, ": cannot open");
  std::ostringstream text;
  text << in.rdbuf();
  return match::ParseSbom(text.str(), path);
}

}  // namespace

void AddSbomCommand(CLI::App& app, const GlobalOptions& global, Action& action) {
  auto options = std::make_shared<SbomOptions>();
  auto* command = app.add_subcommand(
      "sbom", "Scan an SBOM (CycloneDX 1.4-1.6 JSON, SPDX 2.3 JSON) for vulnerabilities");
  command->add_option("file", options->file, "SBOM file")->required();
  AddFormatOption(*command, options->output);
  command->add_option("-o,--output", options->output.output,
                      "Write the report to this file (default stdout)");
  AddVulnOptions(*command, options->vuln);
  SetExamples(*command,
              {"moat sbom app.cdx.json",
               "moat sbom app.spdx.json --severity-min HIGH --format json -o vulns.json"});
  command->callback([&action, &global, options] {
    action = [&global, options] {
      return ScanAndReport([&] { return ReadSbom(options->file); }, options->output, options->vuln,
                           global);
    };
  });
}

}  // namespace moat::cli
