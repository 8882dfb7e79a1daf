#include "auditlog/state_file.h"

#include "agent/spool.h"

namespace moat::auditlog {

std::string ParentDirectory(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

Result<void> WriteStateFile(const std::string& path, std::string_view text) {
  return agent::ReplaceFileDurably(ParentDirectory(path), path, text);
}

}  // namespace moat::auditlog
