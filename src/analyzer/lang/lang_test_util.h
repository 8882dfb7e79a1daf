#pragma once
// Helpers for the language analyzer tests: running the oracle tools, temp dirs, file reads.

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "analyzer/analyzer.h"
#include "core/bytes.h"

namespace moat::lang::testing {

/// Runs a shell command; returns its stdout and sets `exit_code`.
inline std::string RunCommand(const std::string& command, int* exit_code = nullptr) {
  std::string output;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) {
    if (exit_code) *exit_code = -1;
    return output;
  }
  char buffer[65536];
  size_t count;
  while ((count = fread(buffer, 1, sizeof(buffer), pipe)) > 0) output.append(buffer, count);
  int status = pclose(pipe);
  if (exit_code) *exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return output;
}

inline bool HaveTool(const std::string& tool) {
  int code = 0;
  RunCommand("command -v " + tool + " >/dev/null 2>&1", &code);
  return code == 0;
}

inline std::vector<std::string> SplitString(const std::string& text, char separator) {
  std::vector<std::string> parts;
  std::string part;
  std::istringstream stream(text);
  while (std::getline(stream, part, separator)) parts.push_back(part);
  return parts;
}

inline std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

inline void WriteFile(const std::filesystem::path& path, const std::string& content) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary);
  out << content;
}

/// A fresh directory under /tmp, removed when the object goes away.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "moat-lang-XXXXXX").string();
    path_ = mkdtemp(pattern.data());
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

/// Analyzes `content` as if it were the file at `path` (relative, as the walker gives it).
inline Result<AnalysisResult> AnalyzeAs(const Analyzer& analyzer, const std::string& path,
                                        const std::string& content, uint32_t mode = 0644) {
  FileMeta meta;
  meta.path = path;
  meta.mode = mode;
  meta.size = content.size();
  return analyzer.Analyze(meta, AsBytes(content));
}

/// The path relative to "/" as the walker passes it ("usr/lib/..." for "/usr/lib/...").
inline std::string Relative(const std::filesystem::path& absolute) {
  std::string text = absolute.string();
  while (!text.empty() && text.front() == '/') text.erase(0, 1);
  return text;
}

inline bool Wants(const Analyzer& analyzer, const std::string& path, uint64_t size = 1000,
                  uint32_t mode = 0644) {
  FileMeta meta;
  meta.path = path;
  meta.mode = mode;
  meta.size = size;
  return analyzer.Wants(meta);
}

/// "name version" of each package, " dev" added for development dependencies, sorted.
inline std::vector<std::string> NameVersions(const AnalysisResult& result) {
  std::vector<std::string> out;
  for (const Package& p : result.packages) {
    out.push_back(p.name + " " + p.version + (p.dev ? " dev" : ""));
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace moat::lang::testing
