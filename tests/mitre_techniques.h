#pragma once
// For unit tests that hold rules to ATT&CK's containers matrix
// (../shared/data/runtime/mitre_attack_containers_techniques.tsv: technique_id, name, tactics,
// version, tab separated, one header line).

#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace moat {

/// technique id -> its tactics as the file lists them ("execution,persistence"); empty when the
/// file cannot be read.
inline std::map<std::string, std::string> ReadMitreContainerTechniques(const std::string& path) {
  std::map<std::string, std::string> techniques;
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);  // the header
  while (std::getline(in, line)) {
    std::vector<std::string> cells;
    std::istringstream row(line);
    for (std::string cell; std::getline(row, cell, '\t');) cells.push_back(cell);
    if (cells.size() >= 3) techniques[cells[0]] = cells[2];
  }
  return techniques;
}

}  // namespace moat
