// `moat vercmp`: compare versions under one ecosystem's rules, from the command line or as a
// filter over "A B" lines on stdin (for scripts and for checking Moat against other tools).

#include <CLI/CLI.hpp>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/flags.h"
#include "version/version.h"

namespace moat::cli {
namespace {

struct VercmpOptions {
  std::string ecosystem;
  std::vector<std::string> versions;
};

char Symbol(int cmp) { return cmp < 0 ? '<' : (cmp > 0 ? '>' : '='); }

bool IsBlank(char c) { return c == ' ' || c == '\t' || c == '\r'; }

// Splits "A B" on whitespace; false unless there are exactly two fields.
bool SplitPair(const std::string& line, std::string& a, std::string& b) {
  std::vector<std::string> fields;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && IsBlank(line[i])) ++i;
    size_t start = i;
    while (i < line.size() && !IsBlank(line[i])) ++i;
    if (i > start) fields.push_back(line.substr(start, i - start));
  }
  if (fields.size() != 2) return false;
  a = fields[0];
  b = fields[1];
  return true;
}

int RunVercmp(const VercmpOptions& options) {
  auto scheme = version::ParseScheme(options.ecosystem);
  if (!scheme) {
    std::cerr << "moat vercmp: unknown ecosystem \"" << options.ecosystem << "\"\n";
    return kExitError;
  }
  if (options.versions.size() == 2) {
    auto r = version::Compare(*scheme, options.versions[0], options.versions[1]);
    if (!r.ok()) {
      std::cerr << "moat vercmp: " << r.error().message << "\n";
      return kExitError;
    }
    std::cout << Symbol(*r) << "\n";
    return kExitOk;
  }
  if (!options.versions.empty()) {
    std::cerr << "moat vercmp: give two versions, or none to read \"A B\" lines from stdin\n";
    return kExitError;
  }
  // Filter mode: one answer per input line, so that output lines pair up with input lines.
  std::ios::sync_with_stdio(false);
  std::string line, a, b, out;
  while (std::getline(std::cin, line)) {
    if (!SplitPair(line, a, b)) {
      out += "! expected two versions separated by whitespace\n";
    } else if (auto r = version::Compare(*scheme, a, b); r.ok()) {
      out += Symbol(*r);
      out += '\n';
    } else {
      out += "! " + r.error().message + "\n";
    }
    if (out.size() > (1 << 16)) {
      std::cout << out;
      out.clear();
    }
  }
  std::cout << out << std::flush;
  return kExitOk;
}

}  // namespace

void AddVercmpCommand(CLI::App& app, Action& action) {
  auto* command = app.add_subcommand(
      "vercmp", "Compare two versions with an ecosystem's rules (prints <, = or >)");
  auto options = std::make_shared<VercmpOptions>();
  command
      ->add_option("-e,--ecosystem", options->ecosystem,
                   "deb|rpm|apk|pypi|npm|go|maven|gem|nuget|composer")
      ->required()
      ->check([](const std::string& name) -> std::string {
        return version::ParseScheme(name) ? "" : "unknown ecosystem: " + name;
      });
  command->add_option("versions", options->versions,
                      "A B (without them, \"A B\" lines are read from stdin)");
  SetExamples(*command, {"moat vercmp -e deb 1.2.3-1~deb12u1 1.2.3-1",
                         "printf '1.0 1.0a\\n2.0rc1 2.0\\n' | moat vercmp -e pypi"});
  command->callback([&action, options] { action = [options] { return RunVercmp(*options); }; });
}

}  // namespace moat::cli
