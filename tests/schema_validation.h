#pragma once
// For unit tests: validates a document against its official JSON schema (../shared/data/standards)
// with tests/validate_schema.py (python3-jsonschema), the oracle every report format is held to.

#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>

namespace moat {

/// Runs tests/validate_schema.py KIND on `doc`; returns its exit code (0 = valid) and output.
/// KIND as the script takes it: "sarif-2.1.0", "cyclonedx-1.6", "spdx-2.3", ...
inline std::pair<int, std::string> ValidateWithSchema(const std::string& kind,
                                                      const std::string& doc) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(MOAT_BINARY_DIR) / "schema_validation_docs";
  fs::create_directories(dir);
  static int counter = 0;
  // ctest runs test cases as parallel processes: the pid keeps their files apart.
  const fs::path doc_path =
      dir / (kind + "-" + std::to_string(getpid()) + "-" + std::to_string(++counter) + ".json");
  const fs::path log_path = doc_path.string() + ".log";
  std::ofstream(doc_path) << doc;
  const std::string command = std::string("MOAT_SHARED_DATA_DIR='") + MOAT_SHARED_DATA_DIR +
                              "' /usr/bin/python3 '" + MOAT_SOURCE_DIR +
                              "/tests/validate_schema.py' " + kind + " '" + doc_path.string() +
                              "' > '" + log_path.string() + "' 2>&1";
  const int status = std::system(command.c_str());
  std::ifstream log(log_path);
  std::stringstream text;
  text << log.rdbuf();
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, text.str()};
}

}  // namespace moat
