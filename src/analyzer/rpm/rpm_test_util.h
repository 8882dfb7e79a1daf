#pragma once
// Helpers shared by the rpm analyzer tests (test code only).

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "core/package.h"

namespace moat::rpm::testing {

inline std::string SharedRpmDir() { return std::string(MOAT_SHARED_DATA_DIR) + "/vuln/pkgdb/rpm"; }

inline std::string ReadBinary(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline void WriteBinary(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

inline std::vector<std::string> SplitTabs(const std::string& line) {
  std::vector<std::string> fields;
  std::string field;
  std::istringstream in(line);
  while (std::getline(in, field, '\t')) fields.push_back(field);
  if (!line.empty() && line.back() == '\t') fields.emplace_back();
  return fields;
}

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout only
};

/// Runs a shell command and captures its standard output.
inline CommandResult RunCommand(const std::string& command) {
  CommandResult result;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return result;
  std::array<char, 4096> buffer;
  size_t n;
  while ((n = fread(buffer.data(), 1, buffer.size(), pipe)) > 0)
    result.output.append(buffer.data(), n);
  const int status = pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

/// A fresh temporary directory, removed when the object goes away.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "moat-rpm-XXXXXX").string();
    if (mkdtemp(pattern.data()) != nullptr) path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    if (!path_.empty()) std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

/// A package in the column layout of `rpm -qa --qf` with %{EPOCH} etc.; absent values "(none)".
inline std::string QueryFormatRow(const Package& package) {
  auto or_none = [](const std::string& value) { return value.empty() ? "(none)" : value; };
  std::string source_rpm;
  if (!package.source_name.empty()) {
    source_rpm = package.source_name + "-" + package.source_version + "-" + package.source_release +
                 ".src.rpm";
  }
  return package.name + "\t" + or_none(package.epoch) + "\t" + or_none(package.version) + "\t" +
         or_none(package.release) + "\t" + or_none(package.arch) + "\t" + or_none(source_rpm) +
         "\t" + or_none(package.licenses.empty() ? "" : package.licenses[0]) + "\t" +
         or_none(package.maintainer) + "\t" + or_none(package.modularity_label);
}

/// The query format matching QueryFormatRow.
inline constexpr const char* kRpmQueryFormat =
    "%{NAME}\\t%{EPOCH}\\t%{VERSION}\\t%{RELEASE}\\t%{ARCH}\\t%{SOURCERPM}\\t%{LICENSE}\\t%{VENDOR}"
    "\\t%{MODULARITYLABEL}\\n";

}  // namespace moat::rpm::testing
